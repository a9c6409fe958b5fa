//! ssotray's own memory of each session (`$XDG_STATE_HOME/ssotray/state.json`, else
//! `~/.local/state/ssotray/state.json`; never `~/.aws`): when the user last logged in
//! interactively, when the session was last seen alive, when it was seen to end, the session
//! length learned from that, and which notifications were already sent. No API tells when a portal
//! session ends (spec §8), so its end is estimated from these.
//!
//! The last sign of life is kept with the token that brought it. `estimate_end` estimates the end.
//! `State::parse` refuses times outside 1970..=9999 and learned lengths beyond 90 days, naming the
//! key.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The default portal session length (Identity Center's default).
pub const DEFAULT_SESSION_LENGTH: Duration = Duration::hours(8);

/// What ssotray remembers of one session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRecord {
    /// The last interactive login: the start of the portal session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_at: Option<DateTime<Utc>>,
    /// The last time a login or refresh succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_alive_at: Option<DateTime<Utc>>,
    /// Fingerprint of the access token that login or refresh brought: while it is the token in
    /// the cache, the token is known to have been obtained at `last_alive_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alive_token: Option<String>,
    /// When the session was seen to have ended (refresh refused), for the session of `login_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// Fingerprint of the access token in force when the end was seen: a different token later
    /// means someone (another tool) logged in again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_token: Option<String>,
    /// Session length learned from the last session seen to end, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learned_length_secs: Option<i64>,
    /// Whether ssotray keeps this session's refresh token in the OS keychain now.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_keychain: bool,
    /// Notifications already sent for the session of `login_at` (one per event, never a storm).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub notified: BTreeSet<String>,
}

impl SessionRecord {
    /// An interactive login at `now` starts a new portal session.
    pub fn logged_in(&mut self, now: DateTime<Utc>) {
        self.login_at = Some(now);
        self.last_alive_at = Some(now);
        self.alive_token = None;
        self.ended_at = None;
        self.ended_token = None;
        self.notified.clear();
    }

    /// A refresh succeeded at `now`.
    pub fn alive(&mut self, now: DateTime<Utc>) {
        self.last_alive_at = Some(now);
        self.alive_token = None;
        if self.ended_at.is_some_and(|e| e <= now) {
            // Another tool logged in again meanwhile: this is a new session.
            self.ended_at = None;
        }
    }

    /// A refresh was refused at `now`: the session ended between the last sign of life and now.
    /// The midpoint of that window, less the login time, becomes the learned length.
    pub fn ended(&mut self, now: DateTime<Utc>) {
        if self.ended_at.is_some() {
            return;
        }
        self.ended_at = Some(now);
        if let (Some(login), Some(alive)) = (self.login_at, self.last_alive_at) {
            let end = alive + (now - alive) / 2;
            let length = (end - login).num_seconds();
            if length > 0 {
                self.learned_length_secs = Some(length);
            }
        }
    }
}

/// Where an estimated end comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndSource {
    /// The session length set for this session in ssotray's settings.
    Configured,
    /// Learned from the last session that ended.
    Learned,
    /// The default 8 hours.
    Assumed,
    /// Legacy profiles: the access token's own expiry.
    TokenExpiry,
}

/// An estimated portal-session end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionEnd {
    /// When.
    pub at: DateTime<Utc>,
    /// From what.
    pub source: EndSource,
    /// The session length used, in seconds.
    pub length_secs: i64,
}

/// The longest portal session Identity Center allows is 90 days; a learned length beyond this
/// is not one.
pub const MAX_SESSION_LENGTH: Duration = Duration::days(90);

/// Estimates when the portal session ends: login time + the configured length, else the learned
/// one, else 8 hours. `None` without a known login time.
pub fn estimate_end(record: &SessionRecord, configured: Option<Duration>) -> Option<SessionEnd> {
    let login = record.login_at?;
    let learned = record
        .learned_length_secs
        .and_then(|l| crate::platform::time::seconds(l, MAX_SESSION_LENGTH))
        .filter(|l| *l > Duration::zero());
    let (length, source) = match (configured, learned) {
        (Some(c), _) => (c, EndSource::Configured),
        (None, Some(l)) => (l, EndSource::Learned),
        (None, None) => (DEFAULT_SESSION_LENGTH, EndSource::Assumed),
    };
    Some(SessionEnd {
        at: crate::platform::time::plus(login, length),
        source,
        length_secs: length.num_seconds(),
    })
}

