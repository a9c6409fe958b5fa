//! ssotray-sim: a faithful simulator of AWS IAM Identity Center for tests and demos.
//!
//! One loopback base URL serves SSO-OIDC (`/client/register`, `/device_authorization`, `/token`,
//! `/authorize`), the access portal API (`/assignment/accounts`, `/assignment/roles`,
//! `/federation/credentials`, `/logout`), console federation (`/federation?Action=…`) with a fake
//! console page, the pages a person uses (consent and device pages), and `/_sim/stats`.
//! The wire format follows the AWS models (see the team's reference, `../shared/spec/identity-center.md`
//! beside this repository): real AWS SDKs
//! are pointed at it in the tests.
//!
//! It is an axum server ("spec §N" in comments points at the reference). The modules: `server` (the
//! router and one file per service), `state` (what the simulator remembers), `pages` (consent,
//! device and fake-console HTML), `org` (accounts and roles), `sigv4`. `start(SimConfig)` runs it
//! in-process on a random port; the binary adds the command line and signal handling. Switches for
//! tests: tokens that end with their session, a federation endpoint refusing `SessionDuration`,
//! strict rotation.

#![deny(missing_docs)]

pub mod org;
mod pages;
mod server;
mod sigv4;
mod state;

pub use org::{Account, Org};
pub use state::SimClock;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the simulator behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address to listen on (port 0: any free port).
    pub listen: SocketAddr,
    /// The accounts and roles.
    pub org: Org,
    /// Approve device codes at creation and `/authorize` at once.
    pub auto_approve: bool,
    /// Access-token lifetime.
    pub access_token_ttl: Duration,
    /// Portal-session lifetime: after it, refresh fails with InvalidGrantException.
    pub session_ttl: Duration,
    /// Device-authorization lifetime.
    pub device_code_ttl: Duration,
    /// Client-registration lifetime.
    pub registration_ttl: Duration,
    /// Role-credential lifetime.
    pub role_credentials_ttl: Duration,
    /// Portal requests per second allowed per access token (0: unlimited).
    pub rate_limit: f64,
    /// Added to every API answer.
    pub latency_ms: u64,
    /// Invalidate a refresh token as soon as it is used.
    pub strict_rotation: bool,
    /// Keep clients and sessions in this file across restarts.
    pub state_file: Option<PathBuf>,
    /// Answer refreshes without a new refresh token (Identity Center may do so; clients must
    /// keep the one they have).
    pub omit_refresh_token_on_refresh: bool,
    /// Access tokens never outlive their portal session: near its end they come cut short.
    pub tokens_end_with_session: bool,
    /// Refuse `SessionDuration` at the federation endpoint, as it does for role-chained
    /// credentials (clients must retry without it).
    pub refuse_session_duration: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            org: Org::default_org(),
            auto_approve: false,
            access_token_ttl: Duration::from_secs(3600),
            session_ttl: Duration::from_secs(28800),
            device_code_ttl: Duration::from_secs(600),
            registration_ttl: Duration::from_secs(90 * 24 * 3600),
            role_credentials_ttl: Duration::from_secs(3600),
            rate_limit: 20.0,
            latency_ms: 0,
            strict_rotation: false,
            state_file: None,
            omit_refresh_token_on_refresh: false,
            tokens_end_with_session: false,
            refuse_session_duration: false,
        }
    }
}

/// A running simulator.
pub struct RunningSim {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    shared: Arc<server::Shared>,
    /// The bound address.
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningSim {
    /// Ends every portal session now, as an administrator revoking them would: refresh then
    /// fails with InvalidGrantException and portal calls with UnauthorizedException. For tests
    /// that need a session to end at an exact point.
    pub fn end_all_sessions(&self) {
        let mut state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.shared.now_ms();
        for s in state.kept.sessions.values_mut() {
            s.ends_at_ms = s.ends_at_ms.min(now);
        }
    }

    /// The simulator's clock (clones share it): tests move it forward with [`SimClock::advance`].
    pub fn clock(&self) -> SimClock {
        self.shared.clock.clone()
    }

    /// From now on, GetRoleCredentials answers wait (their credentials already issued) until
    /// [`RunningSim::release_role_credentials`]: a barrier for tests of what a client does
    /// between fetching credentials and using them.
    pub fn hold_role_credentials(&self) {
        self.shared.gate.held.send_replace(true);
    }

    /// Lets the held GetRoleCredentials answers go (and the next ones through at once).
    pub fn release_role_credentials(&self) {
        self.shared.gate.held.send_replace(false);
    }

    /// How many GetRoleCredentials answers are waiting at the barrier.
    pub fn role_credentials_waiting(&self) -> usize {
        self.shared
            .gate
            .waiting
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Stops serving and waits for the server to end.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Waits until the server ends (it ends on `stop` or a fatal error).
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts the simulator on the current tokio runtime.
pub async fn start(config: SimConfig) -> std::io::Result<RunningSim> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let mut state = state::State::default();
    if let Some(path) = &config.state_file {
        match std::fs::read(path) {
            Ok(bytes) => {
                state.kept = serde_json::from_slice(&bytes).map_err(|e| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("state file `{}`: {e}", path.display()),
                    )
                })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    let shared = Arc::new(server::Shared {
        config,
        clock: SimClock::default(),
        state: Mutex::new(state),
        base_url: base_url.clone(),
        gate: server::Gate::default(),
    });
    let app = server::router(shared.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(RunningSim {
        base_url,
        shared,
        addr,
        shutdown: Some(tx),
        task,
    })
}
