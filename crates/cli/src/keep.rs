//! `ssotray keep`: the keeper in the foreground, for headless use — refreshes ahead, estimates
//! session ends, notifies (desktop notifications when a session bus is there, else stderr), and
//! owns logins for every `ssotray` process through its socket.

use ssotray_core::keeper::{Keeper, KeeperEvent, Notifier};
use ssotray_core::owner;
use ssotray_core::{Engine, EngineError};
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
) -> Result<(), EngineError> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let desktop = notify
        && engine
            .context()
            .env
            .get_non_empty("DBUS_SESSION_BUS_ADDRESS")
            .is_some();
    let notifier: Arc<dyn Notifier> = if desktop {
        Arc::new(ssotray_core::desktop_notify::DesktopNotifier::new(tx))
    } else {
        Arc::new(StderrNotifier)
    };
    let keeper = Arc::new(Keeper::new(engine.clone(), notifier));

    let mut bound_socket = None;
    match owner::socket_path(&engine) {
        Some(path) => {
            let owner::Bound { listener, lock } = owner::bind(&path).await.map_err(EngineError::Local)?;
            bound_socket = Some((path.clone(), lock));
            let k = keeper.clone();
            let handler: owner::Handler = Arc::new(move |request| {
                let k = k.clone();
                Box::pin(async move { k.handle(request).await })
            });
            tokio::spawn(owner::serve(listener, handler));
            eprintln!("ssotray keeper running; logins for all ssotray processes go through {}", path.display());
        }
        None => eprintln!("ssotray keeper running (no XDG_RUNTIME_DIR: other processes coordinate through lock files)"),
    }

    if rotate {
        let rotated = engine.rotate_grants()?;
        eprintln!("{}", crate::container::rotated_message(&rotated));
    }
    // The container server: asked for with the flag, or turned on in the settings.
    let settings = engine.settings()?.container_server;
    let address = match container_server {
        Some(a) if !a.is_empty() => Some(a),
        Some(_) => Some(settings.address),
        None => settings.enabled.then_some(settings.address),
    };
    let _container_server = match address {
        Some(address) => {
            let k = keeper.clone();
            let login_needed: ssotray_core::credserver::LoginNeeded = Arc::new(move |target| {
                let k = k.clone();
                let session = target.display_name().to_string();
                tokio::spawn(async move {
                    k.handle(owner::Request::LoginNeeded { session }).await;
                });
            });
            let (running, had_old_token) =
                ssotray_core::credserver::start_long_running(&engine, &address, login_needed)
                    .await
                    .map_err(EngineError::Local)?;
            if had_old_token {
                eprintln!("The single container token of earlier versions was removed: it unlocked every profile. Grant each container its profile with `ssotray container grant PROFILE`.");
            }
            let granted = engine.grants()?;
            eprintln!(
                "Serving container credentials on http://{}/profile/NAME for the granted profiles ({}); grants in {}",
                running.address,
                if granted.is_empty() { "none yet: `ssotray container grant PROFILE`".to_string() } else { granted.join(", ") },
                running.grants_dir.display()
            );
            Some(running)
        }
        None => None,
    };

    let k = keeper.clone();
    tokio::spawn(async move {
        while let Some((session, action)) = rx.recv().await {
            let k = k.clone();
            tokio::spawn(async move {
                if let Err(e) = k.act(&session, action).await {
                    eprintln!("ssotray: {} for `{session}` failed: {e}", action.label());
                }
            });
        }
    });

    let wake = Arc::new(tokio::sync::Notify::new());
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
    keeper.run(wake, stop).await;
    // The socket is ours (we hold the keeper lock): remove it, then let the lock go.
    if let Some((path, lock)) = bound_socket {
        let _ = std::fs::remove_file(path);
        drop(lock);
    }
    Ok(())
}
