//! Helpers for ssotray's end-to-end tests: the built binaries, a throwaway HOME with an AWS
//! config, the simulator in-process, and a snapshot of `~/.aws` to prove nothing was damaged.
//!
//! Besides the helpers (a throwaway HOME, `~/.aws` snapshots, running binaries with a clean
//! environment, `CleanRoot`), the crate holds:
//! - `tests/tests/e2e/`: the end-to-end tests in one binary, one module per area: `sdk_wire`,
//!   `cli`, `readers`, `access`, `keeper`, `keeper_clock`, `keychain`, `browser`, `app`, `package`,
//!   `served`, `chain`, `sim_binary`, `trust`, `files`, `sockets`, `demo`, `layers`, `docs` (each
//!   module says what it covers).
//! - `tests/tests/windows.rs`: the Windows CLI under Wine, in a binary of its own.
//! - `src/bin/`: `app_footprint` (the tray app against `tests/empty-tray-app`, the empty Tauri tray
//!   app), `app_typing` (typing in the window's search over 1000 accounts against a plain field),
//!   `app_reads`, `package_bench` (the .deb's size and install time), `ssotray_bench` (the
//!   benchmark program: `scripts/bench`, figures in BENCHMARKS.md), `aws_config_probe` (a real
//!   aws-sdk-rust program run as a child process), and the helper programs the tests start
//!   (`concurrent_writer`, `dead_writer`, `settings_portal`, `sni_host`).

#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub use ssotray_sim::{start as start_sim, RunningSim, SimConfig};

/// A binary built by `cargo build --workspace --bins` (the README's test command does that first).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "`{}` is missing: run `cargo build --workspace --bins` before the tests (scripts/test does)",
        path.display()
    );
    path
}

/// The config most tests use: one sso-session, two profiles on it, a legacy profile.
pub const CONFIG: &str = "\
# A config with comments, as people write them
[default]
region = eu-west-1

[sso-session my-sso]
sso_start_url = https://d-1234567890.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile dev]
sso_session = my-sso
sso_account_id = 111111111111
sso_role_name = AdministratorAccess
region = us-west-2

[profile prod-ro]
sso_session = my-sso
sso_account_id = 333333333333
sso_role_name = ReadOnlyAccess

[profile old]
sso_start_url = https://d-1234567890.awsapps.com/start
sso_region = us-east-1
sso_account_id = 222222222222
sso_role_name = ReadOnlyAccess
";

/// A throwaway home directory with `~/.aws/config`.
pub struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    pub fn new(config: &str) -> Home {
        let dir = tempfile::Builder::new()
            .prefix("ssotray-test-")
            .tempdir()
            .expect("tempdir");
        let home = Home { dir };
        std::fs::create_dir_all(home.aws()).expect("mkdir .aws");
        std::fs::write(home.aws().join("config"), config).expect("write config");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                home.aws().join("config"),
                std::fs::Permissions::from_mode(0o644),
            )
            .expect("chmod");
        }
        home
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn aws(&self) -> PathBuf {
        self.path().join(".aws")
    }

    /// The token cache file of a session name or legacy start URL.
    pub fn token_file(&self, cache_id: &str) -> PathBuf {
        self.aws()
            .join("sso/cache")
            .join(ssotray_core::aws::cache::token_file_name(cache_id))
    }

    /// The token cache file, parsed as JSON.
    pub fn token_json(&self, cache_id: &str) -> serde_json::Value {
        let bytes = std::fs::read(self.token_file(cache_id)).expect("token file");
        serde_json::from_slice(&bytes).expect("token file is JSON")
    }

    /// Records in ssotray's state that `session`'s last login was `ago` before now, as when the
    /// user logged in that long ago: the keeper estimates the portal session's end from it.
    pub fn logged_in_ago(&self, session: &str, ago: chrono::Duration) {
        let path = self.path().join(".local/state/ssotray/state.json");
        let mut state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("state.json after a login"))
                .expect("state.json is JSON");
        let at = chrono::Utc::now() - ago;
        state["sessions"][session]["loginAt"] =
            serde_json::Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
    }

    /// Every file under `~/.aws` with its contents, except ssotray's empty advisory lock files
    /// (`*.ssotray-lock`, which it creates beside the token cache to coordinate refreshes).
    pub fn snapshot(&self) -> BTreeMap<PathBuf, String> {
        fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "ssotray-lock") {
                    assert_eq!(
                        std::fs::metadata(&p).unwrap().len(),
                        0,
                        "lock files stay empty"
                    );
                } else if let Ok(b) = std::fs::read(&p) {
                    out.insert(p, String::from_utf8_lossy(&b).into_owned());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.aws(), &mut out);
        out
    }

    /// Environment for a child process: this HOME, AWS endpoints at the simulator, nothing of
    /// the developer's own AWS setup.
    pub fn env(&self, sim_base: &str) -> Vec<(String, String)> {
        let home = self.path().display().to_string();
        vec![
            ("HOME".into(), home.clone()),
            ("XDG_CACHE_HOME".into(), format!("{home}/.cache")),
            ("AWS_ENDPOINT_URL_SSO_OIDC".into(), sim_base.into()),
            ("AWS_ENDPOINT_URL_SSO".into(), sim_base.into()),
            (
                "SSOTRAY_SIGNIN_ENDPOINT".into(),
                format!("{sim_base}/federation"),
            ),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("NO_PROXY".into(), "127.0.0.1,localhost".into()),
        ]
    }
}

