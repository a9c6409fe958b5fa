//! The commands the window may call (each granted in `capabilities/main.json`). They run in the
//! tray process, where the state lives; the window's process forwards each call here
//! (`window.rs`). None returns a token, secret, credential or sign-in URL: copying happens here,
//! in Rust.

use crate::app::{App, CmdError};
use crate::menu::RoleRef;
use crate::tray;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ssotray_core::settings::{set_session_value, set_value, ConsoleLink, TomlArray, TomlValue};
use ssotray_core::Flow;
use std::sync::Arc;
use tauri::{AppHandle, Manager};
use tauri_plugin_autostart::ManagerExt as _;

/// The arguments any command takes, named as the window sends them.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Args {
    session: Option<String>,
    flow: Option<Flow>,
    role: Option<RoleRef>,
    text: Option<String>,
    settings: Option<SettingsDto>,
    name: Option<String>,
    start_url: Option<String>,
    region: Option<String>,
    service: Option<String>,
}

fn need<T>(value: Option<T>, name: &str) -> Result<T, CmdError> {
    value.ok_or_else(|| CmdError::msg(format!("the window sent no `{name}`")))
}

fn json<T: Serialize>(value: T) -> Result<Value, CmdError> {
    serde_json::to_value(value).map_err(|e| CmdError::msg(format!("cannot encode the answer: {e}")))
}

/// Carries out one of the window's commands.
pub async fn dispatch(handle: &AppHandle, command: &str, args: Value) -> Result<Value, CmdError> {
    let app = handle.state::<Arc<App>>().inner().clone();
    let args: Args = if args.is_null() {
        Args::default()
    } else {
        serde_json::from_value(args)
            .map_err(|e| CmdError::msg(format!("bad arguments for {command}: {e}")))?
    };
    match command {
        // The window's view of everything.
        "get_state" => json(app.state().await),
        "get_accounts" => json(app.accounts()),
        // Long actions (a login waits for the user) run in the background; the window follows
        // them through `get_state`, where their errors show too.
        "login" => {
            let (session, flow) = (need(args.session, "session")?, args.flow);
            in_background(handle, app, move |app| async move {
                app.login(&session, flow).await
            });
            Ok(Value::Null)
        }
        "renew" => {
            let session = need(args.session, "session")?;
            in_background(
                handle,
                app,
                move |app| async move { app.renew(&session).await },
            );
            Ok(Value::Null)
        }
        "refresh_accounts" => {
            let session = need(args.session, "session")?;
            in_background(handle, app, move |app| async move {
                app.refresh_accounts(&session).await
            });
            Ok(Value::Null)
        }
        "logout" => {
            app.logout(&need(args.session, "session")?).await?;
            tray::refresh(handle).await;
            Ok(Value::Null)
        }
        "open_console" => json(
            app.open_console(&need(args.role, "role")?, args.service.as_deref())
                .await?,
        ),
        // Copied credentials and console URLs leave the clipboard after 60 s if still there.
        "copy_console_url" => {
            let (_, url) = app
                .console_url(&need(args.role, "role")?, args.service.as_deref())
                .await?;
            json(tray::copy_secret(handle, url.expose().to_string())?)
        }
        "copy_credentials" => {
            let text = app.credentials_exports(&need(args.role, "role")?).await?;
            json(tray::copy_secret(handle, text.expose().to_string())?)
        }
        "copy_profile_name" => json(tray::copy_text(
            handle,
            app.profile_name(&need(args.role, "role")?)?,
        )?),
        "copy_text" => {
            // Only short, visible text the window already shows (a device user code).
            let text = need(args.text, "text")?;
            if text.len() > 64 {
                return Err(CmdError::msg("too long to copy"));
            }
            json(tray::copy_text(handle, text)?)
        }
        "open_login_page" => json(app.open_login_page(&need(args.session, "session")?)?),
        "toggle_favorite" => {
            app.toggle_favorite(&need(args.role, "role")?).await?;
            tray::refresh(handle).await;
            Ok(Value::Null)
        }
        "get_settings" => json(get_settings(handle, &app)?),
        "save_settings" => {
            json(save_settings(handle, &app, need(args.settings, "settings")?).await?)
        }
        "add_identity_center" => {
            app.engine
                .add_sso_session(
                    &need(args.name, "name")?,
                    &need(args.start_url, "startUrl")?,
                    &need(args.region, "region")?,
                )
                .await?;
            tray::refresh(handle).await;
            Ok(Value::Null)
        }
        "generate_profiles" => {
            json(generate_profiles(&app, &need(args.session, "session")?).await?)
        }
        // The window's own Quit, for desktops without a tray (and so without the menu's Quit).
        "quit" => {
            handle.exit(0);
            Ok(Value::Null)
        }
        other => Err(CmdError::msg(format!("unknown command {other}"))),
    }
}

