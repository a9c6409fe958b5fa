//! The keeper against the simulator with short lifetimes: fresh tokens, a detected end, desktop
//! notifications captured on a real notification server, Renew from a notification, one login
//! for a hundred processes, and sharing the token file with botocore and another ssotray.
//!
//! The desktop is private: Xvfb + D-Bus + dunst, notifications captured with dbus-monitor, Renew
//! clicked through `ActionInvoked`. A hundred concurrent `credentials --login` get one login;
//! botocore and a second ssotray share the token file for a minute.

use crate::cli::{auto, World};
use ssotray_tests::{
    assert_ok, bin, count, python, run, stderr, stdout, Desktop, SimConfig, CONFIG,
};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Writes ssotray's settings for short lifetimes.
fn settings(w: &World, text: &str) {
    let path = w.home.path().join(".config/ssotray/settings.toml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A `BROWSER` that follows the sign-in like a person clicking Allow (the simulator auto-approves).
fn follow_browser(dir: &std::path::Path) -> String {
    ssotray_tests::stand_in_browser(dir, Some(""))
        .0
        .display()
        .to_string()
}

struct Keep(tokio::process::Child);

impl Keep {
    fn start(w: &World, extra: &[(String, String)]) -> Keep {
        let mut cmd = tokio::process::Command::new(bin("ssotray"));
        cmd.arg("keep")
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
        if let Ok(v) = std::env::var("SSOTRAY_LOG") {
            cmd.env("SSOTRAY_LOG", v);
        }
        for (k, v) in w.env().into_iter().chain(extra.iter().cloned()) {
            cmd.env(k, v);
        }
        Keep(cmd.spawn().expect("ssotray keep"))
    }

    async fn stop(mut self) {
        let pid = self.0.id().unwrap();
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        let status = tokio::time::timeout(Duration::from_secs(10), self.0.wait())
            .await
            .expect("keep stops")
            .unwrap();
        assert!(status.success(), "{status:?}");
    }
}

/// Waits until the keeper listens on its socket.
async fn wait_for_socket(runtime: &str) {
    let socket = std::path::Path::new(runtime).join("ssotray/keeper.sock");
    for _ in 0..200 {
        if socket.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the keeper never listened on {}", socket.display());
}

fn runtime_dir(w: &World) -> (String, String) {
    let dir = w.home.path().join("run");
    std::fs::create_dir_all(&dir).unwrap();
    ("XDG_RUNTIME_DIR".into(), dir.display().to_string())
}

fn token_left(w: &World) -> Option<chrono::Duration> {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.home.token_file("my-sso")).ok()?).ok()?;
    let at = ssotray_core::platform::time::parse_timestamp(v["expiresAt"].as_str()?)?;
    Some(at - chrono::Utc::now())
}

#[tokio::test]
async fn keeper_detects_the_end_and_notifies_on_the_desktop() {
    // `ssotray keep` as a user runs it, on a real notification server. Its clock is the real
    // one, so the session is short (45 s, set in the settings) and the lead times are seconds;
    // the tokens are the ordinary 1-hour ones (so at most one refresh a minute, confirming the
    // end). Refreshing at real proportions is `keeper_clock`'s, with a clock moved forward.
    let desktop = Desktop::start();
    let w = World::new(
        CONFIG,
        SimConfig {
            session_ttl: Duration::from_secs(45),
            ..auto()
        },
    )
    .await;
    settings(
        &w,
        "[keeper]\nlead_times = [30, 12]\nrecheck = 1\n\n[sessions.my-sso]\nsession_length = 45\n",
    );
    assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    let logged_in = Instant::now();
    let keep = Keep::start(&w, &desktop.env());

    // While the session lives, a reader always finds most of an hour on the token.
    let mut least = chrono::Duration::hours(1);
    while logged_in.elapsed() < Duration::from_secs(42) {
        if let Some(left) = token_left(&w) {
            least = least.min(left);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        least >= chrono::Duration::minutes(55),
        "a reader saw only {least} left"
    );
    assert_eq!(
        count(&w.stats().await, "CreateToken"),
        1,
        "no refresh of an hour-long token within a minute of the login"
    );

    // The end is detected and announced.
    let state_path = w.home.path().join(".local/state/ssotray/state.json");
    let mut ended = serde_json::Value::Null;
    for _ in 0..160 {
        let state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&state_path).unwrap_or_default())
                .unwrap_or_default();
        ended = state["sessions"]["my-sso"]["endedAt"].clone();
        if ended.is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(ended.is_string(), "the end was recorded");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let refreshes_after_end = count(&w.stats().await, "CreateToken");
    assert_eq!(
        refreshes_after_end, 2,
        "the login and one refresh that found the end"
    );
    let o = w.ssotray(&["status"]).await;
    assert!(stdout(&o).contains("session ended at"), "{}", stdout(&o));

    let shown = desktop.notifications();
    let summaries: Vec<&str> = shown.iter().map(|n| n.summary.as_str()).collect();
    assert_eq!(
        summaries,
        [
            "Session my-sso ends in 1 minute",
            "Session my-sso ends in 1 minute",
            "Session my-sso ended"
        ],
        "{shown:#?}"
    );
    assert!(shown.iter().all(|n| n.app == "ssotray"));
    assert_eq!(shown[0].actions, ["renew", "Renew", "dismiss", "Dismiss"]);
    assert!(
        shown[0].body.starts_with("Ends around ")
            && shown[0].body.contains("(by your session length setting)"),
        "{}",
        shown[0].body
    );
    assert_eq!(shown[2].actions, ["login", "Log in"]);

    // Nothing more: no storm, no refreshing a dead session.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(desktop.notifications().len(), 3);
    assert_eq!(count(&w.stats().await, "CreateToken"), refreshes_after_end);
    keep.stop().await;
}

#[tokio::test]
async fn renew_from_the_notification_starts_a_fresh_session() {
    let desktop = Desktop::start();
    let w = World::new(
        CONFIG,
        SimConfig {
            session_ttl: Duration::from_secs(60),
            ..auto()
        },
    )
    .await;
    settings(
        &w,
        "[keeper]\nlead_times = [55]\nrecheck = 1\n\n[sessions.my-sso]\nsession_length = 60\n",
    );
    assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    let tmp = tempfile::tempdir().unwrap();
    let mut env = desktop.env();
    env.push(("BROWSER".into(), follow_browser(tmp.path())));
    let keep = Keep::start(&w, &env);
    for _ in 0..80 {
        // The call and the server's answer with its id both have to be on record.
        if desktop
            .notifications()
            .first()
            .is_some_and(|n| n.id.is_some())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        desktop.notifications()[0].summary,
        "Session my-sso ends in 1 minute"
    );
    let before = w.home.token_json("my-sso");
    // The user clicks Renew, once the keeper listens for the click.
    let id = desktop.notifications()[0]
        .id
        .expect("the server's id for the notification");
    desktop.wait_listening(id).await;
    desktop.click_action(id, "renew");
    let mut renewed = false;
    for _ in 0..240 {
        let s = w.stats().await;
        if count(&s, "Logout") == 1
            && count(&s, "Authorize") == 1
            && w.home.token_json("my-sso")["accessToken"] != before["accessToken"]
        {
            renewed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        renewed,
        "Logout, then a fresh browser login: {}",
        w.stats().await
    );
    keep.stop().await;
}

#[tokio::test]
async fn where_the_notification_server_shows_no_buttons_the_keeper_names_the_command_that_renews() {
    // notify-osd: a real server without the `actions` capability. An 8-hour session logged in
    // 7 h 45 min ago, the default leads (30 and 5 minutes), 1-hour tokens.
    let desktop = Desktop::start_without_notification_buttons();
    let w = World::new(CONFIG, auto()).await;
    assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    w.home
        .logged_in_ago("my-sso", chrono::Duration::minutes(7 * 60 + 45));
    let keep = Keep::start(&w, &desktop.env());
    for _ in 0..120 {
        if !desktop.notifications().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let shown = desktop.notifications();
    assert_eq!(shown.len(), 1, "{shown:#?}");
    assert_eq!(shown[0].summary, "Session my-sso ends in 15 minutes");
    assert!(
        shown[0].actions.is_empty(),
        "no buttons where none can be shown: {:?}",
        shown[0].actions
    );
    // (`&&` is sent escaped: the server reads the body as markup.)
    assert!(
        shown[0].shown_body().starts_with("Ends around ")
            && shown[0]
                .shown_body()
                .ends_with("To renew, run `ssotray logout my-sso && ssotray login my-sso`."),
        "{}",
        shown[0].body
    );
    keep.stop().await;
}

async fn hundred_logins(with_keeper: bool) {
    // A session that has ended: every process needs a login at the same moment. (Ended by the
    // administrator, so the new session the login starts lasts as long as a normal one.)
    let w = World::new(CONFIG, auto()).await;
    assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    w.sim.end_all_sessions();
    let before = w.stats().await;
    let tmp = tempfile::tempdir().unwrap();
    let runtime = runtime_dir(&w);
    let browser = ("BROWSER".to_string(), follow_browser(tmp.path()));
    let mut env = w.env();
    env.push(runtime.clone());
    let keep = with_keeper.then(|| Keep::start(&w, &[runtime.clone(), browser.clone()]));
    if with_keeper {
        wait_for_socket(&runtime.1).await;
        // Only the keeper can open a browser: a login by any of the hundred would fail.
        env.push(("BROWSER".into(), "false".into()));
    } else {
        env.push(browser);
    }
    let mut runs = Vec::new();
    for i in 0..100 {
        let env = env.clone();
        let profile = if i % 2 == 0 { "dev" } else { "prod-ro" };
        runs.push(tokio::spawn(async move {
            run(
                &bin("ssotray"),
                &["credentials", "--profile", profile, "--login"],
                &env,
            )
            .await
        }));
    }
    let mut keys = std::collections::BTreeSet::new();
    for r in runs {
        let o = r.await.unwrap();
        assert_ok(&o);
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        keys.insert(v["AccessKeyId"].as_str().unwrap().to_string());
    }
    let s = w.stats().await;
    let logins = (count(&s, "Authorize") + count(&s, "StartDeviceAuthorization"))
        - (count(&before, "Authorize") + count(&before, "StartDeviceAuthorization"));
    assert_eq!(
        logins,
        1,
        "exactly one login for 100 processes ({}): {s}",
        if with_keeper { "keeper" } else { "lock file" }
    );
    assert!(keys.len() >= 2, "credentials for both profiles: {keys:?}");
    if let Some(k) = keep {
        k.stop().await;
    }
}

#[tokio::test]
async fn a_hundred_processes_needing_a_login_start_one_without_a_keeper() {
    hundred_logins(false).await;
}

#[tokio::test]
async fn a_hundred_processes_needing_a_login_start_one_through_the_keeper() {
    hundred_logins(true).await;
}

#[tokio::test]
async fn plain_credentials_fail_at_once_and_the_keeper_says_so_once() {
    let desktop = Desktop::start();
    let w = World::new(CONFIG, auto()).await;
    let mut env = w.env();
    env.push(runtime_dir(&w));
    let keep = Keep::start(
        &w,
        &desktop
            .env()
            .into_iter()
            .chain(env.clone())
            .collect::<Vec<_>>(),
    );
    wait_for_socket(&env.last().unwrap().1).await;
    for _ in 0..5 {
        let o = run(&bin("ssotray"), &["credentials", "--profile", "dev"], &env).await;
        assert_eq!(o.status.code(), Some(1));
        assert!(
            stderr(&o).contains("not logged in to `my-sso`; run `ssotray login my-sso`"),
            "{}",
            stderr(&o)
        );
    }
    for _ in 0..100 {
        if !desktop.notifications().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A grace period for any duplicate to show up.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let shown = desktop.notifications();
    assert_eq!(shown.len(), 1, "{shown:#?}");
    assert_eq!(shown[0].summary, "Log in to my-sso");
    assert_eq!(shown[0].actions, ["login", "Log in"]);
    assert_eq!(
        count(&w.stats().await, "StartDeviceAuthorization") + count(&w.stats().await, "Authorize"),
        0,
        "no browser, no login"
    );
    keep.stop().await;
}

#[tokio::test]
async fn keeper_botocore_and_a_second_ssotray_share_the_file_for_a_minute() {
    share_the_file(false).await;
}

#[tokio::test]
async fn keeper_botocore_and_a_second_ssotray_share_the_file_under_strict_rotation() {
    // Identity Center may invalidate a refresh token once it is used: whoever refreshes with
    // the token another already used is refused, and must not take that for the session's end.
    share_the_file(true).await;
}

async fn share_the_file(strict_rotation: bool) {
    // 15-minute tokens: botocore (15-minute window) refreshes on every read, writing the file in
    // place; the keeper refreshes as often as it may (once a minute); a second ssotray refreshes
    // in a loop.
    let w = World::new(
        CONFIG,
        SimConfig {
            access_token_ttl: Duration::from_secs(15 * 60),
            strict_rotation,
            ..auto()
        },
    )
    .await;
    settings(
        &w,
        "[keeper]\nrefresh_ahead = 890\nrefresh_jitter = 0\nrecheck = 1\n",
    );
    assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    let keep = Keep::start(&w, &[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let botocore_loop = {
        let env = w.env();
        tokio::spawn(async move {
            let script = "import botocore.session as s, sys\nfor i in range(50):\n  sess = s.Session(profile='dev')\n  sess.get_credentials().get_frozen_credentials()\n";
            let mut n = 0;
            while Instant::now() < deadline {
                let o = run(&python(), &["-c", script], &env).await;
                assert!(o.status.success(), "botocore failed: {}", stderr(&o));
                n += 1;
            }
            n
        })
    };
    // Another ssotray process refreshes and reads status in a loop.
    let mut checks = 0;
    while Instant::now() < deadline {
        let o = w.ssotray(&["refresh", "my-sso"]).await;
        assert_ok(&o);
        let o = w.ssotray(&["status", "--json"]).await;
        assert_ok(&o);
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(
            v["sessions"][0]["state"], "valid",
            "never a false logged-out: {v}"
        );
        checks += 1;
    }
    let botocore_runs = botocore_loop.await.unwrap();
    keep.stop().await;
    assert!(
        checks > 10 && botocore_runs > 0,
        "{checks} checks, {botocore_runs} botocore runs"
    );
    // The file parses and its refresh token still works.
    let token = w.home.token_json("my-sso");
    assert!(token["refreshToken"].is_string());
    assert_ok(&w.ssotray(&["refresh", "my-sso"]).await);
}
