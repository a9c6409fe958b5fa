//! Role credentials as the AWS CLI caches them (`~/.aws/cli/cache`, spec §4), and the
//! `credential_process` output format.
//!
//! Also the shell exports of role credentials.

use crate::aws::portal::RoleCredentials;
use crate::platform::secret::Secret;
use crate::platform::time::{format_timestamp, parse_timestamp};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

/// Cached role credentials are reused while more than this is left (as the AWS CLI does).
pub const ROLE_CREDENTIALS_MIN_LEFT: Duration = Duration::minutes(15);

/// The cache file's bytes, as the AWS CLI writes them.
pub fn to_cli_cache_json(c: &RoleCredentials) -> String {
    let credentials = json!({
        "AccessKeyId": c.access_key_id,
        "SecretAccessKey": c.secret_access_key.expose(),
        "SessionToken": c.session_token.expose(),
        "Expiration": format_timestamp(c.expiration),
        "AccountId": c.account_id,
    });
    format!(
        "{{\"ProviderType\": \"sso\", \"Credentials\": {}}}",
        python_style(&credentials)
    )
}

/// JSON with Python's default `", "` and `": "` separators (one level deep is all we write).
fn python_style(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), v))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        other => other.to_string(),
    }
}

/// Reads a CLI cache entry written by ssotray or the AWS CLI; `None` for anything else.
pub fn from_cli_cache_json(bytes: &[u8]) -> Option<RoleCredentials> {
    let v: Value = serde_json::from_slice(crate::platform::files::strip_bom(bytes)).ok()?;
    if v.get("ProviderType")?.as_str()? != "sso" {
        return None;
    }
    let c = v.get("Credentials")?;
    let s = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_string);
    Some(RoleCredentials {
        access_key_id: s("AccessKeyId")?,
        secret_access_key: Secret::new(s("SecretAccessKey")?),
        session_token: Secret::new(s("SessionToken")?),
        expiration: parse_timestamp(&s("Expiration")?)?,
        account_id: s("AccountId").unwrap_or_default(),
    })
}

/// Whether cached credentials are still good enough to hand out at `now`.
pub fn fresh_enough(c: &RoleCredentials, now: DateTime<Utc>) -> bool {
    c.expiration - now > ROLE_CREDENTIALS_MIN_LEFT
}

/// The JSON a `credential_process` prints (Version 1, `Expiration` ending in `Z`).
pub fn credential_process_json(c: &RoleCredentials) -> String {
    json!({
        "Version": 1,
        "AccessKeyId": c.access_key_id,
        "SecretAccessKey": c.secret_access_key.expose(),
        "SessionToken": c.session_token.expose(),
        "Expiration": format_timestamp(c.expiration),
    })
    .to_string()
}

/// POSIX shell `export` lines.
pub fn shell_exports(c: &RoleCredentials) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    format!(
        "export AWS_ACCESS_KEY_ID={}\nexport AWS_SECRET_ACCESS_KEY={}\nexport AWS_SESSION_TOKEN={}\nexport AWS_CREDENTIAL_EXPIRATION={}\n",
        quote(&c.access_key_id),
        quote(c.secret_access_key.expose()),
        quote(c.session_token.expose()),
        quote(&format_timestamp(c.expiration)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn sample() -> RoleCredentials {
        RoleCredentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Secret::new("sec'ret"),
            session_token: Secret::new("tok"),
            expiration: Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap(),
            account_id: "111111111111".into(),
        }
    }

    #[test]
    fn golden_cli_cache_entry_round_trips() {
        let text = to_cli_cache_json(&sample());
        assert_eq!(
            text,
            r#"{"ProviderType": "sso", "Credentials": {"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "sec'ret", "SessionToken": "tok", "Expiration": "2026-01-01T12:00:00Z", "AccountId": "111111111111"}}"#
        );
        assert_eq!(from_cli_cache_json(text.as_bytes()), Some(sample()));
        assert_eq!(
            from_cli_cache_json(br#"{"ProviderType": "assume-role", "Credentials": {}}"#),
            None
        );
        assert_eq!(from_cli_cache_json(b"garbage"), None);
    }

    #[test]
    fn credential_process_output_and_exports() {
        let v: Value = serde_json::from_str(&credential_process_json(&sample())).unwrap();
        assert_eq!(v["Version"], 1);
        assert_eq!(v["Expiration"], "2026-01-01T12:00:00Z");
        assert_eq!(v["SecretAccessKey"], "sec'ret");
        let exports = shell_exports(&sample());
        assert!(
            exports.contains("export AWS_SECRET_ACCESS_KEY='sec'\\''ret'\n"),
            "{exports}"
        );
    }

    #[test]
    fn reused_only_with_more_than_fifteen_minutes_left() {
        let c = sample();
        assert!(fresh_enough(&c, c.expiration - Duration::minutes(16)));
        assert!(!fresh_enough(&c, c.expiration - Duration::minutes(15)));
    }
}
