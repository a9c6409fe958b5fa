//! Loads credentials the way any program built on the AWS SDK for Rust does (`aws-config`'s
//! default chain, profile from `AWS_PROFILE`) and prints them as JSON on one line.
//! Exit 1 with the SDK's error on stderr when it cannot.
//!
//! With `PROBE_CALLER_IDENTITY_SECONDS=N`, it is instead a program that works for N seconds: one
//! STS client (the SDK's own credentials cache, refreshing by itself) calls GetCallerIdentity
//! every second and prints a JSON line per call (`{"ok":true,"arn":…}` or `{"ok":false,"error":…}`).

use aws_credential_types::provider::ProvideCredentials;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    if let Some(seconds) = std::env::var("PROBE_CALLER_IDENTITY_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        let sts = aws_sdk_sts::Client::new(&config);
        let end = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
        while std::time::Instant::now() < end {
            let line = match sts.get_caller_identity().send().await {
                Ok(r) => serde_json::json!({"ok": true, "arn": r.arn()}),
                Err(e) => serde_json::json!({"ok": false, "error": chain(&e)}),
            };
            println!("{line}");
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        return;
    }
    let Some(provider) = config.credentials_provider() else {
        eprintln!("no credentials provider");
        std::process::exit(1);
    };
    match provider.provide_credentials().await {
        Ok(c) => {
            let expiry = c
                .expiry()
                .map(|t| chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339());
            println!(
                "{}",
                serde_json::json!({
                    "accessKeyId": c.access_key_id(),
                    "hasSecret": !c.secret_access_key().is_empty(),
                    "hasSessionToken": c.session_token().is_some(),
                    "expiry": expiry,
                })
            );
        }
        Err(e) => {
            // The whole error chain: the SDK's own words are what the test checks.
            eprintln!("{}", chain(&e));
            std::process::exit(1);
        }
    }
}

/// An error with all its causes, one after the other.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}
