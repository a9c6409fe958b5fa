//! The `ssotray` binary end to end against the simulator: every flow and every failure, and
//! that no file in `~/.aws` is damaged when something goes wrong.

use ssotray_tests::{
    bin, count, run, start_sim, stats, stderr, stdout, Home, RunningSim, SimConfig, CONFIG,
};
use std::process::{Output, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

pub struct World {
    pub home: Home,
    pub sim: RunningSim,
}

impl World {
    pub async fn new(config: &str, sim: SimConfig) -> World {
        World {
            home: Home::new(config),
            sim: start_sim(sim).await.expect("simulator"),
        }
    }

    /// A world whose simulator approves every sign-in at once (no person at the device page).
    pub async fn auto_approving(config: &str) -> World {
        World::new(
            config,
            SimConfig {
                auto_approve: true,
                ..SimConfig::default()
            },
        )
        .await
    }

    pub fn env(&self) -> Vec<(String, String)> {
        self.home.env(&self.sim.base_url)
    }

    pub async fn ssotray(&self, args: &[&str]) -> Output {
        run(&bin("ssotray"), args, &self.env()).await
    }

    /// Starts `ssotray` with stdout piped, for flows where the test acts as the user.
    pub fn spawn(&self, args: &[&str], extra_env: &[(&str, &str)]) -> tokio::process::Child {
        let mut cmd = tokio::process::Command::new(bin("ssotray"));
        cmd.args(args)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        cmd.spawn().expect("spawn ssotray")
    }

    pub async fn stats(&self) -> serde_json::Value {
        stats(&self.sim.base_url).await
    }
}

pub fn auto() -> SimConfig {
    SimConfig {
        auto_approve: true,
        ..SimConfig::default()
    }
}

/// Reads the first line the child prints on stdout (the URL to open).
pub async fn first_stdout_line(child: &mut tokio::process::Child) -> String {
    let out = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("a URL line in time");
    line.unwrap().expect("stdout line")
}

async fn finish(child: tokio::process::Child) -> Output {
    tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("ssotray ends")
        .unwrap()
}

fn assert_ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
}

