//! The `ssotray-sim` program itself: its one stdout line, its options, `--state` across
//! restarts, and a clean stop on SIGTERM.

use ssotray_tests::{bin, count};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

struct Sim {
    child: tokio::process::Child,
    base: String,
    rest_of_stdout: tokio::task::JoinHandle<String>,
}

async fn start(args: &[&str]) -> Sim {
    let mut child = tokio::process::Command::new(bin("ssotray-sim"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let base = line
        .strip_prefix("ssotray-sim listening on ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    // Whatever else comes on stdout is collected and checked when the simulator stops.
    let mut rest = lines.into_inner();
    let rest_of_stdout = tokio::spawn(async move {
        let mut extra = String::new();
        let _ = rest.read_to_string(&mut extra).await;
        extra
    });
    Sim {
        child,
        base,
        rest_of_stdout,
    }
}

async fn stop(mut sim: Sim) {
    let pid = sim.child.id().unwrap();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), sim.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
    let extra = sim.rest_of_stdout.await.unwrap();
    assert!(
        extra.is_empty(),
        "exactly one line on stdout; more came: {extra}"
    );
}

async fn register(base: &str) -> serde_json::Value {
    let body = serde_json::json!({"clientName": "t", "clientType": "public", "scopes": ["sso:account:access"]});
    reqwest::Client::new()
        .post(format!("{base}/client/register"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn start_device(base: &str, client: &serde_json::Value) -> reqwest::Response {
    let body = serde_json::json!({"clientId": client["clientId"], "clientSecret": client["clientSecret"], "startUrl": "https://x.awsapps.com/start"});
    reqwest::Client::new()
        .post(format!("{base}/device_authorization"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn prints_one_line_keeps_state_across_restarts_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let state_arg = state.to_str().unwrap();
    let sim = start(&["--state", state_arg]).await;
    let client = register(&sim.base).await;
    stop(sim).await;

    // A restarted simulator with the same state file still knows the client.
    let sim = start(&["--state", state_arg]).await;
    assert!(start_device(&sim.base, &client).await.status().is_success());
    stop(sim).await;

    // Without it, the client is unknown: InvalidClientException.
    let sim = start(&[]).await;
    let r = start_device(&sim.base, &client).await;
    assert_eq!(r.status(), 401);
    assert!(r.headers()["x-amzn-errortype"]
        .to_str()
        .unwrap()
        .starts_with("InvalidClientException:"));
    let stats: serde_json::Value = reqwest::get(format!("{}/_sim/stats", sim.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(stats.is_object());
    assert_eq!(count(&stats, "StartDeviceAuthorization"), 1);
    stop(sim).await;
}

async fn login(base: &str) -> String {
    let client = register(base).await;
    let auth: serde_json::Value = start_device(base, &client).await.json().await.unwrap();
    let body = serde_json::json!({"clientId": client["clientId"], "clientSecret": client["clientSecret"],
        "grantType": "urn:ietf:params:oauth:grant-type:device_code", "deviceCode": auth["deviceCode"]});
    let token: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/token"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["accessToken"].as_str().unwrap().to_string()
}

async fn account_names(base: &str, token: &str) -> Vec<String> {
    let r: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/assignment/accounts?max_result=100"))
        .header("x-amz-sso_bearer_token", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["accountList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["accountName"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn org_options_and_latency() {
    let sim = start(&["--auto-approve"]).await;
    let token = login(&sim.base).await;
    assert_eq!(
        account_names(&sim.base, &token).await,
        ["dev", "staging", "prod"]
    );
    stop(sim).await;

    let sim = start(&["--auto-approve", "--accounts", "3"]).await;
    let token = login(&sim.base).await;
    assert_eq!(
        account_names(&sim.base, &token).await,
        ["account-0001", "account-0002", "account-0003"]
    );
    stop(sim).await;

    let dir = tempfile::tempdir().unwrap();
    let org = dir.path().join("org.toml");
    std::fs::write(
        &org,
        "[[accounts]]\nid = \"123456789012\"\nname = \"sandbox\"\nroles = [\"Dev\"]\n",
    )
    .unwrap();
    let sim = start(&[
        "--auto-approve",
        "--latency-ms",
        "300",
        "--org",
        org.to_str().unwrap(),
    ])
    .await;
    let token = login(&sim.base).await;
    let begun = Instant::now();
    assert_eq!(account_names(&sim.base, &token).await, ["sandbox"]);
    assert!(
        begun.elapsed() >= Duration::from_millis(300),
        "the added latency is at least what was asked"
    );
    stop(sim).await;
}
