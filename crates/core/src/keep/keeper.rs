//! The keeper: keeps every logged-in session's token fresh ahead of every AWS reader, estimates
//! when each portal session ends, and says so in time.
//!
//! Deadlines are wall-clock instants, re-checked at least every `recheck` (a minute) so a laptop
//! that slept for hours catches up at once. What to do at an instant is decided by the pure
//! [`plan`]; [`Keeper::tick`] carries it out.
//!
//! - `plan` and `refresh_at` are pure: what is due for a session at an instant (a refresh,
//!   lead-time and end events, the next deadline).
//! - `Keeper` carries plans out over the engine: `tick`; `turn` (a tick and the sleep it asks for);
//!   `run` (turns, with wall-clock deadlines re-checked at least every `recheck`; it sleeps between
//!   deadlines, no polling loop). It sends `KeeperEvent`s to a `Notifier`, and serves logins
//!   (`login`, `renew`, `act`, `handle`); requests for sessions not in the config are refused.
//! - `Keeper::tick_session` is *find* (token, record, memory) → `plan` → *refresh* → *remember*,
//!   with one `SessionMemory` per session (jitter, retries, the last refresh, the login gate,
//!   events sent).
//! - `login_with` and `renew_with` take a shell's options and prompt behind the per-session gate;
//!   every login and renewal in a keeper process goes through it.
//!
//! When it refreshes: at the token's mark (lead + jitter before expiry); a token that was already
//! inside its lead when obtained, at half of what it had left (just after its expiry when the
//! refresh gained nothing: cut short by the session's end); 30 s before and 30 s after an estimated
//! end (the end confirmed at once, its time learned to a minute); never two within a minute (or a
//! quarter of the lead, if shorter); every failure holds refreshes back, up to 5 min.

use crate::aws::cache::{self, CacheError, TokenFile};
use crate::aws::config::SsoTarget;
use crate::ops::engine::{Engine, EngineError};
use crate::ops::login::LoginPrompt;
use crate::ops::settings::KeeperSettings;
use crate::ops::state::{estimate_end, EndSource, SessionEnd, SessionRecord};
use crate::platform::time;
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Something the user should hear about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum KeeperEvent {
    /// The portal session ends soon.
    #[serde(rename_all = "camelCase")]
    EndsSoon {
        /// Session name.
        session: String,
        /// Estimated end.
        ends_at: DateTime<Utc>,
        /// Whole minutes left, rounded up.
        minutes_left: i64,
        /// The lead time that fired, seconds.
        lead_secs: i64,
        /// Where the estimate comes from.
        source: EndSource,
    },
    /// The portal session has ended.
    #[serde(rename_all = "camelCase")]
    Ended {
        /// Session name.
        session: String,
        /// When the end was seen.
        at: DateTime<Utc>,
    },
    /// A refresh failed in a way only the user can fix.
    #[serde(rename_all = "camelCase")]
    NeedsUser {
        /// Session name.
        session: String,
        /// What happened and what to do.
        message: String,
    },
    /// A program asked for credentials of a session that needs a login.
    #[serde(rename_all = "camelCase")]
    LoginNeeded {
        /// Session name.
        session: String,
    },
    /// ssotray refused something unsafe on this machine (not about one session): its runtime
    /// directory is not the user's own with mode 0700, so it serves no socket there.
    #[serde(rename_all = "camelCase")]
    Unsafe {
        /// What is wrong and what to do.
        message: String,
    },
    /// The container-credentials server that the settings turn on could not start.
    #[serde(rename_all = "camelCase")]
    NotServing {
        /// What is wrong and what to do.
        message: String,
    },
}

/// A notification action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Log out, then log in afresh (a new portal session with a new end).
    Renew,
    /// Log in.
    Login,
    /// Close the notification.
    Dismiss,
    /// A click on the notification itself: open the app (the shell does that).
    Open,
}

impl Action {
    /// The identifier sent to the notification server.
    pub fn id(self) -> &'static str {
        match self {
            Action::Renew => "renew",
            Action::Login => "login",
            Action::Dismiss => "dismiss",
            Action::Open => "default",
        }
    }
    /// The button label.
    pub fn label(self) -> &'static str {
        match self {
            Action::Renew => "Renew",
            Action::Login => "Log in",
            Action::Dismiss => "Dismiss",
            Action::Open => "Open ssotray",
        }
    }
    /// The action with this identifier.
    pub fn from_id(id: &str) -> Option<Action> {
        [Action::Renew, Action::Login, Action::Dismiss, Action::Open]
            .into_iter()
            .find(|a| a.id() == id)
    }
}

impl KeeperEvent {
    /// The session it is about.
    pub fn session(&self) -> &str {
        match self {
            KeeperEvent::EndsSoon { session, .. }
            | KeeperEvent::Ended { session, .. }
            | KeeperEvent::NeedsUser { session, .. }
            | KeeperEvent::LoginNeeded { session } => session,
            KeeperEvent::Unsafe { .. } | KeeperEvent::NotServing { .. } => "",
        }
    }

    /// Notification title.
    pub fn summary(&self) -> String {
        match self {
            KeeperEvent::EndsSoon {
                session,
                minutes_left,
                ..
            } => {
                format!(
                    "Session {session} ends in {minutes_left} minute{}",
                    if *minutes_left == 1 { "" } else { "s" }
                )
            }
            KeeperEvent::Ended { session, .. } => format!("Session {session} ended"),
            KeeperEvent::NeedsUser { session, .. } => format!("Session {session} needs you"),
            KeeperEvent::LoginNeeded { session } => format!("Log in to {session}"),
            KeeperEvent::Unsafe { .. } => "ssotray cannot coordinate logins".into(),
            KeeperEvent::NotServing { .. } => "ssotray cannot serve container credentials".into(),
        }
    }

