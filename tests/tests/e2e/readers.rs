//! Real AWS clients read what ssotray wrote, refresh it their own way, and ssotray reads what
//! they rewrote: aws-sdk-rust's `aws-config` (through a probe program) and botocore (boto3).

use crate::cli::{auto, World};
use ssotray_tests::{assert_ok, bin, count, python, run, stdout, SimConfig, CONFIG};
use std::process::Output;
use std::time::Duration;

async fn aws_config_probe(w: &World, profile: &str) -> Output {
    let mut env = w.env();
    env.push(("AWS_PROFILE".into(), profile.into()));
    run(&bin("aws-config-probe"), &[], &env).await
}

const BOTO_SCRIPT: &str = r#"
import json, sys
import boto3
session = boto3.Session(profile_name=sys.argv[1])
creds = session.get_credentials().get_frozen_credentials()
print(json.dumps({"accessKeyId": creds.access_key, "hasSessionToken": bool(creds.token)}))
"#;

async fn botocore(w: &World, profile: &str) -> Output {
    let env = w.env();
    run(&python(), &["-c", BOTO_SCRIPT, profile], &env).await
}

fn access_key(o: &Output) -> String {
    let v: serde_json::Value =
        serde_json::from_str(stdout(o).trim()).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)));
    v["accessKeyId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn aws_config_gets_role_credentials_from_ssotrays_cache() {
    let w = World::new(CONFIG, auto()).await;
    assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    let token_before = w.home.token_json("my-sso");
    let o = aws_config_probe(&w, "dev").await;
    assert_ok(&o);
    assert!(access_key(&o).starts_with("ASIA"));
    let s = w.stats().await;
    assert_eq!(count(&s, "GetRoleCredentials"), 1);
    assert_eq!(
        count(&s, "CreateToken"),
        1,
        "a fresh token is used as it is"
    );
    assert_eq!(w.home.token_json("my-sso"), token_before);
}

#[tokio::test]
async fn aws_config_refreshes_a_near_expiry_token_and_ssotray_reads_its_rewrite() {
    // Four minutes: inside aws-sdk-rust's five-minute refresh window.
    // Strict rotation: each refresh token works once, so every hand-over below must pass on the
    // newest one.
    let w = World::new(
        CONFIG,
        SimConfig {
            access_token_ttl: Duration::from_secs(240),
            strict_rotation: true,
            ..auto()
        },
    )
    .await;
    assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    let before = w.home.token_json("my-sso");
    let o = aws_config_probe(&w, "prod-ro").await;
    assert_ok(&o);
    assert!(access_key(&o).starts_with("ASIA"));
    assert_eq!(
        count(&w.stats().await, "CreateToken"),
        2,
        "the SDK refreshed"
    );
    let after = w.home.token_json("my-sso");
    assert_ne!(after["accessToken"], before["accessToken"]);
    let raw = std::fs::read_to_string(w.home.token_file("my-sso")).unwrap();
    assert!(!raw.contains(before["accessToken"].as_str().unwrap()));

    // ssotray reads the SDK's rewrite (its own timestamp form) and refreshes with what it stored.
    let o = w.ssotray(&["status", "--json"]).await;
    assert_ok(&o);
    let status: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(status["sessions"][0]["state"], "valid", "{status}");
    assert_eq!(status["sessions"][0]["canRefresh"], true);
    assert_ok(&w.ssotray(&["refresh", "my-sso"]).await);
    assert_eq!(count(&w.stats().await, "CreateToken"), 3);
}

#[tokio::test]
async fn botocore_gets_role_credentials_for_session_and_legacy_profiles() {
    let w = World::new(CONFIG, auto()).await;
    assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    assert_ok(&w.ssotray(&["login", "old", "--no-browser"]).await);
    for profile in ["dev", "old"] {
        let o = botocore(&w, profile).await;
        assert_ok(&o);
        assert!(access_key(&o).starts_with("ASIA"), "{profile}");
    }
    let s = w.stats().await;
    assert_eq!(count(&s, "GetRoleCredentials"), 2);
    assert_eq!(
        count(&s, "CreateToken"),
        2,
        "botocore did not need to refresh"
    );
}

/// A start URL copied from the browser keeps its `#/`: botocore reads a value whole (its parser
/// has no inline comments) and keys the legacy token cache with it, and so does ssotray.
#[tokio::test]
async fn a_start_url_ending_in_a_hash_keys_the_token_cache_botocore_reads() {
    let url = "https://d-1234567890.awsapps.com/start/#/";
    let config = CONFIG.replace(
        "[profile old]\nsso_start_url = https://d-1234567890.awsapps.com/start\n",
        &format!("[profile old]\nsso_start_url = {url}\n"),
    );
    assert_ne!(config, CONFIG);
    let w = World::new(&config, auto()).await;
    assert_ok(&w.ssotray(&["login", "old", "--no-browser"]).await);
    let key = {
        use sha1::Digest;
        hex::encode(sha1::Sha1::digest(url.as_bytes()))
    };
    assert!(
        w.home.aws().join(format!("sso/cache/{key}.json")).exists(),
        "the token is not under sha1({url})"
    );
    let o = botocore(&w, "old").await;
    assert_ok(&o);
    assert!(access_key(&o).starts_with("ASIA"));
    let s = w.stats().await;
    assert_eq!(
        count(&s, "CreateToken"),
        1,
        "botocore found ssotray's token"
    );
    assert_eq!(count(&s, "GetRoleCredentials"), 1);
}

#[tokio::test]
async fn botocore_refreshes_in_place_and_ssotray_reads_and_refreshes_after_it() {
    // Ten minutes: inside botocore's fifteen-minute window.
    let w = World::new(
        CONFIG,
        SimConfig {
            access_token_ttl: Duration::from_secs(600),
            strict_rotation: true,
            ..auto()
        },
    )
    .await;
    assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    let before = w.home.token_json("my-sso");
    let o = botocore(&w, "dev").await;
    assert_ok(&o);
    assert_eq!(
        count(&w.stats().await, "CreateToken"),
        2,
        "botocore refreshed"
    );
    let after = w.home.token_json("my-sso");
    assert_ne!(after["accessToken"], before["accessToken"]);

    let o = w.ssotray(&["status", "--json"]).await;
    let status: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(status["sessions"][0]["state"], "valid", "{status}");
    assert_ok(&w.ssotray(&["refresh", "my-sso"]).await);
    // botocore reads ssotray's rewrite and refreshes again (ten minutes is inside its window)
    // with the refresh token ssotray stored: under strict rotation only that one works.
    let o = botocore(&w, "prod-ro").await;
    assert_ok(&o);
    assert_eq!(count(&w.stats().await, "CreateToken"), 4);
}
