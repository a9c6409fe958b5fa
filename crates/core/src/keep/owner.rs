//! One owner for logins: the running keeper listens at its place (a Unix domain socket
//! `$XDG_RUNTIME_DIR/ssotray/keeper.sock`, mode 0600 in a 0700 directory; on Windows a named
//! pipe only the user may open, see [`crate::platform::ipc`]), and CLI processes ask it to log in instead
//! of each opening a browser. One JSON object per line each way.
//!
//! Without a keeper, processes get the same guarantee from the session's lock file (see
//! [`obtain_login`]). Besides the browser callback listener, this socket is the one piece of the
//! core that opens a socket of its own.
//!
//! The socket follows `sock`'s rules; `accept_mine` is shared with the app's sockets. The "one
//! login per session" policy for every process: `login_once` (through the running keeper, else
//! `obtain_login` under the session's lock file, where a changed token fingerprint means someone
//! else already logged in), `credentials_or_login`, and `tell_login_needed` (one "Log in"
//! notification however many programs found the session ended).

use crate::aws::cache::{self, TokenFile};
use crate::aws::config::SsoTarget;
use crate::ops::engine::{Engine, EngineError, LoginOptions};
use crate::ops::login::LoginPrompt;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncWriteExt, BufReader};

/// A request to the keeper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Request {
    /// Make sure the session is logged in. With `stale`, log in only if the token in the cache is
    /// still the one the asker found unusable (its fingerprint); another login already done is enough.
    Login {
        /// Session name.
        session: String,
        /// Fingerprint of the token the asker could not use.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stale: Option<String>,
    },
    /// A program needed a login and will not wait for one (notify the user, once).
    LoginNeeded {
        /// Session name.
        session: String,
    },
    /// Is anyone there?
    Ping,
    /// The exported sections of the credentials file changed: look at them now.
    ExportsChanged,
    /// Where does the long-running container server listen (if it runs)?
    ContainerServer,
}

/// The keeper's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Reply {
    /// Done.
    Ok,
    /// Failed, with the message to show.
    Error {
        /// What happened and what to do.
        message: String,
    },
    /// The long-running container server's address, when it runs.
    ContainerServer {
        /// `127.0.0.1:9911`, say; `None` when it does not run.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<String>,
    },
}

/// Where the keeper listens (in the runtime directory, see [`crate::platform::paths`]); `None` without
/// a home directory or a runtime directory.
pub fn socket_path(engine: &Engine) -> Option<PathBuf> {
    engine.paths().keeper_socket().ok()
}

/// Asks the keeper; `None` when no keeper listens (or one that is not this user's: the socket's
/// directory must be the user's own with mode 0700, and the peer this user).
pub async fn ask(path: &Path, request: &Request, timeout: Duration) -> Option<Reply> {
    connect(path).await?.ask(request, timeout).await
}

/// A connection to the running keeper, made before anything is asked: a caller can say what
/// happens (the keeper logs in, or this process does) knowing whether a keeper is there.
#[derive(Debug)]
pub struct KeeperConnection(crate::platform::ipc::Stream);

/// Connects to the keeper at `path`; `None` when no keeper of this user's listens there.
pub async fn connect(path: &Path) -> Option<KeeperConnection> {
    let dir = path.parent()?;
    if let Err(e) = crate::platform::sock::check_private_dir(dir) {
        if dir.exists() {
            tracing::warn!(error = %e, "not asking the keeper");
        }
        return None;
    }
    match crate::platform::ipc::connect(path).await {
        Ok(stream) => Some(KeeperConnection(stream)),
        Err(crate::platform::ipc::ConnectError::OtherUser) => {
            tracing::warn!(socket = %path.display(), "the keeper's socket is served by another user; not asking it");
            None
        }
        Err(crate::platform::ipc::ConnectError::NotServed(_)) => None,
    }
}