    /// Notification text.
    pub fn body(&self) -> String {
        let local = |t: &DateTime<Utc>| t.with_timezone(&chrono::Local).format("%H:%M").to_string();
        match self {
            KeeperEvent::EndsSoon {
                ends_at, source, ..
            } => {
                let how = match source {
                    EndSource::Learned => "estimated from your last session",
                    EndSource::Configured => "by your session length setting",
                    EndSource::Assumed => "assuming an 8-hour session",
                    EndSource::TokenExpiry => "when its token expires",
                };
                format!(
                    "Ends around {} ({how}). Renew now to start a fresh session.",
                    local(ends_at)
                )
            }
            KeeperEvent::Ended { at, .. } => format!(
                "Ended by {}. AWS tools cannot get credentials until you log in again.",
                local(at)
            ),
            KeeperEvent::NeedsUser { message, .. } => message.clone(),
            KeeperEvent::LoginNeeded { .. } => {
                "A program asked for AWS credentials. Log in to continue.".to_string()
            }
            KeeperEvent::Unsafe { message } | KeeperEvent::NotServing { message } => {
                message.clone()
            }
        }
    }

    /// The actions offered.
    pub fn actions(&self) -> Vec<Action> {
        match self {
            KeeperEvent::EndsSoon { .. } => vec![Action::Renew, Action::Dismiss],
            KeeperEvent::Ended { .. }
            | KeeperEvent::LoginNeeded { .. }
            | KeeperEvent::NeedsUser { .. } => vec![Action::Login],
            KeeperEvent::Unsafe { .. } | KeeperEvent::NotServing { .. } => Vec::new(),
        }
    }

    /// Sent at most once per portal session under this key.
    pub fn key(&self) -> String {
        match self {
            KeeperEvent::EndsSoon { lead_secs, .. } => format!("ends-in-{lead_secs}"),
            KeeperEvent::Ended { .. } => "ended".into(),
            KeeperEvent::NeedsUser { .. } => "needs-user".into(),
            KeeperEvent::LoginNeeded { .. } => "login-needed".into(),
            KeeperEvent::Unsafe { .. } => "unsafe".into(),
            KeeperEvent::NotServing { .. } => "not-serving".into(),
        }
    }
}

/// Shows events to the user (a desktop notification, a log line).
pub trait Notifier: Send + Sync {
    /// Shows one event.
    fn notify(&self, event: &KeeperEvent);
}

/// What the keeper knows of a token at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenView {
    /// Access-token expiry.
    pub expires_at: DateTime<Utc>,
    /// Whether a refresh can be tried.
    pub can_refresh: bool,
    /// When this token was obtained, if ssotray obtained it (a login or refresh recorded with
    /// its fingerprint in the state file, or in this keeper's memory): `None` for a token
    /// another tool wrote.
    pub obtained_at: Option<DateTime<Utc>>,
    /// The expiry of the token this one replaced, when this keeper's own refresh replaced it.
    pub replaced_expiry: Option<DateTime<Utc>>,
}

/// Two refreshes of one session are never closer together than this (one a minute at most),
/// however short its tokens live; with a refresh lead shorter than four minutes, a quarter of
/// the lead (see [`refresh_floor`]).
pub const REFRESH_FLOOR: Duration = Duration::seconds(60);

/// The least time between two refreshes of a session: [`REFRESH_FLOOR`], or a quarter of the
/// refresh lead when that is shorter (a lead of seconds, for tokens of seconds).
pub fn refresh_floor(settings: &KeeperSettings) -> Duration {
    REFRESH_FLOOR.min(Duration::seconds(
        i64::from(settings.refresh_ahead.max(4)) / 4,
    ))
}
/// Around an estimated portal-session end, refreshes this far before it (so a learned length
/// is exact to a minute) and this far after it (which confirms the end, or shows the session
/// outlived the estimate).
pub const AROUND_END: Duration = Duration::seconds(30);

/// The decision for one session at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Refresh now.
    pub refresh_now: bool,
    /// When the next refresh is due (`None`: no refresh is planned).
    pub refresh_at: Option<DateTime<Utc>>,
    /// Events to send now (already filtered by what was sent).
    pub events: Vec<KeeperEvent>,
    /// The next instant anything is due (the caller wakes no later than that, and no later than
    /// its re-check interval).
    pub next_due: Option<DateTime<Utc>>,
}

/// What the keeper knows of one session when it plans.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The token in the cache, if any.
    pub token: Option<TokenView>,
    /// ssotray's record of the session.
    pub record: &'a SessionRecord,
    /// The estimated end of the portal session.
    pub end: Option<SessionEnd>,
    /// This session's fixed random head start for refreshes.
    pub jitter: Duration,
    /// Refreshes held back until then after a failure.
    pub retry_at: Option<DateTime<Utc>>,
}

/// When to refresh a token, by three rules:
/// - at its mark: the refresh lead (plus jitter) before it expires;
/// - a token that was already inside its lead when it was obtained (tokens that live shorter
///   than the lead, or come cut short by the session's end) gets its next refresh when half of
///   what it had left has passed, instead of at once and again and again; and when the refresh
///   that brought it gained nothing on the token before (cut short by the session's end), the
///   next refresh comes just after it expires, to confirm the end;
/// - around the estimated end of the portal session (not for legacy tokens): once shortly
///   before it and once shortly after it, so the end is confirmed at once and its time learned.
///
/// Never sooner than `floor` ([`refresh_floor`]) after the last refresh, nor before a failure's
/// hold.
pub fn refresh_at(
    now: DateTime<Utc>,
    token: &TokenView,
    record: &SessionRecord,
    end: Option<SessionEnd>,
    lead: Duration,
    floor: Duration,
    retry_at: Option<DateTime<Utc>>,
) -> DateTime<Utc> {
    let mark = time::minus(token.expires_at, lead);
    // A time in the future (clock skew, a hand-edited state file) says nothing of this token.
    let obtained = token.obtained_at.filter(|o| *o <= now);
    let inside_lead_when_obtained = obtained.is_some_and(|o| o >= mark);
    // Refreshing gained (almost) nothing: the token ends with the portal session, and so would
    // the next one. Refresh once when it has expired, to confirm the end.
    let gained_nothing = inside_lead_when_obtained
        && token
            .replaced_expiry
            .is_some_and(|p| token.expires_at <= time::plus(p, floor));
    let mut at = match obtained {
        _ if gained_nothing => time::plus(token.expires_at, AROUND_END),
        Some(o) if inside_lead_when_obtained => time::plus(o, (token.expires_at - o) / 2),
        _ => mark,
    };
    if let Some(e) = end.filter(|e| e.source != EndSource::TokenExpiry) {
        let alive = record.last_alive_at;
        let before = time::minus(e.at, AROUND_END);
        if alive.is_none_or(|a| a < before) {
            at = at.min(before);
        }
        if alive.is_none_or(|a| a < e.at) {
            at = at.min(time::plus(e.at, AROUND_END));
        }
    }
    if let Some(o) = obtained {
        at = at.max(time::plus(o, floor));
    }
    if let Some(r) = retry_at {
        at = at.max(r);
    }
    at
}

