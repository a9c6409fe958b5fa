//! The commands the window may call (each granted in `capabilities/main.json`). They run in the
//! tray process, where the state lives; the window's process forwards each call here
//! (`window.rs`). None returns a token, secret, credential or sign-in URL: copying happens here,
//! in Rust.
//!
//! Each command is declared in `build.rs` (a permission each) and granted in
//! `capabilities/main.json`, so Tauri's ACL checks every call in the window process before it is
//! forwarded. They turn the window's calls into `Action`s (`actions.rs`).

use crate::actions::Action;
use crate::app::{App, CmdError};
use serde_json::Value;
use std::sync::Arc;
use tauri::{AppHandle, Manager};

/// Carries out one of the window's commands: the call becomes an [`Action`] (the command's
/// name is its tag; unknown commands and missing arguments are refused with a message), carried
/// out where every action is.
pub async fn dispatch(handle: &AppHandle, command: &str, args: Value) -> Result<Value, CmdError> {
    let app = handle.state::<Arc<App>>().inner().clone();
    let action = Action::from_window(command, args)?;
    crate::actions::carry_out(handle, &app, action).await
}
