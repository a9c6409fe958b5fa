//! The keeper at real proportions: 1-hour (or 5-minute) access tokens, the default 20-minute
//! refresh lead, sessions of hours, against the simulator over loopback, with one clock for the
//! simulator and the keeper that the test moves forward by exactly as long as the keeper would
//! sleep. Each turn of the loop is a wake-up, so the wake-ups are counted as they would happen.

use crate::cli::{auto, World};
use chrono::{DateTime, Duration, Utc};
use ssotray_core::keep::keeper::{Keeper, KeeperEvent, Notifier};
use ssotray_core::platform::os::Clock;
use ssotray_core::{Engine, Flow, LoginOptions, Selector};
use ssotray_tests::{count, engine_for, SharedClock, SimConfig, CONFIG};
use std::sync::{Arc, Mutex};

/// Notifications as the keeper sends them, with the (simulated) time of each.
struct Recorder {
    clock: SharedClock,
    events: Mutex<Vec<(DateTime<Utc>, KeeperEvent)>>,
}

impl Notifier for Recorder {
    fn notify(&self, event: &KeeperEvent) {
        self.events
            .lock()
            .unwrap()
            .push((self.clock.now(), event.clone()));
    }
}

struct Setup {
    w: World,
    clock: SharedClock,
    engine: Engine,
    keeper: Keeper,
    recorder: Arc<Recorder>,
    login_at: DateTime<Utc>,
}

async fn setup(sim: SimConfig, settings: &str, state: Option<&str>) -> Setup {
    let w = World::new(CONFIG, sim).await;
    let clock = SharedClock(w.sim.clock());
    let engine = engine_for(&w.home, &w.sim.base_url, Arc::new(clock.clone()));
    let write = |rel: &str, text: &str| {
        let path = w.home.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(".config/ssotray/settings.toml", settings);
    if let Some(state) = state {
        write(".local/state/ssotray/state.json", state);
    }
    let config = engine.load_config().unwrap();
    let target = engine
        .resolve(&config, &Selector::Session("my-sso".into()))
        .unwrap();
    let options = LoginOptions {
        flow: Some(Flow::DeviceCode),
        open_browser: false,
        ..LoginOptions::default()
    };
    engine
        .login(&target, &options, &|_| {})
        .await
        .expect("device-code login (auto-approved)");
    let login_at = clock.now();
    let recorder = Arc::new(Recorder {
        clock: clock.clone(),
        events: Mutex::default(),
    });
    let keeper = Keeper::new(engine.clone(), recorder.clone());
    Setup {
        w,
        clock,
        engine,
        keeper,
        recorder,
        login_at,
    }
}

/// What driving the keeper for a while did.
struct Drive {
    wakeups: usize,
    /// The least time left on the token a reader found while the portal session lived.
    least_left: Duration,
    /// Instants of successful refreshes (the token changed), by simulated time.
    refreshes: Vec<DateTime<Utc>>,
}

/// Runs the keeper's loop until `until` (simulated time): a turn, then the clock moves forward by
/// the sleep the turn asked for. Before every turn a reader looks at the token file.
async fn drive(s: &Setup, until: DateTime<Utc>, session_ends: DateTime<Utc>) -> Drive {
    let mut d = Drive {
        wakeups: 0,
        least_left: Duration::days(1),
        refreshes: Vec::new(),
    };
    let token = || s.w.home.token_json("my-sso");
    let mut last = token()["accessToken"].as_str().unwrap().to_string();
    while s.clock.now() < until {
        let now = s.clock.now();
        let t = token();
        // While the session lives. A token cut short by the session's end expires up to two
        // seconds before it: the service gives whole seconds of `expiresIn`, and `expiresAt` is
        // written in whole seconds, as the AWS CLI writes it.
        if now + Duration::seconds(2) < session_ends {
            let expires =
                ssotray_core::platform::time::parse_timestamp(t["expiresAt"].as_str().unwrap())
                    .unwrap();
            d.least_left = d.least_left.min(expires - now);
        }
        let sleep = s.keeper.turn().await;
        d.wakeups += 1;
        let current = token()["accessToken"].as_str().unwrap().to_string();
        if current != last {
            d.refreshes.push(s.clock.now());
            last = current;
        }
        s.clock.0.advance(sleep);
    }
    d
}

fn ended_at(s: &Setup) -> Vec<DateTime<Utc>> {
    s.recorder
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e.1, KeeperEvent::Ended { .. }))
        .map(|e| e.0)
        .collect()
}