/// Decides what is due for one session at `now`. Pure: the same inputs give the same plan.
pub fn plan(
    session: &str,
    now: DateTime<Utc>,
    facts: Facts<'_>,
    settings: &KeeperSettings,
) -> Plan {
    let Facts {
        token,
        record,
        end,
        jitter,
        retry_at,
    } = facts;
    let mut events = Vec::new();
    let mut due: Vec<DateTime<Utc>> = Vec::new();
    let ended = record.ended_at.is_some();
    let lead = Duration::seconds(i64::from(settings.refresh_ahead)) + jitter;
    let refresh = token.filter(|t| t.can_refresh && !ended).map(|t| {
        refresh_at(
            now,
            &t,
            record,
            end,
            lead,
            refresh_floor(settings),
            retry_at,
        )
    });
    due.extend(refresh);
    if ended {
        let ev = KeeperEvent::Ended {
            session: session.to_string(),
            at: record.ended_at.unwrap_or(now),
        };
        if !record.notified.contains(&ev.key()) {
            events.push(ev);
        }
    } else if let Some(e) = end {
        // Only the most urgent lead time that has come fires; the longer ones are skipped, so a
        // laptop waking five minutes before the end shows one notification, not two.
        let mut leads: Vec<i64> = settings.lead_times.iter().map(|l| i64::from(*l)).collect();
        leads.sort_unstable();
        let left = e.at - now;
        if left > Duration::zero() {
            if let Some(lead) = leads
                .iter()
                .copied()
                .find(|l| left <= Duration::seconds(*l))
            {
                let ev = KeeperEvent::EndsSoon {
                    session: session.to_string(),
                    ends_at: e.at,
                    minutes_left: (left.num_seconds() + 59) / 60,
                    lead_secs: lead,
                    source: e.source,
                };
                let longer_sent = leads
                    .iter()
                    .filter(|l| **l < lead)
                    .any(|l| record.notified.contains(&format!("ends-in-{l}")));
                if !record.notified.contains(&ev.key()) && !longer_sent {
                    events.push(ev);
                }
            }
            due.extend(
                leads
                    .iter()
                    .map(|l| time::minus(e.at, Duration::seconds(*l)))
                    .filter(|t| *t > now),
            );
            due.push(e.at);
        }
    }
    Plan {
        refresh_now: refresh.is_some_and(|r| now >= r),
        refresh_at: refresh,
        events,
        next_due: due.into_iter().filter(|t| *t > now).min(),
    }
}

/// How long the keeper sleeps: until the next due instant, but never longer than `recheck`
/// seconds (a suspended laptop's monotonic timers stop; the wall clock does not) and never
/// less than 200 ms.
pub fn sleep_for(
    now: DateTime<Utc>,
    next_due: Option<DateTime<Utc>>,
    recheck: i64,
) -> std::time::Duration {
    let cap = Duration::seconds(recheck.max(1));
    let until = next_due.map_or(cap, |n| (n - now).clamp(Duration::milliseconds(200), cap));
    until.to_std().unwrap_or(std::time::Duration::from_secs(1))
}

/// What this keeper remembers of one session between ticks (beside the state file, which
/// other processes share and which may not be writable).
#[derive(Debug, Default)]
struct SessionMemory {
    /// How much earlier than due this session refreshes (drawn once).
    jitter: Option<Duration>,
    /// Failed refreshes in a row, and the hold until the next try.
    retry: Option<(u32, DateTime<Utc>)>,
    /// The token (fingerprint) this keeper last saw a refresh bring (its own, or another
    /// process's found under the lock), and when: the floor between refreshes holds even when
    /// the state file cannot record it.
    refreshed: Option<(String, DateTime<Utc>)>,
    /// The token this keeper's last refresh brought (fingerprint) and the expiry of the token
    /// it replaced.
    replaced: Option<(String, DateTime<Utc>)>,
    /// One login or renewal at a time.
    gate: Arc<tokio::sync::Mutex<()>>,
    /// Events sent by this process (event key, login time of the portal session it was about):
    /// no repeats even when the state file cannot record them.
    sent: std::collections::HashSet<(String, Option<DateTime<Utc>>)>,
}

/// What one tick found out about a session, before any decision.
struct Found {
    name: String,
    now: DateTime<Utc>,
    fingerprint: String,
    expires_at: DateTime<Utc>,
    record: SessionRecord,
    end: Option<SessionEnd>,
    view: TokenView,
    retry_at: Option<DateTime<Utc>>,
    jitter: Duration,
}

/// How a refresh the plan asked for came out.
enum Refreshed {
    /// A new token (`by_us`: this keeper's refresh, not another process's found under the lock).
    Fresh { fingerprint: String, by_us: bool },
    /// Another holder (a login in progress) has the session.
    Busy,
    /// The portal session ended.
    Ended,
    /// It failed; `transient`: the network or the service.
    Failed(EngineError),
}

/// The keeper over an engine.
pub struct Keeper {
    engine: Engine,
    notifier: Arc<dyn Notifier>,
    /// Per session, what this keeper remembers of it.
    memory: Mutex<HashMap<String, SessionMemory>>,
    /// Per exported section: the expiry this keeper last saw or wrote there, and when it is due.
    exported: Mutex<HashMap<String, ExportSeen>>,
    /// Wakes the loop early from within (a request that changed what is due).
    nudge: tokio::sync::Notify,
}

/// An exported section as the keeper last saw or wrote it: its expiry, and when it is due.
type ExportSeen = (Option<DateTime<Utc>>, DateTime<Utc>);

impl Keeper {
    /// A keeper that reports through `notifier`.
    pub fn new(engine: Engine, notifier: Arc<dyn Notifier>) -> Self {
        Keeper {
            engine,
            notifier,
            memory: Mutex::default(),
            exported: Mutex::default(),
            nudge: tokio::sync::Notify::new(),
        }
    }