fn assert_fails_with(o: &Output, text: &str) {
    assert_eq!(
        o.status.code(),
        Some(1),
        "stdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
    let err = stderr(o);
    assert!(err.contains(text), "stderr lacks {text:?}:\n{err}");
    let error_lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(error_lines.len(), 1, "one actionable error line:\n{err}");
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Approves (or denies) a device code on the simulator's device page, as a person would.
pub(crate) async fn decide_device(url: &str, decision: &str) {
    let page = reqwest::get(url).await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"allow\""), "{page}");
    let parsed = reqwest::Url::parse(url).unwrap();
    let code = parsed
        .query_pairs()
        .find(|(k, _)| k == "user_code")
        .unwrap()
        .1
        .into_owned();
    let r = reqwest::Client::new()
        .post(format!(
            "{}://{}/device",
            parsed.scheme(),
            parsed.host_str().unwrap().to_owned() + ":" + &parsed.port().unwrap().to_string()
        ))
        .form(&[("user_code", code.as_str()), ("decision", decision)])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

#[tokio::test]
async fn device_code_login_then_status_refresh_and_logout() {
    let w = World::new(CONFIG, SimConfig::default()).await;
    let mut child = w.spawn(&["login", "my-sso", "--device-code", "--no-browser"], &[]);
    let url = first_stdout_line(&mut child).await;
    assert!(
        url.starts_with(&format!("{}/device?user_code=", w.sim.base_url)),
        "{url}"
    );
    decide_device(&url, "allow").await;
    let o = finish(child).await;
    assert_ok(&o);
    let err = stderr(&o);
    assert!(err.contains("confirm the code"), "{err}");
    assert!(err.contains("Logged in to `my-sso`"), "{err}");

    // The file is exactly what the AWS CLI writes, private, in a private directory.
    let file = w.home.token_file("my-sso");
    assert!(file.ends_with("0ad374308c5a4e22f723adf10145eafad7c4031c.json"));
    #[cfg(unix)]
    {
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(file.parent().unwrap()), 0o700);
    }
    let text = std::fs::read_to_string(&file).unwrap();
    let keys: Vec<String> =
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text)
            .unwrap()
            .keys()
            .cloned()
            .collect();
    assert_eq!(
        keys,
        [
            "startUrl",
            "region",
            "accessToken",
            "expiresAt",
            "clientId",
            "clientSecret",
            "registrationExpiresAt",
            "refreshToken"
        ]
    );
    assert!(text.starts_with("{\"startUrl\": \"https://d-1234567890.awsapps.com/start\", \"region\": \"us-east-1\", \"accessToken\": \"aoa-"));
    let token = w.home.token_json("my-sso");
    let expires = token["expiresAt"].as_str().unwrap();
    assert_eq!(expires.len(), 20, "YYYY-MM-DDTHH:MM:SSZ: {expires}");
    assert!(expires.ends_with('Z'));

    let o = w.ssotray(&["status"]).await;
    assert_ok(&o);
    let out = stdout(&o);
    assert!(
        out.contains("my-sso") && out.contains("logged in") && out.contains("can refresh"),
        "{out}"
    );
    assert!(
        out.contains("; session ends ~") && out.contains(", assumed 8 h"),
        "the estimated end and its source: {out}"
    );
    assert!(
        out.contains("https://d-1234567890.awsapps.com/start") && out.contains("logged out"),
        "legacy start URL listed: {out}"
    );

    // Another tool added a key: a refresh keeps it, replaces the access token, keeps the file private.
    let mut with_extra = token.clone();
    with_extra["someToolsKey"] = serde_json::json!("kept");
    std::fs::write(&file, serde_json::to_string(&with_extra).unwrap()).unwrap();
    let o = w.ssotray(&["refresh", "my-sso"]).await;
    assert_ok(&o);
    let refreshed = w.home.token_json("my-sso");
    assert_ne!(refreshed["accessToken"], token["accessToken"]);
    assert_ne!(
        refreshed["refreshToken"], token["refreshToken"],
        "the new refresh token is stored"
    );
    assert_eq!(refreshed["someToolsKey"], "kept");
    assert_eq!(refreshed["clientId"], token["clientId"]);
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600);

    let o = w.ssotray(&["status", "--json"]).await;
    assert_ok(&o);
    let status: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(status["sessions"][0]["name"], "my-sso");
    assert_eq!(status["sessions"][0]["state"], "valid");
    assert_eq!(status["sessions"][0]["canRefresh"], true);
    assert!(!stdout(&o).contains("aoa-"), "no token in status output");

    // Role credentials the AWS CLI cached for profiles of this session go; others stay.
    let cli_cache = w.home.aws().join("cli/cache");
    std::fs::create_dir_all(&cli_cache).unwrap();
    let target = ssotray_core::SsoTarget {
        session_name: Some("my-sso".into()),
        start_url: String::new(),
        region: String::new(),
        scopes: vec![],
    };
    let dev = cli_cache.join(ssotray_core::aws::cache::role_credential_cache_file_name(
        "111111111111",
        "AdministratorAccess",
        &target,
    ));
    let sso_entry = r#"{"ProviderType": "sso", "Credentials": {"AccessKeyId": "ASIA", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": "2030-01-01T00:00:00Z", "AccountId": "111111111111"}}"#;
    std::fs::write(&dev, sso_entry).unwrap();
    let unrelated = cli_cache.join("assume-role-entry.json");
    std::fs::write(&unrelated, r#"{"ProviderType": "assume-role"}"#).unwrap();

    let access_token = refreshed["accessToken"].as_str().unwrap().to_string();
    let o = w.ssotray(&["logout", "my-sso"]).await;
    assert_ok(&o);
    assert!(
        stderr(&o).contains("portal session ended; 1 role credential file(s) removed"),
        "{}",
        stderr(&o)
    );
    assert!(!file.exists());
    assert!(!dev.exists());
    assert!(unrelated.exists());
    assert_eq!(count(&w.stats().await, "Logout"), 1);
    // The portal session really ended.
    let r = reqwest::Client::new()
        .get(format!("{}/assignment/accounts", w.sim.base_url))
        .header("x-amz-sso_bearer_token", access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let o = w.ssotray(&["status"]).await;
    assert!(
        stdout(&o)
            .lines()
            .any(|l| l.starts_with("my-sso ") && l.ends_with(" logged out")),
        "{}",
        stdout(&o)
    );
}

#[tokio::test]
async fn browser_flow_with_no_browser_prints_the_authorize_url() {
    let w = World::new(CONFIG, auto()).await;
    let mut child = w.spawn(&["login", "--sso-session", "my-sso", "--no-browser"], &[]);
    let url = first_stdout_line(&mut child).await;
    assert!(
        url.starts_with(&format!(
            "{}/authorize?response_type=code&client_id=",
            w.sim.base_url
        )),
        "{url}"
    );
    assert!(
        url.contains("&code_challenge_method=S256&scopes=sso%3Aaccount%3Aaccess&code_challenge="),
        "{url}"
    );
    // The user's browser follows the sign-in and lands on ssotray's loopback listener.
    let page = reqwest::get(&url).await.unwrap();
    assert!(
        page.url().as_str().starts_with("http://127.0.0.1:"),
        "{}",
        page.url()
    );
    assert_eq!(page.url().path(), "/oauth/callback");
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("You can close this tab"));
    let o = finish(child).await;
    assert_ok(&o);
    assert!(w.home.token_json("my-sso")["refreshToken"].is_string());
    let s = w.stats().await;
    assert_eq!(count(&s, "Authorize"), 1);
    assert_eq!(count(&s, "StartDeviceAuthorization"), 0);
}

