//! `ssotray keep`: the keeper service in the foreground, for headless use — refreshes ahead,
//! estimates session ends, notifies (desktop notifications when a session bus is there, else
//! stderr), and owns logins for every `ssotray` process through its socket. The service is the
//! core's ([`ssotray_core::keep::service`]), the same the tray app runs.
//!
//! Its `Notifier` is notify-rust's (`ssotray_core::keep::desktop_notify`), whose buttons the keeper
//! carries out; where the notification server has no `actions` capability, there are no buttons and
//! the text names the command to run. The long-running container server runs when asked for. What
//! does not start ends `keep` with its message.

use crate::error::CliError;
use ssotray_core::keep::keeper::{Keeper, KeeperEvent, Notifier};
use ssotray_core::keep::service::{KeeperService, Options};
use ssotray_core::Engine;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Without a desktop: one line on stderr per event.
struct StderrNotifier;

impl Notifier for StderrNotifier {
    fn notify(&self, event: &KeeperEvent) {
        eprintln!("ssotray: {}: {}", event.summary(), event.body());
    }
}

pub async fn run(
    engine: Engine,
    notify: bool,
    container_server: Option<String>,
    rotate: bool,
) -> Result<(), CliError> {
    let (tx, rx) = mpsc::unbounded_channel();
    let desktop = notify
        && engine
            .context()
            .env
            .get_non_empty("DBUS_SESSION_BUS_ADDRESS")
            .is_some();
    let notifier: Arc<dyn Notifier> = if desktop {
        Arc::new(ssotray_core::keep::desktop_notify::DesktopNotifier::new(tx))
    } else {
        Arc::new(StderrNotifier)
    };
    let keeper = Arc::new(Keeper::new(engine, notifier));
    let (service, started) = KeeperService::start(
        keeper,
        Options {
            container_server,
            rotate_grants: rotate,
            socket_first: true,
        },
    )
    .await;
    // From the command line, each of these is what the user asked for: a failure ends `keep`.
    let path = started.socket?;
    eprintln!(
        "ssotray keeper running; logins for all ssotray processes go through {}",
        path.display()
    );
    if let Some(rotated) = started.rotated {
        eprintln!("{}", crate::container::rotated_message(&rotated?));
    }
    if let Some(serving) = started.container {
        let serving = serving?;
        if serving.removed_old_token {
            eprintln!("The single container token of earlier versions was removed: it unlocked every profile. Grant each container its profile with `ssotray container grant PROFILE`.");
        }
        eprintln!(
            "Serving container credentials on http://{}/profile/NAME for the granted profiles ({}); grants in {}",
            serving.address,
            if serving.granted.is_empty() {
                "none yet: `ssotray container grant PROFILE`".to_string()
            } else {
                serving.granted.join(", ")
            },
            serving.grants_dir.display()
        );
    }
    let stop = async {
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("signal handler");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    };
    service.run(rx, None, stop).await;
    // The socket is ours (the service holds the keeper lock): removed, then the lock let go.
    service.close();
    Ok(())
}
