//! The SSO-OIDC API (spec §1) over reqwest, and the HTTP plumbing shared with the portal client.
//!
//! Request and response bodies that hold secrets are typed with [`Secret`] so they cannot be logged
//! by accident.
//!
//! The operations: RegisterClient, StartDeviceAuthorization and CreateToken. The plumbing: `send`,
//! error typing, and `read_answer`, how every AWS answer is read (the portal's, STS's and the
//! federation endpoint's too): a redirect is an error (the client follows none and sends no
//! `Referer`), and at most 1 MiB (`MAX_BODY`) is read. Network errors name the endpoint's origin,
//! never a URL with a query.

use crate::aws::endpoints::join;
use crate::aws::error::{classify, ServiceError};
use crate::platform::secret::Secret;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

/// Errors of one API call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The service answered with an error.
    #[error("{0}")]
    Service(ServiceError),
    /// The service could not be reached.
    #[error("cannot reach {endpoint}: {reason}; check the network (and AWS_ENDPOINT_URL* if set)")]
    Network {
        /// Scheme, host and port of the endpoint.
        endpoint: String,
        /// The transport error.
        reason: String,
    },
    /// The answer was not what the API promises.
    #[error("unexpected answer from {endpoint}: {reason}")]
    Decode {
        /// Scheme, host and port.
        endpoint: String,
        /// What was wrong.
        reason: String,
    },
}

impl ApiError {
    /// The service error, if this is one.
    pub fn service(&self) -> Option<&ServiceError> {
        match self {
            ApiError::Service(e) => Some(e),
            _ => None,
        }
    }
}

pub(crate) fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Transport errors from reqwest can quote the URL, which for some calls holds a credential;
/// keep only the kind of failure.
fn network_error(url: &Url, e: &reqwest::Error) -> ApiError {
    let mut reason = if e.is_connect() {
        "connection failed".to_string()
    } else if e.is_timeout() {
        "timed out".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !text.contains("http") {
            reason = format!("{reason} ({text})");
            break;
        }
        source = s.source();
    }
    ApiError::Network {
        endpoint: origin(url),
        reason,
    }
}

/// The most of an AWS answer's body ssotray reads (the largest real answers, a page of
/// ListAccounts or an AssumeRole, are a few kilobytes).
pub const MAX_BODY: usize = 1024 * 1024;

/// An answer's status, headers and body, read up to [`MAX_BODY`]. A redirect is refused, never
/// followed (the HTTP client follows none): it would take the request's bearer token or signed
/// credentials to whatever address the answer names.
pub(crate) async fn read_answer(
    mut response: reqwest::Response,
    endpoint: &str,
    network: impl Fn(reqwest::Error) -> ApiError,
) -> Result<(reqwest::StatusCode, reqwest::header::HeaderMap, Vec<u8>), ApiError> {
    let status = response.status();
    if status.is_redirection() {
        return Err(ApiError::Decode {
            endpoint: endpoint.to_string(),
            reason: format!("a redirect ({status}), which ssotray never follows for an AWS API call (it would hand the request's credentials to another address); check AWS_ENDPOINT_URL* and any proxy in between"),
        });
    }
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(&network)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(ApiError::Decode {
                endpoint: endpoint.to_string(),
                reason: format!("an answer longer than {} KiB, which no AWS API sends; ssotray stopped reading it", MAX_BODY / 1024),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, headers, body))
}

/// Sends a request and decodes a JSON answer, typing error answers.
pub(crate) async fn send<T: for<'de> Deserialize<'de>>(
    request: reqwest::RequestBuilder,
    url: &Url,
) -> Result<T, ApiError> {
    let response = request.send().await.map_err(|e| network_error(url, &e))?;
    let (status, headers, body) =
        read_answer(response, &origin(url), |e| network_error(url, &e)).await?;
    if !status.is_success() {
        return Err(ApiError::Service(classify(
            status.as_u16(),
            &headers,
            &body,
        )));
    }
    let body: &[u8] = if body.is_empty() { b"{}" } else { &body };
    serde_json::from_slice(body).map_err(|e| ApiError::Decode {
        endpoint: origin(url),
        reason: e.to_string(),
    })
}

/// RegisterClient request (spec §1).
#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RegisterClientRequest {
    /// `clientName`.
    pub client_name: String,
    /// `clientType`, always `public`.
    pub client_type: String,
    /// `scopes`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// `redirectUris`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redirect_uris: Vec<String>,
    /// `grantTypes`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub grant_types: Vec<String>,
    /// `issuerUrl`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterClientWire {
    client_id: String,
    client_secret: String,
    client_secret_expires_at: i64,
}

