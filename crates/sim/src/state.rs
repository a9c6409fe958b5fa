//! The simulator's state: registered clients, pending authorizations, portal sessions and tokens.
//!
//! Times are epoch milliseconds so that `--state` can keep them across restarts.
//!
//! It also holds the authorization codes. `SimClock` is the system's clock, moved forward by tests.

use rand::distr::{Alphanumeric, SampleString};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The simulator's wall clock: the system's, moved forward by tests ([`SimClock::advance`], or
/// `POST /_sim/clock?advance=SECS` for a simulator in another process), so hours of portal
/// session pass in a moment at their real proportions. Clones share the offset.
#[derive(Debug, Default, Clone)]
pub struct SimClock(Arc<AtomicU64>);

impl SimClock {
    /// Milliseconds since the epoch, now.
    pub fn now_ms(&self) -> u64 {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        system.saturating_add(self.0.load(Ordering::SeqCst))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(
            by.as_millis().min(u64::MAX as u128) as u64,
            Ordering::SeqCst,
        );
    }

    /// How far the clock has been moved ahead of the system's.
    pub fn offset(&self) -> Duration {
        Duration::from_millis(self.0.load(Ordering::SeqCst))
    }
}

/// A random token with a recognisable prefix.
pub fn random_token(prefix: &str, len: usize) -> String {
    format!(
        "{prefix}{}",
        Alphanumeric.sample_string(&mut rand::rng(), len)
    )
}

/// A user code like `ABCD-EFGH` (letters that cannot be confused).
pub fn user_code() -> String {
    const LETTERS: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
    let mut rng = rand::rng();
    let mut pick = || LETTERS[rng.random_range(0..LETTERS.len())] as char;
    let a: String = (0..4).map(|_| pick()).collect();
    let b: String = (0..4).map(|_| pick()).collect();
    format!("{a}-{b}")
}

/// A registered OIDC client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Client {
    pub secret: String,
    pub name: String,
    pub expires_at_ms: u64,
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
}

impl Client {
    /// Whether the client may use a grant type (no list registered: device code and refresh).
    pub fn allows(&self, grant: &str) -> bool {
        if self.grant_types.is_empty() {
            grant != "authorization_code"
        } else {
            self.grant_types.iter().any(|g| g == grant)
        }
    }

    /// Whether tokens issued to this client come with a refresh token.
    pub fn gets_refresh_tokens(&self) -> bool {
        !self.scopes.is_empty() || self.grant_types.iter().any(|g| g == "refresh_token")
    }
}

/// How a device authorization stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Pending,
    Approved,
    Denied,
}

/// A device authorization.
#[derive(Debug, Clone)]
pub struct Device {
    pub client_id: String,
    pub user_code: String,
    pub expires_at_ms: u64,
    pub interval: Duration,
    pub last_poll: Option<Instant>,
    pub decision: Decision,
    pub session_id: Option<String>,
}

/// An `/authorize` request waiting for the user's decision.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
}

/// An issued authorization code.
#[derive(Debug, Clone)]
pub struct Code {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub expires_at_ms: u64,
    pub session_id: String,
}

/// A portal session: what the user's sign-in holds, ended by time or Logout.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub started_at_ms: u64,
    pub ends_at_ms: u64,
    pub logged_out: bool,
}

impl Session {
    /// Whether the session is alive at `now`.
    pub fn alive(&self, now: u64) -> bool {
        !self.logged_out && now < self.ends_at_ms
    }
}

/// An access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessToken {
    pub session_id: String,
    pub expires_at_ms: u64,
}

/// A refresh token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshToken {
    pub session_id: String,
    pub client_id: String,
    pub valid: bool,
}

/// Role credentials handed out by GetRoleCredentials.
#[derive(Debug, Clone)]
pub struct RoleCredentials {
    pub secret_access_key: String,
    pub session_token: String,
    pub account_id: String,
    pub role_name: String,
    pub expires_at_ms: u64,
    /// Credentials of a role assumed with STS AssumeRole (a role session from another role's
    /// credentials: "role chaining"), with its session name; `None` for Identity Center's.
    pub assumed_session: Option<String>,
}

impl RoleCredentials {
    /// The caller's ARN as STS names it.
    pub fn arn(&self) -> String {
        match &self.assumed_session {
            Some(session) => format!(
                "arn:aws:sts::{}:assumed-role/{}/{session}",
                self.account_id, self.role_name
            ),
            None => format!(
                "arn:aws:sts::{}:assumed-role/AWSReservedSSO_{}_0123456789abcdef/sim-user",
                self.account_id, self.role_name
            ),
        }
    }

    /// The principal a trust policy names: `ACCOUNT/ROLE`.
    pub fn principal(&self) -> String {
        format!("{}/{}", self.account_id, self.role_name)
    }
}

/// A console sign-in token.
#[derive(Debug, Clone)]
pub struct SigninToken {
    pub account_id: String,
    pub role_name: String,
    pub expires_at_ms: u64,
}

/// A signed-in fake console session.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    pub account_id: String,
    pub role_name: String,
    pub destination: String,
    pub issuer: String,
}

/// A token bucket for the portal's per-token rate limit.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub tokens: f64,
    pub last: Instant,
}

/// What `--state` keeps across restarts.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Persistent {
    pub clients: HashMap<String, Client>,
    pub sessions: HashMap<String, Session>,
    pub access_tokens: HashMap<String, AccessToken>,
    pub refresh_tokens: HashMap<String, RefreshToken>,
}

impl Persistent {
    /// Whether portal session `id` exists and is alive at `now_ms`.
    pub fn session_alive(&self, id: &str, now_ms: u64) -> bool {
        self.sessions.get(id).is_some_and(|s| s.alive(now_ms))
    }
}

/// Everything the simulator holds.
#[derive(Debug, Default)]
pub struct State {
    pub kept: Persistent,
    pub devices: HashMap<String, Device>,
    pub user_codes: HashMap<String, String>,
    pub auth_requests: HashMap<String, AuthRequest>,
    pub codes: HashMap<String, Code>,
    pub role_credentials: HashMap<String, RoleCredentials>,
    pub signin_tokens: HashMap<String, SigninToken>,
    pub consoles: HashMap<String, ConsoleSession>,
    pub buckets: HashMap<String, Bucket>,
    pub stats: BTreeMap<String, u64>,
    /// The last value of each secret the simulator saw or issued (`state`, `code`,
    /// `codeVerifier`, `SigninToken`), for tests that look for them where they must not be.
    pub seen: BTreeMap<String, String>,
}

impl State {
    /// Counts one call of an operation.
    pub fn count(&mut self, operation: &str) {
        *self.stats.entry(operation.to_string()).or_default() += 1;
    }

    /// Starts a portal session lasting `ttl`.
    pub fn new_session(&mut self, ttl: Duration, now: u64) -> String {
        let id = random_token("sess-", 24);
        self.kept.sessions.insert(
            id.clone(),
            Session {
                started_at_ms: now,
                ends_at_ms: now + ttl.as_millis() as u64,
                logged_out: false,
            },
        );
        id
    }

    /// The live session id a cookie names, if any.
    pub fn live_session(&self, id: &str, now: u64) -> Option<String> {
        self.kept
            .sessions
            .get(id)
            .filter(|s| s.alive(now))
            .map(|_| id.to_string())
    }
}
