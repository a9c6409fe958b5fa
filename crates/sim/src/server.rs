//! HTTP handlers: SSO-OIDC, the portal API, console federation, the pages a person uses, stats.

// Validation helpers return the finished error `Response` so a handler can `return` it as is;
// responses are built once per request, so their size does not matter here.
#![allow(clippy::result_large_err)]

use crate::pages;
use crate::state::{
    random_token, user_code, AccessToken, AuthRequest, Bucket, Client, Code, ConsoleSession,
    Decision, Device, RefreshToken, RoleCredentials, SigninToken, State,
};
use crate::SimConfig;
use axum::body::Bytes;
use axum::extract::{Query, State as AxState};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
        .route("/client/register", post(register_client))
        .route("/device_authorization", post(start_device_authorization))
        .route("/token", post(create_token))
        .route("/authorize", get(authorize_page).post(authorize_decision))
        .route("/device", get(device_page).post(device_decision))
        .route("/assignment/accounts", get(list_accounts))
        .route("/assignment/roles", get(list_account_roles))
        .route("/federation/credentials", get(get_role_credentials))
        .route("/logout", post(logout))
        .route("/federation", get(federation))
        .route("/console/{id}", get(console_page))
        .route("/_sim/stats", get(stats))
        .route("/_sim/clock", get(clock).post(advance_clock))
        .route("/_sim/seen", get(seen))
        .route("/", post(sts))
        .with_state(shared)
}

/// An AWS error answer: the `x-amzn-ErrorType` header the SDKs read, and the body of the service.
fn oidc_error(status: u16, shape: &str, error: &str, description: &str) -> Response {
    let body = json!({"error": error, "error_description": description});
    aws_error(status, shape, "com.amazonaws.sso.oidc", body)
}

fn portal_error(status: u16, shape: &str, message: &str) -> Response {
    aws_error(
        status,
        shape,
        "com.amazonaws.switchboard.portal",
        json!({ "message": message }),
    )
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

fn invalid_request(message: &str) -> Response {
    oidc_error(400, "InvalidRequestException", "invalid_request", message)
}

fn parse_body(body: &Bytes) -> Result<serde_json::Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(invalid_request("Request body is not a JSON object")),
    }
}

fn str_field<'a>(map: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

