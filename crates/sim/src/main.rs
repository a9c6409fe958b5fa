//! `ssotray-sim`: runs the Identity Center simulator until SIGINT/SIGTERM.

use anyhow::Context as _;
use clap::Parser;
use ssotray_sim::{Org, SimConfig};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A faithful simulator of AWS IAM Identity Center (SSO-OIDC, access portal, console sign-in).
///
/// Point AWS clients at it with AWS_ENDPOINT_URL_SSO_OIDC and AWS_ENDPOINT_URL_SSO (or AWS_ENDPOINT_URL)
/// set to the printed base URL.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// TOML file describing the org: [[accounts]] with id, name, email, roles.
    #[arg(long, value_name = "FILE.toml")]
    org: Option<PathBuf>,
    /// Approve device codes at creation and /authorize at once (for scripts).
    #[arg(long)]
    auto_approve: bool,
    /// Access-token lifetime in seconds.
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    access_token_ttl: u64,
    /// Portal-session lifetime in seconds.
    #[arg(long, default_value_t = 28800, value_name = "SECS")]
    session_ttl: u64,
    /// Device-authorization lifetime in seconds.
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    device_code_ttl: u64,
    /// Role-credential lifetime in seconds.
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    role_credentials_ttl: u64,
    /// Portal requests per second per access token before TooManyRequestsException (0: no limit).
    #[arg(long, default_value_t = 20.0, value_name = "TPS")]
    rate_limit: f64,
    /// Latency added to every API answer, in milliseconds.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    latency_ms: u64,
    /// Replace the org with N generated accounts (account-0001…).
    #[arg(long, value_name = "N", conflicts_with = "org")]
    accounts: Option<usize>,
    /// Invalidate each refresh token as soon as it is used.
    #[arg(long)]
    strict_rotation: bool,
    /// Access tokens never outlive their portal session (they come cut short near its end).
    #[arg(long)]
    tokens_end_with_session: bool,
    /// Refuse SessionDuration at the federation endpoint, as AWS does for role-chained credentials.
    #[arg(long)]
    refuse_session_duration: bool,
    /// Keep registered clients and sessions in this file across restarts.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let org = match (&args.org, args.accounts) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read org file `{}`", path.display()))?;
            Org::from_toml(&text)
                .map_err(|e| anyhow::anyhow!("org file `{}`: {e}", path.display()))?
        }
        (None, Some(n)) => Org::generated(n),
        (None, None) => Org::default_org(),
    };
    let config = SimConfig {
        listen: args.listen,
        org,
        auto_approve: args.auto_approve,
        access_token_ttl: Duration::from_secs(args.access_token_ttl),
        session_ttl: Duration::from_secs(args.session_ttl),
        device_code_ttl: Duration::from_secs(args.device_code_ttl),
        role_credentials_ttl: Duration::from_secs(args.role_credentials_ttl),
        rate_limit: args.rate_limit,
        latency_ms: args.latency_ms,
        strict_rotation: args.strict_rotation,
        state_file: args.state,
        tokens_end_with_session: args.tokens_end_with_session,
        refuse_session_duration: args.refuse_session_duration,
        ..SimConfig::default()
    };
    let sim = ssotray_sim::start(config)
        .await
        .context("cannot start the simulator")?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "ssotray-sim listening on {}", sim.base_url)?;
        out.flush()?;
    }
    stopped().await?;
    sim.stop().await;
    Ok(())
}

/// Until Ctrl+C (or, on Unix, SIGTERM).
async fn stopped() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await
}