#[tokio::test]
async fn profile_login_and_legacy_profiles_use_device_code_and_never_refresh() {
    let w = World::new(CONFIG, auto()).await;
    let o = w
        .ssotray(&["login", "--profile", "old", "--no-browser"])
        .await;
    assert_ok(&o);
    // Only the URL to open goes to stdout, on its own line; progress goes to stderr.
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.starts_with(&format!("{}/device?user_code=", w.sim.base_url)),
        "{out}"
    );
    assert!(stderr(&o).contains("confirm the code"));
    assert_eq!(
        count(&w.stats().await, "StartDeviceAuthorization"),
        1,
        "legacy profiles use device code, like AWS CLI v2"
    );
    let token = w.home.token_json("https://d-1234567890.awsapps.com/start");
    assert!(token.get("refreshToken").is_none());
    assert!(token.get("clientSecret").is_none());
    let o = w.ssotray(&["refresh", "old"]).await;
    assert_fails_with(&o, "legacy profiles without an sso-session cannot refresh");

    // `--profile dev` logs in to the profile's sso-session.
    let mut child = w.spawn(&["login", "--profile", "dev", "--no-browser"], &[]);
    let url = first_stdout_line(&mut child).await;
    reqwest::get(&url).await.unwrap();
    assert_ok(&finish(child).await);
    assert!(w.home.token_file("my-sso").exists());
}

#[tokio::test]
async fn registration_is_reused_then_replaced_when_rejected_or_near_expiry() {
    let home = Home::new(CONFIG);
    let sim = start_sim(auto()).await.unwrap();
    let env = home.env(&sim.base_url);
    for _ in 0..2 {
        assert_ok(
            &run(
                &bin("ssotray"),
                &["login", "my-sso", "--device-code", "--no-browser"],
                &env,
            )
            .await,
        );
    }
    assert_eq!(
        count(&stats(&sim.base_url).await, "RegisterClient"),
        1,
        "reused while more than 15 minutes remain"
    );
    sim.stop().await;

    // A new Identity Center that does not know the client: InvalidClientException, replaced at once.
    let sim = start_sim(auto()).await.unwrap();
    let env = home.env(&sim.base_url);
    let o = run(
        &bin("ssotray"),
        &["login", "my-sso", "--device-code", "--no-browser"],
        &env,
    )
    .await;
    assert_ok(&o);
    assert_eq!(count(&stats(&sim.base_url).await, "RegisterClient"), 1);
    sim.stop().await;

    // Registrations with less than 15 minutes left are not reused.
    let sim = start_sim(SimConfig {
        registration_ttl: Duration::from_secs(600),
        ..auto()
    })
    .await
    .unwrap();
    let env = home.env(&sim.base_url);
    for _ in 0..3 {
        assert_ok(
            &run(
                &bin("ssotray"),
                &["login", "my-sso", "--device-code", "--no-browser"],
                &env,
            )
            .await,
        );
    }
    // The first login replaced the rejected registration, the next two found it too close to expiry.
    assert_eq!(count(&stats(&sim.base_url).await, "RegisterClient"), 3);
}

#[tokio::test]
async fn refresh_keeps_the_old_refresh_token_when_none_is_returned() {
    let w = World::new(
        CONFIG,
        SimConfig {
            omit_refresh_token_on_refresh: true,
            ..auto()
        },
    )
    .await;
    assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    let first = w.home.token_json("my-sso");
    assert_ok(&w.ssotray(&["refresh", "my-sso"]).await);
    let second = w.home.token_json("my-sso");
    assert_ne!(second["accessToken"], first["accessToken"]);
    assert_eq!(second["refreshToken"], first["refreshToken"]);
    // And it still works.
    assert_ok(&w.ssotray(&["refresh", "my-sso"]).await);
    assert_eq!(count(&w.stats().await, "CreateToken"), 3);
}

