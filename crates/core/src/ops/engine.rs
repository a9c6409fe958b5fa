//! The operations a user asks for — log in, refresh, status, log out — over config, cache and APIs.
//!
//! The CLI and the tray app call these; they do no I/O of their own beyond what [`Context`] gives.
//!
//! `Engine` resolves a name to a target, logs in (reusing the client registration, replacing it
//! automatically when rejected), refreshes, reports status, and logs out (one session, or all).
//! `Engine::renew` logs out and in under one hold of the session's lock. Every error says what to
//! do next. The engine below the keeper never re-decides whether a refresh is due:
//! `try_refresh_unless_changed` only checks that the token did not change meanwhile.
//!
//! Errors: `EngineError` has a kind per cause (`Io` with the path and `io::Error`, `Unreadable`,
//! `Unchangeable`, `Refused`, `RoleRefused`, `Chain`, `Endpoint`, `PortalLink`, `Http`,
//! `PrivateDir`, `Listen`, `AlreadyServed`, `Busy`, `Keeper`, …). `is_transient()` (network,
//! service, a file busy for a moment) is what the keeper retries quietly and the container server
//! answers with 503; `needs_login()` is what gets a login. Module borders return typed errors
//! (`ChainError`, `PrivateDirError`, `EndpointError`, `CredfileError`, `PortalLinkError`,
//! `UnknownService`, `HttpClientError`; `files::Invalid` for a parser's reason), never `String`.
//! Error messages name files, never their contents.

use crate::aws::cache::{self, CacheError, CachedToken, TokenFile};
use crate::aws::config::{AwsConfig, SsoTarget};
use crate::aws::endpoints::{endpoint, Service};
use crate::aws::error::ErrorCode;
use crate::aws::oidc::{ApiError, Grant, OidcClient, Registration, TokenResponse};
use crate::aws::portal::PortalClient;
pub use crate::ops::login::Flow;
use crate::ops::login::{self, CallbackListener, LoginError, LoginPrompt, Pkce};
use crate::platform::context::Context;
use crate::platform::paths::Paths;
use crate::platform::secret::Secret;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::Serialize;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// A registration is reused only while more than this is left (as the AWS CLI does).
pub const REGISTRATION_MIN_LEFT: ChronoDuration = ChronoDuration::minutes(15);
/// Lifetimes from the network are clamped to this (a year) so absurd values cannot overflow.
const MAX_LIFETIME_SECS: i64 = 366 * 24 * 3600;
/// How long the browser flow waits for the user.
pub const BROWSER_LOGIN_TIMEOUT: Duration = Duration::from_secs(600);

/// Options of one login.
#[derive(Debug, Clone)]
pub struct LoginOptions {
    /// The flow; `None` picks as AWS CLI v2 does: browser for sso-sessions, device code for legacy.
    pub flow: Option<Flow>,
    /// Open the browser (else the caller shows the prompt to the user).
    pub open_browser: bool,
    /// How long the browser flow waits.
    pub browser_timeout: Duration,
}

impl Default for LoginOptions {
    fn default() -> Self {
        LoginOptions {
            flow: None,
            open_browser: true,
            browser_timeout: BROWSER_LOGIN_TIMEOUT,
        }
    }
}

