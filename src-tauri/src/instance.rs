//! One tray app per user: the first instance listens on `app.sock` in ssotray's runtime directory
//! (`$XDG_RUNTIME_DIR/ssotray`, else its cache directory; a named pipe on Windows, see
//! [`ssotray_core::platform::ipc`]), guarded by a lock file beside it, as the keeper's socket is; a second
//! launch connects, asks it to show its window, and exits. (Our own socket rather than
//! tauri-plugin-single-instance: that plugin's D-Bus library leaves a thread that wakes twice a
//! second for the life of the app.)
//!
//! The second launch exits before starting GTK.

use std::path::{Path, PathBuf};
use std::time::Duration;
use tauri::AppHandle;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Where the running app listens (in ssotray's runtime directory, see `ssotray_core::platform::paths`).
pub fn socket_path() -> Option<PathBuf> {
    ssotray_core::platform::paths::Paths::from_env(&ssotray_core::platform::os::Env::real())
        .app_socket()
        .ok()
}

/// Asks a running instance to show its window on `view`; true when it answered. Only an
/// instance of this user's, in a directory of the user's own with mode 0700, is asked.
pub fn hand_over(path: &Path, view: &str) -> bool {
    if path
        .parent()
        .is_none_or(|dir| ssotray_core::platform::sock::check_private_dir(dir).is_err())
    {
        return false;
    }
    tauri::async_runtime::block_on(async {
        let Ok(stream) = ssotray_core::platform::ipc::connect(path).await else {
            return false;
        };
        let (read, mut write) = tokio::io::split(stream);
        let asked = tokio::time::timeout(
            Duration::from_secs(5),
            write.write_all(format!("show {view}\n").as_bytes()),
        )
        .await;
        if !matches!(asked, Ok(Ok(()))) {
            return false;
        }
        let answer = ssotray_core::platform::sock::read_line(
            &mut tokio::io::BufReader::new(read.take(64)),
            64,
            Some(Duration::from_secs(5)),
        )
        .await;
        matches!(answer, Ok(Some(a)) if a.trim() == "ok")
    })
}

/// The place this app serves as the instance (its `app.sock`), to remove at exit.
pub struct Serving(PathBuf);

/// Removes the instance's socket, if this app is the instance (at exit: it still holds the lock
/// beside the socket, so the socket is its own), as the keeper's socket is removed.
pub fn remove(handle: &AppHandle) {
    if let Some(serving) = tauri::Manager::try_state::<Serving>(handle) {
        ssotray_core::platform::ipc::remove(&serving.0);
    }
}

/// Becomes the instance: listens for later launches. Err when another instance holds the lock
/// (two launches at once): the caller hands over to it instead.
pub fn listen(handle: &AppHandle, path: &Path) -> Result<(), ssotray_core::EngineError> {
    let bound = tauri::async_runtime::block_on(ssotray_core::keep::owner::bind(path))?;
    // This app is the instance: its socket goes when it quits (`remove`).
    tauri::Manager::manage(handle, Serving(path.to_path_buf()));
    let handle = handle.clone();
    tauri::async_runtime::spawn(async move {
        let ssotray_core::keep::owner::Bound {
            listener,
            lock: _held_while_serving,
        } = bound;
        loop {
            let stream = listener.accept_mine().await;
            let handle = handle.clone();
            tauri::async_runtime::spawn(async move {
                let (read, mut write) = tokio::io::split(stream);
                // One short line, soon: anything else is refused.
                let line = ssotray_core::platform::sock::read_line(
                    &mut tokio::io::BufReader::new(read),
                    64,
                    Some(ssotray_core::platform::sock::IDLE),
                )
                .await;
                let Ok(Some(line)) = line else {
                    let _ = write.write_all(b"refused\n").await;
                    return;
                };
                if let Some(view) = line.trim().strip_prefix("show ") {
                    let view = match view {
                        "accounts" | "settings" | "add" => view,
                        _ => "sessions",
                    };
                    crate::tray::show_window(&handle, view);
                    let _ = write.write_all(b"ok\n").await;
                }
            });
        }
    });
    Ok(())
}
