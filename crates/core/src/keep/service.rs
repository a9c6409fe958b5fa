//! The keeper as a service, one for both shells (`ssotray keep` and the tray app): the keeper's
//! loop, its socket (bound, served to this user's processes, removed when the service closes),
//! the long-running container server with its `login_needed` hook, and the loop that carries out
//! what the user clicks in a notification.
//!
//! A shell starts it ([`KeeperService::start`]), shows what [`Started`] says its own way (stderr;
//! a log line and a notification), and runs it ([`KeeperService::run`]) until it quits; closing
//! (or dropping) the service removes the socket. What a notification's action does is the
//! keeper's ([`Keeper::act`]) unless the shell carries it out itself (the app opens its window
//! and shows a login's progress), and then through the same keeper, behind the same per-session
//! gate.
//!
//! The service holds the lock beside its socket, and rotates grants when asked. A shell that
//! carries out actions itself gives an `ActionHook`.

use crate::keep::keeper::{Action, Keeper};
use crate::keep::owner::{self, Request};
use crate::ops::engine::{Engine, EngineError};
use crate::serve::credserver::{self, LoginNeeded, Running};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::UnboundedReceiver;

/// How the service starts.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `keep --container-server [ADDRESS]`: `Some("")` serves on the settings' address, `Some(a)`
    /// on `a`; `None` follows the settings (`[container_server] enabled`).
    pub container_server: Option<String>,
    /// Give every container grant a new token before serving.
    pub rotate_grants: bool,
    /// Do nothing else unless the keeper's socket is this service's (`ssotray keep`: a second
    /// keeper must not rotate the running one's grants, nor reach for its address).
    pub socket_first: bool,
}

/// The container server, once serving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerServing {
    /// Where it listens.
    pub address: std::net::SocketAddr,
    /// The grants it serves (a directory per profile).
    pub grants_dir: PathBuf,
    /// The profiles granted now.
    pub granted: Vec<String>,
    /// The single token file of earlier versions was found and removed.
    pub removed_old_token: bool,
}

/// What starting did, for the shell to tell the user.
#[derive(Debug)]
pub struct Started {
    /// The socket through which this keeper owns logins for every ssotray process, or why it
    /// does not (another keeper has it, the runtime directory is not private…).
    pub socket: Result<PathBuf, EngineError>,
    /// The container server, when asked for: serving, or why not.
    pub container: Option<Result<ContainerServing, EngineError>>,
    /// The grants that got new tokens, when asked for.
    pub rotated: Option<Result<Vec<String>, EngineError>>,
}

/// What carrying out an action came to (a shell's own error, or the engine's).
pub type ActionResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Carries out a notification's action in the shell's own way.
pub type ActionHook =
    Arc<dyn Fn(String, Action) -> Pin<Box<dyn Future<Output = ActionResult> + Send>> + Send + Sync>;

/// The running keeper service.
pub struct KeeperService {
    keeper: Arc<Keeper>,
    /// The bound socket and the lock that makes it ours (released when closed).
    socket: Mutex<Option<(PathBuf, std::fs::File)>>,
    container: Mutex<Option<Running>>,
    /// The container server's address while it runs, for `ssotray container grant` to print.
    container_address: Arc<Mutex<Option<std::net::SocketAddr>>>,
    serving: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for KeeperService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeeperService")
            .field(
                "socket",
                &self.socket.lock().map(|s| s.as_ref().map(|s| s.0.clone())),
            )
            .finish_non_exhaustive()
    }
}

/// The container server's address: the flag's, else the settings' when they turn it on.
fn container_address(engine: &Engine, flag: Option<String>) -> Result<Option<String>, EngineError> {
    let settings = engine.settings()?.container_server;
    Ok(match flag {
        Some(a) if !a.is_empty() => Some(a),
        Some(_) => Some(settings.address),
        None => settings.enabled.then_some(settings.address),
    })
}

