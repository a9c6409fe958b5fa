//! SSO-OIDC: RegisterClient (`/client/register`), StartDeviceAuthorization
//! (`/device_authorization`) and CreateToken (`/token`) for the device-code,
//! authorization-code and refresh-token grants.

use super::{aws_error, ok_json, App, Shared};
use crate::state::{
    random_token, user_code, AccessToken, Client, Decision, Device, RefreshToken, State,
};
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::response::Response;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// An AWS error answer: the `x-amzn-ErrorType` header the SDKs read, and the body of the service.
fn oidc_error(status: u16, shape: &str, error: &str, description: &str) -> Response {
    let body = json!({"error": error, "error_description": description});
    aws_error(status, shape, "com.amazonaws.sso.oidc", body)
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

pub(super) async fn register_client(AxState(sim): App, body: Bytes) -> Response {
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

pub(super) async fn start_device_authorization(AxState(sim): App, body: Bytes) -> Response {
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

pub(super) async fn create_token(AxState(sim): App, body: Bytes) -> Response {
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
                    if !state.kept.session_alive(&session_id, now) {
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
            if !state.kept.session_alive(&grant.session_id, now) {
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
            if !state.kept.session_alive(&refresh.session_id, now) {
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