    fn target(&self, session: &str) -> Result<SsoTarget, EngineError> {
        let config = self.engine.load_config()?;
        self.engine.resolve(
            &config,
            &crate::ops::engine::Selector::Any(session.to_string()),
        )
    }

    /// The per-session gate: one login or renewal at a time in this process.
    fn gate(&self, target: &SsoTarget) -> Arc<tokio::sync::Mutex<()>> {
        self.remember(target.display_name(), |m| m.gate.clone())
    }

    /// Looks at or changes what this keeper remembers of a session.
    fn remember<T>(&self, session: &str, f: impl FnOnce(&mut SessionMemory) -> T) -> T {
        f(self
            .memory
            .lock()
            .expect("memory")
            .entry(session.to_string())
            .or_default())
    }

    /// Logs in for whoever asks, one login at a time per session: askers that arrive while a
    /// login runs wait for it and are then served by it (see [`crate::keep::owner::obtain_login`]).
    pub async fn login(&self, session: &str, stale: Option<String>) -> Result<(), EngineError> {
        self.login_with(
            session,
            stale,
            &crate::ops::engine::LoginOptions::default(),
            &|_| {},
        )
        .await
    }

    /// [`Keeper::login`] with the shell's options and prompt (the tray app shows the device code
    /// or "waiting for the browser" while it runs).
    pub async fn login_with(
        &self,
        session: &str,
        stale: Option<String>,
        options: &crate::ops::engine::LoginOptions,
        prompt: &(dyn Fn(&LoginPrompt) + Send + Sync),
    ) -> Result<(), EngineError> {
        let target = self.target(session)?;
        let gate = self.gate(&target);
        let _turn = gate.lock().await;
        crate::keep::owner::obtain_login(&self.engine, &target, stale, options, prompt).await
    }

    /// Renew: log out (ending the portal session), then log in afresh, so the new session gets a
    /// new end (see [`Engine::renew`]). Behind the same gate as logins: a login asked for while
    /// it runs is served by it.
    pub async fn renew(&self, session: &str) -> Result<(), EngineError> {
        self.renew_with(
            session,
            &crate::ops::engine::LoginOptions::default(),
            &|_| {},
        )
        .await
    }

    /// [`Keeper::renew`] with the shell's options and prompt.
    pub async fn renew_with(
        &self,
        session: &str,
        options: &crate::ops::engine::LoginOptions,
        prompt: &(dyn Fn(&LoginPrompt) + Send + Sync),
    ) -> Result<(), EngineError> {
        let target = self.target(session)?;
        let config = self.engine.load_config()?;
        let gate = self.gate(&target);
        let _turn = gate.lock().await;
        self.engine
            .renew(&config, &target, options, prompt)
            .await
            .map(|_| ())
    }

    /// Carries out a notification action.
    pub async fn act(&self, session: &str, action: Action) -> Result<(), EngineError> {
        match action {
            Action::Renew => self.renew(session).await,
            Action::Login => {
                // The user asked: log in unless the token changes while waiting for the turn.
                let target = self.target(session)?;
                let stale = crate::keep::owner::current_fingerprint(&self.engine, &target).await;
                self.login(session, stale).await
            }
            Action::Dismiss | Action::Open => Ok(()),
        }
    }