/// A client registration.
#[derive(Debug, Clone)]
pub struct Registration {
    /// `clientId`.
    pub client_id: String,
    /// `clientSecret`.
    pub client_secret: Secret,
    /// When the registration expires (`clientSecretExpiresAt`, epoch seconds).
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// StartDeviceAuthorization answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceAuthorization {
    /// `deviceCode` (a secret: it can be exchanged for a token).
    #[serde(deserialize_with = "de_secret")]
    pub device_code: Secret,
    /// `userCode`, shown to the user.
    pub user_code: String,
    /// `verificationUri`.
    pub verification_uri: String,
    /// `verificationUriComplete`.
    pub verification_uri_complete: String,
    /// `expiresIn`, seconds.
    pub expires_in: i64,
    /// `interval`, seconds (default 5).
    #[serde(default)]
    pub interval: Option<i64>,
}

fn de_secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    String::deserialize(d).map(Secret::new)
}

fn de_opt_secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    Option::<String>::deserialize(d).map(|o| o.map(Secret::new))
}

/// CreateToken grant.
#[derive(Debug, Clone)]
pub enum Grant {
    /// Device code.
    DeviceCode(Secret),
    /// Authorization code with PKCE.
    AuthorizationCode {
        /// `code`.
        code: Secret,
        /// `redirectUri`, with the port.
        redirect_uri: String,
        /// `codeVerifier`.
        code_verifier: Secret,
    },
    /// Refresh token.
    RefreshToken(Secret),
}

/// CreateToken answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    /// `accessToken`.
    #[serde(deserialize_with = "de_secret")]
    pub access_token: Secret,
    /// `expiresIn`, seconds.
    pub expires_in: i64,
    /// `refreshToken`, when one is issued.
    #[serde(default, deserialize_with = "de_opt_secret")]
    pub refresh_token: Option<Secret>,
}

/// A client of one SSO-OIDC endpoint.
#[derive(Debug, Clone)]
pub struct OidcClient {
    http: reqwest::Client,
    base: Url,
}

impl OidcClient {
    /// A client of the endpoint at `base`.
    pub fn new(http: reqwest::Client, base: Url) -> Self {
        OidcClient { http, base }
    }

    /// The endpoint.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// RegisterClient.
    pub async fn register_client(
        &self,
        req: &RegisterClientRequest,
    ) -> Result<Registration, ApiError> {
        let url = join(&self.base, "/client/register");
        let wire: RegisterClientWire = send(self.http.post(url.clone()).json(req), &url).await?;
        let expires_at = chrono::DateTime::from_timestamp(wire.client_secret_expires_at, 0)
            .filter(|t| crate::platform::time::in_range(*t))
            .ok_or_else(|| ApiError::Decode {
                endpoint: origin(&url),
                reason: "`clientSecretExpiresAt` out of range".into(),
            })?;
        Ok(Registration {
            client_id: wire.client_id,
            client_secret: Secret::new(wire.client_secret),
            expires_at,
        })
    }

    /// StartDeviceAuthorization.
    pub async fn start_device_authorization(
        &self,
        registration: &Registration,
        start_url: &str,
    ) -> Result<DeviceAuthorization, ApiError> {
        let url = join(&self.base, "/device_authorization");
        let body = serde_json::json!({
            "clientId": registration.client_id,
            "clientSecret": registration.client_secret.expose(),
            "startUrl": start_url,
        });
        send(self.http.post(url.clone()).json(&body), &url).await
    }

    /// CreateToken.
    pub async fn create_token(
        &self,
        registration: &Registration,
        grant: &Grant,
    ) -> Result<TokenResponse, ApiError> {
        let url = join(&self.base, "/token");
        let mut body = serde_json::Map::new();
        body.insert(
            "clientId".into(),
            Value::from(registration.client_id.clone()),
        );
        body.insert(
            "clientSecret".into(),
            Value::from(registration.client_secret.expose()),
        );
        match grant {
            Grant::DeviceCode(code) => {
                body.insert(
                    "grantType".into(),
                    "urn:ietf:params:oauth:grant-type:device_code".into(),
                );
                body.insert("deviceCode".into(), code.expose().into());
            }
            Grant::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => {
                body.insert("grantType".into(), "authorization_code".into());
                body.insert("code".into(), code.expose().into());
                body.insert("redirectUri".into(), redirect_uri.clone().into());
                body.insert("codeVerifier".into(), code_verifier.expose().into());
            }
            Grant::RefreshToken(token) => {
                body.insert("grantType".into(), "refresh_token".into());
                body.insert("refreshToken".into(), token.expose().into());
            }
        }
        send(self.http.post(url.clone()).json(&Value::Object(body)), &url).await
    }
}
