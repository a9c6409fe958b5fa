//! ssotray's own settings (`$XDG_CONFIG_HOME/ssotray/settings.toml`, else
//! `~/.config/ssotray/settings.toml`): what the AWS config has no place for.
//!
//! ```toml
//! [sessions.my-sso]
//! browser = "firefox -P work %s"     # opens console links of this session
//! console_link = "portal"            # or "federation" (default)
//! console_session_duration = 7200    # seconds, 900..=43200 (default 3600)
//! rate_limit = 20                    # portal requests per second during discovery
//! session_length = 28800             # seconds; else learned from the last end, else 8 h
//!
//! open_in = "firefox-container"     # or "chrome", "chromium", "brave", "edge", "default"
//! container_color = "blue"           # Firefox container colour and icon (granted-containers' sets)
//! container_icon = "briefcase"
//!
//! [roles."prod-admin"]               # a profile name, or "ACCOUNT_ID/ROLE_NAME"
//! open_in = "chrome"
//! browser_profile = "Prod"           # Chrome profile (its name or directory; default: the role's name)
//! container_name = "prod"            # Firefox container (default: the role's name)
//!
//! [keeper]
//! refresh_ahead = 1200               # refresh when less than this is left (seconds)
//! lead_times = [1800, 300]           # notify this long before a session ends (seconds)
//! ```
//!
//! Per role (`[roles."PROFILE"]` or `[roles."ACCOUNT/ROLE"]`): `open_in`, the Firefox container's
//! name, colour and icon (from the extension's sets), the Chromium profile, and the browser program
//! (`browser_executable`). The settings text the app's form saves is written here too
//! (`write_session_form`, `write_lead_times`).

use crate::platform::files::Invalid;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How console links are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsoleLink {
    /// AWS federation: works in any browser profile or container (default).
    #[default]
    Federation,
    /// The access portal's deep link: no API call, uses the browser's portal session.
    Portal,
}

/// Where a role's console opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpenIn {
    /// The session's `browser` command, else the user's browser (default).
    #[default]
    Default,
    /// A Firefox container per role, through the Granted Containers extension.
    FirefoxContainer,
    /// A Google Chrome profile per role.
    Chrome,
    /// A Chromium profile per role.
    Chromium,
    /// A Brave profile per role.
    Brave,
    /// A Microsoft Edge profile per role.
    Edge,
}

/// The colours a Firefox container may have (the Granted Containers extension's set).
pub const CONTAINER_COLORS: [&str; 8] = [
    "blue",
    "turquoise",
    "green",
    "yellow",
    "orange",
    "red",
    "pink",
    "purple",
];

/// The icons a Firefox container may have (the Granted Containers extension's set).
pub const CONTAINER_ICONS: [&str; 12] = [
    "fingerprint",
    "briefcase",
    "dollar",
    "cart",
    "circle",
    "gift",
    "vacation",
    "food",
    "fruit",
    "pet",
    "tree",
    "chill",
];

/// Settings of one role (`[roles."PROFILE"]` or `[roles."ACCOUNT_ID/ROLE_NAME"]`); each one
/// given wins over the session's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSettings {
    /// Where the console opens.
    #[serde(default)]
    pub open_in: Option<OpenIn>,
    /// The Firefox container's name (default: the profile name, else `ACCOUNT/ROLE`).
    #[serde(default)]
    pub container_name: Option<String>,
    /// The container's colour.
    #[serde(default)]
    pub container_color: Option<String>,
    /// The container's icon.
    #[serde(default)]
    pub container_icon: Option<String>,
    /// The Chromium-family profile: its display name or directory (default: the role's name).
    #[serde(default)]
    pub browser_profile: Option<String>,
    /// The browser program (default: `firefox`, `google-chrome`, `chromium`, `brave-browser`,
    /// `microsoft-edge`).
    #[serde(default)]
    pub browser_executable: Option<String>,
}

