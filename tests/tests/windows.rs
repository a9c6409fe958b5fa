//! `ssotray.exe`, the CLI built for Windows (`x86_64-pc-windows-gnu`), end to end under Wine
//! against the simulator. The simulator and the AWS clients (botocore) run here on Linux; Wine's
//! processes share this machine's loopback, so they reach the simulator and each other as they
//! would on Windows.
//!
//! Each test has a Wine prefix and a Windows user of its own. Wine fixes the profile directory
//! (`C:\users\<USER>`, `%USERPROFILE%`) when a prefix's wineserver starts, from the first
//! process's `USER`, so every test gets a prefix: copies of the template prefix's registry
//! files, links to its `C:\windows` and program directories, its own wineserver (persistent
//! while the test runs, killed at its end), and `C:\users\<USER>` a link to the test's throwaway
//! home, so `%USERPROFILE%\.aws` is the home's `.aws`, read and checked from here.
//! What Wine cannot show is listed in docs/windows-and-macos.md: it runs every process as the
//! same user (so "another user's pipe client is refused" is type-checked, not run), it reports
//! no owning process in its TCP table (so the IMDS server refuses every connection under Wine),
//! and it has no toast notifications or tray.
//!
//! `scripts/test` builds the Windows binaries and sets `SSOTRAY_WINDOWS_BIN` (their directory)
//! and `WINEPREFIX` (a prefix it made, with a persistent wineserver).
//!
//! Besides `ssotray.exe` from `scripts/cross`'s build, the zip and the installer from
//! `scripts/package windows` are tested.

use ssotray_tests::{
    assert_ok, count, python, start_sim, stats, stderr, stdout, Home, RunningSim, SimConfig,
};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;
use tokio::io::AsyncBufReadExt;

/// A simulator that approves every sign-in at once (no person at the device page).
fn auto() -> SimConfig {
    SimConfig {
        auto_approve: true,
        ..SimConfig::default()
    }
}

/// Where the Windows build and Wine are, from the environment `scripts/test` sets.
struct Wine {
    wine: PathBuf,
    prefix: PathBuf,
    bin: PathBuf,
}

fn wine() -> Wine {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let (Some(bin), Some(prefix)) = (var("SSOTRAY_WINDOWS_BIN"), var("WINEPREFIX")) else {
        panic!(
            "the Windows tests need ssotray.exe built for Windows and a Wine prefix: run ./scripts/test (it sets SSOTRAY_WINDOWS_BIN and WINEPREFIX)"
        )
    };
    let wine = Wine {
        wine: var("SSOTRAY_WINE")
            .unwrap_or_else(|| "/usr/lib/wine/wine64".into())
            .into(),
        prefix: prefix.into(),
        bin: bin.into(),
    };
    assert!(
        wine.exe("ssotray.exe").exists(),
        "{} is missing",
        wine.exe("ssotray.exe").display()
    );
    wine
}

impl Wine {
    fn exe(&self, name: &str) -> PathBuf {
        self.bin.join(name)
    }

    /// The wineserver beside `wine64`.
    fn server(&self) -> PathBuf {
        self.wine.with_file_name("wineserver")
    }
}

/// A throwaway home that is a Windows user's profile in a prefix of its own, and the simulator.
struct WinWorld {
    home: Home,
    sim: RunningSim,
    user: String,
    prefix: tempfile::TempDir,
    wine: Wine,
}

/// A prefix for `user` whose profile is `home`, from the template prefix `template`.
fn make_prefix(template: &Path, home: &Path, user: &str) -> tempfile::TempDir {
    let prefix = tempfile::Builder::new()
        .prefix("ssotray-wine-")
        .tempdir()
        .expect("prefix dir");
    let p = prefix.path();
    for f in ["system.reg", "user.reg", "userdef.reg", ".update-timestamp"] {
        std::fs::copy(template.join(f), p.join(f))
            .unwrap_or_else(|e| panic!("{f} of the template prefix {}: {e}", template.display()));
    }
    std::fs::create_dir_all(p.join("dosdevices")).unwrap();
    std::fs::create_dir_all(p.join("drive_c/users")).unwrap();
    let link = |to: &Path, at: &Path| std::os::unix::fs::symlink(to, at).expect("symlink");
    link(Path::new("../drive_c"), &p.join("dosdevices/c:"));
    link(Path::new("/"), &p.join("dosdevices/z:"));
    for d in [
        "windows",
        "Program Files",
        "Program Files (x86)",
        "ProgramData",
    ] {
        link(
            &template.join("drive_c").join(d),
            &p.join("drive_c").join(d),
        );
    }
    link(home, &p.join("drive_c/users").join(user));
    prefix
}