/// Errors of the engine. Each message says what happened and what to do next.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No config file where one was needed.
    #[error("no AWS config file at `{0}`; add an [sso-session] section (see `aws configure sso-session`) or set AWS_CONFIG_FILE")]
    NoConfig(PathBuf),
    /// The name given matches nothing usable.
    #[error("{0}")]
    UnknownTarget(String),
    /// No token in the cache.
    #[error("not logged in to `{name}`; run `ssotray login {name}`")]
    NotLoggedIn {
        /// Session name or start URL.
        name: String,
    },
    /// The session was logged out (or logged in anew) while credentials from its token were
    /// on their way into a file: nothing was written.
    #[error("`{name}` was logged out while {what}; nothing was written; run `ssotray login {name}`, then try again")]
    LoggedOutMeanwhile {
        /// Session name or start URL.
        name: String,
        /// What was being written.
        what: &'static str,
    },
    /// The portal session ended (refresh answered InvalidGrantException).
    #[error(
        "the portal session of `{name}` has ended; run `ssotray login {name}` to start a new one"
    )]
    SessionEnded {
        /// Session name.
        name: String,
    },
    /// The token cannot be refreshed, and why.
    #[error("the token of `{name}` cannot be refreshed ({why}); run `ssotray login {name}`")]
    CannotRefresh {
        /// Session name or start URL.
        name: String,
        /// Why.
        why: String,
    },
    /// The access token expired and cannot be refreshed.
    #[error(
        "the token of `{name}` expired at {at} and cannot be refreshed; run `ssotray login {name}`"
    )]
    Expired {
        /// Session name or start URL.
        name: String,
        /// When.
        at: String,
    },
    /// The user denied the sign-in.
    #[error(
        "sign-in to `{name}` was denied in the browser; run `ssotray login {name}` to try again"
    )]
    Denied {
        /// Session name or start URL.
        name: String,
    },
    /// The device code was never approved.
    #[error("the device code for `{name}` expired before it was approved; run `ssotray login {name} --device-code` and approve it within the time shown")]
    DeviceCodeExpired {
        /// Session name or start URL.
        name: String,
    },
    /// Nobody completed the browser sign-in in time.
    #[error("no sign-in for `{name}` arrived within {secs} s; run `ssotray login {name}` again (or add --device-code to sign in from another device)")]
    LoginTimedOut {
        /// Session name or start URL.
        name: String,
        /// The wait.
        secs: u64,
    },
    /// The browser could not be opened.
    #[error("cannot open a browser: {0}; set BROWSER, or run with --no-browser and open the URL yourself")]
    Browser(io::Error),
    /// The token cache.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// No home directory.
    #[error(transparent)]
    NoHome(#[from] crate::platform::paths::NoHome),
    /// An endpoint setting is wrong.
    #[error("{0}")]
    Endpoint(#[from] crate::aws::endpoints::EndpointError),
    /// A network or service failure.
    #[error("{context}: {source}")]
    Api {
        /// What was being done.
        context: String,
        /// The failure.
        source: ApiError,
    },
    /// A file or directory could not be read, written, locked or removed.
    #[error("failed to {what} `{}`: {source}", .path.display())]
    Io {
        /// What was being done ("read", "write", "lock", "remove").
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A file cannot be parsed: it is left exactly as it is.
    #[error("{what} `{}` cannot be read ({reason}); ssotray leaves it untouched: fix it or move it away", .path.display())]
    Unreadable {
        /// Which file ("state file", "settings file"…).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong (never its contents).
        reason: String,
    },
    /// A change of a file was refused: the file, or the result, would not be valid.
    #[error("`{}` cannot be changed: {reason}", .path.display())]
    Unchangeable {
        /// The file.
        path: PathBuf,
        /// Why, and what to do.
        reason: String,
    },
    /// What was asked does not fit this configuration; the message says what to do instead.
    #[error("{0}")]
    Refused(String),
    /// The start URL makes no portal link (the issuer URL).
    #[error(transparent)]
    PortalLink(#[from] crate::aws::console::PortalLinkError),
    /// A chained profile cannot be followed.
    #[error(transparent)]
    Chain(#[from] crate::aws::chain::ChainError),
    /// ssotray's HTTP client cannot be built.
    #[error(transparent)]
    Http(#[from] crate::platform::context::HttpClientError),
    /// A directory for sockets or private files is not the user's own.
    #[error(transparent)]
    PrivateDir(#[from] crate::platform::sock::PrivateDirError),
    /// A socket cannot be listened on.
    #[error("cannot listen on {on}: {source}{then}")]
    Listen {
        /// The address or socket path.
        on: String,
        /// The cause.
        source: io::Error,
        /// What to do instead (starts with "; ", or is empty).
        then: &'static str,
    },
    /// Another program kept changing a file while ssotray tried to write it.
    #[error("`{}` kept changing while ssotray was writing it; try again", .0.display())]
    Busy(PathBuf),
    /// Another process already serves this socket.
    #[error("another ssotray process already listens on `{}`", .0.display())]
    AlreadyServed(PathBuf),
    /// The portal did not end a session at logout.
    #[error("portal logout for `{}` failed: {source}", .path.display())]
    PortalLogout {
        /// The token file.
        path: PathBuf,
        /// Why.
        source: PortalLogoutError,
    },
    /// A role cannot be had: STS or the portal refused it (the message says why and what to do).
    #[error("{0}")]
    RoleRefused(String),
    /// The portal session ended while its accounts were being listed.
    #[error(
        "session ended while listing accounts of `{name}` ({kept}); run `ssotray login {name}`"
    )]
    EndedWhileListing {
        /// Session name.
        name: String,
        /// What became of the last list.
        kept: String,
    },
    /// Keychain use was turned off in the settings, but the refresh token could not be moved
    /// back (the message says where it stays and what to do).
    #[error("{0}")]
    KeychainLeftOn(String),
    /// The running keeper answered with this error.
    #[error("{0}")]
    Keeper(String),
    /// The OS keychain could not be used.
    #[error("{0}")]
    Keychain(#[from] crate::platform::keychain::KeychainError),
}

impl EngineError {
    /// Whether the same call may well work later without anyone doing anything: the network or
    /// the service failed, or a file could not be read or locked for a moment. Everything else
    /// needs the user (a login, a fix of a file or setting), and the message says what to do.
    pub fn is_transient(&self) -> bool {
        match self {
            EngineError::Api { .. } | EngineError::Busy(_) => true,
            EngineError::Io { source, .. } | EngineError::Cache(CacheError::Io { source, .. }) => {
                source.kind() != io::ErrorKind::PermissionDenied
            }
            _ => false,
        }
    }

    /// Whether a login cures this error (no token, an ended session, a token that expired or
    /// cannot be refreshed).
    pub fn needs_login(&self) -> bool {
        matches!(
            self,
            EngineError::NotLoggedIn { .. }
                | EngineError::LoggedOutMeanwhile { .. }
                | EngineError::SessionEnded { .. }
                | EngineError::Expired { .. }
                | EngineError::CannotRefresh { .. }
        )
    }
}

/// The token a session holds at one moment ([`Engine::token_now`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenNow {
    /// No token file: logged out.
    Missing,
    /// A token, by its fingerprint ([`cache::fingerprint`] of its access token).
    Token(String),
    /// A file that cannot be read or parsed now.
    Unreadable,
}

/// What the user-visible state of a token holder is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum TokenState {
    /// No token file.
    LoggedOut,
    /// A token still valid.
    #[serde(rename_all = "camelCase")]
    Valid {
        /// When the access token expires.
        expires_at: DateTime<Utc>,
        /// Whether ssotray (or an SDK) can refresh it.
        can_refresh: bool,
    },
    /// The access token has expired.
    #[serde(rename_all = "camelCase")]
    Expired {
        /// When it expired.
        expires_at: DateTime<Utc>,
        /// Whether a refresh may still work (the portal session may still be alive).
        can_refresh: bool,
    },
    /// The file is there but unreadable.
    Unreadable {
        /// Why (never the contents).
        reason: String,
    },
}

/// Status of one token holder.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetStatus {
    /// Session name, or start URL for legacy profiles.
    pub name: String,
    /// Whether this is a legacy start URL.
    pub legacy: bool,
    /// Start URL.
    pub start_url: String,
    /// SSO region.
    pub region: String,
    /// The token file.
    pub cache_file: PathBuf,
    /// The token's state.
    #[serde(flatten)]
    pub token: TokenState,
    /// The estimated end of the portal session (legacy: the token's expiry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_end: Option<crate::ops::state::SessionEnd>,
    /// When the session was seen to end, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
}

/// Why the portal did not end a session at logout (the token file is removed all the same).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortalLogoutError {
    /// The token file names no region, so no portal can be asked.
    #[error("no region in the cache file")]
    NoRegion,
    /// The portal could not be reached or refused (its message).
    #[error("{0}")]
    Failed(String),
}

/// What a logout did.
#[derive(Debug, Clone, Default)]
pub struct LogoutReport {
    /// Whether the portal accepted Logout (`None`: not attempted).
    pub portal_logout: Option<Result<(), PortalLogoutError>>,
    /// Token file removed.
    pub removed_token: bool,
    /// Role-credential cache files removed.
    pub removed_role_credentials: usize,
    /// Exported sections removed from the shared credentials file.
    pub removed_exports: usize,
}

/// The engine: every user operation, over an injected [`Context`].
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) ctx: Context,
    /// Keychain secrets read in this process: the keychain is asked at most once per session.
    pub(crate) keychain_memory: std::sync::Arc<
        std::sync::Mutex<
            std::collections::HashMap<String, crate::platform::keychain::KeychainSecrets>,
        >,
    >,
    /// The access token (fingerprint) whose refresh was last refused, per session.
    refused_tokens: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>,
}

