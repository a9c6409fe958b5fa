//! One vocabulary for everything the app does for the user, whoever asks: the tray menu (its
//! item ids, [`crate::menu::ItemId`]), the window (its IPC calls arrive as an [`Action`] tagged
//! by the command's name) and a notification's buttons. Each is carried out here, in
//! [`carry_out`], and nowhere else.
//!
//! The window's command names are [`WINDOW_COMMANDS`]; `build.rs` (which makes a permission
//! of each), `capabilities/main.json` (which grants them) and `ui/ipc.js` (which calls them)
//! name the same ones, and a test holds them to it.
//!
//! The window's IPC call *is* an `Action`, deserialized from `{"cmd": name, "args": {...}}` (a
//! tagged enum: an unknown command or a missing argument is refused with a message; no catch-all
//! arguments). A menu item id maps onto one (`Action::from_menu`), and so does a notification's
//! button (`Action::from_notification`). `carry_out` runs long ones in the background and refreshes
//! the menu after changes. Logins and renewals go through the keeper (`Keeper::login_with` /
//! `renew_with`), behind the same per-session gate as the logins the keeper runs for other
//! programs.

use crate::app::{App, CmdError};
use crate::menu::{ItemId, RoleRef};
use crate::settings::SettingsDto;
use crate::tray;
use serde::Deserialize;
use serde_json::Value;
use ssotray_core::Flow;
use std::sync::Arc;
use tauri::{AppHandle, Manager};

/// Where the window opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The sessions.
    Sessions,
    /// The accounts search.
    Accounts,
    /// The settings.
    Settings,
}

impl View {
    /// The view's name in the window's URL (`index.html#sessions`).
    pub fn name(self) -> &'static str {
        match self {
            View::Sessions => "sessions",
            View::Accounts => "accounts",
            View::Settings => "settings",
        }
    }
}

/// Something the user asked the app to do (or to show). From the window, it arrives as
/// `{"cmd": <name>, "args": {...}}`: the names are [`WINDOW_COMMANDS`]; the variants the window
/// may not ask for are not deserialized.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "cmd", content = "args", rename_all = "snake_case")]
pub enum Action {
    /// The window's view of everything.
    GetState {},
    /// The accounts and roles of every session.
    GetAccounts {},
    /// The settings, as the window edits them.
    GetSettings {},
    /// Log in (`flow`: the session's setting, else AWS CLI v2's default).
    Login {
        /// Session.
        session: String,
        /// Flow.
        #[serde(default)]
        flow: Option<Flow>,
    },
    /// Renew: log out, log in afresh.
    Renew {
        /// Session.
        session: String,
    },
    /// Log out.
    Logout {
        /// Session.
        session: String,
    },
    /// List the accounts and roles anew.
    RefreshAccounts {
        /// Session.
        session: String,
    },
    /// Open a role's console (on `service`, else the remembered one or the home page).
    OpenConsole {
        /// Role.
        role: RoleRef,
        /// Console service.
        #[serde(default)]
        service: Option<String>,
    },
    /// Copy a role's console URL (it leaves the clipboard after a minute).
    CopyConsoleUrl {
        /// Role.
        role: RoleRef,
        /// Console service.
        #[serde(default)]
        service: Option<String>,
    },
    /// Copy a role's credentials as shell exports (they leave the clipboard after a minute).
    CopyCredentials {
        /// Role.
        role: RoleRef,
    },
    /// Copy a role's profile name.
    CopyProfileName {
        /// Role.
        role: RoleRef,
    },
    /// Copy short text the window shows (a device user code).
    CopyText {
        /// The text.
        text: String,
    },
    /// Open the device-code page of a login in progress.
    OpenLoginPage {
        /// Session.
        session: String,
    },
    /// Make a role a favorite, or not.
    ToggleFavorite {
        /// Role.
        role: RoleRef,
    },
    /// Save the settings.
    SaveSettings {
        /// The settings.
        settings: SettingsDto,
    },
    /// Add an `[sso-session]` to the AWS config.
    #[serde(rename_all = "camelCase")]
    AddIdentityCenter {
        /// Session name.
        name: String,
        /// Start URL.
        start_url: String,
        /// SSO region.
        region: String,
    },
    /// Write a profile for every role of a session.
    GenerateProfiles {
        /// Session.
        session: String,
    },
    /// Quit the app.
    Quit {},
    /// Show the window on a view (the menu; a click on a notification).
    #[serde(skip)]
    Show(View),
    /// Nothing (a notification dismissed).
    #[serde(skip)]
    Nothing,
}