/// Runs a program with a clean environment plus `env`.
pub async fn run(program: &Path, args: &[&str], env: &[(String, String)]) -> Output {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .env_clear()
        .stdin(std::process::Stdio::null());
    for key in ["PATH", "LANG", "TMPDIR", "SSOTRAY_LOG"] {
        if let Ok(v) = std::env::var(key) {
            cmd.env(key, v);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.kill_on_drop(true);
    cmd.output().await.expect("spawn")
}

/// Standard error of a run, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Standard output of a run, as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The simulator's per-operation call counts.
pub async fn stats(base: &str) -> serde_json::Value {
    reqwest::get(format!("{base}/_sim/stats"))
        .await
        .expect("stats")
        .json()
        .await
        .expect("stats json")
}

/// A count from the stats (0 when absent).
pub fn count(stats: &serde_json::Value, operation: &str) -> u64 {
    stats.get(operation).and_then(|v| v.as_u64()).unwrap_or(0)
}

/// `n` SSO profiles as `profiles generate` writes them for 2 roles per account, for configs of
/// a large organisation (#32): `[profile acct00000-AdministratorAccess]`, … on `my-sso`.
pub fn generated_profiles(n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        let role = ["AdministratorAccess", "ReadOnlyAccess"][i % 2];
        out.push_str(&format!(
            "\n[profile acct{:05}-{role}]\nsso_session = my-sso\nsso_account_id = {}\nsso_role_name = {role}\nregion = us-east-1\n",
            i / 2,
            100_000_000_000u64 + (i / 2) as u64,
        ));
    }
    out
}

/// The Python interpreter with botocore installed: `SSOTRAY_TEST_PYTHON` (scripts/test sets it).
pub fn python() -> PathBuf {
    let p = std::env::var("SSOTRAY_TEST_PYTHON").unwrap_or_default();
    assert!(
        !p.is_empty() && Path::new(&p).exists(),
        "SSOTRAY_TEST_PYTHON must point at a Python with boto3 installed; run the tests through scripts/test, which creates that venv"
    );
    PathBuf::from(p)
}

/// A program of this crate (`sni-host`, `settings-portal`), beside the running program or one level
/// up (tests run from `target/<profile>/deps`, benchmarks from `target/<profile>`).
fn helper_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.ancestors()
        .skip(1)
        .take(2)
        .map(|d| d.join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!("{name}: run `cargo build --workspace --bins` first (scripts/test does)")
        })
}

/// The stand-in for a panel's tray host (`sni-host`).
fn start_host(bus_address: &str) -> std::process::Child {
    Command::new(helper_bin("sni-host"))
        .env("DBUS_SESSION_BUS_ADDRESS", bus_address)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("sni-host")
}

