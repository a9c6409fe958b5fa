//! Loads credentials the way any program built on the AWS SDK for Rust does (`aws-config`'s
//! default chain, profile from `AWS_PROFILE`) and prints them as JSON on one line.
//! Exit 1 with the SDK's error on stderr when it cannot.

use aws_credential_types::provider::ProvideCredentials;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
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
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text.push_str(&format!(": {s}"));
                source = s.source();
            }
            eprintln!("{text}");
            std::process::exit(1);
        }
    }
}