impl Engine {
    /// An engine over `ctx`.
    pub fn new(ctx: Context) -> Self {
        Engine {
            ctx,
            keychain_memory: Default::default(),
            refused_tokens: Default::default(),
        }
    }

    /// The context.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// Where every file lives, from this engine's environment (see [`crate::platform::paths`]).
    pub fn paths(&self) -> Paths {
        Paths::from_env(&self.ctx.env)
    }

    /// The AWS config file (`AWS_CONFIG_FILE`, else `~/.aws/config`).
    pub fn config_path(&self) -> Result<PathBuf, EngineError> {
        Ok(self.paths().aws_config()?)
    }

    /// ssotray's memory of sessions (`state.json` in its state directory).
    pub fn state_path(&self) -> Result<PathBuf, EngineError> {
        Ok(self.paths().state_file()?)
    }

    /// ssotray's memory of sessions (empty when there is none yet), kept until the file changes.
    pub fn load_state(&self) -> Result<crate::ops::state::State, EngineError> {
        let path = self.state_path()?;
        let state = self.read_kept(&path, Default::default, |b| {
            crate::ops::state::State::parse(b).map_err(|e| unreadable("state file", &path, e))
        })?;
        Ok(state.as_ref().clone())
    }

    /// A file read and parsed, kept until it changes (see [`crate::platform::files::read_kept`]); a read
    /// that fails is an [`EngineError::Io`].
    pub(crate) fn read_kept<T: Send + Sync + 'static>(
        &self,
        path: &std::path::Path,
        missing: impl FnOnce() -> T,
        parse: impl FnOnce(&[u8]) -> Result<T, EngineError>,
    ) -> Result<std::sync::Arc<T>, EngineError> {
        crate::platform::files::read_kept(
            &self.ctx.parsed,
            self.ctx.fs.as_ref(),
            path,
            missing,
            parse,
            |source| EngineError::Io {
                what: "read",
                path: path.to_path_buf(),
                source,
            },
        )
    }

    /// Changes one of ssotray's files under its advisory lock (see [`crate::platform::files::update`]).
    pub(crate) async fn update_file<T>(
        &self,
        path: &std::path::Path,
        lock: &std::path::Path,
        how: crate::platform::files::WriteMode,
        change: impl FnMut(Option<&[u8]>) -> Result<(Option<Vec<u8>>, T), EngineError>,
    ) -> Result<T, EngineError> {
        let clock = self.ctx.clock.clone();
        crate::platform::files::update(
            self.ctx.fs.clone(),
            path,
            lock,
            how,
            move || clock.now(),
            change,
        )
        .await
        .map_err(|e| match e {
            crate::platform::files::UpdateError::Refused(e) => e,
            crate::platform::files::UpdateError::Io { what, path, source } => {
                EngineError::Io { what, path, source }
            }
            crate::platform::files::UpdateError::Busy(path) => EngineError::Busy(path),
        })
    }

    /// Changes one of ssotray's own files (settings, state, favorites): under the lock beside
    /// it, written with mode 0600.
    pub(crate) async fn update_own_file<T>(
        &self,
        path: &std::path::Path,
        change: impl FnMut(Option<&[u8]>) -> Result<(Option<Vec<u8>>, T), EngineError>,
    ) -> Result<T, EngineError> {
        let how = crate::platform::files::WriteMode {
            mode: Some(0o600),
            shared: false,
        };
        self.update_file(
            path,
            &crate::platform::files::lock_beside(path),
            how,
            change,
        )
        .await
    }

    /// Changes the record of one session under the state file's lock (several ssotray processes
    /// may write it). A state file that cannot be parsed is left as it is.
    pub async fn update_record(
        &self,
        name: &str,
        mut change: impl FnMut(&mut crate::ops::state::SessionRecord),
    ) -> Result<crate::ops::state::SessionRecord, EngineError> {
        let path = self.state_path()?;
        self.update_own_file(&path, |bytes| {
            let mut state = match bytes {
                Some(b) => crate::ops::state::State::parse(b)
                    .map_err(|e| unreadable("state file", &path, e))?,
                None => crate::ops::state::State::default(),
            };
            let record = state.sessions.entry(name.to_string()).or_default();
            change(record);
            let record = record.clone();
            let bytes = serde_json::to_vec_pretty(&state).expect("the state serializes");
            Ok((Some(bytes), record))
        })
        .await
    }

    /// Records an outcome; failing to record is worth a warning, never a failed login or refresh.
    async fn record(&self, name: &str, change: impl FnMut(&mut crate::ops::state::SessionRecord)) {
        if let Err(e) = self.update_record(name, change).await {
            tracing::warn!(session = name, error = %e, "cannot update the state file");
        }
    }

    fn settings_for(&self, name: &str) -> Option<crate::ops::settings::SessionSettings> {
        self.settings().ok().map(|s| s.session(name))
    }

    /// The advisory lock file that ssotray processes take before refreshing or logging in.
    pub fn lock_path(&self, target: &SsoTarget) -> Result<PathBuf, EngineError> {
        let name = cache::token_file_name(target.cache_id());
        Ok(self
            .paths()
            .token_cache()?
            .join(format!("{}.ssotray-lock", name.trim_end_matches(".json"))))
    }

    /// Takes the session's lock (waits while another ssotray process logs in or refreshes).
    pub async fn lock_session(
        &self,
        target: &SsoTarget,
    ) -> Result<crate::platform::os::FileLock, EngineError> {
        let path = self.lock_path(target)?;
        crate::platform::os::lock_file(self.ctx.fs.clone(), path.clone())
            .await
            .map_err(|source| EngineError::Io {
                what: "lock",
                path,
                source,
            })
    }

    /// Reads and parses the config file (kept until it changes). A missing file is an empty config.
    pub fn load_config(&self) -> Result<AwsConfig, EngineError> {
        let path = self.config_path()?;
        let config = self.read_kept(
            &path,
            || AwsConfig {
                path: path.clone(),
                ..Default::default()
            },
            |bytes| {
                Ok(AwsConfig::parse(
                    path.clone(),
                    &String::from_utf8_lossy(bytes),
                ))
            },
        )?;
        Ok(config.as_ref().clone())
    }

    /// Finds a token holder by sso-session name, profile name, or legacy start URL.
    pub fn resolve(
        &self,
        config: &AwsConfig,
        selector: &Selector,
    ) -> Result<SsoTarget, EngineError> {
        let config_path = config.path.display();
        let problems_of = |section: &str| -> String {
            let list: Vec<String> = config
                .problems_in(section)
                .iter()
                .map(|p| p.to_string())
                .collect();
            list.join("; ")
        };
        let by_session = |name: &str| -> Option<Result<SsoTarget, EngineError>> {
            if config.session(name).is_some() {
                return config
                    .targets()
                    .into_iter()
                    .find(|t| t.session_name.as_deref() == Some(name))
                    .map(Ok);
            }
            let problems = problems_of(&format!("sso-session {name}"));
            (!problems.is_empty()).then(|| {
                Err(EngineError::UnknownTarget(format!(
                    "{problems} (in `{config_path}`)"
                )))
            })
        };
        let by_profile = |name: &str| -> Option<Result<SsoTarget, EngineError>> {
            if let Some(p) = config.profile(name) {
                return config.target_of(p).map(Ok);
            }
            let section = if name == "default" {
                "default".to_string()
            } else {
                format!("profile {name}")
            };
            let problems = problems_of(&section);
            (!problems.is_empty()).then(|| {
                Err(EngineError::UnknownTarget(format!(
                    "{problems} (in `{config_path}`)"
                )))
            })
        };
        let found = match selector {
            Selector::Session(n) => by_session(n),
            Selector::Profile(n) => by_profile(n),
            Selector::Any(n) => by_session(n).or_else(|| by_profile(n)).or_else(|| {
                config
                    .targets()
                    .into_iter()
                    .find(|t| t.is_legacy() && &t.start_url == n)
                    .map(Ok)
            }),
        };
        match found {
            Some(r) => r,
            None => {
                let known: Vec<String> = config
                    .targets()
                    .iter()
                    .map(|t| t.display_name().to_string())
                    .collect();
                let what = match selector {
                    Selector::Session(n) => format!("no sso-session `{n}`"),
                    Selector::Profile(n) => format!("no SSO profile `{n}`"),
                    Selector::Any(n) => format!("no sso-session or SSO profile `{n}`"),
                };
                let hint = if known.is_empty() {
                    "add an [sso-session NAME] section with sso_start_url and sso_region"
                        .to_string()
                } else {
                    format!("known: {}", known.join(", "))
                };
                Err(EngineError::UnknownTarget(format!(
                    "{what} in `{config_path}`; {hint}"
                )))
            }
        }
    }

    /// Which token the session holds now, read at once (no retry, nothing kept): what a write
    /// of credentials that came from a token checks under its lock, so that nothing from a
    /// logged-out session is written after its logout.
    pub fn token_now(&self, target: &SsoTarget) -> TokenNow {
        let Ok(path) = self.token_path(target) else {
            return TokenNow::Unreadable;
        };
        match self.ctx.fs.read(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => TokenNow::Missing,
            Err(_) => TokenNow::Unreadable,
            Ok(bytes) => match CachedToken::from_json(&bytes) {
                Ok(token) => TokenNow::Token(cache::fingerprint(&token.access_token)),
                Err(_) => TokenNow::Unreadable,
            },
        }
    }

    /// The token cache file of a target.
    pub fn token_path(&self, target: &SsoTarget) -> Result<PathBuf, EngineError> {
        Ok(self
            .paths()
            .token_cache()?
            .join(cache::token_file_name(target.cache_id())))
    }

    fn oidc(&self, target: &SsoTarget) -> Result<OidcClient, EngineError> {
        let base = endpoint(&self.ctx.env, Service::Oidc, &target.region)
            .map_err(EngineError::Endpoint)?;
        let http = self.ctx.http.get()?;
        Ok(OidcClient::new(http.clone(), base))
    }

    pub(crate) fn portal(&self, region: &str) -> Result<PortalClient, EngineError> {
        let base =
            endpoint(&self.ctx.env, Service::Portal, region).map_err(EngineError::Endpoint)?;
        let http = self.ctx.http.get()?;
        Ok(PortalClient::new(http.clone(), base))
    }

    /// Logs in interactively and writes the token cache, under the session's lock (a refresh or
    /// another login of the session waits). `prompt` is called with what the user must see
    /// (device code, or the URL to open) before the wait starts.
    pub async fn login(
        &self,
        target: &SsoTarget,
        options: &LoginOptions,
        prompt: &(dyn Fn(&LoginPrompt) + Send + Sync),
    ) -> Result<CachedToken, EngineError> {
        let _lock = self.lock_session(target).await?;
        self.login_locked(target, options, prompt).await
    }

    /// [`Engine::login`] for a caller that holds the session's lock.
    pub(crate) async fn login_locked(
        &self,
        target: &SsoTarget,
        options: &LoginOptions,
        prompt: &(dyn Fn(&LoginPrompt) + Send + Sync),
    ) -> Result<CachedToken, EngineError> {
        // Refuse before the user does anything if the file cannot be written afterwards.
        let path = self.token_path(target)?;
        let previous = match cache::read_token(&self.ctx, &path).await? {
            TokenFile::Token(t) => Some(t),
            TokenFile::Missing => None,
        };
        let flow = options.flow.unwrap_or(if target.is_legacy() {
            Flow::DeviceCode
        } else {
            Flow::Browser
        });
        let oidc = self.oidc(target)?;
        let name = target.display_name().to_string();
        let login_error = |e: LoginError| match e {
            LoginError::Denied => EngineError::Denied { name: name.clone() },
            LoginError::DeviceCodeExpired => EngineError::DeviceCodeExpired { name: name.clone() },
            LoginError::TimedOut(secs) => EngineError::LoginTimedOut {
                name: name.clone(),
                secs,
            },
            LoginError::Browser(e) => EngineError::Browser(e),
            LoginError::Listener(source) => EngineError::Listen {
                on: "127.0.0.1 for the browser's answer".into(),
                source,
                then: "; use --device-code",
            },
            LoginError::Api(source) => EngineError::Api {
                context: format!("login to `{name}` failed"),
                source,
            },
        };

        // A registration the server no longer knows is replaced once, automatically.
        let mut retried = false;
        let (registration, token) = loop {
            let registration = self.registration(&oidc, target, flow).await?;
            let attempt = match flow {
                Flow::DeviceCode => {
                    self.device_login(&oidc, target, &registration, options, prompt)
                        .await
                }
                Flow::Browser => {
                    self.browser_login(&oidc, target, &registration, options, prompt)
                        .await
                }
            };
            match attempt {
                Err(LoginError::Api(ApiError::Service(e)))
                    if e.code == ErrorCode::InvalidClient && !retried =>
                {
                    retried = true;
                    self.forget_registration(target, flow);
                }
                Err(e) => return Err(login_error(e)),
                Ok(token) => break (registration, token),
            }
        };
        let now = self.ctx.clock.now();
        let mut cached = CachedToken {
            start_url: Some(target.start_url.clone()),
            region: Some(target.region.clone()),
            access_token: token.access_token,
            expires_at: now + ChronoDuration::seconds(token.expires_in.clamp(0, MAX_LIFETIME_SECS)),
            client_id: Some(registration.client_id),
            client_secret: Some(registration.client_secret),
            registration_expires_at: Some(registration.expires_at),
            refresh_token: token.refresh_token,
            extra: previous.map(|p| p.extra).unwrap_or_default(),
        };
        if target.is_legacy() {
            // Legacy tokens never refresh; keep the file as the AWS CLI writes it for them.
            cached.client_id = None;
            cached.client_secret = None;
            cached.registration_expires_at = None;
            cached.refresh_token = None;
        }
        let fingerprint = cache::fingerprint(&cached.access_token);
        self.record(target.display_name(), |r| {
            r.logged_in(now);
            r.alive_token = Some(fingerprint.clone());
        })
        .await;
        self.save_token(target, &path, &cached).await?;
        Ok(cached)
    }

    async fn device_login(
        &self,
        oidc: &OidcClient,
        target: &SsoTarget,
        registration: &Registration,
        options: &LoginOptions,
        prompt: &(dyn Fn(&LoginPrompt) + Send + Sync),
    ) -> Result<TokenResponse, LoginError> {
        let authorization = oidc
            .start_device_authorization(registration, &target.start_url)
            .await?;
        prompt(&LoginPrompt::DeviceCode {
            user_code: authorization.user_code.clone(),
            verification_uri: authorization.verification_uri.clone(),
            verification_uri_complete: authorization.verification_uri_complete.clone(),
        });
        if options.open_browser {
            // The complete URL holds the user code: as the PKCE URL, never on a command line.
            self.open_privately(
                None,
                &Secret::new(authorization.verification_uri_complete.clone()),
            )
            .map_err(|e| LoginError::Browser(io::Error::other(e.to_string())))?;
        }
        login::poll_device_token(oidc, registration, &authorization).await
    }

    async fn browser_login(
        &self,
        oidc: &OidcClient,
        target: &SsoTarget,
        registration: &Registration,
        options: &LoginOptions,
        prompt: &(dyn Fn(&LoginPrompt) + Send + Sync),
    ) -> Result<TokenResponse, LoginError> {
        let listener = CallbackListener::bind().await?;
        let redirect_uri = listener.redirect_uri();
        let pkce = Pkce::generate();
        let state = uuid::Uuid::new_v4().to_string();
        let scopes = if target.scopes.is_empty() {
            vec!["sso:account:access".to_string()]
        } else {
            target.scopes.clone()
        };
        let url = login::authorize_url(
            oidc.base(),
            &registration.client_id,
            &redirect_uri,
            &state,
            &pkce.challenge,
            &scopes,
        );
        prompt(&LoginPrompt::Browser {
            authorize_url: url.to_string(),
        });
        if options.open_browser {
            // The URL holds the login's state: never on the browser's command line.
            self.open_privately(None, &Secret::new(url.to_string()))
                .map_err(|e| LoginError::Browser(io::Error::other(e.to_string())))?;
        }
        let (code, page) = listener.wait(state, options.browser_timeout).await?;
        let grant = Grant::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier: pkce.verifier,
        };
        // The browser hears "Signed in" only once the code became a token.
        let token = oidc.create_token(registration, &grant).await;
        match &token {
            Ok(_) => page.signed_in().await,
            Err(_) => page.failed().await,
        }
        Ok(token?)
    }

    /// Refreshes the access token with the cached refresh token and rewrites the cache file,
    /// keeping the old refresh token when the server returns none. Runs under the session's lock.
    pub async fn refresh(&self, target: &SsoTarget) -> Result<CachedToken, EngineError> {
        let _lock = self.lock_session(target).await?;
        self.refresh_locked(target).await
    }

    async fn refresh_locked(&self, target: &SsoTarget) -> Result<CachedToken, EngineError> {
        let mut result = self.refresh_once(target).await;
        // A refresh token remembered from the keychain may have been rotated by another process
        // since: read the keychain again and try once more before concluding the session ended.
        if matches!(result, Err(EngineError::SessionEnded { .. }))
            && self.forget_keychain_memory(target)
        {
            result = self.refresh_once(target).await;
        }
        if let Err(EngineError::SessionEnded { name }) = result {
            // Another tool may have refreshed or logged in while this request was out (under
            // strict rotation, with the same refresh token, which is why this one was refused).
            // It may be between its answer and its write: look twice, a moment apart.
            let path = self.token_path(target)?;
            for look in 0..2 {
                if look > 0 {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                if let TokenFile::Token(t) = cache::read_token(&self.ctx, &path).await? {
                    if t.expires_at > self.ctx.clock.now()
                        && Some(crate::aws::cache::fingerprint(&t.access_token))
                            != self.last_refresh_attempt(target)
                    {
                        return Ok(t);
                    }
                }
            }
            let now = self.ctx.clock.now();
            if let TokenFile::Token(t) = cache::read_token(&self.ctx, &path).await? {
                let fp = crate::aws::cache::fingerprint(&t.access_token);
                self.record(&name, |r| {
                    r.ended(now);
                    r.ended_token.get_or_insert_with(|| fp.clone());
                })
                .await;
            }
            return Err(EngineError::SessionEnded { name });
        }
        result
    }

    async fn refresh_once(&self, target: &SsoTarget) -> Result<CachedToken, EngineError> {
        let name = target.display_name().to_string();
        if target.is_legacy() {
            return Err(EngineError::CannotRefresh {
                name,
                why: "legacy profiles without an sso-session cannot refresh".into(),
            });
        }
        let path = self.token_path(target)?;
        let token = match cache::read_token(&self.ctx, &path).await? {
            TokenFile::Missing => return Err(EngineError::NotLoggedIn { name }),
            TokenFile::Token(t) => t,
        };
        let now = self.ctx.clock.now();
        // A refresh token in the file is the newest (the AWS CLI may have logged in again);
        // otherwise it is in the keychain.
        let mut token = token;
        if token.refresh_token.is_none() || token.client_secret.is_none() {
            if let Some(k) = self.keychain_secrets_if_used(target).await? {
                token.refresh_token = token.refresh_token.or(Some(k.refresh_token));
                token.client_secret = token.client_secret.or(Some(k.client_secret));
            }
        }
        let (Some(client_id), Some(client_secret), Some(refresh_token)) = (
            token.client_id.clone(),
            token.client_secret.clone(),
            token.refresh_token.clone(),
        ) else {
            return Err(EngineError::CannotRefresh {
                name,
                why: "the cache holds no refresh token or client registration".into(),
            });
        };
        let registration_expires_at = match token.registration_expires_at {
            Some(t) if t > now => t,
            _ => {
                return Err(EngineError::CannotRefresh {
                    name,
                    why: "the client registration has expired".into(),
                })
            }
        };
        let (used_refresh_token, used_client_secret) =
            (refresh_token.clone(), client_secret.clone());
        let registration = Registration {
            client_id,
            client_secret,
            expires_at: registration_expires_at,
        };
        let oidc = self.oidc(target)?;
        let answer = oidc
            .create_token(&registration, &Grant::RefreshToken(refresh_token))
            .await;
        let response = match answer {
            Ok(r) => r,
            Err(ApiError::Service(e)) if e.code == ErrorCode::InvalidGrant => {
                self.remember_refresh_attempt(target, &token.access_token);
                return Err(EngineError::SessionEnded { name });
            }
            Err(ApiError::Service(e)) if e.code == ErrorCode::InvalidClient => {
                return Err(EngineError::CannotRefresh {
                    name,
                    why: "Identity Center no longer accepts the client registration".into(),
                })
            }
            Err(source) => {
                return Err(EngineError::Api {
                    context: format!("cannot refresh `{name}`"),
                    source,
                })
            }
        };
        // Re-read right before writing: keep what other tools changed meanwhile (their extra keys).
        // A different access token means another tool refreshed or logged in while this request
        // was out: its file is coherent, so it stays. A missing file means a logout: no rewrite.
        let base = match cache::read_token(&self.ctx, &path).await? {
            TokenFile::Token(t) if t.access_token != token.access_token => return Ok(t),
            TokenFile::Token(t) => t,
            TokenFile::Missing => return Err(EngineError::NotLoggedIn { name }),
        };
        let refreshed = CachedToken {
            access_token: response.access_token,
            expires_at: self.ctx.clock.now()
                + ChronoDuration::seconds(response.expires_in.clamp(0, MAX_LIFETIME_SECS)),
            // Keep the refresh token that was used when none comes back.
            refresh_token: Some(response.refresh_token.unwrap_or(used_refresh_token)),
            client_secret: Some(used_client_secret),
            ..base
        };
        let fingerprint = cache::fingerprint(&refreshed.access_token);
        self.record(&name, |r| {
            r.alive(now);
            r.alive_token = Some(fingerprint.clone());
        })
        .await;
        self.save_token(target, &path, &refreshed).await?;
        Ok(refreshed)
    }

    /// Refreshes unless the token changed since the caller decided to refresh it (the keeper's
    /// plan): under the session's lock the file is read again, and a token whose fingerprint is
    /// not `seen` means another process or tool refreshed or logged in meanwhile; that token is
    /// returned as it is. `None` at once when another holder has the lock (a login in progress):
    /// the caller tries again later instead of waiting. Whether a refresh is due is the caller's
    /// decision, never re-made here.
    pub async fn try_refresh_unless_changed(
        &self,
        target: &SsoTarget,
        seen: &str,
    ) -> Result<Option<(CachedToken, bool)>, EngineError> {
        let path = self.lock_path(target)?;
        let fs = self.ctx.fs.clone();
        let lock = tokio::task::spawn_blocking(move || fs.try_lock(&path))
            .await
            .map_err(|e| EngineError::Io {
                what: "lock",
                path: self.lock_path(target).unwrap_or_default(),
                source: io::Error::other(e),
            })?
            .map_err(|source| EngineError::Io {
                what: "lock",
                path: self.lock_path(target).unwrap_or_default(),
                source,
            })?;
        let Some(_lock) = lock else { return Ok(None) };
        let path = self.token_path(target)?;
        if let TokenFile::Token(t) = cache::read_token(&self.ctx, &path).await? {
            if cache::fingerprint(&t.access_token) != seen {
                return Ok(Some((t, false)));
            }
        }
        Ok(Some((self.refresh_locked(target).await?, true)))
    }

    fn remember_refresh_attempt(&self, target: &SsoTarget, token: &Secret) {
        self.refused_tokens.lock().expect("refused").insert(
            target.display_name().to_string(),
            crate::aws::cache::fingerprint(token),
        );
    }

    fn last_refresh_attempt(&self, target: &SsoTarget) -> Option<String> {
        self.refused_tokens
            .lock()
            .expect("refused")
            .get(target.display_name())
            .cloned()
    }

    /// The state of one token holder.
    pub async fn status(&self, target: &SsoTarget) -> Result<TargetStatus, EngineError> {
        let path = self.token_path(target)?;
        let now = self.ctx.clock.now();
        let token = match cache::read_token(&self.ctx, &path).await {
            Ok(TokenFile::Missing) => TokenState::LoggedOut,
            Ok(TokenFile::Token(t)) => {
                let can_refresh = !target.is_legacy() && self.refreshable(target, &t).await;
                if t.expires_at > now {
                    TokenState::Valid {
                        expires_at: t.expires_at,
                        can_refresh,
                    }
                } else {
                    TokenState::Expired {
                        expires_at: t.expires_at,
                        can_refresh,
                    }
                }
            }
            Err(CacheError::Corrupt { reason, .. }) => TokenState::Unreadable { reason },
            Err(e) => return Err(e.into()),
        };
        let record = self
            .load_state()
            .ok()
            .and_then(|s| s.sessions.get(target.display_name()).cloned())
            .unwrap_or_default();
        let session_end = match &token {
            TokenState::Valid { expires_at, .. } | TokenState::Expired { expires_at, .. }
                if target.is_legacy() =>
            {
                Some(crate::ops::state::SessionEnd {
                    at: *expires_at,
                    source: crate::ops::state::EndSource::TokenExpiry,
                    length_secs: 0,
                })
            }
            _ => {
                let configured = self
                    .settings_for(target.display_name())
                    .and_then(|s| s.session_length)
                    .map(|secs| ChronoDuration::seconds(secs as i64));
                crate::ops::state::estimate_end(&record, configured)
            }
        };
        Ok(TargetStatus {
            name: target.display_name().to_string(),
            legacy: target.is_legacy(),
            start_url: target.start_url.clone(),
            region: target.region.clone(),
            cache_file: path,
            token,
            session_end,
            ended_at: record.ended_at,
        })
    }

    /// Logs out like `aws sso logout`, for one token holder: portal Logout (errors noted, not
    /// fatal), the token file removed, and the AWS CLI's role-credential cache entries of the
    /// profiles using it removed. A token file that cannot be parsed is left in place. The
    /// sections exported from its profiles into the shared credentials file are removed too.
    pub async fn logout(
        &self,
        config: &AwsConfig,
        target: &SsoTarget,
    ) -> Result<LogoutReport, EngineError> {
        let mut report = self.logout_for_renewal(config, target).await?;
        report.removed_exports = self.unexport_session(config, target).await?;
        Ok(report)
    }

    /// [`Engine::logout`] before a new login (Renew): the exported sections stay, and the keeper
    /// rewrites them with the new session's credentials.
    pub async fn logout_for_renewal(
        &self,
        config: &AwsConfig,
        target: &SsoTarget,
    ) -> Result<LogoutReport, EngineError> {
        let _lock = self.lock_session(target).await?;
        self.logout_locked(config, target).await
    }

    /// Renew: logs out (ending the portal session, so the new one gets a new end; logging in
    /// inside a live portal session would not move it) and logs in afresh, under one hold of the
    /// session's lock: no other process's login can slip in between and open a second sign-in.
    /// The exported sections stay for the keeper to rewrite from the new session.
    pub async fn renew(
        &self,
        config: &AwsConfig,
        target: &SsoTarget,
        options: &LoginOptions,
        prompt: &(dyn Fn(&LoginPrompt) + Send + Sync),
    ) -> Result<CachedToken, EngineError> {
        let _lock = self.lock_session(target).await?;
        self.logout_locked(config, target).await?;
        self.login_locked(target, options, prompt).await
    }

    /// [`Engine::logout_for_renewal`] for a caller that holds the session's lock.
    async fn logout_locked(
        &self,
        config: &AwsConfig,
        target: &SsoTarget,
    ) -> Result<LogoutReport, EngineError> {
        let path = self.token_path(target)?;
        let mut report = LogoutReport::default();
        if let TokenFile::Token(token) = cache::read_token(&self.ctx, &path).await? {
            report.portal_logout = Some(self.portal_logout(&token).await);
            match self.ctx.fs.remove(&path) {
                Ok(()) => report.removed_token = true,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(CacheError::Io {
                        what: "remove",
                        path,
                        source,
                    }
                    .into())
                }
            }
        }
        if let Err(e) = self.keychain_forget(target).await {
            tracing::warn!(session = target.display_name(), error = %e, "cannot delete the keychain entry");
        }
        // A dead writer's copy of the token file (its refresh token) goes with it.
        if let Some(dir) = path.parent() {
            self.ctx.fs.remove_leftovers(dir);
        }
        // The token is gone: an entry written from it is written before this lock is had (and
        // removed here), or after it, when its writer sees the token gone and writes nothing.
        let _cli = self.cli_cache_lock().await?;
        let cli_dir = self.paths().cli_cache()?;
        self.ctx.fs.remove_leftovers(&cli_dir);
        for profile in &config.profiles {
            if config.target_of(profile).as_ref() != Some(target) {
                continue;
            }
            let (Some(account_id), Some(role_name)) = (&profile.account_id, &profile.role_name)
            else {
                continue;
            };
            let file = cli_dir.join(cache::role_credential_cache_file_name(
                account_id, role_name, target,
            ));
            if self.is_sso_role_credential_file(&file) && self.ctx.fs.remove(&file).is_ok() {
                report.removed_role_credentials += 1;
            }
        }
        report.removed_role_credentials += self.remove_assumed_roles(config, Some(target));
        Ok(report)
    }

    /// Removes the assume-role cache entries of the chained profiles that start from `target`'s
    /// roles (every chained profile's, for `None`): after a logout no role of the session is
    /// served from a cache. Only files that read as assume-role entries are removed.
    fn remove_assumed_roles(&self, config: &AwsConfig, target: Option<&SsoTarget>) -> usize {
        let Ok(cli_dir) = self.paths().cli_cache() else {
            return 0;
        };
        let mut removed = 0;
        for chained in &config.chained {
            let Ok(role) = self.profile_role(config, &chained.name) else {
                continue;
            };
            if target.is_some_and(|t| *t != role.target) {
                continue;
            }
            for step in &role.chain {
                let file = cli_dir.join(format!("{}.json", crate::aws::chain::cache_key(step)));
                let is_entry = self
                    .ctx
                    .fs
                    .read(&file)
                    .ok()
                    .and_then(|b| crate::aws::chain::from_cli_cache_json(&b))
                    .is_some();
                if is_entry && self.ctx.fs.remove(&file).is_ok() {
                    removed += 1;
                }
            }
        }
        removed
    }

    /// Logs out of everything like `aws sso logout`: every token file in the cache directory
    /// with an access token, and every SSO entry of the role-credential cache.
    pub async fn logout_all(&self) -> Result<(LogoutReport, Vec<EngineError>), EngineError> {
        let dir = self.paths().token_cache()?;
        let mut report = LogoutReport::default();
        let mut problems = Vec::new();
        let files = self
            .ctx
            .fs
            .list_dir(&dir)
            .map_err(|source| CacheError::Io {
                what: "list",
                path: dir.clone(),
                source,
            })?;
        for file in files
            .into_iter()
            .filter(|f| f.extension().is_some_and(|e| e == "json"))
        {
            // A token file is removed under its session's lock, as refresh and login take it
            // (and no lock file is made beside files that are not tokens).
            let _lock = match cache::read_token(&self.ctx, &file).await {
                Ok(TokenFile::Token(_)) => {
                    let lock = file.with_extension("ssotray-lock");
                    Some(
                        crate::platform::os::lock_file(self.ctx.fs.clone(), lock.clone())
                            .await
                            .map_err(|source| EngineError::Io {
                                what: "lock",
                                path: lock.clone(),
                                source,
                            })?,
                    )
                }
                _ => None,
            };
            match cache::read_token(&self.ctx, &file).await {
                Ok(TokenFile::Token(token)) => {
                    let result = self.portal_logout(&token).await;
                    if let Err(e) = &result {
                        problems.push(EngineError::PortalLogout {
                            path: file.clone(),
                            source: e.clone(),
                        });
                    }
                    report.portal_logout = Some(result);
                    if self.ctx.fs.remove(&file).is_ok() {
                        report.removed_token = true;
                    }
                }
                Ok(TokenFile::Missing) => {}
                // Registration files and other tools' files are not tokens: leave them alone.
                Err(CacheError::Corrupt { .. }) => {}
                Err(e) => problems.push(e.into()),
            }
        }
        {
            // As in `logout_locked`: after the tokens went, under the cache's lock.
            self.ctx.fs.remove_leftovers(&dir);
            let _cli = self.cli_cache_lock().await?;
            let cli_dir = self.paths().cli_cache()?;
            self.ctx.fs.remove_leftovers(&cli_dir);
            for file in self.ctx.fs.list_dir(&cli_dir).unwrap_or_default() {
                if self.is_sso_role_credential_file(&file) && self.ctx.fs.remove(&file).is_ok() {
                    report.removed_role_credentials += 1;
                }
            }
            if let Ok(config) = self.load_config() {
                report.removed_role_credentials += self.remove_assumed_roles(&config, None);
            }
        }
        match self.unexport_all().await {
            Ok(n) => report.removed_exports = n,
            Err(e) => problems.push(e),
        }
        Ok((report, problems))
    }

    /// Removes the temporary files that writers which died before their rename left in every
    /// directory ssotray writes (the token and role caches, `~/.aws`, its settings, state,
    /// caches and private pages, each grant); how many. Each is a full copy of what was being
    /// written (a token file's refresh token, say); a live writer's is left alone (see
    /// [`crate::platform::os::write_atomic_pausing`]).
    pub fn remove_leftovers(&self) -> usize {
        let paths = self.paths();
        let parent = |p: Result<PathBuf, crate::platform::paths::NoHome>| {
            p.ok()
                .and_then(|p| p.parent().map(std::path::Path::to_path_buf))
        };
        let mut dirs: Vec<PathBuf> = [
            paths.token_cache().ok(),
            paths.cli_cache().ok(),
            parent(paths.aws_config()),
            parent(paths.aws_credentials()),
            parent(paths.settings()),
            paths.state_dir().ok(),
            paths.registrations_dir().ok(),
            paths.accounts_dir().ok(),
            paths.private_pages_dir().ok(),
        ]
        .into_iter()
        .flatten()
        .collect();
        if let Ok(grants) = paths.grants_dir() {
            dirs.extend(self.ctx.fs.list_subdirs(&grants).unwrap_or_default());
        }
        dirs.sort();
        dirs.dedup();
        dirs.iter().map(|d| self.ctx.fs.remove_leftovers(d)).sum()
    }

    fn is_sso_role_credential_file(&self, file: &std::path::Path) -> bool {
        self.ctx
            .fs
            .read(file)
            .ok()
            .and_then(|b| {
                serde_json::from_slice::<serde_json::Value>(crate::platform::files::strip_bom(&b))
                    .ok()
            })
            .is_some_and(|v| v.get("ProviderType").and_then(|p| p.as_str()) == Some("sso"))
    }

    async fn portal_logout(&self, token: &CachedToken) -> Result<(), PortalLogoutError> {
        let Some(region) = &token.region else {
            return Err(PortalLogoutError::NoRegion);
        };
        let portal = self
            .portal(region)
            .map_err(|e| PortalLogoutError::Failed(e.to_string()))?;
        portal
            .logout(&token.access_token)
            .await
            .map_err(|e| PortalLogoutError::Failed(e.to_string()))
    }
}

/// A file that cannot be parsed, as the error that leaves it untouched.
pub(crate) fn unreadable(
    what: &'static str,
    path: &std::path::Path,
    reason: impl std::fmt::Display,
) -> EngineError {
    EngineError::Unreadable {
        what,
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// How a user names a token holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// `--sso-session NAME`.
    Session(String),
    /// `--profile NAME`.
    Profile(String),
    /// A bare name: sso-session first, then profile, then a legacy start URL.
    Any(String),
}