// `WINDOW_COMMANDS`: the commands the window may send; `build.rs` makes a permission of each
// from the same file.
include!("window_commands.in");

impl Action {
    /// The window's command for this action (`None`: the window cannot ask for it). Every
    /// variant is named here, so a new one cannot be forgotten in [`WINDOW_COMMANDS`].
    pub fn command(&self) -> Option<&'static str> {
        Some(match self {
            Action::GetState {} => "get_state",
            Action::GetAccounts {} => "get_accounts",
            Action::GetSettings {} => "get_settings",
            Action::Login { .. } => "login",
            Action::Renew { .. } => "renew",
            Action::Logout { .. } => "logout",
            Action::RefreshAccounts { .. } => "refresh_accounts",
            Action::OpenConsole { .. } => "open_console",
            Action::CopyConsoleUrl { .. } => "copy_console_url",
            Action::CopyCredentials { .. } => "copy_credentials",
            Action::CopyProfileName { .. } => "copy_profile_name",
            Action::CopyText { .. } => "copy_text",
            Action::OpenLoginPage { .. } => "open_login_page",
            Action::ToggleFavorite { .. } => "toggle_favorite",
            Action::SaveSettings { .. } => "save_settings",
            Action::AddIdentityCenter { .. } => "add_identity_center",
            Action::GenerateProfiles { .. } => "generate_profiles",
            Action::Quit {} => "quit",
            Action::Show(_) | Action::Nothing => return None,
        })
    }

    /// The window's call `command` with its arguments (`null` or an object).
    pub fn from_window(command: &str, args: Value) -> Result<Action, CmdError> {
        if !WINDOW_COMMANDS.contains(&command) {
            return Err(CmdError::msg(format!("unknown command {command}")));
        }
        let args = if args.is_null() {
            Value::Object(Default::default())
        } else {
            args
        };
        serde_json::from_value(serde_json::json!({ "cmd": command, "args": args }))
            .map_err(|e| CmdError::msg(format!("bad arguments for {command}: {e}")))
    }

    /// What a menu item does.
    pub fn from_menu(item: ItemId) -> Action {
        match item {
            ItemId::Login(session) => Action::Login {
                session,
                flow: None,
            },
            ItemId::Renew(session) => Action::Renew { session },
            ItemId::Logout(session) => Action::Logout { session },
            // The menu opens a favorite on its remembered service, like the window.
            ItemId::OpenConsole(role) => Action::OpenConsole {
                role,
                service: None,
            },
            ItemId::CopyConsoleUrl(role) => Action::CopyConsoleUrl {
                role,
                service: None,
            },
            ItemId::CopyCredentials(role) => Action::CopyCredentials { role },
            ItemId::CopyProfileName(role) => Action::CopyProfileName { role },
            ItemId::Search(_) => Action::Show(View::Accounts),
            ItemId::Open => Action::Show(View::Sessions),
            ItemId::Settings => Action::Show(View::Settings),
            ItemId::Quit => Action::Quit {},
        }
    }

    /// What a notification's button does.
    pub fn from_notification(session: &str, action: ssotray_core::keep::keeper::Action) -> Action {
        use ssotray_core::keep::keeper::Action as Button;
        let session = session.to_string();
        match action {
            Button::Renew => Action::Renew { session },
            Button::Login => Action::Login {
                session,
                flow: None,
            },
            Button::Open => Action::Show(View::Sessions),
            Button::Dismiss => Action::Nothing,
        }
    }

    /// Whether it waits for the user or the network for long (a login waits for the sign-in):
    /// the window gets its answer at once and follows it through `get_state`.
    fn is_long(&self) -> bool {
        matches!(
            self,
            Action::Login { .. } | Action::Renew { .. } | Action::RefreshAccounts { .. }
        )
    }

    /// Whether the tray menu shows what it changed.
    fn changes_the_menu(&self) -> bool {
        !matches!(
            self,
            Action::GetState {}
                | Action::GetAccounts {}
                | Action::GetSettings {}
                | Action::CopyText { .. }
                | Action::CopyProfileName { .. }
                | Action::OpenLoginPage { .. }
                | Action::Show(_)
                | Action::Nothing
                | Action::Quit {}
        )
    }
}

