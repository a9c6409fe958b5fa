//! Where a role's console opens (spec credential-protocols §4): the session's browser command or
//! the user's browser, a Firefox container per role through the Granted Containers extension
//! (`ext+granted-containers:` links), or a Chromium-family browser profile per role
//! (`--profile-directory=…`). In every case the browser is given only the `file://` URL of a
//! private page (see `private_open`) that leads on to the link: the sign-in URL inside it never
//! reaches a command line.
//!
//! The entry point is `Engine::open_console`. A Chromium profile is found by name in the browser's
//! `Local State`. Settings per role override the session's.

use crate::ops::access::ProfileRole;
use crate::ops::engine::{Engine, EngineError};
use crate::ops::settings::{OpenIn, RoleSettings, SessionSettings};
use crate::platform::paths::{Browser, BrowserPlace};
use crate::platform::secret::Secret;

/// The link the Granted Containers extension opens in container `name`
/// (`ext+granted-containers:name=…&url=…&color=…&icon=…`): each value escaped once as a query
/// value, as the extension reads the link with `URLSearchParams`; colour and icon only when set.
pub fn granted_container_url(
    name: &str,
    url: &str,
    color: Option<&str>,
    icon: Option<&str>,
) -> String {
    let mut link = url::form_urlencoded::Serializer::new(String::new());
    link.append_pair("name", name).append_pair("url", url);
    if let Some(c) = color {
        link.append_pair("color", c);
    }
    if let Some(i) = icon {
        link.append_pair("icon", i);
    }
    format!("ext+granted-containers:{}", link.finish())
}

/// How a console is opened, with nothing secret in it (for messages and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// The session's browser command, or the user's browser.
    Browser,
    /// In a Firefox container of this name.
    Container(String),
    /// In this Chromium-family profile directory.
    Profile(String),
}

/// The names a role's settings are looked up by: its profile, then `ACCOUNT_ID/ROLE_NAME`.
pub fn role_keys(role: &ProfileRole) -> Vec<String> {
    let mut keys = Vec::new();
    if !role.profile.is_empty() {
        keys.push(role.profile.clone());
    }
    keys.push(format!(
        "{}/{}",
        role.final_account_id(),
        role.final_role_name()
    ));
    keys
}

/// A role's default container or browser-profile name: its profile, else `ACCOUNT_ID/ROLE_NAME`.
fn default_name(role: &ProfileRole) -> String {
    role_keys(role).remove(0)
}

/// The browser of a console setting (none: the default browser).
fn browser_of(open_in: OpenIn) -> Option<Browser> {
    match open_in {
        OpenIn::FirefoxContainer => Some(Browser::Firefox),
        OpenIn::Chrome => Some(Browser::Chrome),
        OpenIn::Chromium => Some(Browser::Chromium),
        OpenIn::Brave => Some(Browser::Brave),
        OpenIn::Edge => Some(Browser::Edge),
        OpenIn::Default => None,
    }
}

/// The profile directory whose display name is `wanted` in a Chromium `Local State` file
/// (`profile.info_cache`), else `wanted` itself (a directory name, or a new profile's), with
/// `/` made `-` as granted does.
pub fn profile_directory(local_state: Option<&[u8]>, wanted: &str) -> String {
    let wanted = wanted.replace('/', "-");
    let found = local_state
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
        .and_then(|v| {
            v.pointer("/profile/info_cache")?
                .as_object()?
                .iter()
                .find(|(_, p)| p.get("name").and_then(|n| n.as_str()) == Some(wanted.as_str()))
                .map(|(dir, _)| dir.clone())
        });
    found.unwrap_or(wanted)
}

impl Engine {
    /// The program to run for `browser`: the setting's, else the first of this OS's usual
    /// places that exists (else the first, whose failure to start is reported).
    fn browser_program(
        &self,
        browser: Browser,
        executable: Option<String>,
    ) -> (String, BrowserPlace) {
        let place = self.paths().browser(browser);
        let program = executable.unwrap_or_else(|| {
            let found = place.programs.iter().find(|p| {
                p.components().count() == 1 || matches!(self.ctx.fs.stamp(p), Ok(Some(_)))
            });
            found
                .or(place.programs.first())
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        (program, place)
    }

    /// Opens a role's console link where its settings say (the role's `[roles.…]` entry, else its
    /// session's, else the default browser).
    pub fn open_console(&self, role: &ProfileRole, url: &Secret) -> Result<Opened, EngineError> {
        let settings = self.settings()?;
        let session: SessionSettings = settings.session(role.target.display_name());
        let own: RoleSettings = settings.role(&role_keys(role));
        let open_in = own.open_in.or(session.open_in).unwrap_or_default();
        let executable = own
            .browser_executable
            .clone()
            .or(session.browser_executable.clone());
        match open_in {
            OpenIn::Default => {
                self.open_privately(session.browser.as_deref(), url)?;
                Ok(Opened::Browser)
            }
            OpenIn::FirefoxContainer => {
                let name = own.container_name.unwrap_or_else(|| default_name(role));
                let link = Secret::new(granted_container_url(
                    &name,
                    url.expose(),
                    own.container_color.or(session.container_color).as_deref(),
                    own.container_icon.or(session.container_icon).as_deref(),
                ));
                let page = self.private_page(&link)?;
                let (program, _) = self.browser_program(Browser::Firefox, executable);
                self.ctx
                    .browser
                    .launch(&program, &["--new-tab".into(), page])
                    .map_err(EngineError::Browser)?;
                Ok(Opened::Container(name))
            }
            family => {
                let browser = browser_of(family).expect("a Chromium-family browser");
                let (program, place) = self.browser_program(browser, executable);
                let wanted = own.browser_profile.unwrap_or_else(|| default_name(role));
                let local_state = place
                    .user_data
                    .map(|d| d.join("Local State"))
                    .and_then(|p| self.ctx.fs.read(&p).ok());
                let dir = profile_directory(local_state.as_deref(), &wanted);
                let page = self.private_page(url)?;
                self.ctx
                    .browser
                    .launch(
                        &program,
                        &[
                            format!("--profile-directory={dir}"),
                            "--no-first-run".into(),
                            "--no-default-browser-check".into(),
                            page,
                        ],
                    )
                    .map_err(EngineError::Browser)?;
                Ok(Opened::Profile(dir))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_links_escape_each_value_once() {
        let link = granted_container_url(
            "prod & co",
            "https://signin.aws.amazon.com/federation?Action=login&SigninToken=a+b",
            Some("red"),
            None,
        );
        assert_eq!(link, "ext+granted-containers:name=prod+%26+co&url=https%3A%2F%2Fsignin.aws.amazon.com%2Ffederation%3FAction%3Dlogin%26SigninToken%3Da%2Bb&color=red");
    }

    #[test]
    fn profile_directories_are_found_by_name_in_local_state() {
        let state = br#"{"profile":{"info_cache":{"Default":{"name":"Person 1"},"Profile 3":{"name":"prod-admin"}}}}"#;
        assert_eq!(profile_directory(Some(state), "prod-admin"), "Profile 3");
        assert_eq!(profile_directory(Some(state), "Default"), "Default");
        assert_eq!(profile_directory(Some(state), "new"), "new");
        assert_eq!(
            profile_directory(None, "111111111111/Admin"),
            "111111111111-Admin"
        );
        assert_eq!(profile_directory(Some(b"not json"), "x"), "x");
    }
}
