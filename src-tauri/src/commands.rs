//! The commands the window may call (each granted in `capabilities/main.json`). None returns a
//! token, secret, credential or sign-in URL: copying happens here, in Rust.

use crate::app::{App, CmdError, StateDto};
use crate::menu::RoleRef;
use crate::tray;
use serde::{Deserialize, Serialize};
use ssotray_core::settings::{set_session_value, set_value, ConsoleLink, TomlArray, TomlValue};
use ssotray_core::Flow;
use std::sync::Arc;
use tauri::{AppHandle, State};
use tauri_plugin_autostart::ManagerExt as _;

type Shared<'a> = State<'a, Arc<App>>;

/// The window's view of everything.
#[tauri::command]
pub async fn get_state(app: Shared<'_>) -> Result<StateDto, CmdError> {
    Ok(app.state().await)
}

/// Runs a long action (a login waits for the user) in the background, then refreshes the tray;
/// the window follows it through `get_state`, where its errors show too.
fn in_background<F, Fut>(handle: AppHandle, app: &Shared<'_>, action: F)
where
    F: FnOnce(Arc<App>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), CmdError>> + Send + 'static,
{
    let app = app.inner().clone();
    tauri::async_runtime::spawn(async move {
        let _ = action(app).await;
        tray::refresh(&handle).await;
    });
}

/// Starts a login in the background.
#[tauri::command]
pub async fn login(handle: AppHandle, app: Shared<'_>, session: String, flow: Option<Flow>) -> Result<(), CmdError> {
    in_background(handle, &app, move |app| async move { app.login(&session, flow).await });
    Ok(())
}

/// Logs out.
#[tauri::command]
pub async fn logout(handle: AppHandle, app: Shared<'_>, session: String) -> Result<(), CmdError> {
    app.logout(&session).await?;
    tray::refresh(&handle).await;
    Ok(())
}

/// Renews (log out, then a fresh login) in the background.
#[tauri::command]
pub async fn renew(handle: AppHandle, app: Shared<'_>, session: String) -> Result<(), CmdError> {
    in_background(handle, &app, move |app| async move { app.renew(&session).await });
    Ok(())
}

/// Lists accounts and roles now, in the background (progress in `get_state`).
#[tauri::command]
pub async fn refresh_accounts(handle: AppHandle, app: Shared<'_>, session: String) -> Result<(), CmdError> {
    in_background(handle, &app, move |app| async move { app.refresh_accounts(&session).await });
    Ok(())
}

/// Opens a role's console.
#[tauri::command]
pub async fn open_console(app: Shared<'_>, role: RoleRef) -> Result<(), CmdError> {
    app.open_console(&role).await
}

/// Copies a role's console sign-in URL (cleared from the clipboard after 60 s if still there).
#[tauri::command]
pub async fn copy_console_url(handle: AppHandle, app: Shared<'_>, role: RoleRef) -> Result<(), CmdError> {
    let url = app.console_url(&role).await?;
    tray::copy_secret(&handle, url.expose().to_string())
}

/// Copies a role's credentials as shell exports (cleared after 60 s if still there).
#[tauri::command]
pub async fn copy_credentials(handle: AppHandle, app: Shared<'_>, role: RoleRef) -> Result<(), CmdError> {
    let text = app.credentials_exports(&role).await?;
    tray::copy_secret(&handle, text.expose().to_string())
}

/// Copies a role's profile name.
#[tauri::command]
pub async fn copy_profile_name(handle: AppHandle, app: Shared<'_>, role: RoleRef) -> Result<(), CmdError> {
    let name = app.profile_name(&role)?;
    tray::copy_text(&handle, name)
}

/// Copies a pending login's user code.
#[tauri::command]
pub async fn copy_text(handle: AppHandle, text: String) -> Result<(), CmdError> {
    // Only short, visible text the window already shows (a device user code).
    if text.len() > 64 {
        return Err(CmdError::msg("too long to copy"));
    }
    tray::copy_text(&handle, text)
}

/// Opens the page of a pending device-code login.
#[tauri::command]
pub async fn open_login_page(app: Shared<'_>, session: String) -> Result<(), CmdError> {
    app.open_login_page(&session)
}

/// Adds or removes a favorite.
#[tauri::command]
pub async fn toggle_favorite(handle: AppHandle, app: Shared<'_>, role: RoleRef) -> Result<(), CmdError> {
    app.toggle_favorite(&role);
    tray::refresh(&handle).await;
    Ok(())
}

/// Settings as the window edits them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsDto {
    lead_times_minutes: Vec<u32>,
    autostart: bool,
    sessions: Vec<SessionSettingsDto>,
}

