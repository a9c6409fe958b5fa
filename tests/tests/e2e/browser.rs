//! The browser sign-in done by a real headless Chromium, driven over WebDriver (chromedriver),
//! clicking Allow or Deny on the simulator's page; ssotray opens it through a `BROWSER` script.
//!
//! The sign-in lands on the (fake) console.

use crate::cli::World;
use ssotray_tests::{count, stderr, stdout, SimConfig, CONFIG};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A chromedriver with a headless Chromium session.
struct Chromium {
    client: fantoccini::Client,
    driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

impl Chromium {
    async fn start() -> Chromium {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = tokio::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver (apt package chromium-driver; scripts/test installs it)");
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({"args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", format!("--user-data-dir={}", profile.path().display())
            ]}),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..300 {
            match fantoccini::ClientBuilder::rustls()
                .expect("tls")
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Chromium {
                        client,
                        driver,
                        _profile: profile,
                    }
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("cannot start a Chromium session: {last:?}");
    }

    async fn close(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill().await;
    }
}

/// A `BROWSER` program that records the URL it is asked to open.
fn recording_browser(dir: &Path) -> (PathBuf, PathBuf) {
    ssotray_tests::stand_in_browser(dir, None)
}

async fn opened_url(log: &Path) -> String {
    for _ in 0..200 {
        if let Ok(text) = std::fs::read_to_string(log) {
            if let Some(line) = text.lines().next() {
                return line.to_string();
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("ssotray did not open a browser");
}

async fn sign_in_with_chromium(decision: &str) -> (World, std::process::Output) {
    let w = World::new(CONFIG, SimConfig::default()).await;
    let tmp = tempfile::tempdir().unwrap();
    let (script, log) = recording_browser(tmp.path());
    let child = w.spawn(
        &["login", "my-sso"],
        &[("BROWSER", script.to_str().unwrap())],
    );
    let url = opened_url(&log).await;
    assert!(
        url.starts_with(&format!("{}/authorize?", w.sim.base_url)),
        "{url}"
    );

    let chromium = Chromium::start().await;
    let c = &chromium.client;
    c.goto(&url).await.unwrap();
    let title = c
        .find(fantoccini::Locator::Id("title"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(title.contains("ssotray-my-sso"), "{title}");
    c.find(fantoccini::Locator::Id(decision))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Chromium follows the redirect to ssotray's loopback listener and shows its page.
    let mut body = String::new();
    for _ in 0..100 {
        body = c
            .find(fantoccini::Locator::Css("body"))
            .await
            .map(|_| ())
            .ok()
            .map(|_| String::new())
            .unwrap_or_default();
        if let Ok(src) = c.source().await {
            body = src;
            if body.contains("You can close this tab") {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(body.contains("You can close this tab"), "{body}");
    let landed = c.current_url().await.unwrap();
    assert_eq!(landed.host_str(), Some("127.0.0.1"));
    assert_eq!(landed.path(), "/oauth/callback");
    chromium.close().await;
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    (w, out)
}

#[tokio::test]
async fn chromium_clicks_allow_and_ssotray_gets_the_token() {
    let (w, o) = sign_in_with_chromium("allow").await;
    assert!(
        o.status.success(),
        "stdout: {}\nstderr: {}",
        stdout(&o),
        stderr(&o)
    );
    assert!(w.home.token_json("my-sso")["refreshToken"].is_string());
    let s = w.stats().await;
    assert_eq!(count(&s, "Authorize"), 1);
    assert_eq!(count(&s, "CreateToken"), 1);
}

#[tokio::test]
async fn chromium_clicks_deny_and_ssotray_says_so() {
    let (w, o) = sign_in_with_chromium("deny").await;
    assert_eq!(o.status.code(), Some(1), "stderr: {}", stderr(&o));
    assert!(
        stderr(&o).contains("sign-in to `my-sso` was denied in the browser"),
        "{}",
        stderr(&o)
    );
    assert!(!w.home.token_file("my-sso").exists());
    assert_eq!(count(&w.stats().await, "CreateToken"), 0);
}

#[tokio::test]
async fn chromium_lands_on_the_console_of_the_role() {
    let w = World::auto_approving(CONFIG).await;
    let o = w
        .ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
        .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let tmp = tempfile::tempdir().unwrap();
    let (script, log) = recording_browser(tmp.path());
    let mut env = w.env();
    env.push(("BROWSER".into(), script.to_str().unwrap().into()));
    let o = ssotray_tests::run(
        &ssotray_tests::bin("ssotray"),
        &["console", "--profile", "prod-ro"],
        &env,
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let url = opened_url(&log).await;

    let chromium = Chromium::start().await;
    let c = &chromium.client;
    c.goto(&url).await.unwrap();
    let text = |id: &'static str| async move {
        c.find(fantoccini::Locator::Id(id))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    assert_eq!(text("account-id").await, "333333333333");
    assert_eq!(text("account-name").await, "prod");
    assert_eq!(text("role-name").await, "ReadOnlyAccess");
    assert_eq!(text("issuer").await, "ssotray");
    assert!(c
        .current_url()
        .await
        .unwrap()
        .path()
        .starts_with("/console/"));
    chromium.close().await;
}

/// Every distinct command line and environment of every process, read from `/proc` until
/// stopped.
struct ProcWatch {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    seen: std::thread::JoinHandle<std::collections::HashSet<Vec<u8>>>,
}

impl ProcWatch {
    fn start() -> ProcWatch {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let seen = std::thread::spawn(move || {
            let mut seen = std::collections::HashSet::new();
            while !flag.load(std::sync::atomic::Ordering::SeqCst) {
                for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                    if !entry
                        .file_name()
                        .to_string_lossy()
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                    {
                        continue;
                    }
                    for what in ["cmdline", "environ"] {
                        if let Ok(bytes) = std::fs::read(entry.path().join(what)) {
                            seen.insert(bytes);
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            seen
        });
        ProcWatch { stop, seen }
    }

    fn finish(self) -> std::collections::HashSet<Vec<u8>> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.seen.join().unwrap()
    }
}

#[tokio::test]
async fn no_sign_in_token_code_verifier_or_state_reaches_a_command_line_or_environment() {
    // Chromium as the user's browser, started by ssotray with the URL it is given.
    let w = World::auto_approving(CONFIG).await;
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("chromium.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nexec timeout 20 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync --disable-dev-shm-usage --user-data-dir=\"$(mktemp -d)\" \"$1\" >/dev/null 2>&1\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let runtime = w.home.path().join("run");
    std::fs::create_dir_all(&runtime).unwrap();
    let mut env = w.env();
    env.push(("BROWSER".into(), script.display().to_string()));
    env.push(("XDG_RUNTIME_DIR".into(), runtime.display().to_string()));

    let watch = ProcWatch::start();
    // A browser login (PKCE: state, code, verifier), then a console opening (sign-in token).
    let login =
        ssotray_tests::run(&ssotray_tests::bin("ssotray"), &["login", "my-sso"], &env).await;
    assert!(login.status.success(), "{}", stderr(&login));
    let console = ssotray_tests::run(
        &ssotray_tests::bin("ssotray"),
        &["console", "--profile", "dev"],
        &env,
    )
    .await;
    assert!(console.status.success(), "{}", stderr(&console));
    for _ in 0..200 {
        if count(&w.stats().await, "ConsoleLogin") > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        count(&w.stats().await, "ConsoleLogin"),
        1,
        "the browser used the sign-in URL"
    );
    let seen = watch.finish();

    let secrets: std::collections::BTreeMap<String, String> =
        reqwest::get(format!("{}/_sim/seen", w.sim.base_url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    for key in ["state", "code", "codeVerifier", "SigninToken"] {
        let secret = secrets
            .get(key)
            .unwrap_or_else(|| panic!("the simulator saw no {key}: {secrets:?}"));
        let found = seen
            .iter()
            .any(|blob| blob.windows(secret.len()).any(|w| w == secret.as_bytes()));
        assert!(
            !found,
            "the {key} was in a process's command line or environment"
        );
    }
    // The watch did see the browsers: their command lines hold only the private pages.
    let pages = seen
        .iter()
        .filter(|b| String::from_utf8_lossy(b).contains("ssotray/open/"))
        .count();
    assert!(pages >= 2, "{pages} command lines with a private page");
}
