//! The AWS CLI v2 token cache, `~/.aws/sso/cache/<sha1>.json`, read and written exactly as the CLI does.
//!
//! Invariants: a file ssotray cannot parse is never overwritten or deleted; keys other tools wrote
//! are kept on rewrite; every write is an atomic replacement with mode 0600; reads retry after a
//! short pause, because other writers (botocore) truncate and rewrite in place.
//!
//! File names are `sha1(id)`. `CachedToken` keeps unknown keys in file order, numbers unchanged,
//! and is written in the CLI's exact one-line format. Also here: the AWS CLI role-credential cache
//! key.

use crate::platform::context::Context;
use crate::platform::files::Invalid;
use crate::platform::secret::Secret;
use crate::platform::time::{check_timestamp, format_timestamp};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sha1::{Digest, Sha1};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often a read that failed to parse is tried again before ssotray concludes the file is corrupt.
const PARSE_RETRIES: u32 = 4;
/// Pause between those tries.
const PARSE_RETRY_PAUSE: Duration = Duration::from_millis(50);

/// Errors of the token cache.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// A filesystem error.
    #[error("failed to {what} `{path}`: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The file exists but is not a token ssotray can read.
    #[error("token cache file `{path}` cannot be read ({reason}); ssotray leaves it untouched: move it away (or fix it) and log in again")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it (never its contents).
        reason: String,
    },
}

/// The cache file name for a session name or legacy start URL: `sha1(id).hex + ".json"`.
pub fn token_file_name(cache_id: &str) -> String {
    format!("{}.json", hex::encode(Sha1::digest(cache_id.as_bytes())))
}

/// The AWS CLI's role-credential cache file name for an account, role and token holder:
/// `sha1(json.dumps({"accountId", "roleName", "sessionName" | "startUrl"}, sort_keys=True,
/// separators=(",", ":")))` (spec §4).
pub fn role_credential_cache_file_name(
    account_id: &str,
    role_name: &str,
    target: &crate::aws::config::SsoTarget,
) -> String {
    let s = |v: &str| Value::String(v.to_string()).to_string();
    let (key, value) = match &target.session_name {
        Some(name) => ("sessionName", name.as_str()),
        None => ("startUrl", target.start_url.as_str()),
    };
    // Keys in sorted order: accountId < roleName < sessionName/startUrl.
    let json = format!(
        "{{\"accountId\":{},\"roleName\":{},\"{key}\":{}}}",
        s(account_id),
        s(role_name),
        s(value)
    );
    format!("{}.json", hex::encode(Sha1::digest(json.as_bytes())))
}

/// A short, non-reversible fingerprint of an access token, to tell tokens apart without holding them.
pub fn fingerprint(token: &Secret) -> String {
    use sha2::Sha256;
    hex::encode(&Sha256::digest(token.expose().as_bytes())[..8])
}

/// A token as cached. Known keys are typed; every other key is kept in `extra`, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedToken {
    /// `startUrl`.
    pub start_url: Option<String>,
    /// `region`.
    pub region: Option<String>,
    /// `accessToken`.
    pub access_token: Secret,
    /// `expiresAt`.
    pub expires_at: DateTime<Utc>,
    /// `clientId`.
    pub client_id: Option<String>,
    /// `clientSecret`.
    pub client_secret: Option<Secret>,
    /// `registrationExpiresAt`.
    pub registration_expires_at: Option<DateTime<Utc>>,
    /// `refreshToken`.
    pub refresh_token: Option<Secret>,
    /// Keys written by other tools, preserved on rewrite.
    pub extra: Map<String, Value>,
}

const KNOWN_KEYS: [&str; 8] = [
    "startUrl",
    "region",
    "accessToken",
    "expiresAt",
    "clientId",
    "clientSecret",
    "registrationExpiresAt",
    "refreshToken",
];

