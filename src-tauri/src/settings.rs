//! The window's settings form: what it shows (`get`) and what saving it does (`save`): the
//! core writes the settings text (`ssotray_core::ops::settings::write_session_form`); here, the
//! form's own units, the keychain moves, the start-at-login entry, and the notification that
//! asks before a new browser command is saved.
//!
//! The lead times are written by the core too (`write_lead_times`).

use crate::app::{App, CmdError};
use serde::{Deserialize, Serialize};
use ssotray_core::ops::settings::{
    set_session_value, write_lead_times, write_session_form, ConsoleLink, SessionForm,
};
use ssotray_core::Flow;

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
pub fn get(app: &App) -> Result<SettingsDto, CmdError> {
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
        autostart: crate::autostart::is_enabled(),
        sessions,
    })
}

/// Saves the settings (keychain changes move the secrets; autostart goes through the OS). A new
/// browser command is not saved from here: it is a program ssotray will run, and a page that
/// someone else's script took over must not gain that; nor is a refresh token taken out of the
/// keychain (back into a file). The user allows each in a notification (outside the page); the
/// answer names the sessions that wait for it.
pub async fn save(app: &App, settings: SettingsDto) -> Result<Vec<String>, CmdError> {
    let mut to_allow = Vec::new();
    let engine = &app.engine;
    let leads: Vec<u32> = settings
        .lead_times_minutes
        .iter()
        .map(|m| m.saturating_mul(60))
        .collect();
    engine
        .edit_settings(|t| write_lead_times(t, &leads))
        .await?;
    for s in &settings.sessions {
        let current = engine.settings()?.session(&s.name);
        let asked = s
            .browser
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty());
        let new_browser = asked.filter(|b| Some(*b) != current.browser.as_deref());
        let form = SessionForm {
            session_length: s
                .session_length_hours
                .filter(|h| *h > 0.0)
                .map(|h| (h * 3600.0).round() as u32),
            login_flow: s.login_flow,
            console_link: s.console_link,
            console_session_duration: s.console_session_duration,
            // Written now: none when none is asked for (back to the default browser), else the
            // command that is there (the one asked for, or the old one until a new one is
            // allowed): a new one keeps the old until the user allows it.
            browser: asked.and(current.browser.clone()),
        };
        engine
            .edit_settings(|t| write_session_form(t, &s.name, &form))
            .await?;
        if let Some(b) = new_browser {
            ask_to_allow_browser(app, &s.name, b);
            to_allow.push(s.name.clone());
        }
        if s.keychain && !current.keychain {
            engine.keychain_enable(&app.target(&s.name)?).await?;
        } else if !s.keychain && current.keychain {
            // Taking the refresh token out of the keychain puts it back into a file: asked
            // outside the page, as a new browser command is.
            ask_to_allow_keychain_off(app, &s.name)?;
            to_allow.push(s.name.clone());
        }
    }
    crate::autostart::set(settings.autostart).map_err(|e| CmdError::msg(e.to_string()))?;
    Ok(to_allow)
}

/// The notification action that allows a browser command the window asked for.
pub const ALLOW_BROWSER: &str = "allow-browser";
/// The notification action that allows taking a session's refresh token out of the keychain.
pub const ALLOW_KEYCHAIN_OFF: &str = "allow-keychain-off";

/// Asks the user, in a desktop notification (outside the page), to allow what the window asked
/// for: `allow` runs only when they click Allow (its action `allow_id`, or its label where the
/// OS reports that: macOS), on the notification's own thread.
fn ask_in_a_notification(
    summary: &str,
    body: &str,
    (allow_id, refuse_id): (&'static str, &'static str),
    allow: impl FnOnce() + Send + 'static,
) {
    let mut n = notify_rust::Notification::new();
    n.appname("ssotray")
        .summary(summary)
        .body(&ssotray_core::keep::desktop_notify::body_text(body))
        .action(allow_id, "Allow")
        .action(refuse_id, "Don't allow");
    let summary = summary.to_string();
    std::thread::spawn(move || match n.show() {
        Ok(handle) => ssotray_core::keep::desktop_notify::wait_for_click(handle, |id| {
            if id == allow_id || id == "Allow" {
                allow();
            }
        }),
        Err(e) => {
            tracing::warn!(summary = %summary, error = %e, "cannot ask in a notification; nothing was changed")
        }
    });
}

/// Asks to allow taking `session`'s refresh token out of the keychain (back into
/// `~/.aws/sso/cache`); done only when the user clicks Allow.
fn ask_to_allow_keychain_off(app: &App, session: &str) -> Result<(), CmdError> {
    let engine = app.engine.clone();
    let target = app.target(session)?;
    let session = session.to_string();
    ask_in_a_notification(
        "Take the refresh token out of the keychain?",
        &format!(
            "The ssotray window asks to keep the refresh token of {session} in ~/.aws/sso/cache again instead of the OS keychain. Allow it only if you asked for it yourself."
        ),
        (ALLOW_KEYCHAIN_OFF, "refuse-keychain-off"),
        move || match tauri::async_runtime::block_on(engine.keychain_disable(&target)) {
            Ok(()) => tracing::info!(session = %session, "refresh token out of the keychain"),
            Err(e) => {
                tracing::warn!(session = %session, error = %e, "cannot take the refresh token out of the keychain")
            }
        },
    );
    Ok(())
}

/// Asks to allow `command` as `session`'s browser; written only when the user clicks Allow.
fn ask_to_allow_browser(app: &App, session: &str, command: &str) {
    let engine = app.engine.clone();
    let (session, command) = (session.to_string(), command.to_string());
    ask_in_a_notification(
        "Allow this browser command?",
        &format!(
            "The ssotray window asks to open the consoles of {session} with the program `{command}`. Allow it only if you typed it yourself."
        ),
        (ALLOW_BROWSER, "refuse-browser"),
        move || {
            let written = tauri::async_runtime::block_on(engine.edit_settings(|t| {
                set_session_value(t, &session, "browser", command.as_str())
            }));
            match written {
                Ok(()) => tracing::info!(session = %session, "browser command allowed"),
                Err(e) => {
                    tracing::warn!(session = %session, error = %e, "cannot save the browser command")
                }
            }
        },
    );
}
