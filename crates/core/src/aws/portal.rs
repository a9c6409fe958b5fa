//! The access portal API (spec §2): accounts, roles, role credentials, logout — with the retry
//! policy for throttling and server faults that every portal caller shares.
//!
//! The operations: ListAccounts, ListAccountRoles, GetRoleCredentials and Logout. `RetryPolicy`:
//! exponential backoff with full jitter, on 429, 5xx and network errors only; a 429 is retried,
//! never taken as the end of a session.

use crate::aws::endpoints::join;
use crate::aws::error::ErrorCode;
use crate::aws::oidc::{origin, send, ApiError};
use crate::platform::secret::Secret;
use chrono::{DateTime, Utc};
use rand::Rng;
use serde::Deserialize;
use serde_json::Value;
use std::future::Future;
use std::time::Duration;
use url::Url;

/// An account as ListAccounts returns it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountInfo {
    /// 12-digit id.
    pub account_id: String,
    /// Name.
    #[serde(default)]
    pub account_name: Option<String>,
    /// Root email.
    #[serde(default)]
    pub email_address: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountsPage {
    #[serde(default)]
    next_token: Option<String>,
    #[serde(default)]
    account_list: Vec<AccountInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleInfo {
    role_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RolesPage {
    #[serde(default)]
    next_token: Option<String>,
    #[serde(default)]
    role_list: Vec<RoleInfo>,
}

/// Short-lived credentials of one role in one account.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleCredentials {
    /// Access key id (not secret on its own; shown in AWS logs).
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: Secret,
    /// Session token.
    pub session_token: Secret,
    /// When they expire.
    pub expiration: DateTime<Utc>,
    /// The account.
    pub account_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleCredentialsWire {
    role_credentials: RoleCredentialsInner,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleCredentialsInner {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: i64,
}

/// A page of results and the token of the next one.
pub type Page<T> = (Vec<T>, Option<String>);

/// A client of the access portal API.
#[derive(Debug, Clone)]
pub struct PortalClient {
    http: reqwest::Client,
    base: Url,
}

impl PortalClient {
    /// A client of the endpoint at `base`.
    pub fn new(http: reqwest::Client, base: Url) -> Self {
        PortalClient { http, base }
    }

    fn get(
        &self,
        path: &str,
        token: &Secret,
        query: &[(&str, &str)],
    ) -> (reqwest::RequestBuilder, Url) {
        let url = join(&self.base, path);
        (
            self.http
                .get(url.clone())
                .query(query)
                .header("x-amz-sso_bearer_token", token.expose()),
            url,
        )
    }

    /// One page of ListAccounts.
    pub async fn list_accounts(
        &self,
        token: &Secret,
        next_token: Option<&str>,
        max_result: u32,
    ) -> Result<Page<AccountInfo>, ApiError> {
        let max = max_result.to_string();
        let mut query = vec![("max_result", max.as_str())];
        if let Some(t) = next_token {
            query.push(("next_token", t));
        }
        let (request, url) = self.get("/assignment/accounts", token, &query);
        let page: AccountsPage = send(request, &url).await?;
        Ok((page.account_list, page.next_token.filter(|t| !t.is_empty())))
    }

    /// One page of ListAccountRoles.
    pub async fn list_account_roles(
        &self,
        token: &Secret,
        account_id: &str,
        next_token: Option<&str>,
        max_result: u32,
    ) -> Result<Page<String>, ApiError> {
        let max = max_result.to_string();
        let mut query = vec![("account_id", account_id), ("max_result", max.as_str())];
        if let Some(t) = next_token {
            query.push(("next_token", t));
        }
        let (request, url) = self.get("/assignment/roles", token, &query);
        let page: RolesPage = send(request, &url).await?;
        Ok((
            page.role_list.into_iter().map(|r| r.role_name).collect(),
            page.next_token.filter(|t| !t.is_empty()),
        ))
    }

    /// GetRoleCredentials.
    pub async fn get_role_credentials(
        &self,
        token: &Secret,
        account_id: &str,
        role_name: &str,
    ) -> Result<RoleCredentials, ApiError> {
        let (request, url) = self.get(
            "/federation/credentials",
            token,
            &[("role_name", role_name), ("account_id", account_id)],
        );
        let wire: RoleCredentialsWire = send(request, &url).await?;
        let c = wire.role_credentials;
        let expiration = DateTime::from_timestamp_millis(c.expiration)
            .filter(|t| crate::platform::time::in_range(*t))
            .ok_or_else(|| ApiError::Decode {
                endpoint: origin(&url),
                reason: "`expiration` out of range".into(),
            })?;
        Ok(RoleCredentials {
            access_key_id: c.access_key_id,
            secret_access_key: Secret::new(c.secret_access_key),
            session_token: Secret::new(c.session_token),
            expiration,
            account_id: account_id.to_string(),
        })
    }

    /// Logout: ends the portal session of `access_token`.
    pub async fn logout(&self, access_token: &Secret) -> Result<(), ApiError> {
        let url = join(&self.base, "/logout");
        let _: Value = send(
            self.http
                .post(url.clone())
                .header("x-amz-sso_bearer_token", access_token.expose()),
            &url,
        )
        .await?;
        Ok(())
    }
}

/// Whether an error is worth another try: throttling, server faults, the network.
pub fn is_retryable(e: &ApiError) -> bool {
    match e {
        ApiError::Service(s) => {
            s.code == ErrorCode::TooManyRequests
                || s.status == 429
                || s.status >= 500
                // STS's throttling answers come with 400.
                || matches!(&s.code, ErrorCode::Other(c) if matches!(c.as_str(), "Throttling" | "ThrottlingException" | "RequestLimitExceeded"))
        }
        ApiError::Network { .. } => true,
        ApiError::Decode { .. } => false,
    }
}

/// Exponential backoff with full jitter.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub max_attempts: u32,
    /// First backoff ceiling.
    pub base: Duration,
    /// Largest backoff ceiling.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The pause before retry number `attempt` (1-based): uniform in `[0, min(cap, base·2^(attempt-1))]`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.cap);
        let millis = ceiling.as_millis() as u64;
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }

    /// Runs `call` until it succeeds, fails in a way retrying cannot mend, or tries run out.
    /// `on_retry` sees each retried error (for counting throttles).
    pub async fn run<T, F, Fut>(
        &self,
        mut call: F,
        on_retry: &(dyn Fn(&ApiError) + Send + Sync),
    ) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let mut attempt = 1;
        loop {
            match call().await {
                Err(e) if is_retryable(&e) && attempt < self.max_attempts => {
                    on_retry(&e);
                    tokio::time::sleep(self.backoff(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(450),
        };
        let mut largest = Duration::ZERO;
        for _ in 0..200 {
            assert!(p.backoff(1) <= Duration::from_millis(100));
            let third = p.backoff(3);
            assert!(third <= Duration::from_millis(400));
            largest = largest.max(third);
            assert!(p.backoff(30) <= Duration::from_millis(450));
        }
        // Jitter is spread over the whole range: 200 draws all below half would be a broken backoff.
        assert!(largest > Duration::from_millis(200), "{largest:?}");
    }

    #[test]
    fn only_throttling_faults_and_network_are_retried() {
        let service = |code: ErrorCode, status| {
            ApiError::Service(crate::aws::error::ServiceError {
                code,
                status,
                message: None,
            })
        };
        assert!(is_retryable(&service(ErrorCode::TooManyRequests, 429)));
        assert!(is_retryable(&service(ErrorCode::InternalServer, 500)));
        assert!(!is_retryable(&service(ErrorCode::Unauthorized, 401)));
        assert!(!is_retryable(&service(
            ErrorCode::Other("ForbiddenException".into()),
            403
        )));
        assert!(is_retryable(&ApiError::Network {
            endpoint: "x".into(),
            reason: "y".into()
        }));
        // STS throttles with 400 and a code; its other 400s (ValidationError) are final.
        assert!(is_retryable(&service(
            ErrorCode::Other("Throttling".into()),
            400
        )));
        assert!(!is_retryable(&service(
            ErrorCode::Other("ValidationError".into()),
            400
        )));
    }
}