    /// Answers a request that came over the keeper's socket.
    pub async fn handle(&self, request: crate::keep::owner::Request) -> crate::keep::owner::Reply {
        use crate::keep::owner::{Reply, Request};
        match request {
            Request::Ping => Reply::Ok,
            // The service that runs the keeper answers this when it serves containers.
            Request::ContainerServer => Reply::ContainerServer { address: None },
            Request::ExportsChanged => {
                self.nudge.notify_one();
                Reply::Ok
            }
            Request::Login { session, stale } => match self.login(&session, stale).await {
                Ok(()) => Reply::Ok,
                Err(e) => Reply::Error {
                    message: e.to_string(),
                },
            },
            Request::LoginNeeded { session } => {
                // Only a session of the config is noted (and named in a notification): anything
                // else a caller sends is refused, never recorded.
                let session = match self.target(&session) {
                    Ok(t) => t.display_name().to_string(),
                    Err(_) => {
                        return Reply::Error {
                            message: format!(
                                "no sso-session {:?} in the AWS config",
                                session.chars().take(64).collect::<String>()
                            ),
                        }
                    }
                };
                // "Session ended — Log in" already says it.
                let ended_told = self
                    .engine
                    .load_state()
                    .ok()
                    .and_then(|s| {
                        s.sessions
                            .get(&session)
                            .map(|r| r.notified.contains("ended"))
                    })
                    .unwrap_or(false);
                if !ended_told {
                    self.emit(KeeperEvent::LoginNeeded { session }).await;
                }
                Reply::Ok
            }
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn jitter(&self, session: &str, max_secs: u32) -> Duration {
        self.remember(session, |m| {
            *m.jitter.get_or_insert_with(|| {
                Duration::seconds(rand::rng().random_range(0..=max_secs as i64))
            })
        })
    }

    /// Sends an event unless it was already sent for this portal session.
    pub async fn emit(&self, event: KeeperEvent) {
        let key = event.key();
        let mut fresh = false;
        let mut login_at = None;
        let result = self
            .engine
            .update_record(event.session(), |r| {
                fresh = r.notified.insert(key.clone());
                login_at = r.login_at;
            })
            .await;
        let here = self.remember(event.session(), |m| m.sent.insert((key, login_at)));
        if (result.is_ok() && fresh) || (result.is_err() && here) {
            self.notifier.notify(&event);
        }
    }

    /// One pass over every session: refresh what is due, send what is due. Returns the next
    /// instant something is due.
    pub async fn tick(&self) -> Option<DateTime<Utc>> {
        let config = match self.engine.load_config() {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the AWS config");
                return None;
            }
        };
        let settings = self.engine.settings().unwrap_or_default();
        let mut next: Option<DateTime<Utc>> = None;
        for target in config.targets() {
            if let Some(t) = self.tick_session(&target, &settings).await {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        if let Some(t) = self.tick_exports(&config).await {
            next = Some(next.map_or(t, |n| n.min(t)));
        }
        next
    }

    /// Rewrites every exported section of the credentials file that is due (see
    /// [`crate::ops::exports::export_due`]); the next instant one is due. A failure (a session that
    /// needs a login, the network) is tried again a minute later; it never starts a login.
    async fn tick_exports(&self, config: &crate::aws::config::AwsConfig) -> Option<DateTime<Utc>> {
        let exports = match self.engine.exports() {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the exported credentials");
                return None;
            }
        };
        let mut next: Option<DateTime<Utc>> = None;
        for export in exports {
            let now = self.engine.context().clock.now();
            // The file holds whole seconds.
            let seconds = |t: &Option<DateTime<Utc>>| t.map(|t| t.timestamp());
            let known = self
                .exported
                .lock()
                .expect("exported")
                .get(&export.name)
                .filter(|(expires, _)| seconds(expires) == seconds(&export.expires))
                .map(|(_, due)| *due);
            let due = known
                .or_else(|| export.expires.map(|e| e - crate::ops::exports::EXPORT_LEAD))
                .unwrap_or(now);
            let due = if due > now {
                due
            } else {
                match self
                    .engine
                    .refresh_export(config, &export.profile, &export.name)
                    .await
                {
                    Ok(None) => {
                        // Removed (or exported anew) while the credentials were fetched.
                        tracing::debug!(section = %export.name, "export gone; not rewritten");
                        self.exported.lock().expect("exported").remove(&export.name);
                        continue;
                    }
                    Ok(Some(c)) => {
                        let due = crate::ops::exports::export_due(now, c.expiration);
                        if due.is_none() {
                            tracing::warn!(section = %export.name, expires = %crate::platform::time::format_timestamp(c.expiration), "role credentials expire within seconds of being fetched (is this machine's clock right?); will retry");
                        }
                        let due = due.unwrap_or(now + Duration::minutes(1));
                        self.exported
                            .lock()
                            .expect("exported")
                            .insert(export.name.clone(), (Some(c.expiration), due));
                        due
                    }
                    Err(e) => {
                        tracing::warn!(section = %export.name, profile = %export.profile, error = %e, "cannot rewrite exported credentials; will retry");
                        let retry = now + Duration::minutes(1);
                        self.exported
                            .lock()
                            .expect("exported")
                            .insert(export.name.clone(), (export.expires, retry));
                        retry
                    }
                }
            };
            next = Some(next.map_or(due, |n| n.min(due)));
        }
        next
    }

    /// One session in a tick: what is there (the token, ssotray's record, what this keeper
    /// remembers), the plan made of it ([`plan`], pure), the plan carried out (events, maybe a
    /// refresh), and its outcome remembered. Returns when this session is next due.
    async fn tick_session(
        &self,
        target: &SsoTarget,
        settings: &crate::ops::settings::Settings,
    ) -> Option<DateTime<Utc>> {
        let found = self.find(target, settings).await?;
        let p = plan(
            &found.name,
            found.now,
            Facts {
                token: Some(found.view),
                record: &found.record,
                end: found.end,
                jitter: found.jitter,
                retry_at: found.retry_at,
            },
            &settings.keeper,
        );
        tracing::debug!(session = %found.name, refresh_now = p.refresh_now, refresh_at = ?p.refresh_at, next_due = ?p.next_due, expires_at = %found.expires_at, "planned");
        for event in p.events {
            self.emit(event).await;
        }
        if !p.refresh_now {
            return p.next_due;
        }
        let outcome = self.refresh(target, &found).await;
        self.remember_refresh(&found, outcome).await
    }

    /// What there is to plan on: the token file, ssotray's record of the session (a new session
    /// noted when another tool logged in since its end), the estimated end, whether the token
    /// can be refreshed, and this keeper's memory. `None`: nothing to plan (no token, or one
    /// that cannot be read, which the user is told about).
    async fn find(
        &self,
        target: &SsoTarget,
        settings: &crate::ops::settings::Settings,
    ) -> Option<Found> {
        let name = target.display_name().to_string();
        let now = self.engine.context().clock.now();
        let path = self.engine.token_path(target).ok()?;
        let token = match cache::read_token(self.engine.context(), &path).await {
            Ok(TokenFile::Token(t)) => t,
            Ok(TokenFile::Missing) => return None,
            Err(CacheError::Corrupt { reason, path }) => {
                self.emit(KeeperEvent::NeedsUser {
                    session: name.clone(),
                    message: format!("The token file {} cannot be read ({reason}). Move it away and log in again.", path.display()),
                })
                .await;
                return None;
            }
            Err(e) => {
                tracing::warn!(session = %name, error = %e, "cannot read the token file");
                return None;
            }
        };
        let state = self.engine.load_state().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the state file; going on without it");
            Default::default()
        });
        let mut record = state.sessions.get(&name).cloned().unwrap_or_default();
        // Seen ended, but the token changed since: another tool logged in again, a new session.
        let fingerprint = crate::aws::cache::fingerprint(&token.access_token);
        if record.ended_at.is_some()
            && record
                .ended_token
                .as_ref()
                .is_some_and(|t| *t != fingerprint)
        {
            if let Ok(r) = self.engine.update_record(&name, |r| r.logged_in(now)).await {
                record = r;
            }
        }
        let end = if target.is_legacy() {
            Some(SessionEnd {
                at: token.expires_at,
                source: EndSource::TokenExpiry,
                length_secs: 0,
            })
        } else {
            let configured = settings
                .session(&name)
                .session_length
                .map(|s| Duration::seconds(s as i64));
            estimate_end(&record, configured)
        };
        let can_refresh = if target.is_legacy() {
            false
        } else {
            match self.engine.refreshable_checked(target, &token).await {
                Ok(c) => c,
                Err(e) => {
                    self.emit(KeeperEvent::NeedsUser {
                        session: name.clone(),
                        message: format!("{e}. Until then its token cannot be refreshed."),
                    })
                    .await;
                    false
                }
            }
        };
        // When this token was obtained, if ssotray knows: a token another tool wrote since is
        // planned on its own expiry alone.
        let recorded = record
            .last_alive_at
            .filter(|_| record.alive_token.as_ref() == Some(&fingerprint));
        let (seen, replaced_expiry, retry_at) = self.remember(&name, |m| {
            let mine = |r: &Option<(String, DateTime<Utc>)>| {
                r.as_ref().filter(|r| r.0 == fingerprint).map(|r| r.1)
            };
            (mine(&m.refreshed), mine(&m.replaced), m.retry.map(|r| r.1))
        });
        let view = TokenView {
            expires_at: token.expires_at,
            can_refresh,
            obtained_at: recorded.max(seen),
            replaced_expiry,
        };
        Some(Found {
            jitter: self.jitter(&name, settings.keeper.refresh_jitter),
            name,
            now,
            fingerprint,
            expires_at: token.expires_at,
            record,
            end,
            view,
            retry_at,
        })
    }