/// Everything in the state file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Per session name (or legacy start URL).
    #[serde(default)]
    pub sessions: BTreeMap<String, SessionRecord>,
}

impl State {
    /// Parses the state file, and checks that every time and length in it is one ssotray can
    /// compute with: `Err` names the key and what is wrong (never a value that could panic
    /// later).
    pub fn parse(bytes: &[u8]) -> Result<State, crate::platform::files::Invalid> {
        let state: State = serde_json::from_slice(crate::platform::files::strip_bom(bytes))
            .map_err(|e| e.to_string())?;
        for (name, r) in &state.sessions {
            let times = [
                ("loginAt", r.login_at),
                ("lastAliveAt", r.last_alive_at),
                ("endedAt", r.ended_at),
            ];
            for (key, t) in times {
                if t.is_some_and(|t| !crate::platform::time::in_range(t)) {
                    return Err(
                        format!("`sessions.{name}.{key}` is out of range (1970 to 9999)").into(),
                    );
                }
            }
            if let Some(l) = r.learned_length_secs {
                if !(1..=MAX_SESSION_LENGTH.num_seconds()).contains(&l) {
                    return Err(format!("`sessions.{name}.learnedLengthSecs` = {l} is out of range (1 s to 90 days)").into());
                }
            }
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, h, m, 0).unwrap()
    }

    #[test]
    fn the_learned_length_replaces_the_default_after_one_observed_end() {
        let mut r = SessionRecord::default();
        r.logged_in(t(9, 0));
        assert_eq!(
            estimate_end(&r, None),
            Some(SessionEnd {
                at: t(17, 0),
                source: EndSource::Assumed,
                length_secs: 8 * 3600
            })
        );
        // Alive at 14:40, refused at 15:20: the session (a 6-hour one) ended around 15:00.
        r.alive(t(14, 40));
        r.ended(t(15, 20));
        r.ended(t(16, 0)); // seen again: the first observation stands
        assert_eq!(r.learned_length_secs, Some(6 * 3600));
        r.logged_in(t(16, 30));
        assert_eq!(
            estimate_end(&r, None),
            Some(SessionEnd {
                at: t(22, 30),
                source: EndSource::Learned,
                length_secs: 6 * 3600
            })
        );
        // A length set by the user wins.
        assert_eq!(
            estimate_end(&r, Some(Duration::hours(1))).unwrap().source,
            EndSource::Configured
        );
        assert_eq!(estimate_end(&SessionRecord::default(), None), None);
    }

    #[test]
    fn a_new_login_clears_the_end_and_the_sent_notifications() {
        let mut r = SessionRecord::default();
        r.logged_in(t(9, 0));
        r.notified.insert("ends-in-1800".into());
        r.alive(t(16, 40));
        r.ended(t(17, 20));
        r.logged_in(t(17, 25));
        assert_eq!(r.ended_at, None);
        assert!(r.notified.is_empty());
        assert_eq!(r.learned_length_secs, Some(8 * 3600));
    }

    #[test]
    fn values_that_would_overflow_are_refused_with_the_key() {
        let err = State::parse(br#"{"sessions": {"s": {"loginAt": "2026-01-01T00:00:00Z", "learnedLengthSecs": 9223372036854775807}}}"#).unwrap_err();
        assert_eq!(
            err,
            "`sessions.s.learnedLengthSecs` = 9223372036854775807 is out of range (1 s to 90 days)"
        );
        let err = State::parse(br#"{"sessions": {"s": {"lastAliveAt": "0001-01-01T00:00:00Z"}}}"#)
            .unwrap_err();
        assert_eq!(
            err,
            "`sessions.s.lastAliveAt` is out of range (1970 to 9999)"
        );
        // Even unchecked, an estimate never panics.
        let r = SessionRecord {
            login_at: Some(t(9, 0)),
            learned_length_secs: Some(i64::MAX),
            ..Default::default()
        };
        assert_eq!(estimate_end(&r, None).unwrap().source, EndSource::Assumed);
    }
}
