//! Errors returned by AWS APIs, typed from `x-amzn-ErrorType`, then body `code`, then `__type`.
//!
//! An error is never typed by matching its message text.

use reqwest::header::HeaderMap;
use serde_json::Value;
use std::fmt;

/// The error shapes of SSO-OIDC and the portal API that ssotray acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorCode {
    /// The user denied the sign-in.
    AccessDenied,
    /// Device authorization not yet approved.
    AuthorizationPending,
    /// Device code or token expired.
    ExpiredToken,
    /// Server fault.
    InternalServer,
    /// Client registration unknown or expired.
    InvalidClient,
    /// Refresh token or code no longer valid: the portal session ended.
    InvalidGrant,
    /// Malformed request.
    InvalidRequest,
    /// Poll less often.
    SlowDown,
    /// Portal: the access token is not valid (session ended or logged out).
    Unauthorized,
    /// Portal: throttled.
    TooManyRequests,
    /// Anything else, by name.
    Other(String),
}

impl ErrorCode {
    /// Maps a shape name to a code.
    pub fn from_name(name: &str) -> ErrorCode {
        match name {
            "AccessDeniedException" => ErrorCode::AccessDenied,
            "AuthorizationPendingException" => ErrorCode::AuthorizationPending,
            "ExpiredTokenException" => ErrorCode::ExpiredToken,
            "InternalServerException" => ErrorCode::InternalServer,
            "InvalidClientException" => ErrorCode::InvalidClient,
            "InvalidGrantException" => ErrorCode::InvalidGrant,
            "InvalidRequestException" => ErrorCode::InvalidRequest,
            "SlowDownException" => ErrorCode::SlowDown,
            "UnauthorizedException" => ErrorCode::Unauthorized,
            "TooManyRequestsException" => ErrorCode::TooManyRequests,
            other => ErrorCode::Other(other.to_string()),
        }
    }
}

/// A service error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    /// The shape.
    pub code: ErrorCode,
    /// HTTP status.
    pub status: u16,
    /// `error_description` or `message`, as the server sent it.
    pub message: Option<String>,
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match &self.code {
            ErrorCode::Other(n) => n.clone(),
            c => format!("{c:?}Exception"),
        };
        write!(f, "{name} (HTTP {})", self.status)?;
        if let Some(m) = &self.message {
            write!(f, ": {m}")?;
        }
        Ok(())
    }
}

/// Strips `#` namespaces and `:` suffixes from a shape name, as the SDKs do.
fn shape_name(raw: &str) -> Option<String> {
    let before_colon = raw.split(':').next().unwrap_or(raw);
    let name = before_colon
        .rsplit('#')
        .next()
        .unwrap_or(before_colon)
        .trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// Types an error answer: header `x-amzn-ErrorType` first, then body `code`, then `__type`.
/// `None` when nothing names the error.
pub fn classify(status: u16, headers: &HeaderMap, body: &[u8]) -> ServiceError {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let field = |k: &str| {
        json.as_ref()
            .and_then(|v| v.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let name = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .and_then(shape_name)
        .or_else(|| field("code").as_deref().and_then(shape_name))
        .or_else(|| field("__type").as_deref().and_then(shape_name));
    let code = match name {
        Some(n) => ErrorCode::from_name(&n),
        None => ErrorCode::Other(format!("UnnamedHttp{status}")),
    };
    let message = field("error_description")
        .or_else(|| field("message"))
        .or_else(|| field("Message"));
    ServiceError {
        code,
        status,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn check(header: Option<&str>, body: &str, expected: ErrorCode) {
        let mut headers = HeaderMap::new();
        if let Some(h) = header {
            headers.insert("x-amzn-ErrorType", HeaderValue::from_str(h).unwrap());
        }
        assert_eq!(
            classify(400, &headers, body.as_bytes()).code,
            expected,
            "{header:?} {body}"
        );
    }

    #[test]
    fn typed_from_header_then_code_then_type() {
        check(
            Some("AuthorizationPendingException:http://internal.amazon.com/coral/com.amazonaws.sso.oidc/"),
            r#"{"error":"authorization_pending"}"#,
            ErrorCode::AuthorizationPending,
        );
        check(
            Some("com.amazonaws.sso#SlowDownException"),
            "{}",
            ErrorCode::SlowDown,
        );
        // The header wins over the body.
        check(
            Some("InvalidGrantException"),
            r#"{"code":"SlowDownException"}"#,
            ErrorCode::InvalidGrant,
        );
        check(
            None,
            r#"{"code":"InvalidClientException","__type":"X"}"#,
            ErrorCode::InvalidClient,
        );
        check(
            None,
            r#"{"__type":"com.amazonaws#UnauthorizedException"}"#,
            ErrorCode::Unauthorized,
        );
        // The body's `error` field never chooses the type.
        check(
            None,
            r#"{"error":"invalid_grant"}"#,
            ErrorCode::Other("UnnamedHttp400".into()),
        );
        check(None, "<html>", ErrorCode::Other("UnnamedHttp400".into()));
    }
}
