//! The test-control endpoints under `/_sim/`: call counters (`stats`), the simulator's clock
//! (`clock`) and what it last saw or issued (`seen`).

use super::App;
use axum::extract::{Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

pub(super) async fn stats(AxState(sim): App) -> Response {
    let state = sim.lock();
    axum::Json(&state.stats).into_response()
}

/// `GET /_sim/clock`: the simulator's time and how far it was moved, in milliseconds.
pub(super) async fn clock(AxState(sim): App) -> Response {
    axum::Json(json!({ "nowMs": sim.now_ms(), "offsetMs": sim.clock.offset().as_millis() as u64 }))
        .into_response()
}

/// `POST /_sim/clock?advance=SECS`: moves the simulator's clock forward (tests of hours-long
/// sessions at their real proportions).
pub(super) async fn advance_clock(
    AxState(sim): App,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match q.get("advance").and_then(|s| s.parse::<u64>().ok()) {
        Some(secs) => {
            sim.clock.advance(Duration::from_secs(secs));
            clock(AxState(sim)).await
        }
        None => (StatusCode::BAD_REQUEST, "advance=SECS is required").into_response(),
    }
}

/// `GET /_sim/seen`: the last `state`, authorization `code`, `codeVerifier` and `SigninToken`
/// the simulator saw or issued, `callerKeys` (the access keys that called GetCallerIdentity) and
/// `stsScope` (the region and service the last STS call was signed for) (test instrumentation:
/// they are credentials of the simulated user only).
pub(super) async fn seen(AxState(sim): App) -> Response {
    let state = sim.lock();
    axum::Json(&state.seen).into_response()
}
