//! The window lives in a process of its own (`ssotray-app --window <socket> <id> <view>`), so the
//! idle tray app holds no webview at all: when the window closes, that process exits and WebKit's
//! web and network processes go with it (in one process, wry keeps its WebKit context, and those
//! processes, alive for good).
//!
//! The tray process owns all state. It listens on a local connection of its own
//! ([`ssotray_core::platform::ipc`]: a Unix socket in a private directory (0700), a named pipe on Windows),
//! and the window process forwards each `invoke` there, one connection per call: a line
//! `{"cmd": …, "args": …}` answered by a line `{"ok": …}` or `{"err": {code, message}}`. The
//! window process also keeps one control connection (`{"control": id}`): the tray process writes
//! the view to show on it ("a second launch focuses the window"), and the window process quits
//! when it ends (the tray app quit).
//!
//! The private directory of the window's socket is under `$TMPDIR`, and is removed at exit. The
//! control connection may stay silent while its window lives: only the window process the tray
//! process started, by its id, gets that (every other connection follows the sockets' idle
//! timeout). The window process keeps the user's accessibility settings (the tray process's
//! `NO_AT_BRIDGE=1` is not passed on).
//!
//! `close_window` is the one command the window process answers itself (the page's Esc when the
//! search is empty): it closes its own window, and the tray process is not asked. The window's
//! minimum size (`MIN_WIDTH` × `MIN_HEIGHT`, 640×420) is the size at which a test finds nothing
//! overflowing in any view.

use crate::app::CmdError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tauri::ipc::{InvokeBody, InvokeError};
use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindowBuilder};
use tokio::io::{AsyncWriteExt, BufReader};

/// `NO_AT_BRIDGE` as the user set it, for the window's process (the tray process sets its own).
static USER_NO_AT_BRIDGE: std::sync::OnceLock<Option<std::ffi::OsString>> =
    std::sync::OnceLock::new();

/// Remembers the user's `NO_AT_BRIDGE` (call before changing it).
pub fn remember_user_env() {
    let _ = USER_NO_AT_BRIDGE.set(std::env::var_os("NO_AT_BRIDGE"));
}

/// The first line of a connection from the window process.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Hello {
    /// The control connection of window process `control`.
    Control { control: u64 },
    /// One command.
    Call {
        cmd: String,
        #[serde(default)]
        args: Value,
    },
}

/// The answer to a command.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Answer {
    Ok(Value),
    Err(Value),
}

