//! HTTP handlers: SSO-OIDC, the portal API, console federation, the pages a person uses, stats.
//!
//! This module holds the shared state, the router and the answer helpers every service uses;
//! each service has its own submodule.
//!
//! The submodules: `oidc`, `signin` (the authorize and device pages), `portal` (with the rate
//! limiter), `federation`, `sts` (at `POST /`) and `control` (stats, `/_sim/clock`, `/_sim/seen`).
//! `Gate` is the barrier tests hold GetRoleCredentials answers at.

// Validation helpers return the finished error `Response` so a handler can `return` it as is;
// responses are built once per request, so their size does not matter here.
#![allow(clippy::result_large_err)]

mod control;
mod federation;
mod oidc;
mod portal;
mod signin;
mod sts;

use crate::state::{random_token, State};
use crate::SimConfig;
use axum::extract::State as AxState;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Shared simulator: configuration and state.
pub struct Shared {
    pub config: SimConfig,
    pub clock: crate::state::SimClock,
    pub state: Mutex<State>,
    pub base_url: String,
    /// The barrier tests hold GetRoleCredentials answers at.
    pub gate: Gate,
}

/// A barrier for GetRoleCredentials answers (`RunningSim::hold_role_credentials`).
#[derive(Debug)]
pub struct Gate {
    /// Whether answers wait.
    pub held: tokio::sync::watch::Sender<bool>,
    /// How many wait now.
    pub waiting: std::sync::atomic::AtomicUsize,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            held: tokio::sync::watch::Sender::new(false),
            waiting: Default::default(),
        }
    }
}

impl Gate {
    /// Waits while the barrier is held.
    async fn pass(&self) {
        use std::sync::atomic::Ordering;
        let mut held = self.held.subscribe();
        if !*held.borrow_and_update() {
            return;
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _ = held.wait_for(|h| !*h).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn save(&self) {
        if let Some(path) = &self.config.state_file {
            let text = {
                let state = self.lock();
                serde_json::to_vec_pretty(&state.kept)
            };
            if let Ok(text) = text {
                let tmp = path.with_extension("tmp");
                if std::fs::write(&tmp, text).is_ok() {
                    let _ = std::fs::rename(&tmp, path);
                }
            }
        }
    }

    /// The simulator's clock, now, in epoch milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    async fn latency(&self) {
        if self.config.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.config.latency_ms)).await;
        }
    }
}

type App = AxState<Arc<Shared>>;

/// The router of every endpoint.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/client/register", post(oidc::register_client))
        .route(
            "/device_authorization",
            post(oidc::start_device_authorization),
        )
        .route("/token", post(oidc::create_token))
        .route(
            "/authorize",
            get(signin::authorize_page).post(signin::authorize_decision),
        )
        .route(
            "/device",
            get(signin::device_page).post(signin::device_decision),
        )
        .route("/assignment/accounts", get(portal::list_accounts))
        .route("/assignment/roles", get(portal::list_account_roles))
        .route("/federation/credentials", get(portal::get_role_credentials))
        .route("/logout", post(portal::logout))
        .route("/federation", get(federation::federation))
        .route("/console/{id}", get(federation::console_page))
        .route("/_sim/stats", get(control::stats))
        .route(
            "/_sim/clock",
            get(control::clock).post(control::advance_clock),
        )
        .route("/_sim/seen", get(control::seen))
        .route("/", post(sts::sts))
        .with_state(shared)
}

fn aws_error(status: u16, shape: &str, namespace: &str, body: Value) -> Response {
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        axum::Json(body),
    )
        .into_response();
    let value = format!("{shape}:http://internal.amazon.com/coral/{namespace}/");
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().insert("x-amzn-ErrorType", v);
    }
    with_request_id(response)
}

fn with_request_id(mut response: Response) -> Response {
    if let Ok(v) = HeaderValue::from_str(&uuid_like()) {
        response.headers_mut().insert("x-amzn-RequestId", v);
    }
    response
}

fn uuid_like() -> String {
    let t = random_token("", 32).to_lowercase();
    format!(
        "{}-{}-{}-{}-{}",
        &t[0..8],
        &t[8..12],
        &t[12..16],
        &t[16..20],
        &t[20..32]
    )
}

fn ok_json(body: Value) -> Response {
    with_request_id((StatusCode::OK, axum::Json(body)).into_response())
}