async fn hour_tokens_and_a_two_hour_session(settings: &str, state: Option<&str>) {
    let s = setup(
        SimConfig {
            session_ttl: std::time::Duration::from_secs(2 * 3600),
            ..auto()
        },
        settings,
        state,
    )
    .await;
    let session_ends = s.login_at + Duration::hours(2);
    let d = drive(&s, s.login_at + Duration::hours(3), session_ends).await;
    // "Session ended" within a minute of the end, once.
    let ended = ended_at(&s);
    assert_eq!(ended.len(), 1, "{:?}", s.recorder.events.lock().unwrap());
    let late = ended[0] - session_ends;
    assert!(
        late >= Duration::zero() && late <= Duration::minutes(1),
        "ended announced {late} after the end"
    );
    // Refreshes: every 38 to 40 min (20 min lead + up to 2 min jitter), one 30 s before the
    // estimated end (unless a regular one fell within a minute of it), one refused 30 s after
    // it; nothing more in the hour after.
    let stats = s.w.stats().await;
    let create_token = count(&stats, "CreateToken");
    assert!((1 + 3 + 1..=1 + 3 + 1 + 1).contains(&create_token), "login, three regular refreshes, one before and one after the end: {stats}; login at {}, refreshes {:?}", s.login_at, d.refreshes);
    assert!(
        d.least_left >= Duration::minutes(15),
        "a reader found only {} left",
        d.least_left
    );
    // Woken once a minute and for what is due, never re-planning in a loop.
    assert!(
        d.wakeups <= 3 * 60 + 20,
        "{} wake-ups in three hours",
        d.wakeups
    );
    // The length learned from the end is exact to a minute.
    let state = s.engine.load_state().unwrap();
    let learned = state.sessions["my-sso"].learned_length_secs.unwrap();
    assert!((learned - 7200).abs() <= 60, "learned {learned} s");
}

#[tokio::test]
async fn with_hour_tokens_a_session_ending_by_its_configured_length_is_announced_within_a_minute() {
    hour_tokens_and_a_two_hour_session("[sessions.my-sso]\nsession_length = 7200\n", None).await;
}