#[tokio::test]
async fn denied_device_code_fails_cleanly() {
    let w = World::new(CONFIG, SimConfig::default()).await;
    let before = w.home.snapshot();
    let mut child = w.spawn(&["login", "my-sso", "--device-code", "--no-browser"], &[]);
    let url = first_stdout_line(&mut child).await;
    decide_device(&url, "deny").await;
    let o = finish(child).await;
    assert_fails_with(
        &o,
        "sign-in to `my-sso` was denied in the browser; run `ssotray login my-sso` to try again",
    );
    assert_eq!(w.home.snapshot(), before);
}

#[tokio::test]
async fn expired_device_code_fails_cleanly() {
    let w = World::new(
        CONFIG,
        SimConfig {
            device_code_ttl: Duration::from_secs(2),
            ..SimConfig::default()
        },
    )
    .await;
    let before = w.home.snapshot();
    let o = w
        .ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
        .await;
    assert_fails_with(&o, "the device code for `my-sso` expired before it was approved; run `ssotray login my-sso --device-code`");
    assert_eq!(w.home.snapshot(), before);
}

#[tokio::test]
async fn ended_session_says_log_in_again_and_keeps_the_file() {
    let w = World::new(CONFIG, auto()).await;
    assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    w.sim.end_all_sessions();
    let before = w.home.snapshot();
    let o = w.ssotray(&["refresh", "my-sso"]).await;
    assert_fails_with(
        &o,
        "the portal session of `my-sso` has ended; run `ssotray login my-sso` to start a new one",
    );
    assert_eq!(w.home.snapshot(), before);
}

#[tokio::test]
async fn simulator_down_is_a_network_error_not_a_logout() {
    let w = World::new(CONFIG, auto()).await;
    assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    // Port 1 (tcpmux) has no listener here: connections are refused at once.
    let dead = "http://127.0.0.1:1".to_string();
    let env = w.home.env(&dead);
    let before = w.home.snapshot();
    let o = run(&bin("ssotray"), &["refresh", "my-sso"], &env).await;
    assert_fails_with(&o, &format!("cannot refresh `my-sso`: cannot reach {dead}"));
    let o = run(
        &bin("ssotray"),
        &["login", "my-sso", "--device-code", "--no-browser"],
        &env,
    )
    .await;
    assert_fails_with(&o, &format!("cannot reach {dead}"));
    assert_eq!(w.home.snapshot(), before);
    let o = run(&bin("ssotray"), &["status"], &env).await;
    assert!(
        stdout(&o)
            .lines()
            .any(|l| l.starts_with("my-sso ") && l.contains(" logged in,")),
        "{}",
        stdout(&o)
    );
}

#[tokio::test]
async fn corrupt_cache_file_is_reported_and_never_touched() {
    let w = World::new(CONFIG, auto()).await;
    let file = w.home.token_file("my-sso");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, b"{\"accessToken\": \"aoa-half-writ").unwrap();
    let before = w.home.snapshot();
    let o = w.ssotray(&["status"]).await;
    assert_ok(&o);
    assert!(
        stdout(&o).contains("token file unreadable (not valid JSON"),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains("aoa-half"), "contents never shown");
    for args in [
        &["login", "my-sso", "--device-code", "--no-browser"][..],
        &["refresh", "my-sso"],
        &["logout", "my-sso"],
    ] {
        let o = w.ssotray(args).await;
        assert_fails_with(&o, "cannot be read (not valid JSON");
        assert!(stderr(&o)
            .contains("ssotray leaves it untouched: move it away (or fix it) and log in again"));
    }
    assert_eq!(w.home.snapshot(), before);
    assert_eq!(
        count(&w.stats().await, "StartDeviceAuthorization"),
        0,
        "no login started on a file it could not write"
    );
}

#[tokio::test]
async fn broken_config_lines_and_profiles_are_named_and_the_rest_works() {
    let config = format!("{CONFIG}\nthis line is not ini\n[profile bad]\nsso_session = my-sso\nsso_account_id = 12\nsso_role_name = R\n");
    let w = World::new(&config, auto()).await;
    let before = w.home.snapshot();
    let o = w.ssotray(&["status"]).await;
    assert_ok(&o);
    let err = stderr(&o);
    assert!(err.contains("line 27 of the config file cannot be read (neither `key = value`, a `[section]` nor a comment): `this line is not ini`"), "{err}");
    assert!(
        err.contains("[profile bad] `sso_account_id`: `12` is not a 12-digit AWS account id"),
        "{err}"
    );
    assert!(stdout(&o).contains("my-sso"));

    let o = w
        .ssotray(&["login", "--profile", "bad", "--device-code"])
        .await;
    assert_fails_with(
        &o,
        "[profile bad] `sso_account_id`: `12` is not a 12-digit AWS account id",
    );
    let o = w.ssotray(&["login", "nosuch"]).await;
    assert_fails_with(&o, "no sso-session or SSO profile `nosuch`");
    assert!(
        stderr(&o).contains("known: my-sso, https://d-1234567890.awsapps.com/start"),
        "{}",
        stderr(&o)
    );
    assert_eq!(w.home.snapshot(), before, "the config is never rewritten");

    assert_ok(
        &w.ssotray(&["login", "--profile", "dev", "--device-code", "--no-browser"])
            .await,
    );
}