impl WinWorld {
    async fn new(config: &str, sim: SimConfig) -> WinWorld {
        let wine = wine();
        let home = Home::new(config);
        let user = home
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let prefix = make_prefix(&wine.prefix, home.path(), &user);
        let w = WinWorld {
            home,
            sim: start_sim(sim).await.expect("simulator"),
            user,
            prefix,
            wine,
        };
        // The prefix's wineserver, kept while the test runs, and its first process: it fixes the
        // user's profile and starts Wine's services, with no output of the test's to hold open.
        let quiet = |program: &Path, args: &[&str]| {
            let status = std::process::Command::new(program)
                .args(args)
                .env_clear()
                .envs(w.env())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("wine");
            assert!(status.success(), "{} {args:?}: {status}", program.display());
        };
        quiet(&w.wine.server(), &["-p"]);
        quiet(&w.wine.wine, &["cmd", "/c", "exit"]);
        w
    }

    /// The environment of a Windows process of this test's user: Wine's, and the simulator's
    /// endpoints (no HOME: Wine gives the program `USERPROFILE`, `APPDATA` and `LOCALAPPDATA` of
    /// the user's profile).
    fn env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .home
            .env(&self.sim.base_url)
            .into_iter()
            .filter(|(k, _)| !k.starts_with("HOME") && !k.starts_with("XDG_"))
            .collect();
        for (k, v) in [
            ("WINEPREFIX", self.prefix.path().display().to_string()),
            ("WINEDEBUG", "-all".into()),
            // No Mono or Gecko, and no menu entries on this desktop for Start menu shortcuts.
            (
                "WINEDLLOVERRIDES",
                "mscoree,mshtml=;winemenubuilder.exe=d".into(),
            ),
            ("USER", self.user.clone()),
            ("LOGNAME", self.user.clone()),
            ("PATH", std::env::var("PATH").unwrap_or_default()),
        ] {
            env.push((k.into(), v));
        }
        if let Ok(v) = std::env::var("SSOTRAY_LOG") {
            env.push(("SSOTRAY_LOG".into(), v));
        }
        env
    }

    /// `wine64 ssotray.exe ARGS` as this test's user.
    fn command(&self, args: &[&str], extra: &[(String, String)]) -> tokio::process::Command {
        self.program(self.wine.exe("ssotray.exe").as_os_str(), args, extra)
    }

    /// `wine64 PROGRAM ARGS` as this test's user, its output piped.
    fn program(
        &self,
        program: &std::ffi::OsStr,
        args: &[&str],
        extra: &[(String, String)],
    ) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.wine.wine);
        cmd.arg(program)
            .args(args)
            .env_clear()
            .envs(self.env())
            .envs(extra.iter().cloned())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    async fn ssotray(&self, args: &[&str]) -> Output {
        self.ssotray_with(args, &[]).await
    }

    async fn ssotray_with(&self, args: &[&str], extra: &[(String, String)]) -> Output {
        tokio::time::timeout(Duration::from_secs(120), self.command(args, extra).output())
            .await
            .unwrap_or_else(|_| panic!("ssotray.exe {args:?} did not end in 120 s"))
            .expect("wine64 ssotray.exe")
    }

    async fn stats(&self) -> serde_json::Value {
        stats(&self.sim.base_url).await
    }

    async fn log_in(&self) {
        assert_ok(
            &self
                .ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
                .await,
        );
    }

    /// A Linux program run with this user's Wine environment (botocore, which runs
    /// `wine64 ssotray.exe` as its credential_process).
    async fn linux(&self, program: &Path, args: &[&str]) -> Output {
        let mut env = self.env();
        env.push(("HOME".into(), self.home.path().display().to_string()));
        ssotray_tests::run(program, args, &env).await
    }
}

