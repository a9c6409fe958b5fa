//! Accounts and roles, role credentials, console links and generated profiles, end to end.
//!
//! Discovery; credentials, `credential_process` read through botocore and aws-config; console
//! links; profile generation read back by botocore.

use crate::cli::{auto, World};
use ssotray_core::{Context, Engine, Selector};
use ssotray_tests::{
    assert_fails_with, assert_ok, bin, count, python, run, stderr, stdout, SimConfig, CONFIG,
};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

async fn logged_in(sim: SimConfig) -> World {
    let w = World::new(CONFIG, sim).await;
    assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    w
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

#[tokio::test]
async fn accounts_are_listed_across_pages_and_kept() {
    let w = logged_in(SimConfig {
        org: ssotray_sim::Org::generated(250),
        rate_limit: 0.0,
        ..auto()
    })
    .await;
    let o = w
        .ssotray(&["accounts", "--sso-session", "my-sso", "--refresh", "--json"])
        .await;
    assert_ok(&o);
    let inv = json(&o);
    let accounts = inv["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 250);
    assert_eq!(accounts[249]["accountName"], "account-0250");
    assert_eq!(
        accounts[0]["roles"],
        serde_json::json!(["AdministratorAccess", "ReadOnlyAccess"])
    );
    let s = w.stats().await;
    assert_eq!(count(&s, "ListAccounts"), 3, "pages of 100");
    assert_eq!(count(&s, "ListAccountRoles"), 250);

    // The kept list is shown at once, with no call at all.
    let o = w.ssotray(&["accounts"]).await;
    assert_ok(&o);
    assert_eq!(stdout(&o).lines().count(), 500);
    assert!(
        stdout(&o).starts_with("100000000001  account-0001  AdministratorAccess\n"),
        "{}",
        stdout(&o)
    );
    assert_eq!(count(&w.stats().await, "ListAccountRoles"), 250);
}

#[tokio::test]
async fn throttling_is_retried_to_a_complete_list_without_any_login() {
    let w = logged_in(SimConfig {
        org: ssotray_sim::Org::generated(40),
        rate_limit: 5.0,
        ..auto()
    })
    .await;
    let before = w.stats().await;
    // The client asks for 20 requests per second; the portal allows 5.
    let o = w.ssotray(&["accounts", "--refresh", "--json"]).await;
    assert_ok(&o);
    assert_eq!(json(&o)["accounts"].as_array().unwrap().len(), 40);
    assert!(
        json(&o)["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["roles"].as_array().unwrap().len() == 2),
        "no account lost its roles"
    );
    let s = w.stats().await;
    assert!(count(&s, "Throttled") > 0, "the portal did throttle: {s}");
    assert!(
        stderr(&o).contains(&format!("{} throttled and retried", count(&s, "Throttled"))),
        "{}",
        stderr(&o)
    );
    for op in [
        "StartDeviceAuthorization",
        "Authorize",
        "CreateToken",
        "RegisterClient",
    ] {
        assert_eq!(
            count(&s, op),
            count(&before, op),
            "{op}: a 429 never starts a login"
        );
    }

    // A rate limit at the portal's own: nothing is throttled.
    let o = w
        .ssotray(&["accounts", "--refresh", "--rate-limit", "4"])
        .await;
    assert_ok(&o);
    assert!(stderr(&o).contains(" 0 throttled"), "{}", stderr(&o));
}

#[tokio::test]
async fn a_session_that_ends_mid_discovery_keeps_the_last_good_list() {
    let w = logged_in(SimConfig {
        org: ssotray_sim::Org::generated(60),
        ..auto()
    })
    .await;
    assert_ok(&w.ssotray(&["accounts", "--refresh"]).await);
    let kept = std::fs::read_dir(w.home.path().join(".cache/ssotray/accounts"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let kept_bytes = std::fs::read(&kept).unwrap();

    // The same discovery in-process, with the session ended by the administrator after 10 accounts.
    let env: Vec<(String, String)> = w.env();
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let engine = Engine::new(Context {
        env: ssotray_core::platform::os::Env::from_slice(&env_refs),
        ..Context::real()
    });
    let config = engine.load_config().unwrap();
    let target = engine
        .resolve(&config, &Selector::Session("my-sso".into()))
        .unwrap();
    let ended = AtomicBool::new(false);
    let sim = &w.sim;
    let progress = |p: ssotray_core::ops::discovery::Progress| {
        if p.roles_done == 10 && !ended.swap(true, Ordering::SeqCst) {
            sim.end_all_sessions();
        }
    };
    let err = engine
        .discover(&target, None, &progress)
        .await
        .unwrap_err()
        .to_string();
    assert!(ended.load(Ordering::SeqCst));
    assert!(
        err.starts_with("session ended while listing accounts of `my-sso` (the list fetched at "),
        "{err}"
    );
    assert!(
        err.ends_with("is kept); run `ssotray login my-sso`"),
        "{err}"
    );
    assert_eq!(std::fs::read(&kept).unwrap(), kept_bytes);
    assert!(
        count(&w.stats().await, "ListAccountRoles") < 120,
        "stopped early"
    );

    // The CLI says the same and still shows the kept list.
    let o = w.ssotray(&["accounts", "--refresh"]).await;
    assert_fails_with(
        &o,
        "session ended while listing accounts of `my-sso` (the list fetched at ",
    );
    assert!(stderr(&o).contains("is kept); run `ssotray login my-sso`"));
    let o = w.ssotray(&["accounts"]).await;
    assert_ok(&o);
    assert_eq!(stdout(&o).lines().count(), 120);
}

#[tokio::test]
async fn roles_added_and_removed_are_reported() {
    let w = logged_in(auto()).await;
    // A kept list from "before": staging had an extra role, prod's PowerUserAccess is new.
    assert_ok(&w.ssotray(&["accounts", "--refresh"]).await);
    let path = std::fs::read_dir(w.home.path().join(".cache/ssotray/accounts"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut inv: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    inv["accounts"][1]["roles"] = serde_json::json!(["ReadOnlyAccess", "Billing"]);
    inv["accounts"][2]["roles"] = serde_json::json!(["ReadOnlyAccess"]);
    std::fs::write(&path, inv.to_string()).unwrap();
    let o = w.ssotray(&["accounts", "--refresh", "--json"]).await;
    assert_ok(&o);
    assert!(
        stderr(&o)
            .contains("- staging (222222222222) Billing\n+ prod (333333333333) PowerUserAccess\n"),
        "{}",
        stderr(&o)
    );
    assert_eq!(json(&o)["changes"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn credentials_are_cached_for_the_aws_cli_and_reused() {
    let w = logged_in(auto()).await;
    let o = w.ssotray(&["credentials", "--profile", "dev"]).await;
    assert_ok(&o);
    let c = json(&o);
    assert_eq!(c["Version"], 1);
    assert!(c["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    assert!(c["Expiration"].as_str().unwrap().ends_with('Z'));
    let target = ssotray_core::SsoTarget {
        session_name: Some("my-sso".into()),
        start_url: String::new(),
        region: String::new(),
        scopes: vec![],
    };
    let file = w.home.aws().join("cli/cache").join(
        ssotray_core::aws::cache::role_credential_cache_file_name(
            "111111111111",
            "AdministratorAccess",
            &target,
        ),
    );
    let cached: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(cached["ProviderType"], "sso");
    assert_eq!(cached["Credentials"]["AccessKeyId"], c["AccessKeyId"]);
    assert_eq!(cached["Credentials"]["AccountId"], "111111111111");

    // Reused: same keys, no call.
    let o = w.ssotray(&["credentials", "--profile", "dev"]).await;
    assert_eq!(json(&o)["AccessKeyId"], c["AccessKeyId"]);
    assert_eq!(count(&w.stats().await, "GetRoleCredentials"), 1);

    let o = w
        .ssotray(&["credentials", "--profile", "dev", "--export"])
        .await;
    assert!(stdout(&o).starts_with(&format!(
        "export AWS_ACCESS_KEY_ID='{}'\n",
        c["AccessKeyId"].as_str().unwrap()
    )));
    let o = w
        .ssotray(&[
            "credentials",
            "--profile",
            "dev",
            "--env",
            "--",
            "sh",
            "-c",
            "test \"$AWS_ACCESS_KEY_ID\" = \"$1\" && exit 7",
            "sh",
            c["AccessKeyId"].as_str().unwrap(),
        ])
        .await;
    assert_eq!(
        o.status.code(),
        Some(7),
        "the command ran with the credentials and its exit status is passed on"
    );

    // `ssotray logout` clears them like `aws sso logout`.
    assert_ok(&w.ssotray(&["logout", "my-sso"]).await);
    assert!(!file.exists());
}

#[tokio::test]
async fn a_cli_cache_file_ssotray_cannot_read_is_left_alone() {
    let w = logged_in(auto()).await;
    let target = ssotray_core::SsoTarget {
        session_name: Some("my-sso".into()),
        start_url: String::new(),
        region: String::new(),
        scopes: vec![],
    };
    let file = w.home.aws().join("cli/cache").join(
        ssotray_core::aws::cache::role_credential_cache_file_name(
            "111111111111",
            "AdministratorAccess",
            &target,
        ),
    );
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "{\"half\": ").unwrap();
    let o = w.ssotray(&["credentials", "--profile", "dev"]).await;
    assert_ok(&o);
    assert!(json(&o)["AccessKeyId"]
        .as_str()
        .unwrap()
        .starts_with("ASIA"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "{\"half\": ");
}

#[tokio::test]
async fn credentials_close_to_expiry_are_fetched_anew() {
    let w = logged_in(SimConfig {
        role_credentials_ttl: Duration::from_secs(600),
        ..auto()
    })
    .await;
    let a = json(&w.ssotray(&["credentials", "--profile", "dev"]).await);
    let b = json(&w.ssotray(&["credentials", "--profile", "dev"]).await);
    assert_ne!(
        a["AccessKeyId"], b["AccessKeyId"],
        "ten minutes left is less than the fifteen required"
    );
    assert_eq!(count(&w.stats().await, "GetRoleCredentials"), 2);
}

#[tokio::test]
async fn credentials_never_open_a_browser_and_say_how_to_log_in() {
    let w = World::new(CONFIG, auto()).await;
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("opened");
    let mut env = w.env();
    env.push(("BROWSER".into(), format!("touch {}", marker.display())));
    let o = run(&bin("ssotray"), &["credentials", "--profile", "dev"], &env).await;
    assert_fails_with(&o, "not logged in to `my-sso`; run `ssotray login my-sso`");
    assert!(stdout(&o).is_empty());

    assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    w.sim.end_all_sessions();
    let o = run(
        &bin("ssotray"),
        &["credentials", "--profile", "prod-ro"],
        &env,
    )
    .await;
    assert_fails_with(
        &o,
        "the portal session of `my-sso` has ended; run `ssotray login my-sso`",
    );
    assert!(stdout(&o).is_empty(), "never stale credentials");
    assert!(!marker.exists(), "no browser was opened");
    assert_eq!(
        count(&w.stats().await, "StartDeviceAuthorization"),
        1,
        "only the explicit login"
    );

    let o = run(&bin("ssotray"), &["credentials", "--profile", "nope"], &env).await;
    assert_fails_with(&o, "no SSO profile `nope`");
}

const PROCESS_PROFILES: &str =
    "\n[profile dev-proc]\ncredential_process = {BIN} credentials --profile dev\n";

fn with_process_profile() -> String {
    format!(
        "{CONFIG}{}",
        PROCESS_PROFILES.replace("{BIN}", bin("ssotray").to_str().unwrap())
    )
}

#[tokio::test]
async fn credential_process_serves_botocore_and_aws_config() {
    let w = World::new(&with_process_profile(), auto()).await;
    assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    let script = "import boto3,json; c=boto3.Session(profile_name='dev-proc').get_credentials().get_frozen_credentials(); print(json.dumps({'k': c.access_key, 't': bool(c.token)}))";
    let o = run(&python(), &["-c", script], &w.env()).await;
    assert_ok(&o);
    let v = json(&o);
    assert!(
        v["k"].as_str().unwrap().starts_with("ASIA") && v["t"] == true,
        "{v}"
    );

    let mut env = w.env();
    env.push(("AWS_PROFILE".into(), "dev-proc".into()));
    let o = run(&bin("aws-config-probe"), &[], &env).await;
    assert_ok(&o);
    let p = json(&o);
    assert_eq!(
        p["accessKeyId"], v["k"],
        "the same cached credentials served twice"
    );
    assert!(p["expiry"].is_string());
    assert_eq!(count(&w.stats().await, "GetRoleCredentials"), 1);
}

#[tokio::test]
async fn console_url_lands_on_the_right_account_and_role() {
    let w = logged_in(auto()).await;
    let o = w.ssotray(&["console", "--profile", "dev", "--print"]).await;
    assert_ok(&o);
    let url = stdout(&o).trim().to_string();
    assert!(
        url.starts_with(&format!(
            "{}/federation?Action=login&Issuer=ssotray&Destination=",
            w.sim.base_url
        )),
        "{url}"
    );
    assert!(
        !stderr(&o).contains("SigninToken"),
        "the sign-in URL is not logged"
    );
    let page = reqwest::get(&url).await.unwrap();
    assert!(page.url().path().starts_with("/console/"));
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<span id=\"account-id\">111111111111</span>"),
        "{html}"
    );
    assert!(html.contains("<span id=\"role-name\">AdministratorAccess</span>"));
    // The profile's region picks the console home.
    assert!(
        html.contains("https://console.aws.amazon.com/console/home?region=us-west-2"),
        "{html}"
    );
    let s = w.stats().await;
    assert_eq!(
        (count(&s, "GetRoleCredentials"), count(&s, "GetSigninToken")),
        (1, 1)
    );

    // By session, account and role, with a destination.
    let dest = "https://console.aws.amazon.com/s3/home";
    let o = w
        .ssotray(&[
            "console",
            "--sso-session",
            "my-sso",
            "--account-id",
            "333333333333",
            "--role-name",
            "ReadOnlyAccess",
            "--destination",
            dest,
            "--print",
        ])
        .await;
    assert_ok(&o);
    let html = reqwest::get(stdout(&o).trim())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("333333333333") && html.contains("ReadOnlyAccess") && html.contains(dest),
        "{html}"
    );

    // A sign-in token is good once: the same URL does not sign in again.
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 400);

    let o = w
        .ssotray(&["console", "--profile", "dev", "--print", "--portal-link"])
        .await;
    assert_eq!(
        stdout(&o).trim(),
        "https://d-1234567890.awsapps.com/start/#/console?account_id=111111111111&role_name=AdministratorAccess&destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fconsole%2Fhome%3Fregion%3Dus-west-2"
    );
    let o = w
        .ssotray(&[
            "console",
            "--sso-session",
            "my-sso",
            "--account-id",
            "111111111111",
            "--role-name",
            "Nope",
            "--print",
        ])
        .await;
    assert_fails_with(&o, "no access to role `Nope` in account 111111111111");
}

#[tokio::test]
async fn console_opens_with_the_sessions_browser_command() {
    let w = logged_in(auto()).await;
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("opened.txt");
    let script = tmp.path().join("work-browser.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s\\n' \"$2\" > '{}'\n", log.display()),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let settings = w.home.path().join(".config/ssotray/settings.toml");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(
        &settings,
        format!(
            "[sessions.my-sso]\nbrowser = \"{} --profile-work %s\"\n",
            script.display()
        ),
    )
    .unwrap();
    let o = w.ssotray(&["console", "--profile", "prod-ro"]).await;
    assert_ok(&o);
    assert!(
        !stderr(&o).contains("http"),
        "no URL on the terminal: {}",
        stderr(&o)
    );
    let mut url = String::new();
    for _ in 0..100 {
        url = std::fs::read_to_string(&log).unwrap_or_default();
        if !url.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The browser gets a private page that leads to the sign-in URL.
    let page_path = url::Url::parse(url.trim()).unwrap().to_file_path().unwrap();
    let page = std::fs::read_to_string(page_path).unwrap();
    let signin = ssotray_core::ops::private_open::target_of_page(&page)
        .expect("a page leading to the sign-in URL");
    let html = reqwest::get(signin).await.unwrap().text().await.unwrap();
    assert!(
        html.contains("333333333333") && html.contains("ReadOnlyAccess"),
        "{html}"
    );
}

/// A config as people really write it: comments, blank lines, odd spacing, no final newline.
const MESSY: &str = "# work accounts\n;; managed by hand\n\n[sso-session my-sso]\nsso_start_url=https://d-1234567890.awsapps.com/start\nsso_region   =   us-east-1\n\n\n[profile dev]   \nsso_session = my-sso\n# keep this comment\nsso_account_id = 111111111111\nsso_role_name = AdministratorAccess\n[profile prod.ReadOnlyAccess]\nregion = eu-west-1\n\t; tabbed comment";

#[tokio::test]
async fn generated_profiles_keep_every_user_byte_and_botocore_reads_them() {
    let w = World::new(MESSY, auto()).await;
    assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    let config_path = w.home.aws().join("config");

    let o = w
        .ssotray(&[
            "profiles",
            "generate",
            "--sso-session",
            "my-sso",
            "--dry-run",
        ])
        .await;
    assert_ok(&o);
    assert!(
        stdout(&o).contains("+[profile dev.AdministratorAccess]\n"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        std::fs::read_to_string(&config_path).unwrap(),
        MESSY,
        "a dry run writes nothing"
    );

    let o = w
        .ssotray(&["profiles", "generate", "--sso-session", "my-sso"])
        .await;
    assert_ok(&o);
    let written = std::fs::read_to_string(&config_path).unwrap();
    assert!(written.starts_with(MESSY), "the user's bytes are untouched");
    let expected_tail = "\n\n# BEGIN ssotray profiles for sso-session my-sso (written by `ssotray profiles generate`; changes inside this block are replaced)\n\
[profile dev.AdministratorAccess]\nsso_session = my-sso\nsso_account_id = 111111111111\nsso_role_name = AdministratorAccess\n\n\
[profile dev.ReadOnlyAccess]\nsso_session = my-sso\nsso_account_id = 111111111111\nsso_role_name = ReadOnlyAccess\n\n\
[profile prod.PowerUserAccess]\nsso_session = my-sso\nsso_account_id = 333333333333\nsso_role_name = PowerUserAccess\n\n\
[profile prod.ReadOnlyAccess-333333333333]\nsso_session = my-sso\nsso_account_id = 333333333333\nsso_role_name = ReadOnlyAccess\n\n\
[profile staging.ReadOnlyAccess]\nsso_session = my-sso\nsso_account_id = 222222222222\nsso_role_name = ReadOnlyAccess\n\n\
# END ssotray profiles for sso-session my-sso\n";
    assert_eq!(&written[MESSY.len()..], expected_tail);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&config_path)
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o644,
            "the file keeps its mode"
        );
    }

    // Running again changes nothing.
    assert_ok(
        &w.ssotray(&["profiles", "generate", "--sso-session", "my-sso"])
            .await,
    );
    assert_eq!(std::fs::read_to_string(&config_path).unwrap(), written);

    // botocore reads the new profiles and uses one.
    let script = "import boto3,json; s=boto3.Session(); print(json.dumps(sorted(s.available_profiles))); c=boto3.Session(profile_name='staging.ReadOnlyAccess').get_credentials().get_frozen_credentials(); print(c.access_key)";
    let o = run(&python(), &["-c", script], &w.env()).await;
    assert_ok(&o);
    let out = stdout(&o);
    let mut lines = out.lines();
    let profiles: Vec<String> = serde_json::from_str(lines.next().unwrap()).unwrap();
    for p in [
        "dev",
        "dev.AdministratorAccess",
        "dev.ReadOnlyAccess",
        "prod.PowerUserAccess",
        "prod.ReadOnlyAccess",
        "prod.ReadOnlyAccess-333333333333",
        "staging.ReadOnlyAccess",
    ] {
        assert!(profiles.contains(&p.to_string()), "{p} in {profiles:?}");
    }
    assert!(lines.next().unwrap().starts_with("ASIA"));
}

#[tokio::test]
async fn a_console_link_is_made_again_without_a_duration_the_endpoint_refuses() {
    // The federation endpoint refuses SessionDuration (as AWS does for chained credentials):
    // ssotray asks again without it and the link still signs in.
    let w = logged_in(SimConfig {
        refuse_session_duration: true,
        ..auto()
    })
    .await;
    let o = w.ssotray(&["console", "--profile", "dev", "--print"]).await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        count(&w.stats().await, "GetSigninToken"),
        2,
        "asked with the duration, then without"
    );
    let html = reqwest::get(stdout(&o).trim())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("111111111111"), "{html}");
}

/// An issuer URL as `sso_start_url` (the AWS CLI takes it interchangeably since 2.22): logins,
/// credentials and federated consoles work; a portal link, which no portal serves there, is
/// refused with a message that names the federation link.
#[tokio::test]
async fn an_issuer_url_logs_in_and_serves_credentials_but_makes_no_portal_link() {
    let issuer = "https://identitycenter.amazonaws.com/ssoins-72234e1d20e1e68d";
    let config = CONFIG.replacen(
        "sso_start_url = https://d-1234567890.awsapps.com/start",
        &format!("sso_start_url = {issuer}"),
        1,
    );
    let w = World::new(&config, auto()).await;
    assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    let token = w.home.token_json("my-sso");
    assert_eq!(token["startUrl"], issuer);
    let o = w.ssotray(&["credentials", "--profile", "dev"]).await;
    assert_ok(&o);
    assert_eq!(json(&o)["Version"], 1);
    let o = w.ssotray(&["console", "--profile", "dev", "--print"]).await;
    assert_ok(&o);
    assert!(stdout(&o).contains("SigninToken="), "{}", stdout(&o));
    let o = w
        .ssotray(&["console", "--profile", "dev", "--print", "--portal-link"])
        .await;
    assert_fails_with(
        &o,
        "is the Identity Center issuer URL, not an access portal",
    );
    assert!(
        stderr(&o).contains("federation link") && stdout(&o).is_empty(),
        "{}",
        stderr(&o)
    );
}