#[tokio::test]
async fn usage_errors_exit_2_and_every_command_has_help() {
    let w = World::new(CONFIG, auto()).await;
    let o = w.ssotray(&["login", "--no-such-flag"]).await;
    assert_eq!(o.status.code(), Some(2));
    let commands: [&[&str]; 14] = [
        &["--help"],
        &["login", "--help"],
        &["status", "--help"],
        &["refresh", "--help"],
        &["logout", "--help"],
        &["accounts", "--help"],
        &["console", "--help"],
        &["credentials", "--help"],
        &["keep", "--help"],
        &["keychain", "--help"],
        &["keychain", "enable", "--help"],
        &["keychain", "status", "--help"],
        &["profiles", "--help"],
        &["profiles", "generate", "--help"],
    ];
    for cmd in commands {
        let o = w.ssotray(cmd).await;
        assert_ok(&o);
        assert!(stdout(&o).contains("Usage: ssotray"), "{cmd:?}");
    }
}

#[tokio::test]
async fn logout_all_clears_every_token_and_sso_role_credentials() {
    let w = World::new(CONFIG, auto()).await;
    assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    assert_ok(&w.ssotray(&["login", "old", "--no-browser"]).await);
    let cache = w.home.aws().join("sso/cache");
    // Another tool's file in the cache folder that is not a token stays.
    std::fs::write(
        cache.join("botocore-client-id-us-east-1.json"),
        r#"{"clientId": "x", "clientSecret": "y", "expiresAt": "2030-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    let cli_cache = w.home.aws().join("cli/cache");
    std::fs::create_dir_all(&cli_cache).unwrap();
    std::fs::write(
        cli_cache.join("a.json"),
        r#"{"ProviderType": "sso", "Credentials": {}}"#,
    )
    .unwrap();
    std::fs::write(
        cli_cache.join("b.json"),
        r#"{"ProviderType": "assume-role"}"#,
    )
    .unwrap();
    let o = w.ssotray(&["logout", "--all"]).await;
    assert_ok(&o);
    assert!(!w.home.token_file("my-sso").exists());
    assert!(!w
        .home
        .token_file("https://d-1234567890.awsapps.com/start")
        .exists());
    assert!(cache.join("botocore-client-id-us-east-1.json").exists());
    assert!(!cli_cache.join("a.json").exists());
    assert!(cli_cache.join("b.json").exists());
    assert_eq!(count(&w.stats().await, "Logout"), 2);
}

/// Holds a session's lock file as a refreshing ssotray process holds it.
fn hold_session_lock(w: &World) -> std::fs::File {
    let path = w.home.token_file("my-sso").with_extension("ssotray-lock");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap();
    file.lock().unwrap();
    file
}

#[tokio::test]
async fn login_and_logout_wait_for_the_session_lock_that_refresh_takes() {
    let w = World::new(CONFIG, auto()).await;
    // A login while another process refreshes (holds the lock) waits for it, then logs in.
    let lock = hold_session_lock(&w);
    let mut login = w.spawn(&["login", "my-sso", "--device-code", "--no-browser"], &[]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        login.try_wait().unwrap().is_none(),
        "the login did not wait for the lock"
    );
    assert_eq!(count(&w.stats().await, "StartDeviceAuthorization"), 0);
    drop(lock);
    assert_ok(&finish(login).await);
    assert!(w.home.token_file("my-sso").exists());
    // The same for a logout.
    let lock = hold_session_lock(&w);
    let mut logout = w.spawn(&["logout", "my-sso"], &[]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        logout.try_wait().unwrap().is_none(),
        "the logout did not wait for the lock"
    );
    assert!(w.home.token_file("my-sso").exists());
    assert_eq!(count(&w.stats().await, "Logout"), 0);
    drop(lock);
    assert_ok(&finish(logout).await);
    assert!(!w.home.token_file("my-sso").exists());
}