#[tokio::test]
async fn with_hour_tokens_a_session_ending_by_its_learned_length_is_announced_within_a_minute() {
    // Learned from an earlier session (login below keeps the learned length).
    hour_tokens_and_a_two_hour_session(
        "",
        Some(r#"{"sessions": {"my-sso": {"learnedLengthSecs": 7200}}}"#),
    )
    .await;
}

#[tokio::test]
async fn five_minute_tokens_are_refreshed_once_or_twice_per_lifetime_and_never_seen_expired() {
    let s = setup(
        SimConfig {
            access_token_ttl: std::time::Duration::from_secs(300),
            ..auto()
        },
        "",
        None,
    )
    .await;
    let until = s.login_at + Duration::hours(1);
    let d = drive(&s, until, s.login_at + Duration::hours(8)).await;
    let calls = count(&s.w.stats().await, "CreateToken") - 1;
    // Half of each 5-minute token's life: 24 refreshes in the hour (two per token lifetime; the
    // old plan refreshed once a second), never two within the floor of a minute.
    assert!(
        (20..=25).contains(&calls),
        "{calls} CreateToken calls in an hour"
    );
    assert!(
        d.refreshes
            .windows(2)
            .all(|p| p[1] - p[0] >= Duration::seconds(60)),
        "{:?}",
        d.refreshes
    );
    assert!(
        d.least_left >= Duration::minutes(2),
        "a reader found only {} left",
        d.least_left
    );
    assert!(
        d.wakeups <= 60 + 2 * d.refreshes.len() + 10,
        "{} wake-ups in an hour",
        d.wakeups
    );
}

#[tokio::test]
async fn tokens_cut_short_by_the_sessions_end_cause_no_storm_and_the_end_is_seen_at_once() {
    // Tokens never outlive a 2-hour session, whose end the keeper estimates at 8 hours.
    let s = setup(
        SimConfig {
            session_ttl: std::time::Duration::from_secs(2 * 3600),
            tokens_end_with_session: true,
            ..auto()
        },
        "",
        None,
    )
    .await;
    let session_ends = s.login_at + Duration::hours(2);
    let d = drive(&s, s.login_at + Duration::hours(3), session_ends).await;
    // Two or fewer refreshes per hour-long token lifetime, counting the refused one.
    let calls = count(&s.w.stats().await, "CreateToken") - 1;
    assert!(
        calls <= 2 * 2 + 1,
        "{calls} CreateToken calls over the 2-hour session and the hour after; the first: {:?}",
        &d.refreshes[..d.refreshes.len().min(6)]
    );
    assert!(
        d.refreshes
            .windows(2)
            .all(|p| p[1] - p[0] >= Duration::seconds(60)),
        "{:?}",
        d.refreshes
    );
    let ended = ended_at(&s);
    assert_eq!(ended.len(), 1);
    let late = ended[0] - session_ends;
    assert!(
        late >= Duration::zero() && late <= Duration::minutes(1),
        "ended announced {late} after the end"
    );
    assert!(
        d.least_left > Duration::zero(),
        "a reader found an expired token while the session lived"
    );
    assert!(
        d.wakeups <= 3 * 60 + 20,
        "{} wake-ups in three hours",
        d.wakeups
    );
}

#[tokio::test]
async fn a_token_rewritten_in_place_by_another_tool_is_seen_at_the_next_turn() {
    // The keeper keeps parsed files until their stamp changes; botocore rewrites the token file
    // in place (same inode) and, for the same kind of token, with the same size.
    let s = setup(auto(), "", None).await;
    let path = s.w.home.token_file("my-sso");
    for _ in 0..3 {
        let sleep = s.keeper.turn().await;
        s.clock.0.advance(sleep);
    }
    let before = count(&s.w.stats().await, "CreateToken");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut token: serde_json::Value = serde_json::from_str(&text).unwrap();
    let soon =
        ssotray_core::platform::time::format_timestamp(s.clock.now() + Duration::minutes(10));
    let old_access = token["accessToken"].as_str().unwrap().to_string();
    let other_access: String = old_access.chars().rev().collect();
    token["accessToken"] = other_access.clone().into();
    token["expiresAt"] = soon.into();
    let rewritten = ssotray_core::aws::cache::CachedToken::from_json(token.to_string().as_bytes())
        .unwrap()
        .to_json();
    assert_eq!(rewritten.len(), text.len(), "same size");
    let inode = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&path).unwrap());
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        f.write_all(rewritten.as_bytes()).unwrap();
    }
    assert_eq!(
        std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&path).unwrap()),
        inode,
        "rewritten in place"
    );
    // The next turn (at most the re-check interval later) sees a token with 10 minutes left and
    // refreshes it.
    let sleep = s.keeper.turn().await;
    assert!(sleep <= std::time::Duration::from_secs(60));
    assert_eq!(
        count(&s.w.stats().await, "CreateToken"),
        before + 1,
        "refreshed the token another tool wrote"
    );
    let now_in_file = s.w.home.token_json("my-sso");
    assert_ne!(now_in_file["accessToken"].as_str().unwrap(), other_access);
}