fn str_list(map: &serde_json::Map<String, Value>, key: &str) -> Vec<String> {
    map.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

async fn register_client(AxState(sim): App, body: Bytes) -> Response {
    sim.latency().await;
    let map = match parse_body(&body) {
        Ok(m) => m,
        Err(r) => return r,
    };
    sim.lock().count("RegisterClient");
    let (Some(name), Some(client_type)) =
        (str_field(&map, "clientName"), str_field(&map, "clientType"))
    else {
        return invalid_request("clientName and clientType are required");
    };
    if client_type != "public" {
        return oidc_error(
            400,
            "InvalidClientMetadataException",
            "invalid_client_metadata",
            "Invalid client type",
        );
    }
    let grant_types = str_list(&map, "grantTypes");
    let redirect_uris = str_list(&map, "redirectUris");
    if grant_types.iter().any(|g| g == "authorization_code") && redirect_uris.is_empty() {
        return oidc_error(
            400,
            "InvalidRedirectUriException",
            "invalid_redirect_uri",
            "redirectUris are required for authorization_code",
        );
    }
    for uri in &redirect_uris {
        if !uri.starts_with("http://127.0.0.1")
            && !uri.starts_with("http://localhost")
            && !uri.starts_with("http://[::1]")
        {
            return oidc_error(
                400,
                "InvalidRedirectUriException",
                "invalid_redirect_uri",
                "Redirect URIs must be loopback",
            );
        }
    }
    let now = sim.now_ms();
    let client_id = random_token("cid-", 22);
    let secret = random_token("csec-", 48);
    let client = Client {
        secret: secret.clone(),
        name: name.to_string(),
        expires_at_ms: now + sim.config.registration_ttl.as_millis() as u64,
        scopes: str_list(&map, "scopes"),
        redirect_uris,
        grant_types,
    };
    let expires_s = client.expires_at_ms / 1000;
    sim.lock().kept.clients.insert(client_id.clone(), client);
    sim.save();
    ok_json(json!({
        "clientId": client_id,
        "clientSecret": secret,
        "clientIdIssuedAt": now / 1000,
        "clientSecretExpiresAt": expires_s,
    }))
}

/// Checks `clientId`/`clientSecret`; the client on success.
fn authenticate_client(
    state: &State,
    map: &serde_json::Map<String, Value>,
    now: u64,
) -> Result<(String, Client), Response> {
    let (Some(id), Some(secret)) = (str_field(map, "clientId"), str_field(map, "clientSecret"))
    else {
        return Err(invalid_request("clientId and clientSecret are required"));
    };
    match state.kept.clients.get(id) {
        Some(c) if c.secret == secret && c.expires_at_ms > now => Ok((id.to_string(), c.clone())),
        Some(c) if c.secret == secret => Err(oidc_error(
            401,
            "InvalidClientException",
            "invalid_client",
            "Client registration has expired",
        )),
        _ => Err(oidc_error(
            401,
            "InvalidClientException",
            "invalid_client",
            "Invalid client",
        )),
    }
}

async fn start_device_authorization(AxState(sim): App, body: Bytes) -> Response {
    sim.latency().await;
    let map = match parse_body(&body) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let mut state = sim.lock();
    state.count("StartDeviceAuthorization");
    let (client_id, _) = match authenticate_client(&state, &map, sim.now_ms()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if str_field(&map, "startUrl").is_none_or(str::is_empty) {
        return invalid_request("startUrl is required");
    }
    let device_code = random_token("dc-", 40);
    let code = user_code();
    let ttl = sim.config.device_code_ttl;
    let mut device = Device {
        client_id,
        user_code: code.clone(),
        expires_at_ms: sim.now_ms() + ttl.as_millis() as u64,
        interval: Duration::from_secs(1),
        last_poll: None,
        decision: Decision::Pending,
        session_id: None,
    };
    if sim.config.auto_approve {
        device.decision = Decision::Approved;
        device.session_id = Some(state.new_session(sim.config.session_ttl, sim.now_ms()));
    }
    state.devices.insert(device_code.clone(), device);
    state.user_codes.insert(code.clone(), device_code.clone());
    drop(state);
    sim.save();
    let verification_uri = format!("{}/device", sim.base_url);
    ok_json(json!({
        "deviceCode": device_code,
        "userCode": code,
        "verificationUri": verification_uri,
        "verificationUriComplete": format!("{verification_uri}?user_code={code}"),
        "expiresIn": ttl.as_secs(),
        "interval": 1,
    }))
}

/// Issues an access token (and a refresh token when the client gets them) in a session.
fn issue_tokens(
    sim: &Shared,
    state: &mut State,
    client_id: &str,
    client: &Client,
    session_id: &str,
    refreshing: bool,
) -> Response {
    let access = random_token("aoa-", 64);
    let now = sim.now_ms();
    let mut expires_at_ms = now + sim.config.access_token_ttl.as_millis() as u64;
    if sim.config.tokens_end_with_session {
        if let Some(session) = state.kept.sessions.get(session_id) {
            expires_at_ms = expires_at_ms.min(session.ends_at_ms);
        }
    }
    state.kept.access_tokens.insert(
        access.clone(),
        AccessToken {
            session_id: session_id.to_string(),
            expires_at_ms,
        },
    );
    let mut body = json!({
        "accessToken": access,
        "tokenType": "Bearer",
        "expiresIn": expires_at_ms.saturating_sub(now) / 1000,
    });
    if client.gets_refresh_tokens() && !(refreshing && sim.config.omit_refresh_token_on_refresh) {
        let refresh = random_token("aor-", 64);
        state.kept.refresh_tokens.insert(
            refresh.clone(),
            RefreshToken {
                session_id: session_id.to_string(),
                client_id: client_id.to_string(),
                valid: true,
            },
        );
        body["refreshToken"] = Value::from(refresh);
    }
    ok_json(body)
}

async fn create_token(AxState(sim): App, body: Bytes) -> Response {
    sim.latency().await;
    let map = match parse_body(&body) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let response = {
        let mut state = sim.lock();
        state.count("CreateToken");
        create_token_locked(&sim, &mut state, &map)
    };
    if response.status().is_success() {
        sim.save();
    }
    response
}

fn invalid_grant(description: &str) -> Response {
    oidc_error(400, "InvalidGrantException", "invalid_grant", description)
}

fn create_token_locked(
    sim: &Shared,
    state: &mut State,
    map: &serde_json::Map<String, Value>,
) -> Response {
    let (client_id, client) = match authenticate_client(state, map, sim.now_ms()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(grant_type) = str_field(map, "grantType") else {
        return invalid_request("grantType is required");
    };
    let now = sim.now_ms();
    match grant_type {
        "urn:ietf:params:oauth:grant-type:device_code" => {
            let Some(device_code) = str_field(map, "deviceCode") else {
                return invalid_request("deviceCode is required");
            };
            let Some(device) = state.devices.get_mut(device_code) else {
                return invalid_grant("Invalid device code provided");
            };
            if device.client_id != client_id {
                return invalid_grant("Device code was issued to another client");
            }
            if now >= device.expires_at_ms {
                return oidc_error(
                    400,
                    "ExpiredTokenException",
                    "expired_token",
                    "Device code has expired",
                );
            }
            let polled_at = Instant::now();
            let too_fast = device.last_poll.is_some_and(|last| {
                polled_at.duration_since(last) + Duration::from_millis(200) < device.interval
            });
            device.last_poll = Some(polled_at);
            match device.decision {
                Decision::Denied => oidc_error(
                    400,
                    "AccessDeniedException",
                    "access_denied",
                    "Authorization was denied",
                ),
                Decision::Pending if too_fast => {
                    device.interval += Duration::from_secs(5);
                    oidc_error(
                        400,
                        "SlowDownException",
                        "slow_down",
                        "Client is polling too fast",
                    )
                }
                Decision::Pending => oidc_error(
                    400,
                    "AuthorizationPendingException",
                    "authorization_pending",
                    "Authorization is still pending",
                ),
                Decision::Approved => {
                    let session_id = device.session_id.clone().unwrap_or_default();
                    state.devices.remove(device_code);
                    if !state
                        .kept
                        .sessions
                        .get(&session_id)
                        .is_some_and(|s| s.alive(now))
                    {
                        return invalid_grant("Session has ended");
                    }
                    issue_tokens(sim, state, &client_id, &client, &session_id, false)
                }
            }
        }
        "authorization_code" => {
            if !client.allows("authorization_code") {
                return oidc_error(
                    400,
                    "UnauthorizedClientException",
                    "unauthorized_client",
                    "Client is not registered for authorization_code",
                );
            }
            let (Some(code), Some(redirect_uri), Some(verifier)) = (
                str_field(map, "code"),
                str_field(map, "redirectUri"),
                str_field(map, "codeVerifier"),
            ) else {
                return invalid_request("code, redirectUri and codeVerifier are required");
            };
            // A code is good for one exchange, whatever the outcome.
            let Some(grant) = state.codes.remove(code) else {
                return invalid_grant("Invalid authorization code provided");
            };
            if grant.client_id != client_id || now >= grant.expires_at_ms {
                return invalid_grant("Invalid authorization code provided");
            }
            if grant.redirect_uri != redirect_uri {
                return invalid_grant("Redirect URI does not match the authorization request");
            }
            state
                .seen
                .insert("codeVerifier".into(), verifier.to_string());
            let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(Sha256::digest(verifier.as_bytes()));
            if challenge != grant.code_challenge {
                return invalid_grant("Code verifier does not match the code challenge");
            }
            if !state
                .kept
                .sessions
                .get(&grant.session_id)
                .is_some_and(|s| s.alive(now))
            {
                return invalid_grant("Session has ended");
            }
            issue_tokens(sim, state, &client_id, &client, &grant.session_id, false)
        }
        "refresh_token" => {
            if !client.allows("refresh_token") {
                return oidc_error(
                    400,
                    "UnauthorizedClientException",
                    "unauthorized_client",
                    "Client is not registered for refresh_token",
                );
            }
            let Some(token) = str_field(map, "refreshToken") else {
                return invalid_request("refreshToken is required");
            };
            let Some(refresh) = state.kept.refresh_tokens.get(token).cloned() else {
                return invalid_grant("Invalid refresh token provided");
            };
            if !refresh.valid || refresh.client_id != client_id {
                return invalid_grant("Invalid refresh token provided");
            }
            if !state
                .kept
                .sessions
                .get(&refresh.session_id)
                .is_some_and(|s| s.alive(now))
            {
                return invalid_grant("Invalid refresh token provided");
            }
            if sim.config.strict_rotation {
                if let Some(r) = state.kept.refresh_tokens.get_mut(token) {
                    r.valid = false;
                }
            }
            issue_tokens(sim, state, &client_id, &client, &refresh.session_id, true)
        }
        _ => oidc_error(
            400,
            "UnsupportedGrantTypeException",
            "unsupported_grant_type",
            "Unsupported grant type",
        ),
    }
}

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

async fn authorize_page(
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

async fn authorize_decision(
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

async fn device_page(AxState(sim): App, Query(q): Query<HashMap<String, String>>) -> Response {
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

async fn device_decision(
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
        Some(t)
            if t.expires_at_ms > now
                && state
                    .kept
                    .sessions
                    .get(&t.session_id)
                    .is_some_and(|s| s.alive(now)) =>
        {
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

async fn list_accounts(
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

async fn list_account_roles(
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

async fn get_role_credentials(
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

async fn logout(AxState(sim): App, headers: HeaderMap) -> Response {
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

fn federation_error(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, message.to_string()).into_response()
}

async fn federation(AxState(sim): App, Query(q): Query<HashMap<String, String>>) -> Response {
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

async fn console_page(
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

async fn stats(AxState(sim): App) -> Response {
    let state = sim.lock();
    axum::Json(&state.stats).into_response()
}

/// `GET /_sim/clock`: the simulator's time and how far it was moved, in milliseconds.
async fn clock(AxState(sim): App) -> Response {
    axum::Json(json!({ "nowMs": sim.now_ms(), "offsetMs": sim.clock.offset().as_millis() as u64 }))
        .into_response()
}

/// `POST /_sim/clock?advance=SECS`: moves the simulator's clock forward (tests of hours-long
/// sessions at their real proportions).
async fn advance_clock(AxState(sim): App, Query(q): Query<HashMap<String, String>>) -> Response {
    match q.get("advance").and_then(|s| s.parse::<u64>().ok()) {
        Some(secs) => {
            sim.clock.advance(Duration::from_secs(secs));
            clock(AxState(sim)).await
        }
        None => (StatusCode::BAD_REQUEST, "advance=SECS is required").into_response(),
    }
}

const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

fn sts_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<ErrorResponse xmlns=\"{STS_NS}\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>{code}</Code>\n    <Message>{message}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n</ErrorResponse>\n",
        uuid_like()
    );
    (status, [("content-type", "text/xml")], body).into_response()
}

/// `POST /`: STS over the query protocol (`AWS_ENDPOINT_URL_STS` pointed here):
/// GetCallerIdentity and AssumeRole. The caller is judged by the access key in the SigV4
/// `Authorization` header and the `X-Amz-Security-Token` (both must be role credentials this
/// simulator issued, not expired by its clock), with a valid SigV4 signature (`sigv4`).
async fn sts(
    AxState(sim): App,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    sim.latency().await;
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let action = form.get("Action").cloned().unwrap_or_default();
    let mut state = sim.lock();
    state.count(&action);
    if action != "GetCallerIdentity" && action != "AssumeRole" {
        return sts_error(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            "Could not find operation for this request",
        );
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let (access_key, c) = match sts_caller(&sim, &state, path, &headers, &body) {
        Ok(found) => found,
        Err(refused) => {
            state.count(&format!("{action}Refused"));
            return refused;
        }
    };
    // The signature's scope: the service must be STS; the region is recorded for tests (AWS
    // answers in any region the caller signed for at a regional endpoint).
    let scope = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(crate::sigv4::parse)
        .map(|a| (a.region.to_string(), a.service.to_string()))
        .unwrap_or_default();
    if scope.1 != "sts" {
        state.count(&format!("{action}Refused"));
        return sts_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            &format!(
                "Credential should be scoped to correct service: 'sts'. (signed for '{}')",
                scope.1
            ),
        );
    }
    state
        .seen
        .insert("stsScope".into(), format!("{}/{}", scope.0, scope.1));
    let response = if action == "AssumeRole" {
        assume_role(&sim, &mut state, &c, &form)
    } else {
        // Which credentials signed GetCallerIdentity calls, each once in order of first use
        // (tests count the credential lifetimes an SDK went through).
        let keys = state.seen.entry("callerKeys".into()).or_default();
        if !keys.split(' ').any(|k| k == access_key) {
            if !keys.is_empty() {
                keys.push(' ');
            }
            keys.push_str(&access_key);
        }
        let session = c.assumed_session.as_deref().unwrap_or("sim-user");
        let body = format!(
            "<GetCallerIdentityResponse xmlns=\"{STS_NS}\">\n  <GetCallerIdentityResult>\n    <Arn>{arn}</Arn>\n    <UserId>{role_id}:{session}</UserId>\n    <Account>{account}</Account>\n  </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>{}</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n",
            uuid_like(),
            arn = c.arn(),
            role_id = role_id(&c.role_name),
            account = c.account_id,
        );
        Ok((StatusCode::OK, [("content-type", "text/xml")], body).into_response())
    };
    response.unwrap_or_else(|refused| {
        state.count(&format!("{action}Refused"));
        refused
    })
}

/// A role id as AWS shapes them (AROA + 17 characters), the same for every session of the role.
fn role_id(role_name: &str) -> String {
    format!("AROA{}", hex_of(role_name).to_uppercase())
        .chars()
        .take(21)
        .collect()
}

/// Who signed an STS request: its access key and credentials, or the error AWS answers.
fn sts_caller(
    sim: &Shared,
    state: &State,
    path: &str,
    headers: &HeaderMap,
    body: &str,
) -> Result<(String, RoleCredentials), Response> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let authorization = header("authorization");
    let access_key = authorization
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').next())
        .unwrap_or_default()
        .to_string();
    let invalid = || {
        sts_error(
            StatusCode::FORBIDDEN,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        )
    };
    if !authorization.starts_with("AWS4-HMAC-SHA256 ") {
        return Err(sts_error(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        ));
    }
    let Some(c) = state.role_credentials.get(&access_key).cloned() else {
        return Err(invalid());
    };
    if c.session_token != header("x-amz-security-token") {
        return Err(invalid());
    }
    if let Err(why) = crate::sigv4::verify(
        "POST",
        path,
        headers,
        body.as_bytes(),
        &c.secret_access_key,
        &c.session_token,
    ) {
        tracing::info!(%why, "STS: signature refused");
        return Err(sts_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ));
    }
    if c.expires_at_ms <= sim.now_ms() {
        return Err(sts_error(
            StatusCode::FORBIDDEN,
            "ExpiredToken",
            "The security token included in the request is expired",
        ));
    }
    Ok((access_key, c))
}

/// AssumeRole with the caller's credentials. Every caller here holds role credentials, so every
/// AssumeRole is role chaining: the session lasts at most 1 hour, and a longer
/// `DurationSeconds` is refused, as AWS does.
fn assume_role(
    sim: &Shared,
    state: &mut State,
    caller: &RoleCredentials,
    form: &HashMap<String, String>,
) -> Result<Response, Response> {
    let validation = |message: &str| sts_error(StatusCode::BAD_REQUEST, "ValidationError", message);
    let role_arn = form.get("RoleArn").map(String::as_str).unwrap_or_default();
    let Some(session_name) = form.get("RoleSessionName").filter(|n| {
        (2..=64).contains(&n.len())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
    }) else {
        return Err(validation(
            "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        ));
    };
    let duration = match form.get("DurationSeconds") {
        None => 3600,
        Some(d) => match d.parse::<u64>() {
            Ok(d) if (900..=43200).contains(&d) => d,
            _ => {
                return Err(validation(
                    "1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200",
                ))
            }
        },
    };
    if duration > 3600 {
        return Err(validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        ));
    }
    let denied = || {
        sts_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            &format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                caller.arn()
            ),
        )
    };
    let target = role_arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|rest| rest.split_once(":role/"))
        .and_then(|(account, path)| {
            let name = path.rsplit('/').next()?;
            let role = sim
                .config
                .org
                .account(account)?
                .iam_roles
                .iter()
                .find(|r| r.name == name)?;
            Some((account.to_string(), role.clone()))
        });
    let Some((account_id, role)) = target else {
        return Err(denied());
    };
    if !role.trusted.contains(&caller.principal())
        || role.external_id.as_deref() != form.get("ExternalId").map(String::as_str)
    {
        return Err(denied());
    }
    let access_key_id = format!("ASIA{}", random_token("", 16).to_uppercase());
    let credentials = RoleCredentials {
        secret_access_key: random_token("", 40),
        session_token: random_token("IQoJb3JpZ2luX2Vj", 200),
        account_id,
        role_name: role.name.clone(),
        expires_at_ms: sim.now_ms() + duration * 1000,
        assumed_session: Some(session_name.clone()),
    };
    let expiration = chrono::DateTime::from_timestamp_millis(credentials.expires_at_ms as i64)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ");
    let body = format!(
        "<AssumeRoleResponse xmlns=\"{STS_NS}\">\n  <AssumeRoleResult>\n    <AssumedRoleUser>\n      <AssumedRoleId>{role_id}:{session_name}</AssumedRoleId>\n      <Arn>{arn}</Arn>\n    </AssumedRoleUser>\n    <Credentials>\n      <AccessKeyId>{access_key_id}</AccessKeyId>\n      <SecretAccessKey>{secret}</SecretAccessKey>\n      <SessionToken>{token}</SessionToken>\n      <Expiration>{expiration}</Expiration>\n    </Credentials>\n  </AssumeRoleResult>\n  <ResponseMetadata>\n    <RequestId>{}</RequestId>\n  </ResponseMetadata>\n</AssumeRoleResponse>\n",
        uuid_like(),
        role_id = role_id(&role.name),
        arn = credentials.arn(),
        secret = credentials.secret_access_key,
        token = credentials.session_token,
    );
    state.role_credentials.insert(access_key_id, credentials);
    Ok((StatusCode::OK, [("content-type", "text/xml")], body).into_response())
}

fn hex_of(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// `GET /_sim/seen`: the last `state`, authorization `code`, `codeVerifier` and `SigninToken`
/// the simulator saw or issued, `callerKeys` (the access keys that called GetCallerIdentity) and
/// `stsScope` (the region and service the last STS call was signed for) (test instrumentation:
/// they are credentials of the simulated user only).
async fn seen(AxState(sim): App) -> Response {
    let state = sim.lock();
    axum::Json(&state.seen).into_response()
}
