//! Refresh tokens in a real Secret Service (gnome-keyring on a private D-Bus session bus).
//!
//! Entries are found with `secret-tool`; the keyring is locked and unlocked.

use crate::cli::{auto, World};
use ssotray_tests::{
    assert_fails_with, assert_ok, bin, count, python, run, stderr, stdout, Keyring, SimConfig,
    CONFIG,
};
use std::process::{Output, Stdio};
use std::time::Duration;

struct Setup {
    w: World,
    keyring: Keyring,
}

impl Setup {
    async fn new(sim: SimConfig) -> Setup {
        let w = World::new(CONFIG, sim).await;
        let keyring = Keyring::start(&w.home.path().join("keyring-home"));
        let s = Setup { w, keyring };
        assert_ok(
            &s.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
                .await,
        );
        s
    }

    fn env(&self) -> Vec<(String, String)> {
        self.w.env().into_iter().chain(self.keyring.env()).collect()
    }

    async fn ssotray(&self, args: &[&str]) -> Output {
        run(&bin("ssotray"), args, &self.env()).await
    }

    /// What `secret-tool` finds for service `ssotray` (it prints attributes on stderr).
    fn entry(&self) -> String {
        let o = self
            .keyring
            .secret_tool(&["search", "--all", "service", "ssotray"]);
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    }

    fn file(&self) -> String {
        std::fs::read_to_string(self.w.home.token_file("my-sso")).unwrap()
    }
}

const ACCOUNT: &str = "attribute.username = my-sso https://d-1234567890.awsapps.com/start";

#[tokio::test]
async fn the_refresh_token_lives_in_the_keychain_and_aws_readers_still_work() {
    let s = Setup::new(SimConfig {
        strict_rotation: true,
        ..auto()
    })
    .await;
    let o = s.ssotray(&["keychain", "enable", "my-sso"]).await;
    assert_ok(&o);
    let entry = s.entry();
    assert!(
        entry.contains("attribute.service = ssotray") && entry.contains(ACCOUNT),
        "{entry}"
    );
    let file = s.file();
    assert!(
        !file.contains("refreshToken") && !file.contains("clientSecret"),
        "{file}"
    );
    assert!(
        file.contains("\"accessToken\"")
            && file.contains("\"clientId\"")
            && file.contains("\"registrationExpiresAt\"")
    );
    assert_eq!(
        count(&s.w.stats().await, "RegisterClient"),
        1,
        "no new login"
    );

    // Refreshes take the refresh token from the keychain and put the rotated one back (under
    // strict rotation the second refresh only works with the token the first one stored).
    assert_ok(&s.ssotray(&["refresh", "my-sso"]).await);
    assert_ok(&s.ssotray(&["refresh", "my-sso"]).await);
    assert!(!s.file().contains("refreshToken"));
    let o = s.ssotray(&["status"]).await;
    assert!(stdout(&o).contains("can refresh"), "{}", stdout(&o));

    // AWS readers use the access token as it is.
    let script = "import boto3; c=boto3.Session(profile_name='dev').get_credentials().get_frozen_credentials(); print(c.access_key)";
    let o = run(&python(), &["-c", script], &s.env()).await;
    assert_ok(&o);
    assert!(stdout(&o).starts_with("ASIA"));
    let mut env = s.env();
    env.push(("AWS_PROFILE".into(), "prod-ro".into()));
    assert_ok(&run(&bin("aws-config-probe"), &[], &env).await);
    assert_eq!(
        count(&s.w.stats().await, "CreateToken"),
        3,
        "the readers did not refresh"
    );

    // Logout removes the entry.
    assert_ok(&s.ssotray(&["logout", "my-sso"]).await);
    assert!(s.keyring.alive());
    assert!(!s.entry().contains(ACCOUNT), "{}", s.entry());
}

#[tokio::test]
async fn disabling_restores_a_file_the_aws_cli_can_refresh_alone() {
    // Ten-minute tokens: botocore refreshes them itself.
    let s = Setup::new(SimConfig {
        access_token_ttl: Duration::from_secs(600),
        strict_rotation: true,
        ..auto()
    })
    .await;
    assert_ok(&s.ssotray(&["keychain", "enable"]).await);
    assert_ok(&s.ssotray(&["refresh", "my-sso"]).await);
    let o = s.ssotray(&["keychain", "disable", "my-sso"]).await;
    assert_ok(&o);
    assert!(
        s.file().contains("\"refreshToken\": \"aor-") && s.file().contains("\"clientSecret\": ")
    );
    assert!(s.keyring.alive());
    assert!(!s.entry().contains(ACCOUNT));
    let before = count(&s.w.stats().await, "CreateToken");
    let script = "import boto3; c=boto3.Session(profile_name='dev').get_credentials().get_frozen_credentials(); print(c.access_key)";
    let o = run(&python(), &["-c", script], &s.env()).await;
    assert_ok(&o);
    assert_eq!(
        count(&s.w.stats().await, "CreateToken"),
        before + 1,
        "botocore refreshed with the restored refresh token"
    );
    let o = s.ssotray(&["keychain", "status"]).await;
    assert!(
        stdout(&o)
            .contains("my-sso  keychain off; no keychain entry; refresh token in the token cache"),
        "{}",
        stdout(&o)
    );

    // The setting is on again while the file holds a refresh token (as when the AWS CLI logs in
    // again): the next refresh moves it into the keychain.
    let settings = s.w.home.path().join(".config/ssotray/settings.toml");
    let text = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(
        &settings,
        text.replace("keychain = false", "keychain = true"),
    )
    .unwrap();
    assert!(s.file().contains("refreshToken"));
    assert_ok(&s.ssotray(&["refresh", "my-sso"]).await);
    assert!(
        !s.file().contains("refreshToken") && !s.file().contains("clientSecret"),
        "{}",
        s.file()
    );
    assert!(s.entry().contains(ACCOUNT));
    assert_ok(&s.ssotray(&["refresh", "my-sso"]).await);
}