impl CachedToken {
    /// Parses a cache file's bytes. `Err` holds a reason that never quotes the contents.
    pub fn from_json(bytes: &[u8]) -> Result<CachedToken, crate::platform::files::Invalid> {
        let value: Value = serde_json::from_slice(crate::platform::files::strip_bom(bytes))
            .map_err(|e| format!("not valid JSON: {e}"))?;
        let Value::Object(mut map) = value else {
            return Err("not a JSON object".into());
        };
        let string = |map: &Map<String, Value>, key: &str| -> Result<Option<String>, Invalid> {
            match map.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(format!("`{key}` is not a string").into()),
            }
        };
        let time =
            |map: &Map<String, Value>, key: &str| -> Result<Option<DateTime<Utc>>, Invalid> {
                match string(map, key)? {
                    None => Ok(None),
                    Some(s) => check_timestamp(&s)
                        .map(Some)
                        .map_err(|why| Invalid(format!("`{key}` {why}"))),
                }
            };
        let access_token = string(&map, "accessToken")?.ok_or("`accessToken` is missing")?;
        let expires_at = time(&map, "expiresAt")?.ok_or("`expiresAt` is missing")?;
        let token = CachedToken {
            start_url: string(&map, "startUrl")?,
            region: string(&map, "region")?,
            access_token: Secret::new(access_token),
            expires_at,
            client_id: string(&map, "clientId")?,
            client_secret: string(&map, "clientSecret")?.map(Secret::new),
            registration_expires_at: time(&map, "registrationExpiresAt")?,
            refresh_token: string(&map, "refreshToken")?.map(Secret::new),
            extra: Map::new(),
        };
        for key in KNOWN_KEYS {
            // In file order: a plain `remove` would swap the last key into its place (found by fuzzing).
            map.shift_remove(key);
        }
        Ok(CachedToken {
            extra: map,
            ..token
        })
    }

    /// The file's bytes, as AWS CLI v2 writes them: one line, `", "` and `": "` separators,
    /// known keys in the CLI's order, then the keys other tools added.
    pub fn to_json(&self) -> String {
        let mut fields: Vec<(&str, Value)> = Vec::new();
        let mut put = |k: &'static str, v: Option<String>| {
            if let Some(v) = v {
                fields.push((k, Value::String(v)));
            }
        };
        put("startUrl", self.start_url.clone());
        put("region", self.region.clone());
        put("accessToken", Some(self.access_token.expose().to_string()));
        put("expiresAt", Some(format_timestamp(self.expires_at)));
        put("clientId", self.client_id.clone());
        put(
            "clientSecret",
            self.client_secret.as_ref().map(|s| s.expose().to_string()),
        );
        put(
            "registrationExpiresAt",
            self.registration_expires_at.map(format_timestamp),
        );
        put(
            "refreshToken",
            self.refresh_token.as_ref().map(|s| s.expose().to_string()),
        );
        let mut out = String::from("{");
        let extras = self.extra.iter().map(|(k, v)| (k.as_str(), v.clone()));
        for (i, (k, v)) in fields.into_iter().chain(extras).enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&Value::String(k.to_string()).to_string());
            out.push_str(": ");
            out.push_str(&v.to_string());
        }
        out.push('}');
        out
    }

    /// Whether the cache holds what a refresh needs, with a registration still valid at `now`.
    pub fn can_refresh(&self, now: DateTime<Utc>) -> bool {
        self.refresh_token.is_some()
            && self.client_id.is_some()
            && self.client_secret.is_some()
            && self.registration_expires_at.is_some_and(|t| t > now)
    }
}

/// The outcome of reading a token file.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // short-lived; boxing would only add an allocation
pub enum TokenFile {
    /// No file.
    Missing,
    /// A readable token.
    Token(CachedToken),
}