/// Runs a long action in the background, then refreshes the tray.
fn in_background<F, Fut>(handle: &AppHandle, app: Arc<App>, action: F)
where
    F: FnOnce(Arc<App>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), CmdError>> + Send + 'static,
{
    let handle = handle.clone();
    tauri::async_runtime::spawn(async move {
        let _ = action(app).await;
        tray::refresh(&handle).await;
    });
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
fn get_settings(handle: &AppHandle, app: &App) -> Result<SettingsDto, CmdError> {
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

/// Saves the settings (keychain changes move the secrets; autostart goes through the OS). A new
/// browser command is not saved from here: it is a program ssotray will run, and a page that
/// someone else's script took over must not gain that. The user allows it in a notification
/// (outside the page); the answer names the sessions that wait for it.
async fn save_settings(
    handle: &AppHandle,
    app: &App,
    settings: SettingsDto,
) -> Result<Vec<String>, CmdError> {
    let mut to_allow = Vec::new();
    let engine = &app.engine;
    let leads: TomlArray = settings
        .lead_times_minutes
        .iter()
        .map(|m| i64::from(*m) * 60)
        .collect();
    engine
        .edit_settings(|t| {
            set_value(
                t,
                &["keeper"],
                "lead_times",
                Some(TomlValue::Array(leads.clone())),
            )
        })
        .await?;
    for s in &settings.sessions {
        let current = engine.settings()?.session(&s.name);
        let name = s.name.clone();
        let asked = s
            .browser
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty());
        let new_browser = asked.filter(|b| Some(*b) != current.browser.as_deref());
        // Written now: none when none is asked for (back to the default browser), else the
        // command that is there (the one asked for, or the old one until a new one is allowed).
        let written = asked.and(current.browser.clone());
        engine
            .edit_settings(|t| {
                let t = match s.session_length_hours {
                    Some(h) if h > 0.0 => {
                        set_session_value(t, &name, "session_length", (h * 3600.0).round() as i64)?
                    }
                    _ => set_value(t, &["sessions", &name], "session_length", None)?,
                };
                let t = match s.login_flow {
                    Some(Flow::DeviceCode) => {
                        set_session_value(&t, &name, "login_flow", "device-code")?
                    }
                    Some(Flow::Browser) => set_session_value(&t, &name, "login_flow", "browser")?,
                    None => set_value(&t, &["sessions", &name], "login_flow", None)?,
                };
                let link = if s.console_link == ConsoleLink::Portal {
                    "portal"
                } else {
                    "federation"
                };
                let t = set_session_value(&t, &name, "console_link", link)?;
                let t = set_session_value(
                    &t,
                    &name,
                    "console_session_duration",
                    i64::from(s.console_session_duration),
                )?;
                // Removing the command (back to the default browser) or keeping it needs no
                // confirmation; a new one keeps the old until the user allows it.
                match written.as_deref() {
                    Some(b) => set_session_value(&t, &name, "browser", b),
                    None => set_value(&t, &["sessions", &name], "browser", None),
                }
            })
            .await?;
        if let Some(b) = new_browser {
            ask_to_allow_browser(app, &s.name, b);
            to_allow.push(s.name.clone());
        }
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
    let result = if settings.autostart {
        autolaunch.enable()
    } else {
        autolaunch.disable()
    };
    result.map_err(|e| CmdError::msg(format!("cannot change start at login: {e}")))?;
    Ok(to_allow)
}

/// The notification action that allows a browser command the window asked for.
pub const ALLOW_BROWSER: &str = "allow-browser";

/// Asks the user, in a desktop notification, to allow `command` as `session`'s browser; writes
/// it only when they click Allow there.
fn ask_to_allow_browser(app: &App, session: &str, command: &str) {
    let engine = app.engine.clone();
    let (session, command) = (session.to_string(), command.to_string());
    let mut n = notify_rust::Notification::new();
    n.appname("ssotray")
        .summary("Allow this browser command?")
        .body(&format!(
            "The ssotray window asks to open the consoles of {session} with the program `{command}`. Allow it only if you typed it yourself."
        ))
        .action(ALLOW_BROWSER, "Allow")
        .action("refuse-browser", "Don't allow");
    std::thread::spawn(move || {
        match n.show() {
        Ok(handle) => handle.wait_for_action(|id| {
            if id != ALLOW_BROWSER {
                return;
            }
            let written = tauri::async_runtime::block_on(engine.edit_settings(|t| {
                set_session_value(t, &session, "browser", command.as_str())
            }));
            match written {
                Ok(()) => tracing::info!(session = %session, "browser command allowed"),
                Err(e) => tracing::warn!(session = %session, error = %e, "cannot save the browser command"),
            }
        }),
        Err(e) => tracing::warn!(error = %e, "cannot ask to allow a browser command; set it in settings.toml"),
    }
    });
}

/// Writes a profile for every known role of a session into ssotray's block of `~/.aws/config`.
async fn generate_profiles(app: &App, session: &str) -> Result<usize, CmdError> {
    let target = app.target(session)?;
    let (profiles, _) = app
        .engine
        .write_profiles(&target, ssotray_core::profiles::DEFAULT_TEMPLATE)
        .await?;
    Ok(profiles.len())
}
