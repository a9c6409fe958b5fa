//! The SSO access portal API: ListAccounts (`/assignment/accounts`), ListAccountRoles
//! (`/assignment/roles`), GetRoleCredentials (`/federation/credentials`) and Logout (`/logout`),
//! with the per-token rate limit.

use super::{aws_error, ok_json, with_request_id, App, Shared};
use crate::state::{random_token, Bucket, RoleCredentials, State};
use axum::extract::{Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Instant;

fn portal_error(status: u16, shape: &str, message: &str) -> Response {
    aws_error(
        status,
        shape,
        "com.amazonaws.switchboard.portal",
        json!({ "message": message }),
    )
}

/// Authenticates a portal call and applies the per-token rate limit; the session id on success.
fn portal_auth(
    sim: &Shared,
    state: &mut State,
    headers: &HeaderMap,
    operation: &str,
) -> Result<String, Response> {
    state.count(operation);
    let token = headers
        .get("x-amz-sso_bearer_token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let now = sim.now_ms();
    let session_id = match state.kept.access_tokens.get(&token) {
        Some(t) if t.expires_at_ms > now && state.kept.session_alive(&t.session_id, now) => {
            t.session_id.clone()
        }
        _ => {
            return Err(portal_error(
                401,
                "UnauthorizedException",
                "Session token not found or invalid",
            ))
        }
    };
    let rate = sim.config.rate_limit;
    if rate > 0.0 {
        let burst = rate.max(1.0);
        let bucket = state.buckets.entry(token).or_insert(Bucket {
            tokens: burst,
            last: Instant::now(),
        });
        let elapsed = bucket.last.elapsed().as_secs_f64();
        bucket.last = Instant::now();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        if bucket.tokens < 1.0 {
            state.count("Throttled");
            return Err(portal_error(
                429,
                "TooManyRequestsException",
                "Rate exceeded",
            ));
        }
        bucket.tokens -= 1.0;
    }
    Ok(session_id)
}

fn page_params(q: &HashMap<String, String>) -> Result<(usize, usize), Response> {
    let max = match q.get("max_result") {
        None => 20,
        Some(m) => match m.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return Err(portal_error(
                    400,
                    "InvalidRequestException",
                    "max_result must be between 1 and 100",
                ))
            }
        },
    };
    let start = match q.get("next_token").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => match base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("page:").and_then(|n| n.parse().ok()))
        {
            Some(n) => n,
            None => {
                return Err(portal_error(
                    400,
                    "InvalidRequestException",
                    "Invalid next token",
                ))
            }
        },
    };
    Ok((start, max))
}

fn next_token(start: usize, max: usize, total: usize) -> Option<String> {
    (start + max < total).then(|| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("page:{}", start + max))
    })
}

pub(super) async fn list_accounts(
    AxState(sim): App,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    sim.latency().await;
    if let Err(r) = portal_auth(&sim, &mut sim.lock(), &headers, "ListAccounts") {
        return r;
    }
    let (start, max) = match page_params(&q) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let accounts = &sim.config.org.accounts;
    let list: Vec<Value> = accounts
        .iter()
        .skip(start)
        .take(max)
        .map(|a| json!({"accountId": a.id, "accountName": a.name, "emailAddress": a.email}))
        .collect();
    let mut body = json!({ "accountList": list });
    if let Some(t) = next_token(start, max, accounts.len()) {
        body["nextToken"] = Value::from(t);
    }
    ok_json(body)
}

pub(super) async fn list_account_roles(
    AxState(sim): App,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    sim.latency().await;
    if let Err(r) = portal_auth(&sim, &mut sim.lock(), &headers, "ListAccountRoles") {
        return r;
    }
    let Some(account_id) = q.get("account_id") else {
        return portal_error(400, "InvalidRequestException", "account_id is required");
    };
    let Some(account) = sim.config.org.account(account_id) else {
        return portal_error(404, "ResourceNotFoundException", "Account not found");
    };
    let (start, max) = match page_params(&q) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let list: Vec<Value> = account
        .roles
        .iter()
        .skip(start)
        .take(max)
        .map(|r| json!({"roleName": r, "accountId": account.id}))
        .collect();
    let mut body = json!({ "roleList": list });
    if let Some(t) = next_token(start, max, account.roles.len()) {
        body["nextToken"] = Value::from(t);
    }
    ok_json(body)
}

pub(super) async fn get_role_credentials(
    AxState(sim): App,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    sim.latency().await;
    let body = match issue_role_credentials(&sim, &headers, &q) {
        Ok(body) => body,
        Err(r) => return r,
    };
    sim.gate.pass().await;
    ok_json(body)
}

fn issue_role_credentials(
    sim: &Shared,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
) -> Result<Value, Response> {
    let mut state = sim.lock();
    portal_auth(sim, &mut state, headers, "GetRoleCredentials")?;
    let (Some(role_name), Some(account_id)) = (q.get("role_name"), q.get("account_id")) else {
        return Err(portal_error(
            400,
            "InvalidRequestException",
            "role_name and account_id are required",
        ));
    };
    if !sim
        .config
        .org
        .account(account_id)
        .is_some_and(|a| a.roles.contains(role_name))
    {
        return Err(portal_error(403, "ForbiddenException", "No access"));
    }
    let access_key_id = format!("ASIA{}", random_token("", 16).to_uppercase());
    let credentials = RoleCredentials {
        secret_access_key: random_token("", 40),
        session_token: random_token("IQoJb3JpZ2luX2Vj", 200),
        account_id: account_id.clone(),
        role_name: role_name.clone(),
        expires_at_ms: sim.now_ms() + sim.config.role_credentials_ttl.as_millis() as u64,
        assumed_session: None,
    };
    let body = json!({"roleCredentials": {
        "accessKeyId": access_key_id,
        "secretAccessKey": credentials.secret_access_key,
        "sessionToken": credentials.session_token,
        "expiration": credentials.expires_at_ms,
    }});
    state.role_credentials.insert(access_key_id, credentials);
    Ok(body)
}

pub(super) async fn logout(AxState(sim): App, headers: HeaderMap) -> Response {
    sim.latency().await;
    let response = {
        let mut state = sim.lock();
        match portal_auth(&sim, &mut state, &headers, "Logout") {
            Err(r) => r,
            Ok(session_id) => {
                if let Some(s) = state.kept.sessions.get_mut(&session_id) {
                    s.logged_out = true;
                }
                with_request_id(StatusCode::OK.into_response())
            }
        }
    };
    sim.save();
    response
}