/// Reads a token file, retrying a file that does not parse (another tool may be mid-write).
/// The parsed token is kept until the file changes (see [`crate::platform::files::ParsedFiles`]).
pub async fn read_token(ctx: &Context, path: &Path) -> Result<TokenFile, CacheError> {
    enum Failed {
        Io(io::Error),
        Parse(String),
    }
    let mut attempt = 0;
    loop {
        let read = ctx.parsed.get(ctx.fs.as_ref(), path, |bytes| match bytes {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Failed::Io(e)),
            Ok(b) => CachedToken::from_json(&b)
                .map(Some)
                .map_err(|e| Failed::Parse(e.0)),
        });
        match read {
            Ok(token) => {
                return Ok(token
                    .as_ref()
                    .clone()
                    .map_or(TokenFile::Missing, TokenFile::Token))
            }
            Err(Failed::Io(source)) => {
                return Err(CacheError::Io {
                    what: "read",
                    path: path.to_path_buf(),
                    source,
                })
            }
            Err(Failed::Parse(reason)) if attempt >= PARSE_RETRIES => {
                return Err(CacheError::Corrupt {
                    path: path.to_path_buf(),
                    reason,
                })
            }
            Err(Failed::Parse(_)) => {
                attempt += 1;
                tokio::time::sleep(PARSE_RETRY_PAUSE).await;
            }
        }
    }
}

/// Writes a token file atomically with mode 0600. A present file that cannot be parsed is not
/// overwritten: the caller gets [`CacheError::Corrupt`].
pub async fn write_token(
    ctx: &Context,
    path: &Path,
    token: &CachedToken,
) -> Result<(), CacheError> {
    read_token(ctx, path).await?;
    write_token_unchecked(ctx, path, token)
}