/// Carries out one window call in the tray process (`commands::dispatch`, given by the app's
/// setup, so this module does not depend on the commands, which depend on the tray, which opens
/// the window).
pub type Dispatch =
    fn(
        AppHandle,
        String,
        Value,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, CmdError>> + Send>>;

/// The tray process's side: starts the window process on demand and serves its calls.
pub struct WindowHost {
    socket: PathBuf,
    _dir: tempfile::TempDir,
    state: Mutex<HostState>,
}

#[derive(Default)]
struct HostState {
    /// The running window process, if any: its id, and its control connection once it has one.
    window: Option<(u64, Option<tokio::sync::mpsc::UnboundedSender<String>>)>,
    /// The view to show once the starting window process connects.
    view: Option<String>,
    next_id: u64,
}

impl WindowHost {
    /// Binds the socket and serves it (call from the app's setup).
    pub fn start(handle: &AppHandle, dispatch: Dispatch) -> std::io::Result<Arc<WindowHost>> {
        let dir = tempfile::Builder::new()
            .prefix("ssotray-window-")
            .tempdir()?;
        let socket = dir.path().join("s");
        let listener =
            tauri::async_runtime::block_on(async { ssotray_core::platform::ipc::bind(&socket) })?;
        let host = Arc::new(WindowHost {
            socket,
            _dir: dir,
            state: Mutex::default(),
        });
        let handle = handle.clone();
        tauri::async_runtime::spawn(async move {
            loop {
                let stream = listener.accept_mine().await;
                let handle = handle.clone();
                tauri::async_runtime::spawn(async move { serve(handle, dispatch, stream).await });
            }
        });
        Ok(host)
    }

    /// Shows the window on a view (`sessions`, `accounts`, `settings`, `add`), starting its
    /// process if needed.
    pub fn show(self: &Arc<Self>, view: &str) {
        let mut state = self.state.lock().expect("window state");
        match &mut state.window {
            Some((_, Some(control))) => {
                if control.send(view.to_string()).is_ok() {
                    return;
                }
                state.window = None;
            }
            Some((_, None)) => {
                // Still starting: it shows this view once it connects.
                state.view = Some(view.to_string());
                return;
            }
            None => {}
        }
        state.next_id += 1;
        let id = state.next_id;
        let exe = match std::env::current_exe() {
            Ok(e) => e,
            Err(e) => return tracing::warn!(error = %e, "cannot open the window"),
        };
        // (std's process and a thread to reap it: this runs on GTK's thread or in the single
        // instance's D-Bus handler, outside the async runtime.)
        let mut command = std::process::Command::new(exe);
        command
            .arg("--window")
            .arg(&self.socket)
            .arg(id.to_string())
            .arg(view);
        match USER_NO_AT_BRIDGE.get() {
            Some(Some(v)) => command.env("NO_AT_BRIDGE", v),
            _ => command.env_remove("NO_AT_BRIDGE"),
        };
        let child = command.spawn();
        match child {
            Ok(mut child) => {
                state.window = Some((id, None));
                state.view = None;
                let host = self.clone();
                std::thread::spawn(move || {
                    let _ = child.wait();
                    host.forget(id);
                });
            }
            Err(e) => tracing::warn!(error = %e, "cannot open the window"),
        }
    }

    /// Removes the socket's directory (at exit: managed state is never dropped).
    pub fn remove_socket(&self) {
        if let Some(dir) = self.socket.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    fn forget(&self, id: u64) {
        let mut state = self.state.lock().expect("window state");
        if matches!(state.window, Some((current, _)) if current == id) {
            state.window = None;
        }
    }

    /// Registers window process `id`'s control connection; returns the view to show at once.
    fn connected(
        &self,
        id: u64,
        control: tokio::sync::mpsc::UnboundedSender<String>,
    ) -> Option<Option<String>> {
        let mut state = self.state.lock().expect("window state");
        match &mut state.window {
            Some((current, slot)) if *current == id => {
                *slot = Some(control);
                Some(state.view.take())
            }
            _ => None,
        }
    }
}

/// The longest line the tray process reads from a window process (a command and its arguments).
const MAX_CALL: usize = 1024 * 1024;
/// The longest answer the window process reads (every account of every session).
const MAX_ANSWER: usize = 256 * 1024 * 1024;

/// Serves one connection from a window process (this user's: `accept_mine` checked): its first
/// line, bounded and within [`ssotray_core::platform::sock::IDLE`], is a call or the control hello; a
/// control connection may then stay silent for as long as its window lives, which is only
/// granted to the window process the tray process started (its id).
async fn serve(handle: AppHandle, dispatch: Dispatch, stream: ssotray_core::platform::ipc::Stream) {
    use ssotray_core::platform::sock::{read_line, IDLE};
    let (read, mut write) = tokio::io::split(stream);
    let mut read = BufReader::new(read);
    let first = match read_line(&mut read, MAX_CALL, Some(IDLE)).await {
        Ok(Some(line)) => line,
        Ok(None) => return,
        Err(e) => return tracing::warn!(error = %e, "refused a window connection"),
    };
    match serde_json::from_str::<Hello>(&first) {
        Ok(Hello::Call { cmd, args }) => {
            let answer = match dispatch(handle.clone(), cmd, args).await {
                Ok(v) => Answer::Ok(v),
                Err(e) => Answer::Err(serde_json::to_value(e).unwrap_or(Value::Null)),
            };
            if let Ok(mut line) = serde_json::to_string(&answer) {
                line.push('\n');
                let _ = write.write_all(line.as_bytes()).await;
            }
        }
        Ok(Hello::Control { control: id }) => {
            let host = handle.state::<Arc<WindowHost>>().inner().clone();
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
            let Some(view) = host.connected(id, tx.clone()) else {
                return;
            };
            if let Some(view) = view {
                let _ = tx.send(view);
            }
            loop {
                tokio::select! {
                    view = rx.recv() => match view {
                        Some(view) => if write.write_all(format!("{view}\n").as_bytes()).await.is_err() { break },
                        None => break,
                    },
                    line = read_line(&mut read, 1024, None) => if !matches!(line, Ok(Some(_))) { break },
                }
            }
            host.forget(id);
        }
        Err(e) => tracing::warn!(error = %e, "not a window call"),
    }
}

/// Forwards one command to the tray process.
async fn forward(socket: &Path, cmd: &str, args: Value) -> std::io::Result<Answer> {
    let stream = ssotray_core::platform::ipc::connect(socket)
        .await
        .map_err(|e| std::io::Error::other(format!("the window socket: {e}")))?;
    let (read, mut write) = tokio::io::split(stream);
    let mut line = serde_json::to_string(&Hello::Call {
        cmd: cmd.to_string(),
        args,
    })?;
    line.push('\n');
    write.write_all(line.as_bytes()).await?;
    let answer =
        ssotray_core::platform::sock::read_line(&mut BufReader::new(read), MAX_ANSWER, None)
            .await
            .map_err(std::io::Error::other)?
            .ok_or_else(|| std::io::Error::other("no answer"))?;
    Ok(serde_json::from_str(&answer)?)
}

/// The window's minimum inner size (logical pixels).
pub const MIN_WIDTH: f64 = 640.0;
/// See [`MIN_WIDTH`].
pub const MIN_HEIGHT: f64 = 420.0;

/// The window process: one window whose commands all go to the tray process. It exits when the
/// window closes or the tray app quits.
pub fn run_window(context: tauri::Context, socket: PathBuf, id: u64, view: String) {
    let forward_to = socket.clone();
    let app = tauri::Builder::default()
        .invoke_handler(move |invoke| {
            let cmd = invoke.message.command().to_string();
            // Esc in the window: its own business, not the tray process's.
            if cmd == "close_window" {
                let window = invoke.message.webview().window();
                invoke.resolver.respond_async(async move {
                    window
                        .close()
                        .map(|()| Value::Null)
                        .map_err(|e| InvokeError::from(e.to_string()))
                });
                return true;
            }
            let args = match invoke.message.payload() {
                InvokeBody::Json(v) => v.clone(),
                InvokeBody::Raw(_) => Value::Null,
            };
            let socket = forward_to.clone();
            invoke.resolver.respond_async(async move {
                match forward(&socket, &cmd, args).await {
                    Ok(Answer::Ok(v)) => Ok(v),
                    Ok(Answer::Err(e)) => Err(InvokeError(e)),
                    Err(e) => Err(InvokeError(
                        serde_json::to_value(CmdError::msg(format!(
                            "the ssotray tray app is not answering ({e}); start ssotray again"
                        )))
                        .unwrap_or(Value::Null),
                    )),
                }
            });
            true
        })
        .setup(move |tauri_app| {
            let handle = tauri_app.handle().clone();
            let url = WebviewUrl::App(format!("index.html#{view}").into());
            WebviewWindowBuilder::new(&handle, "main", url)
                .title("ssotray")
                .inner_size(980.0, 700.0)
                // The smallest size every view fits without overflow (checked by a test).
                .min_inner_size(MIN_WIDTH, MIN_HEIGHT)
                .build()?;
            tauri::async_runtime::spawn(async move {
                control(&handle, &socket, id).await;
                // The tray app quit (or never answered): so does its window.
                handle.exit(0);
            });
            Ok(())
        })
        .build(context)
        .expect("the window builds");
    app.run(|_, _| {});
}

/// The control connection: shows the views the tray process asks for, until it ends.
async fn control(handle: &AppHandle, socket: &Path, id: u64) {
    let Ok(stream) = ssotray_core::platform::ipc::connect(socket).await else {
        return;
    };
    let (read, mut write) = tokio::io::split(stream);
    let Ok(mut hello) = serde_json::to_string(&Hello::Control { control: id }) else {
        return;
    };
    hello.push('\n');
    if write.write_all(hello.as_bytes()).await.is_err() {
        return;
    }
    let mut read = BufReader::new(read);
    while let Ok(Some(view)) = ssotray_core::platform::sock::read_line(&mut read, 64, None).await {
        if let Some(w) = handle.get_webview_window("main") {
            let _ = w.eval(format!("location.hash = {view:?}"));
            let _ = w.show();
            let _ = w.unminimize();
            let _ = w.set_focus();
        }
    }
    drop(write);
}