/// Settings of one sso-session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSettings {
    /// Browser command for console links (`%s` for the URL, else appended).
    #[serde(default)]
    pub browser: Option<String>,
    /// Federation or portal link.
    #[serde(default)]
    pub console_link: Option<ConsoleLink>,
    /// Console session length in seconds.
    #[serde(default)]
    pub console_session_duration: Option<u32>,
    /// Portal requests per second during discovery.
    #[serde(default)]
    pub rate_limit: Option<f64>,
    /// The portal session length the administrator set, in seconds (else learned, else 8 h).
    #[serde(default)]
    pub session_length: Option<u32>,
    /// Keep the refresh token and client secret in the OS keychain instead of the token cache.
    #[serde(default)]
    pub keychain: bool,
    /// The login flow the app uses for this session (default: browser for sso-sessions).
    #[serde(default)]
    pub login_flow: Option<crate::ops::login::Flow>,
    /// Where its roles' consoles open (a role's own setting wins).
    #[serde(default)]
    pub open_in: Option<OpenIn>,
    /// The Firefox containers' colour.
    #[serde(default)]
    pub container_color: Option<String>,
    /// The Firefox containers' icon.
    #[serde(default)]
    pub container_icon: Option<String>,
    /// The browser program for `open_in`.
    #[serde(default)]
    pub browser_executable: Option<String>,
}

/// A TOML value, for [`set_value`].
pub type TomlValue = toml_edit::Value;
/// A TOML array, for [`set_value`].
pub type TomlArray = toml_edit::Array;

/// Sets `[table] key = value` (`table` may be dotted, e.g. `sessions.my-sso`) in settings text,
/// keeping every other line and comment; `None` removes the key.
pub fn set_value(
    text: &str,
    table: &[&str],
    key: &str,
    value: Option<toml_edit::Value>,
) -> Result<String, Invalid> {
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| e.to_string())?;
    let mut item = doc.as_item_mut();
    for (i, part) in table.iter().enumerate() {
        let t = item
            .as_table_like_mut()
            .ok_or_else(|| format!("`{}` is not a table", table[..i].join(".")))?;
        if t.get(part).is_none() {
            let mut new = toml_edit::Table::new();
            new.set_implicit(i + 1 < table.len());
            t.insert(part, toml_edit::Item::Table(new));
        }
        item = t.get_mut(part).expect("just inserted");
    }
    let t = item
        .as_table_like_mut()
        .ok_or_else(|| format!("`{}` is not a table", table.join(".")))?;
    match value {
        Some(v) => {
            t.insert(key, toml_edit::Item::Value(v));
        }
        None => {
            t.remove(key);
        }
    }
    Ok(doc.to_string())
}

/// Sets `sessions.<name>.<key>` in the settings text, keeping every other line and comment.
pub fn set_session_value(
    text: &str,
    session: &str,
    key: &str,
    value: impl Into<toml_edit::Value>,
) -> Result<String, Invalid> {
    set_value(text, &["sessions", session], key, Some(value.into()))
}

/// One session's settings as a shell's form edits them (the tray app's settings view).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionForm {
    /// The portal session's length in seconds (`None`: learned, else 8 h).
    pub session_length: Option<u32>,
    /// The login flow (`None`: as AWS CLI v2 picks).
    pub login_flow: Option<crate::ops::login::Flow>,
    /// How console links are made.
    pub console_link: ConsoleLink,
    /// Console session length in seconds.
    pub console_session_duration: u32,
    /// The browser command to write (`None`: the user's default browser).
    pub browser: Option<String>,
}

/// The settings text with session `name`'s form written in, every other line and comment kept.
pub fn write_session_form(text: &str, name: &str, form: &SessionForm) -> Result<String, Invalid> {
    let table = ["sessions", name];
    let t = match form.session_length {
        Some(secs) if secs > 0 => set_session_value(text, name, "session_length", i64::from(secs))?,
        _ => set_value(text, &table, "session_length", None)?,
    };
    let t = match form.login_flow {
        Some(flow) => set_session_value(&t, name, "login_flow", flow.key())?,
        None => set_value(&t, &table, "login_flow", None)?,
    };
    let link = match form.console_link {
        ConsoleLink::Portal => "portal",
        ConsoleLink::Federation => "federation",
    };
    let t = set_session_value(&t, name, "console_link", link)?;
    let t = set_session_value(
        &t,
        name,
        "console_session_duration",
        i64::from(form.console_session_duration),
    )?;
    match form.browser.as_deref() {
        Some(b) => set_session_value(&t, name, "browser", b),
        None => set_value(&t, &table, "browser", None),
    }
}

