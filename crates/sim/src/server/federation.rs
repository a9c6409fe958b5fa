//! Console federation: `/federation?Action=getSigninToken` and `Action=login`, and the fake
//! console page (`/console/{id}`) a login lands on.
//!
//! It refuses `SessionDuration` for assumed-role credentials (counted as `SessionDurationRefused`),
//! as AWS does.

use super::{ok_json, App};
use crate::pages;
use crate::state::{random_token, ConsoleSession, SigninToken};
use axum::extract::{Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{json, Value};
use std::collections::HashMap;

fn federation_error(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, message.to_string()).into_response()
}

pub(super) async fn federation(
    AxState(sim): App,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match q.get("Action").map(String::as_str) {
        Some("getSigninToken") => {
            sim.latency().await;
            let mut state = sim.lock();
            state.count("GetSigninToken");
            let Some(session) = q
                .get("Session")
                .and_then(|s| serde_json::from_str::<Value>(s).ok())
            else {
                return federation_error("Invalid Session parameter");
            };
            let field = |k: &str| {
                session
                    .get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let now = sim.now_ms();
            let Some(creds) = state.role_credentials.get(&field("sessionId")).filter(|c| {
                c.secret_access_key == field("sessionKey")
                    && c.session_token == field("sessionToken")
                    && c.expires_at_ms > now
            }) else {
                return federation_error("Invalid credentials parameter");
            };
            let creds = creds.clone();
            if let Some(d) = q.get("SessionDuration") {
                if creds.assumed_session.is_some() {
                    // Role-chained credentials: the console session cannot be lengthened.
                    state.count("SessionDurationRefused");
                    return federation_error("Invalid credentials parameter");
                }
                if sim.config.refuse_session_duration {
                    // What the federation endpoint answers for role-chained credentials.
                    return federation_error("Invalid credentials parameter");
                }
                match d.parse::<u64>() {
                    Ok(secs) if (900..=43200).contains(&secs) => {}
                    _ => return federation_error("Invalid SessionDuration parameter"),
                }
            }
            let token = random_token("sit-", 96);
            state.seen.insert("SigninToken".into(), token.clone());
            state.signin_tokens.insert(
                token.clone(),
                SigninToken {
                    account_id: creds.account_id,
                    role_name: creds.role_name,
                    expires_at_ms: now + 15 * 60 * 1000,
                },
            );
            ok_json(json!({ "SigninToken": token }))
        }
        Some("login") => {
            let mut state = sim.lock();
            state.count("ConsoleLogin");
            let Some(token) = q
                .get("SigninToken")
                .and_then(|t| state.signin_tokens.remove(t))
                .filter(|t| t.expires_at_ms > sim.now_ms())
            else {
                return federation_error("Invalid or expired SigninToken");
            };
            let Some(destination) = q.get("Destination").filter(|d| d.starts_with("https://"))
            else {
                return federation_error("Destination must be an https console URL");
            };
            let id = random_token("con-", 24);
            state.consoles.insert(
                id.clone(),
                ConsoleSession {
                    account_id: token.account_id,
                    role_name: token.role_name,
                    destination: destination.clone(),
                    issuer: q.get("Issuer").cloned().unwrap_or_default(),
                },
            );
            Redirect::to(&format!("/console/{id}")).into_response()
        }
        _ => federation_error("Unknown Action"),
    }
}

pub(super) async fn console_page(
    AxState(sim): App,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let state = sim.lock();
    match state.consoles.get(&id) {
        Some(c) => {
            let name = sim
                .config
                .org
                .account(&c.account_id)
                .map(|a| a.name.clone())
                .unwrap_or_default();
            pages::console(
                &c.account_id,
                &name,
                &c.role_name,
                &c.destination,
                &c.issuer,
            )
        }
        None => pages::error(
            StatusCode::NOT_FOUND,
            "Not signed in",
            "No console session.",
        ),
    }
}