/// Writes without first checking the old file; for callers that just read it.
pub(crate) fn write_token_unchecked(
    ctx: &Context,
    path: &Path,
    token: &CachedToken,
) -> Result<(), CacheError> {
    ctx.fs
        .write_atomic(path, token.to_json().as_bytes(), 0o600)
        .map_err(|source| CacheError::Io {
            what: "write",
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::os::{Fs, ManualClock, MemFs};
    use chrono::TimeZone;
    use std::sync::Arc;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    fn sample() -> CachedToken {
        CachedToken {
            start_url: Some("https://d-1234567890.awsapps.com/start".into()),
            region: Some("us-east-1".into()),
            access_token: Secret::new("aoa-access"),
            expires_at: at(2026, 1, 1, 0, 0, 0),
            client_id: Some("cid".into()),
            client_secret: Some(Secret::new("csecret")),
            registration_expires_at: Some(at(2026, 3, 31, 0, 0, 0)),
            refresh_token: Some(Secret::new("aor-refresh")),
            extra: Map::new(),
        }
    }

    #[test]
    fn file_names_match_the_aws_cli() {
        // Values from spec §4.
        assert_eq!(
            token_file_name("my-sso"),
            "0ad374308c5a4e22f723adf10145eafad7c4031c.json"
        );
        assert_eq!(
            token_file_name("https://d-1234567890.awsapps.com/start"),
            "7487b5b67d5fa1132cf33fa93ae51ef38cc37752.json"
        );
    }

    #[test]
    fn role_credential_cache_names_match_the_aws_cli() {
        // Expected values computed with Python's json.dumps(sort_keys=True, separators=(',', ':')) and hashlib.
        let mut target = crate::aws::config::SsoTarget {
            session_name: Some("my-sso".into()),
            start_url: "https://d-1234567890.awsapps.com/start".into(),
            region: "us-east-1".into(),
            scopes: vec![],
        };
        assert_eq!(
            role_credential_cache_file_name("111111111111", "ReadOnly", &target),
            "7656329665c70f26bb8dc6f65f498aa9de8da4e0.json"
        );
        target.session_name = None;
        assert_eq!(
            role_credential_cache_file_name("111111111111", "ReadOnly", &target),
            "368a7faaec992723098121f34c0be544b4d88baf.json"
        );
    }

    #[test]
    fn golden_bytes_of_a_written_token() {
        let expected = r#"{"startUrl": "https://d-1234567890.awsapps.com/start", "region": "us-east-1", "accessToken": "aoa-access", "expiresAt": "2026-01-01T00:00:00Z", "clientId": "cid", "clientSecret": "csecret", "registrationExpiresAt": "2026-03-31T00:00:00Z", "refreshToken": "aor-refresh"}"#;
        assert_eq!(sample().to_json(), expected);
    }

    #[test]
    fn golden_bytes_without_optional_keys() {
        let token = CachedToken {
            client_id: None,
            client_secret: None,
            registration_expires_at: None,
            refresh_token: None,
            ..sample()
        };
        assert_eq!(
            token.to_json(),
            r#"{"startUrl": "https://d-1234567890.awsapps.com/start", "region": "us-east-1", "accessToken": "aoa-access", "expiresAt": "2026-01-01T00:00:00Z"}"#
        );
    }

    #[test]
    fn round_trips_and_keeps_keys_of_other_tools() {
        // The JS SDK writes pretty JSON with milliseconds; someone else added a key.
        let js = r#"{
  "startUrl": "https://d-1234567890.awsapps.com/start",
  "region": "us-east-1",
  "accessToken": "aoa-access",
  "expiresAt": "2026-01-01T00:00:00.000Z",
  "clientId": "cid",
  "clientSecret": "csecret",
  "registrationExpiresAt": "2026-03-31T00:00:00+00:00",
  "refreshToken": "aor-refresh",
  "toolSpecific": {"a": [1, 2]}
}"#;
        let token = CachedToken::from_json(js.as_bytes()).unwrap();
        assert_eq!(
            token.extra.get("toolSpecific"),
            Some(&serde_json::json!({"a": [1, 2]}))
        );
        let written = token.to_json();
        assert!(
            written.ends_with(r#""refreshToken": "aor-refresh", "toolSpecific": {"a":[1,2]}}"#),
            "{written}"
        );
        let again = CachedToken::from_json(written.as_bytes()).unwrap();
        assert_eq!(again, token);
        assert_eq!(
            CachedToken {
                extra: Map::new(),
                ..again
            },
            sample()
        );
    }

    #[test]
    fn other_tools_keys_keep_their_order_between_known_keys() {
        // Found by fuzzing: removing the known keys reordered the others.
        let text = r#"{"b": 1, "startUrl": "u", "a": 2, "accessToken": "t", "c": 3, "expiresAt": "2026-01-01T00:00:00Z"}"#;
        let written = CachedToken::from_json(text.as_bytes()).unwrap().to_json();
        assert!(written.ends_with(r#""b": 1, "a": 2, "c": 3}"#), "{written}");
        assert_eq!(
            CachedToken::from_json(written.as_bytes())
                .unwrap()
                .to_json(),
            written
        );
    }

    #[test]
    fn numbers_other_tools_wrote_stay_the_same_from_rewrite_to_rewrite() {
        // Found by fuzzing: a float read back from ssotray's own rewrite came out different.
        let text = r#"{"accessToken": "a", "expiresAt": "2026-01-01T00:00:00Z", "n": [1.997e+28, 0.1, 2]}"#;
        let written = CachedToken::from_json(text.as_bytes()).unwrap().to_json();
        assert!(written.ends_with(r#""n": [1.997e+28,0.1,2]}"#), "{written}");
        assert_eq!(
            CachedToken::from_json(written.as_bytes())
                .unwrap()
                .to_json(),
            written
        );
    }

    #[test]
    fn reports_why_a_file_is_unreadable_without_quoting_it() {
        let check = |text: &str, reason: &str| {
            let err = CachedToken::from_json(text.as_bytes()).unwrap_err();
            assert!(err.starts_with(reason), "{text:?}: {err}");
            assert!(!err.contains("aoa-secret"), "{err}");
        };
        check("{\"accessToken\": \"aoa-secret\", \"expi", "not valid JSON");
        check("[]", "not a JSON object");
        check(r#"{"accessToken": "aoa-secret"}"#, "`expiresAt` is missing");
        check(
            r#"{"expiresAt": "2026-01-01T00:00:00Z"}"#,
            "`accessToken` is missing",
        );
        check(
            r#"{"accessToken": "aoa-secret", "expiresAt": "soon"}"#,
            "`expiresAt` is not a timestamp",
        );
        check(
            r#"{"accessToken": 5, "expiresAt": "2026-01-01T00:00:00Z"}"#,
            "`accessToken` is not a string",
        );
    }

    fn mem_ctx(fs: Arc<MemFs>) -> Context {
        Context {
            clock: Arc::new(ManualClock::new(at(2025, 12, 31, 0, 0, 0))),
            fs,
            env: crate::platform::os::Env::from_slice(&[("HOME", "/home/u")]),
            browser: Arc::new(crate::platform::os::SystemBrowser::new(
                crate::platform::os::Env::from_slice(&[]),
            )),
            http: crate::platform::context::LazyHttp::default(),
            secrets: Arc::new(crate::platform::keychain::MemKeychain::default()),
            parsed: Arc::default(),
        }
    }

    #[tokio::test]
    async fn never_overwrites_a_file_it_cannot_parse() {
        let fs = Arc::new(MemFs::new());
        let ctx = mem_ctx(fs.clone());
        let path = PathBuf::from("/home/u/.aws/sso/cache/x.json");
        fs.put(&path, "garbage");
        let err = write_token(&ctx, &path, &sample()).await.unwrap_err();
        assert!(matches!(err, CacheError::Corrupt { .. }), "{err}");
        assert_eq!(fs.read(&path).unwrap(), b"garbage");
    }

    /// A file caught mid-write by another tool: the first reads see a truncated file.
    #[derive(Debug)]
    struct MidWriteFs {
        inner: MemFs,
        truncated_reads_left: std::sync::atomic::AtomicUsize,
    }

    impl Fs for MidWriteFs {
        fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
            let full = self.inner.read(path)?;
            let left = self
                .truncated_reads_left
                .load(std::sync::atomic::Ordering::SeqCst);
            if left > 0 {
                self.truncated_reads_left
                    .store(left - 1, std::sync::atomic::Ordering::SeqCst);
                return Ok(full[..full.len() / 2].to_vec());
            }
            Ok(full)
        }
        fn write_atomic(&self, path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
            self.inner.write_atomic(path, data, mode)
        }
        fn remove(&self, path: &Path) -> io::Result<()> {
            self.inner.remove(path)
        }
        fn list_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
            self.inner.list_dir(path)
        }
        fn lock(&self, path: &Path) -> io::Result<crate::platform::os::FileLock> {
            self.inner.lock(path)
        }
    }

    #[tokio::test]
    async fn a_file_caught_mid_write_is_read_again_before_concluding() {
        let path = PathBuf::from("/home/u/.aws/sso/cache/x.json");
        let fs = Arc::new(MidWriteFs {
            inner: MemFs::new(),
            truncated_reads_left: 2.into(),
        });
        fs.inner.put(&path, sample().to_json());
        let ctx = Context {
            fs: fs.clone(),
            ..mem_ctx(Arc::new(MemFs::new()))
        };
        match read_token(&ctx, &path).await.unwrap() {
            TokenFile::Token(t) => assert_eq!(t, sample()),
            TokenFile::Missing => panic!("missing"),
        }
        // A file that stays broken is reported as corrupt, after the retries.
        fs.truncated_reads_left
            .store(usize::MAX, std::sync::atomic::Ordering::SeqCst);
        assert!(matches!(
            read_token(&ctx, &path).await,
            Err(CacheError::Corrupt { .. })
        ));
    }

    #[tokio::test]
    async fn writes_with_mode_0600() {
        let fs = Arc::new(MemFs::new());
        let ctx = mem_ctx(fs.clone());
        let path = PathBuf::from("/home/u/.aws/sso/cache/x.json");
        write_token(&ctx, &path, &sample()).await.unwrap();
        assert_eq!(fs.mode(&path), Some(0o600));
        match read_token(&ctx, &path).await.unwrap() {
            TokenFile::Token(t) => assert_eq!(t, sample()),
            TokenFile::Missing => panic!("missing"),
        }
    }

    #[test]
    fn refreshability_needs_every_field_and_a_live_registration() {
        let now = at(2026, 1, 1, 0, 0, 0);
        assert!(sample().can_refresh(now));
        assert!(!CachedToken {
            refresh_token: None,
            ..sample()
        }
        .can_refresh(now));
        assert!(!CachedToken {
            client_secret: None,
            ..sample()
        }
        .can_refresh(now));
        assert!(!sample().can_refresh(at(2026, 4, 1, 0, 0, 0)));
    }
}