impl KeeperConnection {
    /// Sends `request` and waits up to `timeout` for the answer; `None` when the request could
    /// not be sent or the answer not read (as if no keeper were there: the caller goes on alone).
    pub async fn ask(self, request: &Request, timeout: Duration) -> Option<Reply> {
        let (read, mut write) = tokio::io::split(self.0);
        let mut line = serde_json::to_string(request).ok()?;
        line.push('\n');
        write.write_all(line.as_bytes()).await.ok()?;
        match crate::platform::sock::read_line(
            &mut BufReader::new(read),
            crate::platform::sock::MAX_REQUEST,
            Some(timeout),
        )
        .await
        {
            Ok(Some(answer)) => serde_json::from_str(answer.trim()).ok(),
            Ok(None) => Some(Reply::Error {
                message: "the keeper closed the connection".into(),
            }),
            Err(crate::platform::sock::LineError::Silent(_)) => Some(Reply::Error {
                message: format!("the keeper did not answer within {} s", timeout.as_secs()),
            }),
            Err(e) => Some(Reply::Error {
                message: format!("the keeper answered with {e}"),
            }),
        }
    }
}

/// Handles one request.
pub type Handler =
    Arc<dyn Fn(Request) -> Pin<Box<dyn Future<Output = Reply> + Send>> + Send + Sync>;

/// The socket of a running keeper and the lock that makes it the only one.
#[derive(Debug)]
pub struct Bound {
    /// The listening socket (or pipe).
    pub listener: crate::platform::ipc::Listener,
    /// Held while the keeper runs; released when dropped.
    pub lock: std::fs::File,
}

/// Binds the socket: makes sure its directory is the user's own with mode 0700 (refusing
/// otherwise), refuses if another process holds the `.lock` file beside it, replaces a stale
/// socket file. The lock is held for as long as the returned value lives.
pub async fn bind(path: &Path) -> Result<Bound, EngineError> {
    let io = |what, path: &Path| {
        let path = path.to_path_buf();
        move |source| EngineError::Io { what, path, source }
    };
    if let Some(dir) = path.parent() {
        crate::platform::sock::private_dir(dir)?;
    }
    let lock_path = path.with_extension("lock");
    let lock = crate::platform::os::open_lock_file(&lock_path).map_err(io("open", &lock_path))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(EngineError::AlreadyServed(path.to_path_buf()))
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io("lock", &lock_path)(e)),
    }
    let listener = crate::platform::ipc::bind(path).map_err(|source| EngineError::Listen {
        on: format!("`{}`", path.display()),
        source,
        then: "",
    })?;
    Ok(Bound { listener, lock })
}

/// Serves requests for ever; each connection on its own task, one bounded line at a time, closed
/// after [`crate::platform::sock::IDLE`] of silence or an over-long line.
pub async fn serve(listener: crate::platform::ipc::Listener, handler: Handler) {
    loop {
        let stream = listener.accept_mine().await;
        let handler = handler.clone();
        tokio::spawn(async move {
            let (read, mut write) = tokio::io::split(stream);
            let mut read = BufReader::new(read);
            loop {
                let reply = match crate::platform::sock::read_line(
                    &mut read,
                    crate::platform::sock::MAX_REQUEST,
                    Some(crate::platform::sock::IDLE),
                )
                .await
                {
                    Ok(None) | Err(crate::platform::sock::LineError::Silent(_)) => break,
                    Ok(Some(line)) => match serde_json::from_str::<Request>(&line) {
                        Ok(request) => handler(request).await,
                        Err(e) => Reply::Error {
                            message: format!("bad request: {e}"),
                        },
                    },
                    Err(e) => {
                        let mut out = serde_json::to_string(&Reply::Error {
                            message: format!("refused {e}"),
                        })
                        .unwrap_or_default();
                        out.push('\n');
                        let _ = write.write_all(out.as_bytes()).await;
                        break;
                    }
                };
                let mut out = serde_json::to_string(&reply).unwrap_or_default();
                out.push('\n');
                if write.write_all(out.as_bytes()).await.is_err() {
                    break;
                }
            }
        });
    }
}

