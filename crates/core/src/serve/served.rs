//! What ssotray's local credential endpoints (#13: the container-credentials server and the
//! IMDSv2 endpoint) answer, as the AWS SDKs read it (`spec/credential-protocols.md` §2, §3), and
//! the check of the token a client presents. Bodies only: the servers that send them are elsewhere.
//!
//! The container-credentials and IMDSv2 bodies as the SDKs read them: `Expiration` ends in `Z`,
//! IMDS adds `Code`, `Type` and `LastUpdated`; and the error bodies. `ServerToken` is random hex,
//! compared in constant time (`subtle`), with a redacted `Debug`.

use crate::aws::portal::RoleCredentials;
use crate::platform::secret::Secret;
use crate::platform::time::format_timestamp;
use chrono::{DateTime, Utc};
use serde_json::json;
use subtle::ConstantTimeEq as _;

/// The container-credentials answer (`AWS_CONTAINER_CREDENTIALS_FULL_URI`, §2.3): the four fields
/// every SDK requires, `Expiration` as UTC ending in `Z` (aws-config and the JS SDK refuse an
/// offset), and `AccountId`, which botocore and aws-config read.
pub fn container_json(c: &RoleCredentials) -> String {
    json!({
        "AccessKeyId": c.access_key_id,
        "SecretAccessKey": c.secret_access_key.expose(),
        "Token": c.session_token.expose(),
        "Expiration": format_timestamp(c.expiration),
        "AccountId": c.account_id,
    })
    .to_string()
}

/// The IMDSv2 answer for `/latest/meta-data/iam/security-credentials/<role>` (§3.2): `Code`
/// `Success` (aws-config requires it absent or so), `Type` `AWS-HMAC`, `LastUpdated` when the
/// credentials were fetched, `Expiration` ending in `Z`.
pub fn imds_json(c: &RoleCredentials, last_updated: DateTime<Utc>) -> String {
    json!({
        "Code": "Success",
        "LastUpdated": format_timestamp(last_updated),
        "Type": "AWS-HMAC",
        "AccessKeyId": c.access_key_id,
        "SecretAccessKey": c.secret_access_key.expose(),
        "Token": c.session_token.expose(),
        "Expiration": format_timestamp(c.expiration),
    })
    .to_string()
}

/// An error answer: botocore shows the body of a non-200 answer to the user, aws-config its
/// `Code` and `Message` (§2.4), so `message` says what to do (e.g. "run `ssotray login my-sso`").
pub fn error_json(code: &str, message: &str) -> String {
    json!({ "Code": code, "Message": message }).to_string()
}

/// The token a server hands its clients (the container `Authorization` header, the token file):
/// compared in constant time, never shown.
#[derive(Debug, Clone)]
pub struct ServerToken(Secret);

impl ServerToken {
    /// A token of `bytes` random bytes, hex-encoded: a legal header value, no newline (the
    /// SDKs refuse `\r` and `\n`, §2.1).
    pub fn random(rng: &mut impl rand::RngCore, bytes: usize) -> ServerToken {
        let mut raw = vec![0u8; bytes];
        rng.fill_bytes(&mut raw);
        ServerToken(Secret::new(hex::encode(raw)))
    }

    /// A token read back from its file: `None` unless it is what [`ServerToken::random`] makes
    /// (hex, at least 32 characters).
    pub fn from_text(text: &str) -> Option<ServerToken> {
        (text.len() >= 32 && text.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| ServerToken(Secret::new(text.to_string())))
    }

    /// The token's text, for the token file or the child's environment only.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// Whether a client presented this token (the header's bytes, verbatim: the SDKs add no
    /// `Bearer`). The time taken does not depend on where the two differ.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let ours = self.0.expose().as_bytes();
        // Lengths are not secret (every token is as long); only the bytes are compared in
        // constant time.
        ours.len() == presented.len() && bool::from(ours.ct_eq(presented))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::Value;

    fn sample() -> RoleCredentials {
        RoleCredentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Secret::new("secret"),
            session_token: Secret::new("session"),
            expiration: Utc.with_ymd_and_hms(2026, 1, 1, 13, 0, 0).unwrap(),
            account_id: "111111111111".into(),
        }
    }

    #[test]
    fn the_container_answer_has_what_every_sdk_requires() {
        let v: Value = serde_json::from_str(&container_json(&sample())).unwrap();
        assert_eq!(v["AccessKeyId"], "ASIAEXAMPLE");
        assert_eq!(v["SecretAccessKey"], "secret");
        assert_eq!(v["Token"], "session");
        assert_eq!(v["Expiration"], "2026-01-01T13:00:00Z");
        assert_eq!(v["AccountId"], "111111111111");
        assert!(
            v.get("Code").is_none(),
            "aws-config wants no Code or Success"
        );
    }

    #[test]
    fn the_imds_answer_is_what_imdsv2_serves() {
        let fetched = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
        let v: Value = serde_json::from_str(&imds_json(&sample(), fetched)).unwrap();
        assert_eq!(v["Code"], "Success");
        assert_eq!(v["Type"], "AWS-HMAC");
        assert_eq!(v["LastUpdated"], "2026-01-01T12:00:00Z");
        assert_eq!(v["Expiration"], "2026-01-01T13:00:00Z");
        assert_eq!(v["Token"], "session");
    }

    #[test]
    fn errors_carry_a_code_and_a_message() {
        let v: Value =
            serde_json::from_str(&error_json("LoginNeeded", "run `ssotray login my-sso`")).unwrap();
        assert_eq!(v["Code"], "LoginNeeded");
        assert_eq!(v["Message"], "run `ssotray login my-sso`");
    }

    #[test]
    fn the_token_matches_itself_only() {
        use rand::SeedableRng as _;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let token = ServerToken::random(&mut rng, 32);
        assert_eq!(token.expose().len(), 64);
        assert!(token.expose().bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(token.matches(token.expose().as_bytes()));
        let mut other = token.expose().as_bytes().to_vec();
        other[63] = if other[63] == b'0' { b'1' } else { b'0' };
        assert!(!token.matches(&other));
        assert!(!token.matches(&token.expose().as_bytes()[..63]));
        assert!(!token.matches(format!("{}\n", token.expose()).as_bytes()));
        assert!(!token.matches(format!("Bearer {}", token.expose()).as_bytes()));
        assert!(!token.matches(b""));
        let second = ServerToken::random(&mut rng, 32);
        assert_ne!(second.expose(), token.expose());
        assert_eq!(format!("{token:?}"), "ServerToken(** redacted **)");
    }
}