impl Drop for WinWorld {
    fn drop(&mut self) {
        // Ends the prefix's wineserver and every process of it.
        let _ = std::process::Command::new(self.wine.server())
            .arg("-k")
            .env("WINEPREFIX", self.prefix.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

#[tokio::test]
async fn windows_device_code_login_status_refresh_and_logout() {
    let w = WinWorld::new(ssotray_tests::CONFIG, auto()).await;
    w.log_in().await;

    // The token cache in %USERPROFILE%\.aws\sso\cache, exactly as the AWS CLI writes it.
    let file = w.home.token_file("my-sso");
    let token = w.home.token_json("my-sso");
    let keys: Vec<&String> = token.as_object().unwrap().keys().collect();
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
    let o = w.ssotray(&["status", "--json"]).await;
    assert_ok(&o);
    let status = json(&o);
    assert_eq!(status["sessions"][0]["name"], "my-sso");
    assert_eq!(status["sessions"][0]["state"], "valid");
    assert!(!stdout(&o).contains("aoa-"), "no token in the status");

    // A refresh replaces the access token and keeps another tool's key.
    let mut with_extra = token.clone();
    with_extra["someToolsKey"] = serde_json::json!("kept");
    std::fs::write(&file, serde_json::to_string(&with_extra).unwrap()).unwrap();
    assert_ok(&w.ssotray(&["refresh", "my-sso"]).await);
    let refreshed = w.home.token_json("my-sso");
    assert_ne!(refreshed["accessToken"], token["accessToken"]);
    assert_eq!(refreshed["someToolsKey"], "kept");
    assert_eq!(count(&w.stats().await, "CreateToken"), 2);
    // No temporary file is left beside it.
    let left: Vec<_> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // ssotray's own files are in the profile's AppData, not in a Linux-style ~/.config.
    assert!(
        w.home
            .path()
            .join("AppData/Local/ssotray/cache/registrations")
            .is_dir(),
        "registrations under %LOCALAPPDATA%\\ssotray"
    );
    assert!(!w.home.path().join(".config").exists());

    assert_ok(&w.ssotray(&["logout", "my-sso"]).await);
    assert!(!file.exists());
    assert_eq!(count(&w.stats().await, "Logout"), 1);
}

/// The config with a profile whose credential_process is `wine64 ssotray.exe`.
fn with_process_profile(wine: &Wine) -> String {
    format!(
        "{}\n[profile dev-proc]\ncredential_process = {} {} credentials --profile dev\n",
        ssotray_tests::CONFIG,
        wine.wine.display(),
        wine.exe("ssotray.exe").display()
    )
}

#[tokio::test]
async fn windows_botocore_runs_ssotray_exe_as_credential_process_and_reads_its_export() {
    let w = WinWorld::new(&with_process_profile(&wine()), auto()).await;
    w.log_in().await;
    let script = "import boto3,json; c=boto3.Session(profile_name='dev-proc').get_credentials().get_frozen_credentials(); print(json.dumps({'k': c.access_key, 't': bool(c.token)}))";
    let o = w.linux(&python(), &["-c", script]).await;
    assert_ok(&o);
    let v = json(&o);
    assert!(
        v["k"].as_str().unwrap().starts_with("ASIA") && v["t"] == true,
        "{v}"
    );
    // The role credentials are in the AWS CLI's cache in the profile, served again from there.
    let o = w.linux(&python(), &["-c", script]).await;
    assert_ok(&o);
    assert_eq!(json(&o)["k"], v["k"]);
    assert_eq!(count(&w.stats().await, "GetRoleCredentials"), 1);

    // --export-as writes a section into %USERPROFILE%\.aws\credentials (every other byte kept)
    // that botocore reads; --unexport takes it out again.
    let credentials = w.home.aws().join("credentials");
    let before =
        "# mine\r\n[static]\r\naws_access_key_id = AKIAEXAMPLE\r\naws_secret_access_key = s\r\n";
    std::fs::write(&credentials, before).unwrap();
    assert_ok(
        &w.ssotray(&["credentials", "--profile", "dev", "--export-as", "exported"])
            .await,
    );
    let text = std::fs::read_to_string(&credentials).unwrap();
    assert!(text.starts_with(before), "{text}");
    assert!(
        text.contains("[exported]") && text.contains("aws_session_token"),
        "{text}"
    );
    let read = "import boto3; print(boto3.Session(profile_name='exported').get_credentials().get_frozen_credentials().access_key)";
    let o = w.linux(&python(), &["-c", read]).await;
    assert_ok(&o);
    assert!(stdout(&o).trim().starts_with("ASIA"), "{}", stdout(&o));
    assert_ok(&w.ssotray(&["credentials", "--unexport", "exported"]).await);
    assert_eq!(std::fs::read_to_string(&credentials).unwrap(), before);
}

/// What Wine's credential manager holds for the test's user (`reg query` of its registry key).
fn credential_manager(w: &WinWorld) -> String {
    let o = std::process::Command::new(&w.wine.wine)
        .args([
            "reg",
            "query",
            r"HKCU\Software\Wine\Credential Manager",
            "/s",
        ])
        .env_clear()
        .envs(w.env())
        .stdin(Stdio::null())
        .output()
        .expect("wine64 reg");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test]
async fn windows_refresh_tokens_live_in_the_credential_manager() {
    let w = WinWorld::new(
        ssotray_tests::CONFIG,
        SimConfig {
            strict_rotation: true,
            ..auto()
        },
    )
    .await;
    w.log_in().await;
    assert_ok(&w.ssotray(&["keychain", "enable", "my-sso"]).await);
    let entry = "Generic: my-sso https://d-1234567890.awsapps.com/start.ssotray";
    assert!(
        credential_manager(&w).contains(entry),
        "{}",
        credential_manager(&w)
    );
    let file = || std::fs::read_to_string(w.home.token_file("my-sso")).unwrap();
    assert!(
        !file().contains("refreshToken") && !file().contains("clientSecret"),
        "{}",
        file()
    );
    // Under strict rotation the second refresh works only with the token the first one stored.
    assert_ok(&w.ssotray(&["refresh", "my-sso"]).await);
    assert_ok(&w.ssotray(&["refresh", "my-sso"]).await);
    assert!(!file().contains("refreshToken"));
    assert_eq!(count(&w.stats().await, "CreateToken"), 3);
    // Back into the file, as the AWS CLI needs it to refresh on its own; the entry goes.
    assert_ok(&w.ssotray(&["keychain", "disable", "my-sso"]).await);
    assert!(file().contains("refreshToken"));
    assert!(!credential_manager(&w).contains(entry));
}

#[tokio::test]
async fn windows_exec_serves_container_credentials_and_passes_the_exit_code_on() {
    let w = WinWorld::new(ssotray_tests::CONFIG, auto()).await;
    w.log_in().await;
    // The command is a Windows program that asks the container server as the SDKs do: GET the
    // full URI with the token in Authorization (JScript with WinHTTP, under Wine's cscript).
    // (A Linux program that Wine starts is no use here: Wine does not wait for it.)
    let script = w.home.path().join("ask.js");
    std::fs::write(
        &script,
        "var env = WScript.CreateObject('WScript.Shell').Environment('Process');\r\n\
         var r = WScript.CreateObject('WinHttp.WinHttpRequest.5.1');\r\n\
         r.Open('GET', env('AWS_CONTAINER_CREDENTIALS_FULL_URI'), false);\r\n\
         r.SetRequestHeader('Authorization', env('AWS_CONTAINER_AUTHORIZATION_TOKEN'));\r\n\
         r.Send();\r\n\
         WScript.Echo(r.Status + ' ' + r.ResponseText);\r\n",
    )
    .unwrap();
    let o = w
        .ssotray(&[
            "exec",
            "--profile",
            "dev",
            "--",
            "cscript",
            "//nologo",
            r"C:\users\USER\ask.js".replace("USER", &w.user).as_str(),
        ])
        .await;
    assert_ok(&o);
    let out = stdout(&o);
    let body = out
        .trim()
        .strip_prefix("200 ")
        .unwrap_or_else(|| panic!("{out}"));
    let creds: serde_json::Value = serde_json::from_str(body).unwrap();
    assert!(
        creds["AccessKeyId"].as_str().unwrap().starts_with("ASIA"),
        "{creds}"
    );
    assert!(
        creds["Token"].is_string() && creds["Expiration"].is_string(),
        "{creds}"
    );
    assert!(
        !stderr(&o).contains("job object"),
        "the command is in a job: {}",
        stderr(&o)
    );
    assert_eq!(count(&w.stats().await, "GetRoleCredentials"), 1);

    let o = w
        .ssotray(&["exec", "--profile", "dev", "--", "cmd", "/c", "exit", "3"])
        .await;
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let o = w
        .ssotray(&[
            "exec",
            "--profile",
            "dev",
            "--server",
            "env",
            "--",
            "cmd",
            "/c",
            "echo %AWS_ACCESS_KEY_ID%",
        ])
        .await;
    assert_ok(&o);
    assert!(stdout(&o).trim().starts_with("ASIA"), "{}", stdout(&o));
}

/// A `BROWSER` for Windows programs under Wine: a Linux script that finds the private page a
/// `file:///C:/…` URL names in the prefix, and follows the sign-in like a person clicking Allow.
fn wine_browser(w: &WinWorld) -> String {
    let dir = w.home.path().join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    let (script, _) = ssotray_tests::stand_in_browser(&dir, Some(""));
    let text = std::fs::read_to_string(&script).unwrap().replace(
        "page = open(urllib.parse.unquote(u[len('file://'):])).read()",
        &format!(
            "p = urllib.parse.unquote(u[len('file:///'):]); page = open({:?} + '/dosdevices/' + p[0].lower() + ':' + p[2:]).read()",
            w.prefix.path().display().to_string()
        ),
    );
    assert!(
        text.contains("dosdevices"),
        "the stand-in browser reads pages as it did"
    );
    std::fs::write(&script, text).unwrap();
    script.display().to_string()
}

#[tokio::test]
async fn windows_processes_needing_a_login_at_once_start_one_through_the_keeper_pipe() {
    let w = WinWorld::new(ssotray_tests::CONFIG, auto()).await;
    w.log_in().await;
    w.sim.end_all_sessions();
    let browser = ("BROWSER".to_string(), wine_browser(&w));
    let mut keep = w.command(&["keep"], &[browser]);
    let mut keep = keep
        .stdout(Stdio::null())
        .spawn()
        .expect("ssotray.exe keep");
    // Listening once it says so.
    let mut lines = tokio::io::BufReader::new(keep.stderr.take().unwrap()).lines();
    let said = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("ssotray keeper running") {
                return line;
            }
        }
        panic!("ssotray.exe keep ended");
    })
    .await
    .expect("the keeper listens within 60 s");
    assert!(said.contains("keeper.sock"), "{said}");
    let before = w.stats().await;
    // Only the keeper can open a browser: a login by any of them would fail.
    let none = [("BROWSER".to_string(), "false".to_string())];
    let runs: Vec<_> = (0..8)
        .map(|i| {
            let profile = if i % 2 == 0 { "dev" } else { "prod-ro" };
            let mut run = w.command(&["credentials", "--profile", profile, "--login"], &none);
            tokio::spawn(async move { run.output().await })
        })
        .collect();
    let mut keys = std::collections::BTreeSet::new();
    for run in runs {
        let o = run.await.unwrap().unwrap();
        assert_ok(&o);
        keys.insert(json(&o)["AccessKeyId"].as_str().unwrap().to_string());
    }
    let s = w.stats().await;
    let logins =
        |s: &serde_json::Value| count(s, "Authorize") + count(s, "StartDeviceAuthorization");
    assert_eq!(
        logins(&s) - logins(&before),
        1,
        "one login for 8 processes: {s}"
    );
    assert!(keys.len() >= 2, "credentials of both profiles: {keys:?}");
    let _ = keep.start_kill();
}