#[tokio::test]
async fn a_locked_keychain_gives_the_message_and_loses_nothing() {
    // Strict rotation: every refresh token works once, so "nothing lost" means the newest one
    // always survives somewhere ssotray can reach.
    let s = Setup::new(SimConfig {
        access_token_ttl: Duration::from_secs(20),
        strict_rotation: true,
        ..auto()
    })
    .await;
    assert_ok(&s.ssotray(&["keychain", "enable", "my-sso"]).await);
    let settings = s.w.home.path().join(".config/ssotray/settings.toml");
    let text = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(
        &settings,
        format!("{text}\n[keeper]\nrefresh_ahead = 15\nrefresh_jitter = 0\nrecheck = 1\n"),
    )
    .unwrap();

    let mut cmd = tokio::process::Command::new(bin("ssotray"));
    cmd.arg("keep")
        .arg("--no-notify")
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    cmd.env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(s.env());
    let mut keep = cmd.spawn().unwrap();
    let wait_refreshes = |n: u64| {
        let w = &s.w;
        async move {
            for _ in 0..160 {
                if count(&w.stats().await, "CreateToken") >= n {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            false
        }
    };
    assert!(
        wait_refreshes(2).await,
        "the keeper refreshed from the keychain"
    );

    // The keychain locks (screen lock): the keeper goes on refreshing from memory.
    s.keyring.lock();
    let after_lock = count(&s.w.stats().await, "CreateToken");
    assert!(
        wait_refreshes(after_lock + 1).await,
        "refreshed from memory with the keychain locked"
    );
    assert!(
        !s.file().contains("refreshToken"),
        "never silently back into the file"
    );

    // Another process meets the locked keychain: a clear message, no secret written.
    let o = s.ssotray(&["refresh", "my-sso"]).await;
    assert_fails_with(&o, "the OS keychain is not available or is locked");
    assert!(stderr(&o).contains("unlock it"));
    assert!(!s.file().contains("refreshToken"));
    // Turning the setting off still works: the running keeper, which holds the newest refresh
    // token in memory, writes it back into the file at its next refresh.
    let o = s.ssotray(&["keychain", "disable", "my-sso"]).await;
    assert_fails_with(
        &o,
        "keychain use for `my-sso` is now off, but the OS keychain is not available or is locked",
    );
    let mut back = false;
    for _ in 0..160 {
        if s.file().contains("\"refreshToken\": ") {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        back,
        "the keeper wrote the refresh token back: {}",
        s.file()
    );
    keep.kill().await.unwrap();

    // Unlocked again (the user logs back in): the old entry is still there and goes away on
    // `disable`, the file keeps the newest token, and it works.
    s.keyring.start_daemon(true);
    assert!(s.entry().contains(ACCOUNT), "not lost: {}", s.entry());
    assert_ok(&s.ssotray(&["keychain", "disable", "my-sso"]).await);
    assert!(s.keyring.alive());
    assert!(!s.entry().contains(ACCOUNT));
    assert_ok(&s.ssotray(&["refresh", "my-sso"]).await);
}

#[tokio::test]
async fn the_client_secret_follows_the_refresh_token_into_the_keychain() {
    let s = Setup::new(auto()).await;
    let registrations = s.w.home.path().join(".cache/ssotray/registrations");
    let files = || -> String {
        std::fs::read_dir(&registrations)
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        files().contains("clientSecret"),
        "before: the secret is in the registration file"
    );
    assert_ok(&s.ssotray(&["keychain", "enable", "my-sso"]).await);
    let kept = files();
    assert!(
        !kept.contains("clientSecret") && kept.contains("clientId"),
        "{kept}"
    );
    assert!(s.entry().contains("attribute.username = registration device-code my-sso https://d-1234567890.awsapps.com/start"), "{}", s.entry());
    // The next login reuses the registration, its secret read from the keychain.
    assert_ok(&s.ssotray(&["logout", "my-sso"]).await);
    assert_ok(
        &s.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    assert_eq!(
        count(&s.w.stats().await, "RegisterClient"),
        1,
        "registered once"
    );
    assert!(!files().contains("clientSecret"));
    // Turned off, the secret goes back into the file and out of the keychain.
    assert_ok(&s.ssotray(&["keychain", "disable", "my-sso"]).await);
    assert!(files().contains("clientSecret"));
    assert!(
        !s.entry().contains("registration device-code"),
        "{}",
        s.entry()
    );
}