    /// The refresh the plan asked for, unless the token changed meanwhile.
    async fn refresh(&self, target: &SsoTarget, found: &Found) -> Refreshed {
        match self
            .engine
            .try_refresh_unless_changed(target, &found.fingerprint)
            .await
        {
            Ok(Some((fresh, by_us))) => Refreshed::Fresh {
                fingerprint: crate::aws::cache::fingerprint(&fresh.access_token),
                by_us,
            },
            Ok(None) => Refreshed::Busy,
            Err(EngineError::SessionEnded { .. }) => Refreshed::Ended,
            Err(e) => Refreshed::Failed(e),
        }
    }

    /// Remembers how a refresh came out and says what follows; returns when to look again.
    async fn remember_refresh(&self, found: &Found, outcome: Refreshed) -> Option<DateTime<Utc>> {
        let (name, now) = (&found.name, found.now);
        match outcome {
            Refreshed::Fresh { fingerprint, by_us } => self.remember(name, |m| {
                m.retry = None;
                m.refreshed = Some((fingerprint.clone(), now));
                if by_us {
                    m.replaced = Some((fingerprint, found.expires_at));
                }
            }),
            // A login in progress has the session: look again shortly.
            Refreshed::Busy => return Some(now + Duration::seconds(5)),
            Refreshed::Ended => {
                tracing::info!(session = %name, "the portal session has ended");
                let record = self
                    .engine
                    .load_state()
                    .ok()
                    .and_then(|s| s.sessions.get(name).cloned())
                    .unwrap_or_default();
                self.emit(KeeperEvent::Ended {
                    session: name.clone(),
                    at: record.ended_at.unwrap_or(now),
                })
                .await;
            }
            Refreshed::Failed(e) => {
                // The network or the service (try again later), or something only the user can
                // fix (say so once, and try again later too: it may be fixed meanwhile). Either
                // way the next try waits, longer after each failure, up to five minutes.
                let wait = self.remember(name, |m| {
                    let attempt = m.retry.map_or(1, |r| r.0 + 1);
                    let wait = Duration::seconds((10i64 << attempt.min(5)).min(300));
                    m.retry = Some((attempt, now + wait));
                    wait
                });
                if e.is_transient() {
                    tracing::warn!(session = %name, error = %e, retry_in_secs = wait.num_seconds(), "refresh failed; will retry");
                } else {
                    self.emit(KeeperEvent::NeedsUser {
                        session: name.clone(),
                        message: e.to_string(),
                    })
                    .await;
                }
            }
        }
        // Plan again with the outcome (the new token, the end, or the hold).
        Some(now + Duration::seconds(1))
    }

    /// One turn of the keeper's loop: a tick, then how long to sleep before the next one (until
    /// the next due instant, never longer than the re-check interval).
    pub async fn turn(&self) -> std::time::Duration {
        let next = self.tick().await;
        let recheck = self
            .engine
            .settings()
            .map(|s| s.keeper.recheck)
            .unwrap_or(60)
            .max(1) as i64;
        sleep_for(self.engine.context().clock.now(), next, recheck)
    }