/// What `scripts/package windows` made in `dist/`: the zip and the installer.
fn windows_packages() -> (PathBuf, PathBuf) {
    let version = env!("CARGO_PKG_VERSION");
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist");
    let zip = dist.join(format!("ssotray-{version}-windows-x86_64.zip"));
    let setup = dist.join(format!("ssotray-{version}-windows-x86_64-setup.exe"));
    for p in [&zip, &setup] {
        assert!(
            p.exists(),
            "{} is missing: run scripts/package windows (scripts/test does)",
            p.display()
        );
    }
    (zip, setup)
}

impl WinWorld {
    /// `wine64 PROGRAM ARGS` as this test's user (a program of the packages, `reg`).
    async fn windows(&self, program: &str, args: &[&str]) -> Output {
        let mut cmd = self.program(program.as_ref(), args, &[]);
        tokio::time::timeout(Duration::from_secs(120), cmd.output())
            .await
            .unwrap_or_else(|_| panic!("{program} {args:?} did not end in 120 s"))
            .expect("wine64")
    }

    /// A value of the user's registry, as `reg query` prints it (`None`: no such value, as
    /// `reg` says it). A `reg` that fails otherwise is run again (twice at most), then the test
    /// fails with what it printed.
    async fn reg_value(&self, key: &str, value: &str) -> Option<String> {
        let mut said = String::new();
        for _ in 0..3 {
            let o = self.windows("reg", &["query", key, "/v", value]).await;
            if !o.status.success() {
                if stderr(&o).contains("Unable to find") || stdout(&o).contains("Unable to find") {
                    return None;
                }
                said = format!("{:?}: {}{}", o.status, stdout(&o), stderr(&o));
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            // "    Path    REG_EXPAND_SZ    C:\tools;C:\users\…"
            let found = stdout(&o).lines().find_map(|l| {
                let mut parts = l.trim().splitn(3, "    ");
                (parts.next()? == value).then(|| parts.nth(1).map(|d| d.trim().to_string()))?
            });
            match found {
                Some(v) => return Some(v),
                None => said = format!("no `{value}` line in: {}", stdout(&o)),
            }
        }
        panic!("reg query {key} /v {value}: {said}");
    }

    async fn reg_add(&self, key: &str, value: &str, kind: &str, data: &str) {
        assert_ok(
            &self
                .windows(
                    "reg",
                    &["add", key, "/v", value, "/t", kind, "/d", data, "/f"],
                )
                .await,
        );
    }
}

/// A user PATH of exactly `len` characters, of the entries people have (variables, spaces, a
/// trailing backslash, an empty entry).
fn long_path(len: usize) -> String {
    let mut path = String::new();
    let mut i = 0;
    while path.len() < len {
        let entry = match i % 4 {
            0 => format!(r"C:\tools\t{i:04}\bin"),
            1 => format!(r"%USERPROFILE%\.local\x{i:04}"),
            2 => format!(r"C:\Program Files\Vendor {i:04}\"),
            _ => String::new(),
        };
        if !path.is_empty() {
            path.push(';');
        }
        path.push_str(&entry);
        i += 1;
    }
    path.truncate(len);
    // Not ending in the separator, so the expected value below is plain.
    path.pop();
    path.push('z');
    path
}

/// Installs (twice: an upgrade) and uninstalls with a user PATH of `len` characters.
async fn install_and_uninstall_with_a_path_of(w: &WinWorld, setup: &Path, len: usize) {
    const ENV: &str = r"HKCU\Environment";
    const RUN: &str = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run";
    const UNINST: &str = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall\ssotray";
    let version = env!("CARGO_PKG_VERSION");
    let original = long_path(len);
    assert_eq!(original.len(), len);
    w.reg_add(ENV, "Path", "REG_EXPAND_SZ", &original).await;
    assert_eq!(
        w.reg_value(ENV, "Path").await.as_deref(),
        Some(original.as_str())
    );
    assert_ok(&w.windows(&setup.display().to_string(), &["/S"]).await);
    let dir_win = format!(r"C:\users\{}\AppData\Local\Programs\ssotray", w.user);
    let dir = w.home.path().join("AppData/Local/Programs/ssotray");
    for f in [
        "ssotray.exe",
        "ssotray-app.exe",
        "WebView2Loader.dll",
        "uninstall.exe",
        "README.txt",
    ] {
        assert!(
            dir.join(f).is_file(),
            "{f} installed in %LOCALAPPDATA%\\Programs\\ssotray"
        );
    }
    assert!(
        w.home
            .path()
            .join("AppData/Roaming/Microsoft/Windows/Start Menu/Programs/ssotray.lnk")
            .is_file(),
        "a Start menu shortcut"
    );
    let with_dir = format!("{original};{dir_win}");
    assert_eq!(
        w.reg_value(ENV, "Path").await.as_deref(),
        Some(with_dir.as_str()),
        "a PATH of {len} characters, the folder added once"
    );
    assert_eq!(
        w.reg_value(UNINST, "DisplayVersion").await.as_deref(),
        Some(version)
    );
    let o = w
        .windows(&format!(r"{dir_win}\ssotray.exe"), &["--version"])
        .await;
    assert_ok(&o);
    assert_eq!(stdout(&o).trim(), format!("ssotray {version}"));
    // Installing again (an upgrade) does not add the folder twice.
    assert_ok(&w.windows(&setup.display().to_string(), &["/S"]).await);
    assert_eq!(
        w.reg_value(ENV, "Path").await.as_deref(),
        Some(with_dir.as_str())
    );

    // Start at login, as the app writes it; then the uninstaller (it copies itself to %TEMP%
    // and runs from there, so its work is waited for by its results).
    w.reg_add(
        RUN,
        "ssotray",
        "REG_SZ",
        &format!(r"{dir_win}\ssotray-app.exe"),
    )
    .await;
    assert_ok(
        &w.windows(&format!(r"{dir_win}\uninstall.exe"), &["/S"])
            .await,
    );
    let mut gone = false;
    for _ in 0..120 {
        if !dir.exists() && w.reg_value(UNINST, "DisplayVersion").await.is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(gone, "the folder and the Apps & features entry are removed");
    assert!(!w
        .home
        .path()
        .join("AppData/Roaming/Microsoft/Windows/Start Menu/Programs/ssotray.lnk")
        .exists());
    let after = w.reg_value(ENV, "Path").await;
    if after.as_deref() != Some(original.as_str()) {
        // Seen once in a full run (the folder still on PATH): whether the edit came late or
        // never, for the next one who meets it. The test fails either way.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let later = w.reg_value(ENV, "Path").await;
        panic!(
            "the PATH of {len} characters is not as it was after the uninstall: {after:?}; 3 s later: {later:?} (as it was: {})",
            later.as_deref() == Some(original.as_str())
        );
    }
    assert_eq!(w.reg_value(RUN, "ssotray").await, None);
}

#[tokio::test]
async fn windows_zip_and_installer_install_for_the_user_and_uninstall_cleanly() {
    let (zip, setup) = windows_packages();
    let version = env!("CARGO_PKG_VERSION");
    let w = WinWorld::new(ssotray_tests::CONFIG, auto()).await;

    // The zip: both programs, the licences and a README under one folder; its ssotray.exe runs.
    let unpacked = tempfile::tempdir().unwrap();
    let o = std::process::Command::new("python3")
        .args(["-m", "zipfile", "-e"])
        .arg(&zip)
        .arg(unpacked.path())
        .output()
        .unwrap();
    assert_ok(&o);
    let top = unpacked.path().join(format!("ssotray-{version}"));
    let mut names: Vec<String> = std::fs::read_dir(&top)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "LICENSE-APACHE",
            "LICENSE-MIT",
            "README.txt",
            "WebView2Loader.dll",
            "ssotray-app.exe",
            "ssotray.exe"
        ]
    );
    // Both start: every DLL they import is in Windows or beside them (Wine loads the imports
    // before `main`, as Windows does, and fails with exit 53 when one is missing).
    for (exe, name) in [
        ("ssotray.exe", "ssotray"),
        ("ssotray-app.exe", "ssotray-app"),
    ] {
        let o = w
            .windows(&top.join(exe).display().to_string(), &["--version"])
            .await;
        assert_ok(&o);
        assert_eq!(stdout(&o).trim(), format!("{name} {version}"));
    }

    // Start at login, as `ssotray-app --autostart on|off` writes it: the current user's Run
    // value, its path quoted (Windows splits an unquoted one at its first space); turning it off
    // takes only that value, never the machine's (an administrator's).
    const RUN: &str = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run";
    const MACHINE_RUN: &str = r"HKLM\Software\Microsoft\Windows\CurrentVersion\Run";
    let app = top.join("ssotray-app.exe").display().to_string();
    w.reg_add(
        MACHINE_RUN,
        "ssotray",
        "REG_SZ",
        r"C:\Program Files\ssotray\ssotray-app.exe",
    )
    .await;
    assert_ok(&w.windows(&app, &["--autostart", "on"]).await);
    let written = w.reg_value(RUN, "ssotray").await.expect("the Run value");
    assert!(
        written.starts_with('"') && written.ends_with(r#"\ssotray-app.exe""#),
        "{written}"
    );
    assert_ok(&w.windows(&app, &["--autostart", "off"]).await);
    assert_eq!(w.reg_value(RUN, "ssotray").await, None);
    assert_eq!(
        w.reg_value(MACHINE_RUN, "ssotray").await.as_deref(),
        Some(r"C:\Program Files\ssotray\ssotray-app.exe"),
        "the machine's entry stays"
    );

    // The installer, as a user runs it silently, with PATHs longer than NSIS's strings (1024
    // characters in Debian's makensis): every entry the user had stays, byte for byte; the
    // folder is added once and taken off once. A start at login the app's setting wrote goes
    // with the uninstall.
    for len in [1000, 1100, 4000] {
        install_and_uninstall_with_a_path_of(&w, &setup, len).await;
    }
    // The user's own files stay.
    assert!(w.home.aws().join("config").is_file());
}