/// The settings text with the keeper's notification lead times (seconds), the rest kept.
pub fn write_lead_times(text: &str, leads: &[u32]) -> Result<String, Invalid> {
    let leads: TomlArray = leads.iter().map(|s| i64::from(*s)).collect();
    set_value(
        text,
        &["keeper"],
        "lead_times",
        Some(TomlValue::Array(leads)),
    )
}

/// Settings of the keeper (the background refresher and notifier).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeeperSettings {
    /// Refresh when the access token has less than this left, in seconds (default 1200).
    pub refresh_ahead: u32,
    /// Up to this much earlier, at random, so many sessions do not refresh at once (default 120).
    pub refresh_jitter: u32,
    /// Notify this many seconds before a portal session ends (default 1800 and 300).
    pub lead_times: Vec<u32>,
    /// Re-check wall-clock deadlines at least this often, in seconds (default 60).
    pub recheck: u32,
}

impl Default for KeeperSettings {
    fn default() -> Self {
        KeeperSettings {
            refresh_ahead: 1200,
            refresh_jitter: 120,
            lead_times: vec![1800, 300],
            recheck: 60,
        }
    }
}

/// The long-running container-credentials server (tray app and `ssotray keep`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContainerServerSettings {
    /// Serve credentials to containers (off by default).
    pub enabled: bool,
    /// The loopback address and port to listen on (default `127.0.0.1:9911`).
    pub address: String,
}

/// The container server's default address.
pub const CONTAINER_SERVER_ADDRESS: &str = "127.0.0.1:9911";

impl Default for ContainerServerSettings {
    fn default() -> Self {
        ContainerServerSettings {
            enabled: false,
            address: CONTAINER_SERVER_ADDRESS.into(),
        }
    }
}

/// All settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Per sso-session (or legacy start URL) settings.
    #[serde(default)]
    pub sessions: BTreeMap<String, SessionSettings>,
    /// The keeper.
    #[serde(default)]
    pub keeper: KeeperSettings,
    /// The long-running container-credentials server.
    #[serde(default)]
    pub container_server: ContainerServerSettings,
    /// Per role (profile name, or `ACCOUNT_ID/ROLE_NAME`).
    #[serde(default)]
    pub roles: BTreeMap<String, RoleSettings>,
}

impl Settings {
    /// Parses the settings file.
    pub fn parse(text: &str) -> Result<Settings, Invalid> {
        let s: Settings = toml::from_str(
            text.strip_prefix(crate::platform::files::BOM)
                .unwrap_or(text),
        )
        .map_err(|e| e.to_string())?;
        for (name, session) in &s.sessions {
            if let Some(d) = session.console_session_duration {
                if !crate::aws::console::SESSION_DURATION_RANGE.contains(&d) {
                    return Err(format!("sessions.{name}.console_session_duration = {d} is outside 900..=43200 seconds").into());
                }
            }
            check_container(
                &format!("sessions.{name}"),
                &session.container_color,
                &session.container_icon,
            )?;
        }
        for (name, role) in &s.roles {
            check_container(
                &format!("roles.\"{name}\""),
                &role.container_color,
                &role.container_icon,
            )?;
        }
        Ok(s)
    }

    /// The settings of the first of `keys` (a profile name, `ACCOUNT_ID/ROLE_NAME`) that has
    /// any, else the defaults.
    pub fn role(&self, keys: &[String]) -> RoleSettings {
        keys.iter()
            .find_map(|k| self.roles.get(k))
            .cloned()
            .unwrap_or_default()
    }

    /// The settings of a session (defaults when none).
    pub fn session(&self, name: &str) -> SessionSettings {
        self.sessions.get(name).cloned().unwrap_or_default()
    }
}