/// The fingerprint of the token in the cache now, if any.
pub async fn current_fingerprint(engine: &Engine, target: &SsoTarget) -> Option<String> {
    let path = engine.token_path(target).ok()?;
    match cache::read_token(engine.context(), &path).await.ok()? {
        TokenFile::Token(t) => Some(cache::fingerprint(&t.access_token)),
        TokenFile::Missing => None,
    }
}

/// Makes sure a login happened after the asker found the token with fingerprint `stale` unusable,
/// with one login for any number of concurrent askers: under the session's lock file, a token
/// that changed meanwhile means someone else logged in, so no second login starts.
pub async fn obtain_login(
    engine: &Engine,
    target: &SsoTarget,
    stale: Option<String>,
    options: &LoginOptions,
    prompt: &(dyn Fn(&LoginPrompt) + Send + Sync),
) -> Result<(), EngineError> {
    let _lock = engine.lock_session(target).await?;
    let now = current_fingerprint(engine, target).await;
    if now.is_some() && now != stale {
        return Ok(());
    }
    engine
        .login_locked(target, options, prompt)
        .await
        .map(|_| ())
}

/// One login for everyone who needs it now: through the running keeper when there is one (it
/// logs in once for all askers), else under the session's lock file ([`obtain_login`]). `stale`
/// is the token the caller could not use; `prompt` shows a login this process runs itself.
pub async fn login_once(
    engine: &Engine,
    target: &SsoTarget,
    stale: Option<String>,
    prompt: &(dyn Fn(&LoginPrompt) + Send + Sync),
) -> Result<(), EngineError> {
    if let Some(path) = socket_path(engine) {
        let request = Request::Login {
            session: target.display_name().to_string(),
            stale: stale.clone(),
        };
        match ask(&path, &request, LOGIN_WAIT).await {
            Some(Reply::Ok) => return Ok(()),
            Some(Reply::Error { message }) => return Err(EngineError::Keeper(message)),
            // Not an answer to a login: as if no keeper were there.
            Some(Reply::ContainerServer { .. }) | None => {}
        }
    }
    obtain_login(engine, target, stale, &LoginOptions::default(), prompt).await
}

/// How long an asker waits for the keeper's login: the browser flow's ten minutes, and one more.
pub const LOGIN_WAIT: Duration = Duration::from_secs(11 * 60);

/// Tells the running keeper (if any) that `session` needs a login, and waits for its answer:
/// one "Log in" notification, however many programs found the session ended.
pub async fn tell_login_needed(engine: &Engine, session: &str) {
    if let Some(path) = socket_path(engine) {
        let request = Request::LoginNeeded {
            session: session.to_string(),
        };
        let _ = ask(&path, &request, Duration::from_secs(2)).await;
    }
}

/// A role's credentials. A session that needs a login is logged in once when `login` (however
/// many processes ask, [`login_once`]), else it is an error and the running keeper shows one
/// notification.
pub async fn credentials_or_login(
    engine: &Engine,
    role: &crate::ops::access::ProfileRole,
    login: bool,
    prompt: &(dyn Fn(&LoginPrompt) + Send + Sync),
) -> Result<crate::aws::portal::RoleCredentials, EngineError> {
    let target = &role.target;
    // The token this attempt will use, taken before it: if it turns out unusable, a login is
    // needed only if nobody replaced it meanwhile (read after the failure, it could already be
    // the new one, and a second login would start).
    let stale = current_fingerprint(engine, target).await;
    match engine.profile_credentials(role).await {
        Err(e) if e.needs_login() && login => {
            login_once(engine, target, stale, prompt).await?;
            engine.profile_credentials(role).await
        }
        Err(e) if e.needs_login() => {
            tell_login_needed(engine, target.display_name()).await;
            Err(e)
        }
        other => other,
    }
}