impl KeeperService {
    /// Binds the keeper's socket and serves it, rotates the grants and starts the container
    /// server when asked. Must be called within the Tokio runtime that will run it.
    pub async fn start(keeper: Arc<Keeper>, options: Options) -> (Arc<KeeperService>, Started) {
        let service = Arc::new(KeeperService {
            keeper: keeper.clone(),
            socket: Mutex::new(None),
            container: Mutex::new(None),
            container_address: Arc::default(),
            serving: Mutex::new(None),
        });
        let socket = service.bind().await;
        if socket.is_err() && options.socket_first {
            let started = Started {
                socket,
                container: None,
                rotated: None,
            };
            return (service, started);
        }
        let engine = keeper.engine().clone();
        // What writers that died before their rename left, in every directory ssotray writes.
        engine.remove_leftovers();
        let rotated = options.rotate_grants.then(|| engine.rotate_grants());
        let container = match container_address(&engine, options.container_server) {
            Ok(Some(address)) => Some(service.serve_containers(&address).await),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        };
        let started = Started {
            socket,
            container,
            rotated,
        };
        (service, started)
    }

    async fn bind(&self) -> Result<PathBuf, EngineError> {
        let path = self.keeper.engine().paths().keeper_socket()?;
        let owner::Bound { listener, lock } = owner::bind(&path).await?;
        let keeper = self.keeper.clone();
        let container_address = self.container_address.clone();
        let handler: owner::Handler = Arc::new(move |request| {
            let keeper = keeper.clone();
            let container_address = *container_address.lock().expect("container address");
            Box::pin(async move {
                match request {
                    Request::ContainerServer => owner::Reply::ContainerServer {
                        address: container_address.map(|a| a.to_string()),
                    },
                    request => keeper.handle(request).await,
                }
            })
        });
        *self.serving.lock().expect("serving") =
            Some(tokio::spawn(owner::serve(listener, handler)));
        *self.socket.lock().expect("socket") = Some((path.clone(), lock));
        Ok(path)
    }

    async fn serve_containers(&self, address: &str) -> Result<ContainerServing, EngineError> {
        let keeper = self.keeper.clone();
        // A route that needs a login tells the keeper: one "Log in" notification, however
        // many containers ask.
        let login_needed: LoginNeeded = Arc::new(move |target| {
            let keeper = keeper.clone();
            let session = target.display_name().to_string();
            tokio::spawn(async move {
                keeper.handle(Request::LoginNeeded { session }).await;
            });
        });
        let engine = self.keeper.engine();
        let (running, removed_old_token) =
            credserver::start_long_running(engine, address, login_needed).await?;
        let serving = ContainerServing {
            address: running.address,
            grants_dir: running.grants_dir.clone(),
            granted: engine.grants()?,
            removed_old_token,
        };
        *self.container_address.lock().expect("container address") = Some(running.address);
        *self.container.lock().expect("container") = Some(running);
        Ok(serving)
    }

    /// The keeper.
    pub fn keeper(&self) -> &Arc<Keeper> {
        &self.keeper
    }

    /// Runs the keeper until `stop` resolves, carrying out each action that arrives on
    /// `actions` on a task of its own: by `hook` when the shell gives one, else by the keeper.
    /// A failed action is logged (the keeper's notifications say what the user must do).
    pub async fn run(
        &self,
        mut actions: UnboundedReceiver<(String, Action)>,
        hook: Option<ActionHook>,
        stop: impl Future<Output = ()>,
    ) {
        let keeper = self.keeper.clone();
        let carry_out = tokio::spawn(async move {
            while let Some((session, action)) = actions.recv().await {
                let keeper = keeper.clone();
                let hook = hook.clone();
                tokio::spawn(async move {
                    let result = match hook {
                        Some(hook) => hook(session.clone(), action).await,
                        None => keeper.act(&session, action).await.map_err(Into::into),
                    };
                    if let Err(e) = result {
                        tracing::warn!(session = %session, action = action.label(), error = %e, "the notification's action failed");
                        eprintln!("ssotray: {} for `{session}` failed: {e}", action.label());
                    }
                });
            }
        });
        self.keeper
            .run(Arc::new(tokio::sync::Notify::new()), stop)
            .await;
        carry_out.abort();
    }

    /// Stops serving: the socket is removed (it is this keeper's: it holds the lock beside it),
    /// then the lock is let go; the container server stops. Also done when dropped.
    pub fn close(&self) {
        if let Some(task) = self.serving.lock().expect("serving").take() {
            task.abort();
        }
        if let Some((path, lock)) = self.socket.lock().expect("socket").take() {
            crate::platform::ipc::remove(&path);
            drop(lock);
        }
        self.container.lock().expect("container").take();
        self.container_address
            .lock()
            .expect("container address")
            .take();
    }
}

impl Drop for KeeperService {
    fn drop(&mut self) {
        self.close();
    }
}