/// A container colour or icon outside the extension's sets is refused (it would silently drop it).
fn check_container(
    table: &str,
    color: &Option<String>,
    icon: &Option<String>,
) -> Result<(), Invalid> {
    if let Some(c) = color {
        if !CONTAINER_COLORS.contains(&c.as_str()) {
            return Err(format!(
                "{table}.container_color = \"{c}\" is not one of {}",
                CONTAINER_COLORS.join(", ")
            )
            .into());
        }
    }
    if let Some(i) = icon {
        if !CONTAINER_ICONS.contains(&i.as_str()) {
            return Err(format!(
                "{table}.container_icon = \"{i}\" is not one of {}",
                CONTAINER_ICONS.join(", ")
            )
            .into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_form_is_written_and_read_back_with_the_comments_kept() {
        let text =
            "# mine\n[sessions.my-sso]\nbrowser = \"firefox\"  # the work one\nkeychain = true\n";
        let form = SessionForm {
            session_length: Some(12 * 3600),
            login_flow: Some(crate::ops::login::Flow::DeviceCode),
            console_link: ConsoleLink::Portal,
            console_session_duration: 7200,
            browser: None,
        };
        let written = write_session_form(text, "my-sso", &form).unwrap();
        let written = write_lead_times(&written, &[3600, 600]).unwrap();
        assert!(written.starts_with("# mine\n"), "{written}");
        let s = Settings::parse(&written).unwrap();
        let my = s.session("my-sso");
        assert_eq!(my.session_length, Some(12 * 3600));
        assert_eq!(my.login_flow, Some(crate::ops::login::Flow::DeviceCode));
        assert_eq!(my.console_link, Some(ConsoleLink::Portal));
        assert_eq!(my.console_session_duration, Some(7200));
        assert_eq!(my.browser, None, "no browser command: back to the default");
        assert!(my.keychain, "a key the form does not hold stays");
        assert_eq!(s.keeper.lead_times, [3600, 600]);
        // Defaults take the keys out again.
        let back = write_session_form(
            &written,
            "my-sso",
            &SessionForm {
                browser: Some("chromium --incognito".into()),
                console_session_duration: 3600,
                ..SessionForm::default()
            },
        )
        .unwrap();
        let my = Settings::parse(&back).unwrap().session("my-sso");
        assert_eq!((my.session_length, my.login_flow), (None, None));
        assert_eq!(my.browser.as_deref(), Some("chromium --incognito"));
    }

    #[test]
    fn reads_per_session_settings() {
        let s = Settings::parse("[sessions.my-sso]\nbrowser = \"firefox -P work %s\"\nconsole_link = \"portal\"\nconsole_session_duration = 7200\n").unwrap();
        let m = s.session("my-sso");
        assert_eq!(m.browser.as_deref(), Some("firefox -P work %s"));
        assert_eq!(m.console_link, Some(ConsoleLink::Portal));
        assert_eq!(m.console_session_duration, Some(7200));
        assert_eq!(s.session("other"), SessionSettings::default());
        assert!(
            Settings::parse("[sessions.x]\nconsole_session_duration = 60\n")
                .unwrap_err()
                .contains("outside 900..=43200")
        );
        assert!(
            Settings::parse("[sessions.x]\nbrowzer = \"x\"\n").is_err(),
            "typos are reported, not ignored"
        );
        let edited = set_session_value(
            "# mine\n[sessions.a]\nbrowser = \"x\" # keep\n",
            "a",
            "keychain",
            true,
        )
        .unwrap();
        assert_eq!(
            edited,
            "# mine\n[sessions.a]\nbrowser = \"x\" # keep\nkeychain = true\n"
        );
        let edited = set_session_value("", "my-sso", "keychain", false).unwrap();
        assert!(!Settings::parse(&edited).unwrap().session("my-sso").keychain);
        let k = Settings::parse("[keeper]\nlead_times = [60]\n")
            .unwrap()
            .keeper;
        assert_eq!((k.lead_times, k.refresh_ahead), (vec![60], 1200));
    }
}