fn json<T: serde::Serialize>(value: T) -> Result<Value, CmdError> {
    serde_json::to_value(value).map_err(|e| CmdError::msg(format!("cannot encode the answer: {e}")))
}

/// Carries out an action and answers with what the window shows (`null` for most). A long one
/// runs on in the background after answering; the tray menu follows every change.
pub async fn carry_out(
    handle: &AppHandle,
    app: &Arc<App>,
    action: Action,
) -> Result<Value, CmdError> {
    tracing::debug!(
        command = action.command().unwrap_or("(menu or notification)"),
        "carrying out"
    );
    if action.is_long() {
        let (handle, app) = (handle.clone(), app.clone());
        tauri::async_runtime::spawn(async move {
            if let Err(e) = run(&handle, &app, action).await {
                tracing::warn!(error = ?e, "the action failed");
            }
            tray::refresh(&handle).await;
        });
        return Ok(Value::Null);
    }
    let refresh = action.changes_the_menu();
    let answer = run(handle, app, action).await;
    if refresh {
        tray::refresh(handle).await;
    }
    answer
}

/// Carries out a menu click (on a task of its own: the menu's thread does not wait).
pub fn on_menu(handle: &AppHandle, item: ItemId) {
    let app = handle.state::<Arc<App>>().inner().clone();
    let handle = handle.clone();
    tauri::async_runtime::spawn(async move {
        if let Err(e) = carry_out(&handle, &app, Action::from_menu(item)).await {
            tracing::warn!(error = ?e, "menu action failed");
        }
    });
}

/// Carries out an action and waits for it, long or not (a notification's Renew).
pub async fn carry_out_waiting(
    handle: &AppHandle,
    app: &Arc<App>,
    action: Action,
) -> Result<Value, CmdError> {
    let refresh = action.changes_the_menu();
    let answer = run(handle, app, action).await;
    if refresh {
        tray::refresh(handle).await;
    }
    answer
}

