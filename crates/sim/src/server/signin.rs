//! The sign-in pages a person uses: the `/authorize` consent page of the authorization-code
//! grant and the `/device` verification page of the device-code grant (their HTML is in
//! `crate::pages`), with the browser's portal-session cookie.

use super::{App, Shared};
use crate::pages;
use crate::state::{random_token, AuthRequest, Client, Code, Decision, State};
use axum::extract::{Query, State as AxState};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use std::collections::HashMap;

/// A browser session cookie: signing in again while it is alive reuses the portal session.
const SESSION_COOKIE: &str = "sim_portal_session";

fn cookie_session(state: &State, headers: &HeaderMap, now: u64) -> Option<String> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    cookies
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .and_then(|(_, v)| state.live_session(v, now))
}

fn set_cookie(response: &mut Response, session_id: &str) {
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={session_id}; Path=/; HttpOnly; SameSite=Lax"
    )) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
}

fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = match url::Url::parse(uri) {
        Ok(u) => u,
        Err(_) => return uri.to_string(),
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

/// Whether `uri` matches a registered redirect URI, ignoring the port of loopback URIs (RFC 8252 §7.3).
fn redirect_allowed(client: &Client, uri: &str) -> bool {
    let Ok(mut asked) = url::Url::parse(uri) else {
        return false;
    };
    if asked.scheme() != "http"
        || !matches!(
            asked.host_str(),
            Some("127.0.0.1") | Some("localhost") | Some("[::1]")
        )
    {
        return false;
    }
    let _ = asked.set_port(None);
    client.redirect_uris.iter().any(|r| {
        url::Url::parse(r)
            .map(|mut reg| {
                let _ = reg.set_port(None);
                reg == asked
            })
            .unwrap_or(false)
    })
}

pub(super) async fn authorize_page(
    AxState(sim): App,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = sim.lock();
    state.count("Authorize");
    let get = |k: &str| q.get(k).map(String::as_str);
    let Some(client) = get("client_id")
        .and_then(|id| state.kept.clients.get(id))
        .cloned()
    else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "Unknown client",
            "The application that sent you here is not registered.",
        );
    };
    let Some(redirect_uri) = get("redirect_uri").filter(|u| redirect_allowed(&client, u)) else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "Invalid redirect",
            "The redirect URI is not registered for this application.",
        );
    };
    if get("response_type") != Some("code")
        || get("code_challenge_method") != Some("S256")
        || get("code_challenge").is_none_or(|c| c.len() < 43)
    {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "response_type=code and an S256 code_challenge are required.",
        );
    }
    if !client.allows("authorization_code") {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "Unauthorized client",
            "This application may not use the browser sign-in.",
        );
    }
    let request = AuthRequest {
        client_id: get("client_id").unwrap_or_default().to_string(),
        redirect_uri: redirect_uri.to_string(),
        state: get("state").map(str::to_string),
        code_challenge: get("code_challenge").unwrap_or_default().to_string(),
    };
    if sim.config.auto_approve {
        let (location, session_id) = approve_code(&sim, &mut state, &request, &headers);
        let mut response = Redirect::to(&location).into_response();
        set_cookie(&mut response, &session_id);
        return response;
    }
    let id = random_token("req-", 24);
    state.auth_requests.insert(id.clone(), request);
    pages::consent(&id, &client.name)
}

/// Issues a code for an approved request, reusing the browser's live portal session.
fn approve_code(
    sim: &Shared,
    state: &mut State,
    request: &AuthRequest,
    headers: &HeaderMap,
) -> (String, String) {
    let session_id = match cookie_session(state, headers, sim.now_ms()) {
        Some(s) => s,
        None => state.new_session(sim.config.session_ttl, sim.now_ms()),
    };
    let code = random_token("code-", 32);
    state.seen.insert("code".into(), code.clone());
    if let Some(s) = &request.state {
        state.seen.insert("state".into(), s.clone());
    }
    state.codes.insert(
        code.clone(),
        Code {
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
            expires_at_ms: sim.now_ms() + 5 * 60 * 1000,
            session_id: session_id.clone(),
        },
    );
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &request.state {
        pairs.push(("state", s.as_str()));
    }
    (with_query(&request.redirect_uri, &pairs), session_id)
}

pub(super) async fn authorize_decision(
    AxState(sim): App,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut state = sim.lock();
    let Some(request) = form
        .get("request")
        .and_then(|id| state.auth_requests.remove(id))
    else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "Expired request",
            "This sign-in request is no longer pending. Start the sign-in again.",
        );
    };
    if form.get("decision").map(String::as_str) == Some("allow") {
        let (location, session_id) = approve_code(&sim, &mut state, &request, &headers);
        drop(state);
        sim.save();
        let mut response = Redirect::to(&location).into_response();
        set_cookie(&mut response, &session_id);
        response
    } else {
        let mut pairs = vec![
            ("error", "access_denied"),
            ("error_description", "The user denied access"),
        ];
        if let Some(s) = &request.state {
            pairs.push(("state", s.as_str()));
        }
        Redirect::to(&with_query(&request.redirect_uri, &pairs)).into_response()
    }
}

pub(super) async fn device_page(
    AxState(sim): App,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let state = sim.lock();
    match q.get("user_code") {
        None => pages::device_entry(),
        Some(code) => match state
            .user_codes
            .get(code)
            .and_then(|dc| state.devices.get(dc))
        {
            Some(d) if d.decision == Decision::Pending && d.expires_at_ms > sim.now_ms() => {
                pages::device_consent(&d.user_code)
            }
            Some(d) if d.decision == Decision::Approved => pages::message(
                "Already approved",
                "This device is already signed in. You can close this tab.",
            ),
            _ => pages::error(
                StatusCode::BAD_REQUEST,
                "Unknown or expired code",
                "This code is not valid. Start the sign-in again on your device.",
            ),
        },
    }
}

pub(super) async fn device_decision(
    AxState(sim): App,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut state = sim.lock();
    let code = form.get("user_code").cloned().unwrap_or_default();
    let Some(device_code) = state.user_codes.get(&code).cloned() else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "Unknown code",
            "This code is not valid. Start the sign-in again on your device.",
        );
    };
    let allow = form.get("decision").map(String::as_str) == Some("allow");
    let session_id = if allow {
        Some(
            cookie_session(&state, &headers, sim.now_ms())
                .unwrap_or_else(|| state.new_session(sim.config.session_ttl, sim.now_ms())),
        )
    } else {
        None
    };
    let Some(device) = state
        .devices
        .get_mut(&device_code)
        .filter(|d| d.decision == Decision::Pending && d.expires_at_ms > sim.now_ms())
    else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "Expired code",
            "This code has expired. Start the sign-in again on your device.",
        );
    };
    device.decision = if allow {
        Decision::Approved
    } else {
        Decision::Denied
    };
    device.session_id = session_id.clone();
    drop(state);
    sim.save();
    match session_id {
        Some(s) => {
            let mut r = pages::message(
                "Request approved",
                "You can return to your device and close this tab.",
            );
            set_cookie(&mut r, &s);
            r
        }
        None => pages::message(
            "Request denied",
            "The device was not signed in. You can close this tab.",
        ),
    }
}