/// One session's settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionSettingsDto {
    name: String,
    session_length_hours: Option<f64>,
    login_flow: Option<Flow>,
    console_link: ConsoleLink,
    console_session_duration: u32,
    browser: Option<String>,
    keychain: bool,
}

/// Reads the settings.
#[tauri::command]
pub async fn get_settings(handle: AppHandle, app: Shared<'_>) -> Result<SettingsDto, CmdError> {
    let settings = app.engine.settings()?;
    let config = app.engine.load_config()?;
    let sessions = config
        .sessions
        .iter()
        .map(|s| {
            let x = settings.session(&s.name);
            SessionSettingsDto {
                name: s.name.clone(),
                session_length_hours: x.session_length.map(|l| l as f64 / 3600.0),
                login_flow: x.login_flow,
                console_link: x.console_link.unwrap_or_default(),
                console_session_duration: x.console_session_duration.unwrap_or(3600),
                browser: x.browser.clone(),
                keychain: x.keychain,
            }
        })
        .collect();
    Ok(SettingsDto {
        lead_times_minutes: settings.keeper.lead_times.iter().map(|s| s / 60).collect(),
        autostart: handle.autolaunch().is_enabled().unwrap_or(false),
        sessions,
    })
}

/// Saves the settings (keychain changes move the secrets; autostart goes through the OS).
#[tauri::command]
pub async fn save_settings(handle: AppHandle, app: Shared<'_>, settings: SettingsDto) -> Result<(), CmdError> {
    let engine = &app.engine;
    let leads: TomlArray = settings.lead_times_minutes.iter().map(|m| i64::from(*m) * 60).collect();
    engine.edit_settings(|t| set_value(t, &["keeper"], "lead_times", Some(TomlValue::Array(leads))))?;
    for s in &settings.sessions {
        let current = engine.settings()?.session(&s.name);
        let name = s.name.clone();
        engine.edit_settings(|t| {
            let t = match s.session_length_hours {
                Some(h) if h > 0.0 => set_session_value(t, &name, "session_length", (h * 3600.0).round() as i64)?,
                _ => set_value(t, &["sessions", &name], "session_length", None)?,
            };
            let t = match s.login_flow {
                Some(Flow::DeviceCode) => set_session_value(&t, &name, "login_flow", "device-code")?,
                Some(Flow::Browser) => set_session_value(&t, &name, "login_flow", "browser")?,
                None => set_value(&t, &["sessions", &name], "login_flow", None)?,
            };
            let link = if s.console_link == ConsoleLink::Portal { "portal" } else { "federation" };
            let t = set_session_value(&t, &name, "console_link", link)?;
            let t = set_session_value(&t, &name, "console_session_duration", i64::from(s.console_session_duration))?;
            match s.browser.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
                Some(b) => set_session_value(&t, &name, "browser", b),
                None => set_value(&t, &["sessions", &name], "browser", None),
            }
        })?;
        if s.keychain != current.keychain {
            let target = app.target(&s.name)?;
            if s.keychain {
                engine.keychain_enable(&target).await?;
            } else {
                engine.keychain_disable(&target).await?;
            }
        }
    }
    let autolaunch = handle.autolaunch();
    let result = if settings.autostart { autolaunch.enable() } else { autolaunch.disable() };
    result.map_err(|e| CmdError::msg(format!("cannot change start at login: {e}")))?;
    Ok(())
}

/// Writes a new `[sso-session]` to `~/.aws/config` (no other byte changes).
#[tauri::command]
pub async fn add_identity_center(handle: AppHandle, app: Shared<'_>, name: String, start_url: String, region: String) -> Result<(), CmdError> {
    app.engine.add_sso_session(&name, &start_url, &region)?;
    tray::refresh(&handle).await;
    Ok(())
}

/// Writes a profile for every known role of a session into ssotray's block of `~/.aws/config`.
#[tauri::command]
pub async fn generate_profiles(app: Shared<'_>, session: String) -> Result<usize, CmdError> {
    let target = app.target(&session)?;
    let config = app.engine.load_config()?;
    let (current, new, profiles) = app.engine.plan_profiles(&config, &target, ssotray_core::profiles::DEFAULT_TEMPLATE)?;
    if current != new {
        app.engine.write_config(&config, &current, &new)?;
    }
    Ok(profiles.len())
}