    /// Runs until `stop` resolves: [`Keeper::turn`] after turn, sleeping in between (woken
    /// early by `wake`).
    pub async fn run(
        &self,
        wake: Arc<tokio::sync::Notify>,
        stop: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(stop);
        loop {
            let sleep = tokio::time::sleep(self.turn().await);
            tokio::select! {
                _ = sleep => {}
                _ = wake.notified() => {}
                _ = self.nudge.notified() => {}
                _ = &mut stop => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 8, 0, 0).unwrap()
    }

    fn settings() -> KeeperSettings {
        KeeperSettings::default()
    }

    /// Identity Center as the plans meet it: tokens of `ttl`, a portal session that really ends
    /// at `ends_at` (refreshes after it are refused), tokens cut short by that end if `cut`.
    struct Portal {
        ttl: Duration,
        ends_at: DateTime<Utc>,
        cut: bool,
    }

    /// What a stretch of time with the keeper did.
    #[derive(Debug, Default)]
    struct Run {
        refreshes: Vec<DateTime<Utc>>,
        refused: Vec<DateTime<Utc>>,
        events: Vec<(DateTime<Utc>, KeeperEvent)>,
        wakeups: usize,
        least_left: Option<Duration>,
        record: SessionRecord,
    }

    /// The keeper's loop over the pure plan, as `Keeper::tick` and `Keeper::run` carry it out:
    /// refresh when the plan says so (then plan again a second later), else sleep until the next
    /// due instant, at most a minute. A reader looks just before each wake-up, so a token that
    /// expires between two wake-ups is seen. `jump`: the laptop sleeps through that stretch.
    fn simulate(
        portal: &Portal,
        start: DateTime<Utc>,
        until: DateTime<Utc>,
        mut record: SessionRecord,
        configured: Option<Duration>,
        jump: Option<(DateTime<Utc>, Duration)>,
    ) -> Run {
        let mut run = Run::default();
        let mut now = start;
        let mut expires = (start + portal.ttl).min(if portal.cut {
            portal.ends_at
        } else {
            DateTime::<Utc>::MAX_UTC
        });
        let mut replaced_expiry = None;
        let jitter = Duration::seconds(90);
        while now < until {
            run.wakeups += 1;
            let end = estimate_end(&record, configured);
            let view = TokenView {
                expires_at: expires,
                can_refresh: true,
                obtained_at: record.last_alive_at,
                replaced_expiry,
            };
            let p = plan(
                "s",
                now,
                Facts {
                    token: Some(view),
                    record: &record,
                    end,
                    jitter,
                    retry_at: None,
                },
                &settings(),
            );
            for e in p.events {
                record.notified.insert(e.key());
                run.events.push((now, e));
            }
            let mut next = p
                .next_due
                .map_or(now + Duration::minutes(1), |d| {
                    d.min(now + Duration::minutes(1))
                })
                .max(now + Duration::milliseconds(200));
            if p.refresh_now {
                if now < portal.ends_at {
                    replaced_expiry = Some(expires);
                    expires = (now + portal.ttl).min(if portal.cut {
                        portal.ends_at
                    } else {
                        DateTime::<Utc>::MAX_UTC
                    });
                    record.alive(now);
                    run.refreshes.push(now);
                } else {
                    record.ended(now);
                    run.refused.push(now);
                }
                next = now + Duration::seconds(1);
            }
            if let Some((at, by)) = jump {
                if now < at && next >= at {
                    // The laptop sleeps: the next wake-up sees a clock far ahead.
                    next = at + by;
                }
            }
            // A reader (the AWS CLI) looking just before the next wake-up, while the session lives.
            if next < portal.ends_at && jump.is_none() {
                let left = expires - next;
                run.least_left = Some(run.least_left.map_or(left, |l| l.min(left)));
            }
            now = next;
        }
        run.record = record;
        run
    }

    fn logged_in_at(t: DateTime<Utc>) -> SessionRecord {
        let mut record = SessionRecord::default();
        record.logged_in(t);
        record
    }

    /// A day with 1-hour tokens and a session longer than the day.
    fn simulate_day(
        jump: Option<(DateTime<Utc>, Duration)>,
    ) -> (Vec<DateTime<Utc>>, Duration, Vec<KeeperEvent>) {
        let portal = Portal {
            ttl: Duration::hours(1),
            ends_at: t0() + Duration::hours(14),
            cut: false,
        };
        let run = simulate(
            &portal,
            t0(),
            t0() + Duration::hours(12),
            logged_in_at(t0()),
            Some(Duration::hours(12) + Duration::minutes(40)),
            jump,
        );
        (
            run.refreshes,
            run.least_left.unwrap_or(Duration::hours(1)),
            run.events.into_iter().map(|e| e.1).collect(),
        )
    }

    /// The most refreshes in any stretch of one token lifetime (`[t, t + lifetime)`).
    fn most_refreshes_per_lifetime(refreshes: &[DateTime<Utc>], lifetime: Duration) -> usize {
        refreshes
            .iter()
            .map(|t| {
                refreshes
                    .iter()
                    .filter(|r| **r >= *t && **r < *t + lifetime)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn tokens_shorter_than_the_refresh_lead_are_refreshed_at_half_life_not_in_a_loop() {
        // 5-minute tokens against the 20-minute lead, an 8-hour session, one hour watched.
        let portal = Portal {
            ttl: Duration::minutes(5),
            ends_at: t0() + Duration::hours(8),
            cut: false,
        };
        let run = simulate(
            &portal,
            t0(),
            t0() + Duration::hours(1),
            logged_in_at(t0()),
            None,
            None,
        );
        // Every 2.5 minutes (half of each token's life): 24 refreshes an hour, not 3600.
        assert!(
            (23..=25).contains(&run.refreshes.len()),
            "{} refreshes",
            run.refreshes.len()
        );
        assert_eq!(most_refreshes_per_lifetime(&run.refreshes, portal.ttl), 2);
        for pair in run.refreshes.windows(2) {
            assert!(pair[1] - pair[0] >= REFRESH_FLOOR, "{pair:?}");
        }
        let least = run.least_left.unwrap();
        assert!(least >= Duration::minutes(2), "a reader saw {least} left");
        // The keeper wakes for refreshes and its minute re-check, never in a tight loop.
        assert!(
            run.wakeups <= 60 + 2 * run.refreshes.len() + 5,
            "{} wake-ups in an hour",
            run.wakeups
        );
    }

    /// Tokens cut short by the session's end, from the seventh hour of an 8-hour session.
    fn cut_short(estimate: Option<Duration>) -> (Portal, Run) {
        let portal = Portal {
            ttl: Duration::hours(1),
            ends_at: t0() + Duration::hours(8),
            cut: true,
        };
        let start = t0() + Duration::hours(7);
        let mut record = logged_in_at(t0());
        record.alive(start);
        let run = simulate(
            &portal,
            start,
            t0() + Duration::hours(10),
            record,
            estimate,
            None,
        );
        (portal, run)
    }

    #[test]
    fn tokens_cut_short_by_the_sessions_end_are_not_refreshed_in_a_storm() {
        // The end estimated right (8 h assumed), and estimated two hours too late.
        for estimate in [None, Some(Duration::hours(10))] {
            let (portal, run) = cut_short(estimate);
            assert!(
                most_refreshes_per_lifetime(&run.refreshes, portal.ttl) <= 2,
                "{estimate:?}: {:?}",
                run.refreshes
            );
            // The end is seen at once, once, and announced once.
            assert_eq!(run.refused.len(), 1, "{:?}", run.refused);
            let late = run.refused[0] - portal.ends_at;
            assert!(
                late >= Duration::zero() && late <= Duration::minutes(1),
                "{estimate:?}: ended seen {late} late"
            );
            let ended: Vec<_> = run
                .events
                .iter()
                .filter(|e| matches!(e.1, KeeperEvent::Ended { .. }))
                .collect();
            assert_eq!(ended.len(), 1);
            assert!(
                run.least_left.unwrap() > Duration::zero(),
                "a reader saw an expired token while the session lived"
            );
            assert!(
                run.wakeups <= 3 * 60 + 2 * run.refreshes.len() + 5,
                "{} wake-ups in three hours",
                run.wakeups
            );
        }
    }

    #[test]
    fn with_hour_long_tokens_the_end_is_confirmed_and_announced_within_a_minute() {
        // The common case the old plan got wrong: 1-hour tokens, a 2-hour session set in the
        // settings. The end falls while the last token has most of an hour left.
        let portal = Portal {
            ttl: Duration::hours(1),
            ends_at: t0() + Duration::hours(2),
            cut: false,
        };
        let run = simulate(
            &portal,
            t0(),
            t0() + Duration::hours(3),
            logged_in_at(t0()),
            Some(Duration::hours(2)),
            None,
        );
        assert_eq!(run.refused, [portal.ends_at + AROUND_END]);
        let (at, _) = run
            .events
            .iter()
            .find(|e| matches!(e.1, KeeperEvent::Ended { .. }))
            .expect("announced");
        assert!(
            *at - portal.ends_at <= Duration::minutes(1),
            "announced at {at}"
        );
        // The regular refreshes, one just before the estimate, none in a loop.
        assert_eq!(run.refreshes.len(), 4, "{:?}", run.refreshes);
        assert_eq!(run.refreshes[3], portal.ends_at - AROUND_END);
        assert!(most_refreshes_per_lifetime(&run.refreshes[..3], portal.ttl) <= 2);
        assert!(
            run.wakeups <= 3 * 60 + 10,
            "{} wake-ups in three hours",
            run.wakeups
        );
        // Learned from the refreshes around the end: exact to a minute.
        let learned = run.record.learned_length_secs.unwrap();
        assert!((learned - 2 * 3600).abs() <= 60, "learned {learned} s");
    }

    #[test]
    fn a_session_ending_by_its_learned_length_is_confirmed_at_once_and_the_length_stays() {
        // Three 6-hour sessions in a row after a length of 6 hours was learned.
        let mut record = SessionRecord {
            learned_length_secs: Some(6 * 3600),
            ..Default::default()
        };
        let mut login = t0();
        for round in 0..3 {
            record.logged_in(login);
            let portal = Portal {
                ttl: Duration::hours(1),
                ends_at: login + Duration::hours(6),
                cut: false,
            };
            let run = simulate(
                &portal,
                login,
                login + Duration::hours(9),
                record,
                None,
                None,
            );
            record = run.record;
            assert_eq!(run.refused.len(), 1, "round {round}");
            let late = run.refused[0] - portal.ends_at;
            assert!(
                late <= Duration::minutes(1),
                "round {round}: the end was seen {late} late"
            );
            let learned = record.learned_length_secs.unwrap();
            assert!(
                (learned - 6 * 3600).abs() <= 60,
                "round {round}: learned {learned}"
            );
            login += Duration::hours(10);
        }
    }

    #[test]
    fn a_three_hour_suspend_catches_up_at_once() {
        let sleep_at = t0() + Duration::minutes(90);
        let (refreshes, _, _) = simulate_day(Some((sleep_at, Duration::hours(3))));
        let woke = sleep_at + Duration::hours(3);
        // The first wake-up after the jump refreshes the (long expired) token at once.
        let after: Vec<_> = refreshes.iter().filter(|r| **r >= woke).collect();
        assert_eq!(*after[0], woke);
    }

    #[test]
    fn an_observed_end_is_announced_once_and_stops_refreshing() {
        let now = t0() + Duration::hours(8);
        let mut record = SessionRecord::default();
        record.logged_in(t0());
        record.ended(now);
        let view = Some(TokenView {
            expires_at: now + Duration::minutes(10),
            can_refresh: true,
            obtained_at: None,
            replaced_expiry: None,
        });
        let p = plan(
            "s",
            now,
            Facts {
                token: view,
                record: &record,
                end: estimate_end(&record, None),
                jitter: Duration::zero(),
                retry_at: None,
            },
            &settings(),
        );
        assert!(!p.refresh_now);
        assert_eq!(
            p.events,
            [KeeperEvent::Ended {
                session: "s".into(),
                at: now
            }]
        );
        assert_eq!(p.events[0].summary(), "Session s ended");
        assert_eq!(p.events[0].actions(), [Action::Login]);
        record.notified.insert("ended".into());
        let p = plan(
            "s",
            now + Duration::minutes(1),
            Facts {
                token: view,
                record: &record,
                end: None,
                jitter: Duration::zero(),
                retry_at: None,
            },
            &settings(),
        );
        assert!(p.events.is_empty(), "never a storm");
    }

    #[test]
    fn waking_inside_the_last_lead_time_sends_one_notification() {
        let mut record = SessionRecord::default();
        record.logged_in(t0());
        let end = estimate_end(&record, None);
        let now = t0() + Duration::hours(8) - Duration::minutes(4);
        let view = Some(TokenView {
            expires_at: now + Duration::minutes(40),
            can_refresh: true,
            obtained_at: None,
            replaced_expiry: None,
        });
        let p = plan(
            "my-sso",
            now,
            Facts {
                token: view,
                record: &record,
                end,
                jitter: Duration::zero(),
                retry_at: None,
            },
            &settings(),
        );
        assert_eq!(p.events.len(), 1);
        assert_eq!(p.events[0].summary(), "Session my-sso ends in 4 minutes");
        assert_eq!(p.events[0].actions(), [Action::Renew, Action::Dismiss]);
        assert_eq!(p.events[0].key(), "ends-in-300");
    }

    #[test]
    fn the_keeper_never_sleeps_past_the_recheck_interval() {
        let now = t0();
        let secs = |d: std::time::Duration| d.as_millis();
        assert_eq!(
            secs(sleep_for(now, Some(now + Duration::hours(3)), 60)),
            60_000
        );
        assert_eq!(secs(sleep_for(now, None, 60)), 60_000);
        assert_eq!(
            secs(sleep_for(now, Some(now + Duration::seconds(5)), 60)),
            5_000
        );
        // A deadline already past (the clock jumped): wake almost at once.
        assert_eq!(
            secs(sleep_for(now, Some(now - Duration::hours(3)), 60)),
            200
        );
    }

    #[test]
    fn network_failures_hold_refreshes_back() {
        let record = SessionRecord::default();
        let now = t0();
        let view = Some(TokenView {
            expires_at: now + Duration::minutes(10),
            can_refresh: true,
            obtained_at: None,
            replaced_expiry: None,
        });
        let p = plan(
            "s",
            now,
            Facts {
                token: view,
                record: &record,
                end: None,
                jitter: Duration::zero(),
                retry_at: Some(now + Duration::seconds(40)),
            },
            &settings(),
        );
        assert!(!p.refresh_now);
        assert_eq!(p.next_due, Some(now + Duration::seconds(40)));
    }
}