/// Waits (up to 10 s) until `name` has an owner on the bus at `bus_address`; whether it did.
fn wait_for_name(bus_address: &str, name: &str) -> bool {
    for _ in 0..100 {
        let owned = Command::new("dbus-send")
            .args([
                &format!("--bus={bus_address}"),
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                &format!("string:{name}"),
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
            .unwrap_or(false);
        if owned {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

/// A property of the StatusNotifierWatcher on `bus_address`, as gdbus prints it.
fn watcher_property(bus_address: &str, name: &str) -> String {
    Command::new("gdbus")
        .args([
            "call",
            "--address",
            bus_address,
            "--dest",
            "org.kde.StatusNotifierWatcher",
            "--object-path",
            "/StatusNotifierWatcher",
            "--method",
            "org.freedesktop.DBus.Properties.Get",
            "org.kde.StatusNotifierWatcher",
            name,
        ])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
        })
        .unwrap_or_default()
}

/// Whether the watcher on `bus_address` has a tray host registered.
fn host_registered(bus_address: &str) -> bool {
    watcher_property(bus_address, "IsStatusNotifierHostRegistered").contains("true")
}

/// Waits (up to 10 s) until a tray host is registered with the watcher.
fn wait_for_host(bus_address: &str) {
    for _ in 0..100 {
        if host_registered(bus_address) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no tray host registered with the StatusNotifierWatcher");
}

/// A StatusNotifierWatcher on the bus (haskell-status-notifier-item-utils).
fn start_watcher(bus_address: &str) -> Option<std::process::Child> {
    Command::new("status-notifier-watcher")
        .env("DBUS_SESSION_BUS_ADDRESS", bus_address)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

/// A session bus (at `socket`, or where dbus-daemon's session config puts it).
fn session_bus(socket: Option<PathBuf>) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut bus = std::process::Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1"])
        .args(socket.map(|s| format!("--address=unix:path={}", s.display())))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("dbus-daemon (apt package dbus-daemon; scripts/test installs it)");
    let mut address = String::new();
    BufReader::new(bus.stdout.take().unwrap())
        .read_line(&mut address)
        .expect("bus address");
    (bus, address.trim().to_string())
}

/// Asserts that a run succeeded, showing its output if not.
pub fn assert_ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
}

/// Asserts that a run failed with exit 1 and `text` on stderr.
pub fn assert_fails_with(o: &Output, text: &str) {
    assert_eq!(
        o.status.code(),
        Some(1),
        "stdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
    assert!(
        stderr(o).contains(text),
        "stderr lacks {text:?}:\n{}",
        stderr(o)
    );
}

/// Which notification server a [`Desktop`] runs.
#[derive(Debug, Clone, Copy)]
enum Notifications {
    /// dunst: buttons (the `actions` capability).
    Dunst,
    /// notify-osd: no buttons.
    NotifyOsd,
}

/// A private headless desktop session for notification tests: Xvfb, a D-Bus session bus, the
/// dunst notification server, and dbus-monitor recording every `Notify` call. Everything stops
/// when it is dropped.
pub struct Desktop {
    children: Vec<std::process::Child>,
    /// Where the StatusNotifierWatcher is in `children`.
    watcher: Option<usize>,
    /// Whether the panel's tray host (`sni-host`, in `children`) runs.
    host: bool,
    /// The desktop's appearance setting (`settings-portal`), once set.
    portal: Option<std::process::Child>,
    pub bus: String,
    /// The X display (empty on a Wayland desktop: no X server at all).
    pub display: String,
    /// The Wayland compositor's socket (a Wayland desktop only).
    pub wayland: Option<PathBuf>,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Desktop {
    pub fn start() -> Desktop {
        Desktop::start_in(None, true, Notifications::Dunst)
    }

    /// A Wayland desktop and no X server: weston's headless backend (no screen, no input devices),
    /// a session bus with a StatusNotifierWatcher and a panel's host (the tray is the same D-Bus
    /// protocol on Wayland). No notification server (dunst needs X here).
    pub fn start_wayland() -> Desktop {
        let dir = tempfile::tempdir().expect("tempdir");
        let runtime = dir.path().join("run");
        std::fs::create_dir_all(&runtime).unwrap();
        std::fs::set_permissions(
            &runtime,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let mut children = Vec::new();
        let weston = Command::new("weston")
            .args([
                "--backend=headless-backend.so",
                // A renderer, so surfaces are painted and WebDriver screenshots are current.
                "--use-pixman",
                "--socket=wayland-test",
                "--idle-time=0",
            ])
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env("XDG_RUNTIME_DIR", &runtime)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("weston (apt package weston; scripts/test installs it)");
        children.push(weston);
        let socket = runtime.join("wayland-test");
        for _ in 0..100 {
            if socket.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert!(socket.exists(), "weston never made its socket");
        let (bus, bus_address) = session_bus(None);
        children.push(bus);
        let log = dir.path().join("notify.log");
        let watcher = start_watcher(&bus_address).map(|w| {
            children.push(w);
            children.len() - 1
        });
        assert!(watcher.is_some(), "status-notifier-watcher");
        children.push(start_host(&bus_address));
        wait_for_host(&bus_address);
        Desktop {
            children,
            wayland: Some(socket),
            portal: None,
            host: true,
            watcher,
            bus: bus_address,
            display: String::new(),
            log,
            _dir: dir,
        }
    }

    /// The same desktop with no StatusNotifierWatcher (stock GNOME: no panel shows tray items)
    /// until [`Desktop::start_watcher`].
    pub fn start_without_watcher() -> Desktop {
        Desktop::start_in(None, false, Notifications::Dunst)
    }

    /// Sets the desktop's light or dark preference, as GNOME's and KDE's style switch does: the
    /// `color-scheme` of xdg-desktop-portal's Settings (a stand-in serving that interface),
    /// changed with a `SettingChanged` signal once it runs.
    pub fn set_color_scheme(&mut self, dark: bool) {
        use std::io::Write;
        let word = if dark { "dark" } else { "light" };
        if let Some(portal) = &mut self.portal {
            let stdin = portal.stdin.as_mut().expect("the portal's stdin");
            writeln!(stdin, "{word}").expect("the portal takes the change");
            stdin.flush().expect("the portal takes the change");
            return;
        }
        let portal = Command::new(helper_bin("settings-portal"))
            .arg(word)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("settings-portal");
        self.portal = Some(portal);
        assert!(
            wait_for_name(&self.bus, "org.freedesktop.portal.Desktop"),
            "the settings portal never took its name"
        );
    }

    /// Stops the StatusNotifierWatcher without ending it (SIGSTOP): its name stays on the bus and
    /// no call to it is ever answered, as with a hung panel.
    pub fn freeze_watcher(&self) {
        let at = self.watcher.expect("a StatusNotifierWatcher runs");
        let ok = Command::new("kill")
            .args(["-STOP", &self.children[at].id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "SIGSTOP to the watcher");
    }

    /// Ends the StatusNotifierWatcher (a panel that is gone).
    pub fn stop_watcher(&mut self) {
        let at = self.watcher.take().expect("a StatusNotifierWatcher runs");
        let mut watcher = self.children.remove(at);
        let _ = watcher.kill();
        let _ = watcher.wait();
    }

    /// Starts a StatusNotifierWatcher on a desktop that has none (an AppIndicator extension
    /// turned on, a panel started).
    pub fn start_watcher(&mut self) {
        assert!(
            self.watcher.is_none(),
            "a StatusNotifierWatcher runs already"
        );
        self.children
            .push(start_watcher(&self.bus).expect("status-notifier-watcher"));
        self.watcher = Some(self.children.len() - 1);
        if !self.host {
            self.children.push(start_host(&self.bus));
            self.host = true;
        }
        wait_for_host(&self.bus);
    }

    /// The same desktop, with its X server and session bus reachable through socket files only
    /// (`/tmp/.X11-unix/X<n>` and `<dir>/bus`), none in the abstract namespace: what a chroot
    /// gets when just those files are mounted into it.
    pub fn start_with_socket_files(dir: &Path) -> Desktop {
        Desktop::start_in(Some(dir), true, Notifications::Dunst)
    }

    /// The same desktop with notify-osd (Ubuntu's server before GNOME's) in place of dunst: a
    /// real notification server without the `actions` capability, which shows no buttons.
    pub fn start_without_notification_buttons() -> Desktop {
        Desktop::start_in(None, true, Notifications::NotifyOsd)
    }

    fn start_in(socket_dir: Option<&Path>, with_watcher: bool, server: Notifications) -> Desktop {
        use std::io::{BufRead, BufReader};
        let dir = tempfile::tempdir().expect("tempdir");
        let mut children = Vec::new();
        // Xvfb picks a free display and writes its number to the pipe.
        let mut xvfb = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1024x768x24",
                "-nolisten",
                "tcp",
            ])
            // The abstract socket too, when only the socket file is to be reachable.
            .args(
                socket_dir
                    .map(|_| ["-nolisten", "local"])
                    .into_iter()
                    .flatten(),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (apt package xvfb; scripts/test installs it)");
        let mut line = String::new();
        BufReader::new(xvfb.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("display number");
        let display = format!(":{}", line.trim());
        children.push(xvfb);
        let (bus, bus_address) = session_bus(socket_dir.map(|d| d.join("bus")));
        children.push(bus);
        let log = dir.path().join("notify.log");
        let monitor = Command::new("dbus-monitor")
            .args([
                "--address",
                &bus_address,
                "type='method_call',interface='org.freedesktop.Notifications',member='Notify'",
                "type='method_return'",
                // A client subscribing to the server's signals (its notification's clicks).
                "type='method_call',interface='org.freedesktop.DBus',member='AddMatch'",
            ])
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-monitor");
        children.push(monitor);
        let (program, package) = match server {
            Notifications::Dunst => ("dunst", "dunst"),
            Notifications::NotifyOsd => ("/usr/lib/x86_64-linux-gnu/notify-osd", "notify-osd"),
        };
        let notifications = Command::new(program)
            .env("DISPLAY", &display)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus_address)
            .env("HOME", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{program}: {e} (apt package {package}; scripts/test installs it)")
            });
        children.push(notifications);
        // The tray host side a desktop panel runs (org.kde.StatusNotifierWatcher).
        // A panel: its tray host registers with the watcher (KSNI items are made only when one
        // has: a watcher with no host is a desktop that shows no tray icons).
        let watcher = with_watcher
            .then(|| start_watcher(&bus_address))
            .flatten()
            .map(|w| {
                children.push(w);
                children.len() - 1
            });
        if watcher.is_some() {
            children.push(start_host(&bus_address));
            wait_for_host(&bus_address);
        }
        // Wait until the notification server owns its name on the bus.
        wait_for_name(&bus_address, "org.freedesktop.Notifications");
        Desktop {
            children,
            wayland: None,
            portal: None,
            host: watcher.is_some(),
            watcher,
            bus: bus_address,
            display,
            log,
            _dir: dir,
        }
    }

    /// Saves a screenshot of the whole screen.
    pub fn screenshot(&self, path: &Path) {
        // Let the webview finish painting what the test just waited for.
        std::thread::sleep(std::time::Duration::from_millis(500));
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let ok = std::process::Command::new("import")
            .args([
                "-display",
                &self.display,
                "-window",
                "root",
                &path.display().to_string(),
            ])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "screenshot {}", path.display());
    }

    /// Runs `gdbus` on this bus and returns its output.
    pub fn gdbus(&self, args: &[&str]) -> String {
        // `gdbus SUBCOMMAND --address BUS …`
        let mut all: Vec<&str> = args[..1].to_vec();
        all.extend(["--address", self.bus.as_str()]);
        all.extend(&args[1..]);
        let o = std::process::Command::new("gdbus")
            .args(&all)
            .output()
            .expect("gdbus");
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
    }

    /// Ends the StatusNotifierWatcher and starts a new one (a new process taking the same name),
    /// as when a panel crashes and restarts.
    pub fn restart_watcher(&mut self) {
        let at = self.watcher.expect("a StatusNotifierWatcher runs");
        let _ = self.children[at].kill();
        let _ = self.children[at].wait();
        self.children[at] = start_watcher(&self.bus).expect("status-notifier-watcher");
    }

    /// The same with a watcher slowed down as on a busy machine: strace holds each message it
    /// sends for `delay` (so the moment between taking its name and exporting its object, when a
    /// registration is answered `UnknownObject`, lasts that long).
    pub fn restart_watcher_slowly(&mut self, delay: std::time::Duration) {
        let at = self.watcher.expect("a StatusNotifierWatcher runs");
        let _ = self.children[at].kill();
        let _ = self.children[at].wait();
        self.children[at] = Command::new("strace")
            .args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=sendmsg", "-e"])
            .arg(format!("inject=sendmsg:delay_exit={}", delay.as_micros()))
            .arg("status-notifier-watcher")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("strace (apt package strace)");
    }

    /// What the StatusNotifierWatcher answers for its registered items (gdbus's text).
    pub fn tray_items(&self) -> String {
        watcher_property(&self.bus, "RegisteredStatusNotifierItems")
    }

    /// The tray items registered with the StatusNotifierWatcher: each a bus name, with an object
    /// path when the item gave one (`:1.5/org/ayatana/…`, `org.kde.StatusNotifierItem-7-0`).
    pub fn tray_item_list(&self) -> Vec<String> {
        let items = self.tray_items();
        let Some(list) = items
            .split_once('[')
            .and_then(|(_, rest)| rest.split_once(']'))
        else {
            return Vec::new();
        };
        list.0
            .split(',')
            .map(|i| i.trim().trim_matches(|c| c == '\'' || c == '"').to_string())
            .filter(|i| !i.is_empty())
            .collect()
    }

    /// How many tray items are registered with the StatusNotifierWatcher.
    pub fn tray_item_count(&self) -> usize {
        self.tray_item_list().len()
    }

    /// Environment for a program that should show notifications here.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![("DBUS_SESSION_BUS_ADDRESS".into(), self.bus.clone())];
        match &self.wayland {
            // GDK on Wayland only: with no DISPLAY there is no X server to fall back to.
            Some(socket) => env.extend([
                ("WAYLAND_DISPLAY".into(), socket.display().to_string()),
                ("GDK_BACKEND".into(), "wayland".into()),
            ]),
            None => env.push(("DISPLAY".into(), self.display.clone())),
        }
        env
    }

    /// Every `Notify` call so far: summary, body, actions, and the id the server answered with.
    pub fn notifications(&self) -> Vec<Captured> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let field = |head: &str, name: &str| -> Option<String> {
            head.split_whitespace().find_map(|w| {
                w.strip_prefix(&format!("{name}="))
                    .map(|v| v.trim_end_matches(';').to_string())
            })
        };
        let strings = |block: &str| -> Vec<String> {
            block
                .lines()
                .filter_map(|l| {
                    l.trim()
                        .strip_prefix("string \"")
                        .and_then(|s| s.strip_suffix('"'))
                        .map(str::to_string)
                })
                .collect()
        };
        // dbus-monitor prints one message per block, each starting at the start of a line.
        let blocks: Vec<&str> = text.split("\nmethod ").collect();
        let returns: Vec<(Option<String>, Option<String>, Option<u32>)> = blocks
            .iter()
            .filter(|b| b.starts_with("return") || b.starts_with("method return"))
            .map(|b| {
                let head = b.lines().next().unwrap_or("");
                let id = b
                    .lines()
                    .nth(1)
                    .and_then(|l| l.trim().strip_prefix("uint32 "))
                    .and_then(|n| n.parse().ok());
                (field(head, "destination"), field(head, "reply_serial"), id)
            })
            .collect();
        blocks
            .iter()
            .enumerate()
            .filter(|(_, b)| {
                b.lines()
                    .next()
                    .is_some_and(|h| h.contains("member=Notify"))
            })
            .map(|(at, call)| {
                let head = call.lines().next().unwrap_or("");
                let (sender, serial) = (field(head, "sender"), field(head, "serial"));
                let all = strings(call);
                let actions_part = call
                    .split("array [")
                    .nth(1)
                    .unwrap_or("")
                    .split(']')
                    .next()
                    .unwrap_or("");
                let id = returns
                    .iter()
                    .find(|r| r.0 == sender && r.1 == serial)
                    .and_then(|r| r.2);
                // notify-rust shows each notification over a connection of its own, then
                // subscribes there to the clicks: an AddMatch for ActionInvoked from the same
                // sender, after the Notify call.
                let listening = blocks[at..].iter().any(|b| {
                    let head = b.lines().next().unwrap_or("");
                    head.contains("member=AddMatch")
                        && field(head, "sender") == sender
                        && b.contains("member='ActionInvoked'")
                });
                Captured {
                    app: all.first().cloned().unwrap_or_default(),
                    summary: all.get(2).cloned().unwrap_or_default(),
                    body: all.get(3).cloned().unwrap_or_default(),
                    actions: strings(actions_part),
                    id,
                    listening,
                }
            })
            .collect()
    }

    /// Waits until the app listens for clicks on notification `id` (a click sent before that
    /// would be lost, as no user could click so soon), up to 60 s.
    pub async fn wait_listening(&self, id: u32) {
        for _ in 0..600 {
            if self
                .notifications()
                .iter()
                .any(|n| n.id == Some(id) && n.listening)
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the app never listened for clicks on notification {id}");
    }

    /// Sends the signal a notification server sends when the user clicks an action.
    pub fn click_action(&self, notification_id: u32, action: &str) {
        let status = std::process::Command::new("dbus-send")
            .args([
                &format!("--bus={}", self.bus),
                "--type=signal",
                "/org/freedesktop/Notifications",
                "org.freedesktop.Notifications.ActionInvoked",
                &format!("uint32:{notification_id}"),
                &format!("string:{action}"),
            ])
            .status()
            .expect("dbus-send");
        assert!(status.success());
    }
}

/// Where test runs save screenshots and the menu state: `<target dir>/screenshots`.
pub fn screenshots_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .expect("target dir")
        .join("screenshots")
}

/// One captured notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    pub app: String,
    pub summary: String,
    pub body: String,
    pub actions: Vec<String>,
    /// The id the notification server gave it.
    pub id: Option<u32>,
    /// Whether its sender has subscribed to the server's clicks since.
    pub listening: bool,
}

impl Captured {
    /// The body as a server that reads markup shows it (dunst and notify-osd both do): the
    /// entities ssotray escapes text from elsewhere with, read back.
    pub fn shown_body(&self) -> String {
        self.body
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        for c in self.portal.iter_mut().chain(self.children.iter_mut().rev()) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A private D-Bus session with gnome-keyring's Secret Service, its login keyring unlocked.
pub struct Keyring {
    bus: Option<std::process::Child>,
    pub address: String,
    home: PathBuf,
}

impl Keyring {
    /// An unlocked keyring on an existing bus (a [`Desktop`]'s), its files under `home`.
    pub fn start_on(home: &Path, address: &str) -> Keyring {
        std::fs::create_dir_all(home).expect("keyring home");
        let k = Keyring {
            bus: None,
            address: address.to_string(),
            home: home.to_path_buf(),
        };
        k.start_daemon(true);
        k
    }

    /// Starts a bus and an unlocked keyring whose files live under `home`.
    pub fn start(home: &Path) -> Keyring {
        let (bus, address) = session_bus(None);
        std::fs::create_dir_all(home).expect("keyring home");
        let k = Keyring {
            bus: Some(bus),
            address,
            home: home.to_path_buf(),
        };
        k.start_daemon(true);
        k
    }

    /// (Re)starts gnome-keyring-daemon; with `unlock`, the login keyring is unlocked with a password.
    pub fn start_daemon(&self, unlock: bool) {
        use std::io::Write;
        let mut cmd = std::process::Command::new("gnome-keyring-daemon");
        cmd.args(["--replace", "--components=secrets", "--daemonize"]);
        if unlock {
            cmd.arg("--unlock");
        }
        let mut child = cmd
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("HOME", &self.home)
            .env("XDG_DATA_HOME", self.home.join(".local/share"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon (apt package gnome-keyring; scripts/test installs it)");
        if unlock {
            child.stdin.take().unwrap().write_all(b"test").unwrap();
        }
        let _ = child.wait();
        // Ready when the default collection is the login keyring. A `--replace` waits for the
        // old daemon to let its bus name go, which took over 5 s once with both cores busy.
        // With `unlock`, also unlocked: until the new daemon has the bus name, the old (perhaps
        // locked) one still answers.
        for _ in 0..400 {
            if self.default_collection_ready() && (!unlock || self.login_unlocked()) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("gnome-keyring did not come up within 20 s");
    }

    /// Whether the Secret Service answers with an unlocked-or-not login collection (a positive
    /// control before checking that an entry is absent).
    pub fn alive(&self) -> bool {
        self.default_collection_ready()
    }

    fn default_collection_ready(&self) -> bool {
        std::process::Command::new("dbus-send")
            .args([
                &format!("--bus={}", self.address),
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.ReadAlias",
                "string:default",
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("/collection/login"))
            .unwrap_or(false)
    }

    /// Whether the login collection says it is unlocked.
    fn login_unlocked(&self) -> bool {
        std::process::Command::new("dbus-send")
            .args([
                &format!("--bus={}", self.address),
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets/collection/login",
                "org.freedesktop.DBus.Properties.Get",
                "string:org.freedesktop.Secret.Collection",
                "string:Locked",
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("boolean false"))
            .unwrap_or(false)
    }

    /// Runs `secret-tool` on this bus.
    pub fn secret_tool(&self, args: &[&str]) -> Output {
        std::process::Command::new("secret-tool")
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .output()
            .expect("secret-tool (apt package libsecret-tools)")
    }

    /// Locks the login keyring, as the desktop does when the screen locks.
    pub fn lock(&self) {
        let o = std::process::Command::new("dbus-send")
            .args([
                &format!("--bus={}", self.address),
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.Lock",
                "array:objpath:/org/freedesktop/secrets/collection/login",
            ])
            .output()
            .expect("dbus-send");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }

    pub fn env(&self) -> Vec<(String, String)> {
        vec![("DBUS_SESSION_BUS_ADDRESS".into(), self.address.clone())]
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        // The daemon exits with its bus.
        if let Some(bus) = &mut self.bus {
            let _ = bus.kill();
            let _ = bus.wait();
        }
    }
}

/// Every process in the tree rooted at `pid`.
pub fn process_tree(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        let parent = all[i];
        if let Ok(dir) = std::fs::read_dir("/proc") {
            for e in dir.flatten() {
                let Ok(child) = e.file_name().to_string_lossy().parse::<u32>() else {
                    continue;
                };
                let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
                    continue;
                };
                let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
                let ppid: u32 = after
                    .split_whitespace()
                    .nth(1)
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                if ppid == parent && !all.contains(&child) {
                    all.push(child);
                }
            }
        }
        i += 1;
    }
    all
}

/// Asks the (mapped) window named `name` to close, as a window manager's close button does
/// (WM_DELETE_WINDOW), through the X server.
pub fn close_window(display: &str, name: &str) -> bool {
    close_window_when(display, name, true)
}

/// [`close_window`], also to a window not yet mapped (`viewable_only: false`): as early as
/// the window exists with its title.
pub fn close_window_when(display: &str, name: &str, viewable_only: bool) -> bool {
    use x11rb::connection::Connection;
    use x11rb::protocol::xproto::{
        AtomEnum, ClientMessageEvent, ConnectionExt, EventMask, MapState,
    };
    let Ok((conn, screen)) = x11rb::connect(Some(display)) else {
        return false;
    };
    let root = conn.setup().roots[screen].root;
    let atom = |n: &str| {
        conn.intern_atom(false, n.as_bytes())
            .ok()
            .and_then(|c| c.reply().ok())
            .map(|r| r.atom)
    };
    let (Some(protocols), Some(delete)) = (atom("WM_PROTOCOLS"), atom("WM_DELETE_WINDOW")) else {
        return false;
    };
    let mut stack = vec![root];
    while let Some(w) = stack.pop() {
        let viewable = conn
            .get_window_attributes(w)
            .ok()
            .and_then(|c| c.reply().ok())
            .is_some_and(|a| a.map_state == MapState::VIEWABLE);
        if let (true, Ok(Ok(title))) = (
            viewable || !viewable_only,
            conn.get_property(false, w, AtomEnum::WM_NAME, AtomEnum::STRING, 0, 256)
                .map(|c| c.reply()),
        ) {
            if title.value == name.as_bytes() {
                let event = ClientMessageEvent::new(32, w, protocols, [delete, 0, 0, 0, 0]);
                // Checked: the server has carried the request out before the connection closes.
                // (Unchecked and then dropped, the request was lost about one time in three:
                // an X server that sees the client hang up may drop requests it has not read.)
                let sent = conn
                    .send_event(false, w, EventMask::NO_EVENT, event)
                    .map(|c| c.check());
                return matches!(sent, Ok(Ok(())));
            }
        }
        if let Ok(Ok(tree)) = conn.query_tree(w).map(|c| c.reply()) {
            stack.extend(tree.children);
        }
    }
    false
}

/// tauri-driver (over WebKitWebDriver) with a WebDriver session in the app's own webview.
pub struct Webview {
    pub client: fantoccini::Client,
    _driver: tokio::process::Child,
}

impl Webview {
    /// Starts `app --open` under tauri-driver with `env`, and a WebDriver session in its window.
    pub async fn start(app: &Path, env: &[(String, String)]) -> Webview {
        Webview::start_with(app, &["--open"], env).await
    }

    /// Starts `app ARGS…` under tauri-driver with `env`, and a WebDriver session in the window
    /// it opens (by itself, without `--open`).
    pub async fn start_with(app: &Path, args: &[&str], env: &[(String, String)]) -> Webview {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let native = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = tokio::process::Command::new("tauri-driver")
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
                "--native-driver",
                "/usr/bin/WebKitWebDriver",
            ])
            .env_clear()
            .envs(env.iter().cloned())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("tauri-driver (scripts/test installs it with cargo install)");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({"application": app, "args": args}),
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
                    return Webview {
                        client,
                        _driver: driver,
                    }
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        panic!("no WebDriver session with the app: {last:?}");
    }

    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        for _ in 0..300 {
            if let Ok(e) = self.client.find(fantoccini::Locator::Css(css)).await {
                if e.is_displayed().await.unwrap_or(false) {
                    return e;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("no visible {css}");
    }

    /// Whether an element matching `css` is on the page and displayed.
    pub async fn displayed(&self, css: &str) -> bool {
        match self.client.find(fantoccini::Locator::Css(css)).await {
            Ok(e) => e.is_displayed().await.unwrap_or(false),
            Err(_) => false,
        }
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap_or_default()
    }

    /// Clicks, finding the element again if the page re-rendered it in between.
    pub async fn click(&self, css: &str) {
        let mut last = None;
        for _ in 0..20 {
            match self.find(css).await.click().await {
                Ok(()) => return,
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("click {css}: {last:?}");
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        for _ in 0..600 {
            if let Ok(e) = self.client.find(fantoccini::Locator::Css(css)).await {
                let t = e.text().await.unwrap_or_default();
                if t.contains(needle) {
                    return t;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("{css} never showed {needle:?}");
    }

    pub async fn no_secrets_on_the_page(&self) {
        let source = self.client.source().await.unwrap();
        for secret in ["aoa-", "aor-", "csec-", "SigninToken", "ASIA"] {
            assert!(!source.contains(secret), "{secret} reached the webview");
        }
    }
}

/// The simulator's clock as ssotray's [`ssotray_core::platform::os::Clock`]: the simulator and an
/// in-process engine share one time, which a test moves forward, so hours of tokens and
/// sessions pass in seconds at their real proportions.
#[derive(Debug, Clone)]
pub struct SharedClock(pub ssotray_sim::SimClock);

impl ssotray_core::platform::os::Clock for SharedClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_millis(self.0.now_ms() as i64)
            .expect("the simulator's clock is a valid time")
    }
}

/// An engine in this process over a throwaway home, pointed at the simulator, with `clock`, the
/// real filesystem, and an in-memory keychain.
pub fn engine_for(
    home: &Home,
    sim_base: &str,
    clock: std::sync::Arc<dyn ssotray_core::platform::os::Clock>,
) -> ssotray_core::Engine {
    use ssotray_core::platform::context::LazyHttp;
    use ssotray_core::platform::os::{Env, RealFs, SystemBrowser};
    let mut vars = home.env(sim_base);
    vars.push((
        "XDG_STATE_HOME".into(),
        format!("{}/.local/state", home.path().display()),
    ));
    vars.push((
        "XDG_CONFIG_HOME".into(),
        format!("{}/.config", home.path().display()),
    ));
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let env = Env::from_slice(&refs);
    ssotray_core::Engine::new(ssotray_core::Context {
        clock,
        fs: std::sync::Arc::new(RealFs),
        browser: std::sync::Arc::new(SystemBrowser::new(env.clone())),
        env,
        http: LazyHttp::default(),
        secrets: std::sync::Arc::new(ssotray_core::platform::keychain::MemKeychain::default()),
        parsed: Default::default(),
    })
}

/// A stand-in for the user's browser (`BROWSER`): a script that records each URL it is given
/// in `opened.txt`, and follows the ones that contain `follow` (`Some("")`: all) like a person
/// clicking Allow on the simulator's sign-in page. ssotray hands browsers a
/// private `file://` page that leads to a credential URL (see `ssotray_core::ops::private_open`):
/// the script reads the page, as a browser would, and records where it leads.
pub fn stand_in_browser(dir: &Path, follow: Option<&str>) -> (PathBuf, PathBuf) {
    let log = dir.join("opened.txt");
    let script = dir.join("browser.py");
    let follow = match follow {
        Some(f) => format!("{f:?} in u"),
        None => "False".into(),
    };
    std::fs::write(
        &script,
        format!(
            "#!/usr/bin/python3\nimport sys, re, html, urllib.parse, urllib.request\nu = sys.argv[1]\nif u.startswith('file://'):\n    page = open(urllib.parse.unquote(u[len('file://'):])).read()\n    u = html.unescape(re.search(r'content=\"0;url=([^\"]*)\"', page).group(1))\nwith open({:?}, 'a') as log:\n    log.write(u + '\\n')\nif {follow}:\n    with urllib.request.urlopen(u, timeout=60) as r:\n        page, final = r.read().decode('utf-8', 'replace'), r.geturl()\n    m = re.search(r'name=\"request\" value=\"([^\"]*)\"', page)\n    if m:\n        o = urllib.parse.urlsplit(final)\n        data = urllib.parse.urlencode({{'request': html.unescape(m.group(1)), 'decision': 'allow'}}).encode()\n        urllib.request.urlopen(o.scheme + '://' + o.netloc + '/authorize', data=data, timeout=60).read()\n",
            log.display().to_string()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, log)
}

/// For the app benchmarks: logs in to `my-sso` (device code, an auto-approving simulator) and
/// keeps its account list, with the `ssotray` binary at `ssotray`.
pub fn log_in_and_keep_the_accounts(ssotray: &Path, env: &[(String, String)]) {
    for args in [
        &["login", "my-sso", "--device-code", "--no-browser"][..],
        &[
            "accounts",
            "--sso-session",
            "my-sso",
            "--refresh",
            "--rate-limit",
            "1000",
        ],
    ] {
        let o = std::process::Command::new(ssotray)
            .args(args)
            .env_clear()
            .envs(env.iter().cloned())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "ssotray {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// A command run as root: directly when the tests run as root, else through `sudo -n`.
pub fn as_root(program: &str) -> Command {
    let uid = Command::new("id").arg("-u").output().expect("id");
    if String::from_utf8_lossy(&uid.stdout).trim() == "0" {
        Command::new(program)
    } else {
        let mut c = Command::new("sudo");
        c.args(["-n", program]);
        c
    }
}

/// A copy of the clean root that scripts/test keeps (`need_clean_root`: debootstrap of this
/// machine's release, minbase, plus bash-completion and man-db), removed when dropped.
/// Commands run in it through `unshare` (a private mount namespace: nothing stays mounted) and
/// `chroot`, with /proc, /dev, /sys, apt's download cache and, for the GUI, the host's X and
/// D-Bus socket files mounted in.
pub struct CleanRoot {
    pub path: PathBuf,
    archives: PathBuf,
    /// The host's X socket directory and the directory of its session bus socket, for the GUI.
    pub sockets: Option<(PathBuf, PathBuf)>,
}

pub const ROOT_HOME: &str = "/home/user";

impl CleanRoot {
    pub fn copy() -> CleanRoot {
        let base = std::env::var("SSOTRAY_CLEAN_ROOT")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                let codename = std::fs::read_to_string("/etc/os-release")
                    .unwrap_or_default()
                    .lines()
                    .find_map(|l| l.strip_prefix("VERSION_CODENAME=").map(str::to_string))
                    .unwrap_or_default();
                PathBuf::from(std::env::var("HOME").unwrap())
                    .join(format!(".cache/ssotray/clean-root-{codename}"))
            });
        assert!(
            base.join(".ssotray-clean-root").exists(),
            "no clean root at {}: scripts/test makes it (need_clean_root in scripts/lib.sh)",
            base.display()
        );
        let parent = base.parent().unwrap();
        let path = parent.join(format!("test-root-{}", std::process::id()));
        let archives = parent.join("clean-root-archives");
        let status = as_root("cp")
            .args([
                "-a",
                &base.display().to_string(),
                &path.display().to_string(),
            ])
            .status()
            .unwrap();
        assert!(status.success(), "copying the clean root");
        let status = as_root("mkdir")
            .args(["-p", &archives.join("partial").display().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        CleanRoot {
            path,
            archives,
            sockets: None,
        }
    }

    /// `script` by bash inside the root, as root, with a clean environment plus `env`.
    pub fn command(&self, script: &str, env: &[(&str, &str)]) -> Command {
        let mounts = r#"set -e
R="$1"; A="$2"; X="$3"; B="$4"; shift 4
mount -t proc proc "$R/proc"
mount --rbind /dev "$R/dev"
mount --rbind /sys "$R/sys"
mount --bind "$A" "$R/var/cache/apt/archives"
if [ -n "$X" ]; then
  mkdir -p "$R/tmp/.X11-unix" "$R/run/host-bus"
  mount --bind "$X" "$R/tmp/.X11-unix"
  mount --bind "$B" "$R/run/host-bus"
fi
exec chroot "$R" /usr/bin/env -i "$@""#;
        let (x, bus) = match &self.sockets {
            Some((x, b)) => (x.display().to_string(), b.display().to_string()),
            None => (String::new(), String::new()),
        };
        let mut c = as_root("unshare");
        c.args([
            "--mount",
            "--propagation",
            "private",
            "--",
            "bash",
            "-c",
            mounts,
            "mounts",
        ])
        .args([
            &self.path.display().to_string(),
            &self.archives.display().to_string(),
            &x,
            &bus,
        ])
        .args([
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            &format!("HOME={ROOT_HOME}"),
            "XDG_RUNTIME_DIR=/run/user/0",
            "LANG=C.UTF-8",
            "TERM=dumb",
        ])
        .args(env.iter().map(|(k, v)| format!("{k}={v}")))
        .args(["/bin/bash", "-c", script])
        .stdin(Stdio::null());
        c
    }

    pub fn run(&self, script: &str, env: &[(&str, &str)]) -> Output {
        self.command(script, env).output().unwrap()
    }

    pub fn file(&self, path: &str) -> PathBuf {
        self.path.join(path.trim_start_matches('/'))
    }
}

impl Drop for CleanRoot {
    fn drop(&mut self) {
        let _ = as_root("rm")
            .args(["-rf", "--one-file-system", &self.path.display().to_string()])
            .status();
    }
}

/// A process started in the root, killed (with everything it started) when dropped.
pub struct RootProcess(std::process::Child);

impl RootProcess {
    pub fn start(root: &CleanRoot, script: &str, env: &[(&str, &str)]) -> RootProcess {
        use std::os::unix::process::CommandExt;
        let child = root
            .command(script, env)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .unwrap();
        RootProcess(child)
    }
}

impl Drop for RootProcess {
    fn drop(&mut self) {
        let _ = as_root("kill")
            .args(["-TERM", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.wait();
    }
}