async fn run(handle: &AppHandle, app: &Arc<App>, action: Action) -> Result<Value, CmdError> {
    match action {
        Action::GetState {} => json(app.state().await),
        Action::GetAccounts {} => json(app.accounts()),
        Action::GetSettings {} => json(crate::settings::get(app)?),
        Action::Login { session, flow } => app.login(&session, flow).await.map(|()| Value::Null),
        Action::Renew { session } => app.renew(&session).await.map(|()| Value::Null),
        Action::RefreshAccounts { session } => {
            app.refresh_accounts(&session).await.map(|()| Value::Null)
        }
        Action::Logout { session } => app.logout(&session).await.map(|_| Value::Null),
        Action::OpenConsole { role, service } => {
            json(app.open_console(&role, service.as_deref()).await?)
        }
        // Copied credentials and console URLs leave the clipboard after 60 s if still there.
        Action::CopyConsoleUrl { role, service } => {
            let (_, url) = app.console_url(&role, service.as_deref()).await?;
            json(tray::copy_secret(handle, url.expose().to_string())?)
        }
        Action::CopyCredentials { role } => {
            let text = app.credentials_exports(&role).await?;
            json(tray::copy_secret(handle, text.expose().to_string())?)
        }
        Action::CopyProfileName { role } => {
            json(tray::copy_text(handle, app.profile_name(&role)?)?)
        }
        Action::CopyText { text } => {
            // Only what ssotray shows the user to copy (a device login's code and page): a page
            // someone else's script took over cannot put text of its own on the clipboard.
            if !app.copyable().contains(&text) {
                return Err(CmdError::msg(
                    "ssotray copies only what it shows you (a device login's code); copy other text yourself",
                ));
            }
            json(tray::copy_text(handle, text)?)
        }
        Action::OpenLoginPage { session } => json(app.open_login_page(&session)?),
        Action::ToggleFavorite { role } => app.toggle_favorite(&role).await.map(|()| Value::Null),
        Action::SaveSettings { settings } => json(crate::settings::save(app, settings).await?),
        Action::AddIdentityCenter {
            name,
            start_url,
            region,
        } => {
            app.engine
                .add_sso_session(&name, &start_url, &region)
                .await?;
            Ok(Value::Null)
        }
        Action::GenerateProfiles { session } => json(app.generate_profiles(&session).await?),
        Action::Quit {} => {
            handle.exit(0);
            Ok(Value::Null)
        }
        Action::Show(view) => {
            tray::show_window(handle, view.name());
            Ok(Value::Null)
        }
        Action::Nothing => Ok(Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(command: &str, args: Value) -> Result<Action, String> {
        Action::from_window(command, args).map_err(|e| e.message().to_string())
    }

    fn role() -> Value {
        serde_json::json!({"session": "s", "accountId": "1", "accountName": "a", "roleName": "r"})
    }

    #[test]
    fn every_window_command_is_an_action_and_back() {
        let args = |cmd: &str| match cmd {
            "login" | "logout" | "renew" | "refresh_accounts" | "open_login_page"
            | "generate_profiles" => serde_json::json!({"session": "s"}),
            "open_console" | "copy_console_url" => {
                serde_json::json!({"role": role(), "service": ""})
            }
            "copy_credentials" | "copy_profile_name" | "toggle_favorite" => {
                serde_json::json!({"role": role()})
            }
            "copy_text" => serde_json::json!({"text": "ABCD-EFGH"}),
            "save_settings" => {
                serde_json::json!({"settings": {"leadTimesMinutes": [30], "autostart": false, "sessions": []}})
            }
            "add_identity_center" => {
                serde_json::json!({"name": "n", "startUrl": "https://d-1.awsapps.com/start", "region": "eu-west-1"})
            }
            _ => Value::Null,
        };
        for &cmd in WINDOW_COMMANDS {
            let action = window(cmd, args(cmd)).unwrap_or_else(|e| panic!("{cmd}: {e}"));
            assert_eq!(action.command(), Some(cmd));
        }
    }

    #[test]
    fn the_window_gets_a_message_for_an_unknown_command_or_missing_arguments() {
        assert_eq!(
            window("rm_rf", Value::Null).unwrap_err(),
            "unknown command rm_rf"
        );
        let e = window("login", serde_json::json!({})).unwrap_err();
        assert!(
            e.starts_with("bad arguments for login") && e.contains("session"),
            "{e}"
        );
        // What only the menu and notifications do is not the window's to ask for.
        assert!(window("show", Value::Null).is_err());
        assert!(window("nothing", Value::Null).is_err());
        assert!(matches!(
            window(
                "login",
                serde_json::json!({"session": "s", "flow": "device-code"})
            ),
            Ok(Action::Login {
                flow: Some(Flow::DeviceCode),
                ..
            })
        ));
    }

    #[test]
    fn menu_items_and_notification_buttons_are_actions() {
        use ssotray_core::keep::keeper::Action as Button;
        assert!(matches!(
            Action::from_menu(ItemId::Renew("s".into())),
            Action::Renew { session } if session == "s"
        ));
        assert!(matches!(
            Action::from_menu(ItemId::Settings),
            Action::Show(View::Settings)
        ));
        assert!(matches!(Action::from_menu(ItemId::Quit), Action::Quit {}));
        assert!(matches!(
            Action::from_notification("s", Button::Renew),
            Action::Renew { session } if session == "s"
        ));
        assert!(matches!(
            Action::from_notification("s", Button::Open),
            Action::Show(View::Sessions)
        ));
        assert!(matches!(
            Action::from_notification("s", Button::Dismiss),
            Action::Nothing
        ));
    }

    /// The names in `build.rs`, `capabilities/main.json` and `ui/ipc.js`, in order of appearance.
    fn quoted_after(text: &str, before: &str, after: &str) -> Vec<String> {
        text.split(before)
            .skip(1)
            .filter_map(|rest| rest.split(after).next())
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn build_rs_capabilities_and_ipc_js_name_the_same_commands() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
        let mut expected: Vec<String> = WINDOW_COMMANDS.iter().map(|c| c.to_string()).collect();
        expected.push("close_window".into());
        expected.sort();
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        // build.rs declares these and `close_window`, from the same list.
        let build = read("build.rs");
        assert!(
            build.contains("include!(\"src/window_commands.in\")")
                && build.contains("[\"close_window\"]"),
            "build.rs"
        );
        let caps: serde_json::Value =
            serde_json::from_str(&read("capabilities/main.json")).unwrap();
        let granted: Vec<String> = caps["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                p.as_str()
                    .unwrap()
                    .trim_start_matches("allow-")
                    .replace('-', "_")
            })
            .collect();
        assert_eq!(sorted(granted), expected, "capabilities/main.json");
        let ipc = read("../ui/ipc.js");
        let called = sorted(quoted_after(&ipc, "invoke('", "'"));
        let mut called_once = called.clone();
        called_once.dedup();
        assert_eq!(called_once, expected, "ui/ipc.js");
    }
}
