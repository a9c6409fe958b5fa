//! The app's state over the core: sessions as the window and the tray show them, logins in
//! progress, favorites and recently used roles, and every action the menu and window offer.
//! Tokens, credentials and sign-in URLs never leave Rust except into the clipboard on request.
//!
//! The state is over the core's `Engine`: sessions for the window, logins in progress with their
//! device codes, discovery progress, and favorites and recent roles through the core's `prefs`.

use crate::menu::{ChainedView, MenuInput, RoleRef, SessionState, SessionView};
use chrono::{DateTime, Utc};
use serde::Serialize;
use ssotray_core::ops::access::{ConsoleOptions, ProfileRole};
use ssotray_core::ops::discovery::{AccountRoles, Progress};
use ssotray_core::ops::engine::LogoutReport;
use ssotray_core::ops::login::LoginPrompt;
use ssotray_core::ops::state::SessionEnd;
use ssotray_core::{
    Engine, EngineError, Flow, LoginOptions, Secret, Selector, SsoTarget, TokenState,
};
use std::collections::HashMap;
use std::sync::Mutex;

/// A login in progress, as the window shows it (nothing secret: the user code is typed by people).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Pending {
    /// Waiting for the browser sign-in.
    Browser,
    /// Waiting for a device code to be confirmed.
    #[serde(rename_all = "camelCase")]
    DeviceCode {
        /// The code.
        user_code: String,
        /// The page to open.
        verification_uri: String,
    },
}

/// One session for the window.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionDto {
    name: String,
    start_url: String,
    region: String,
    legacy: bool,
    #[serde(flatten)]
    token: TokenState,
    session_end: Option<SessionEnd>,
    ended_at: Option<DateTime<Utc>>,
    pending: Option<Pending>,
    error: Option<String>,
    /// The accounts go to the window by `get_accounts`, only when `fetched_at` changed.
    #[serde(skip)]
    accounts: Vec<AccountRoles>,
    fetched_at: Option<DateTime<Utc>>,
    progress: Option<(usize, usize)>,
}

/// One session's accounts and roles, for the window's search.
#[derive(Debug, Clone, Serialize)]
pub struct SessionAccounts {
    session: String,
    accounts: Vec<AccountRoles>,
}

/// Everything the window shows (but the accounts).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateDto {
    now: DateTime<Utc>,
    sessions: Vec<SessionDto>,
    favorites: Vec<RoleRef>,
    recent: Vec<RoleRef>,
    config_problems: Vec<String>,
    demo: bool,
    /// Whether a panel shows the tray icon (else the window says how to get one).
    tray_icon: bool,
    /// Chained profiles, each with the session of the SSO role it starts from.
    chained: Vec<SessionChained>,
    /// The console service each favorite opens on (by `session|account|role|profile`).
    destinations: std::collections::BTreeMap<String, String>,
    /// The service names a destination may be.
    services: Vec<&'static str>,
}

/// A chained profile and its session.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionChained {
    session: String,
    #[serde(flatten)]
    view: ChainedView,
}

/// Whether a panel shows the tray icon: the item exists and a StatusNotifierWatcher took it.
/// Without one (stock GNOME, a panel that is gone) the app opens its window at start and says
/// there how to get the icon.
#[derive(Default)]
pub struct TrayShown(std::sync::atomic::AtomicBool);

impl TrayShown {
    /// Whether the icon is shown.
    pub fn get(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Set by `tray::follow_the_watcher`.
    pub(crate) fn set(&self, shown: bool) {
        self.0.store(shown, std::sync::atomic::Ordering::Relaxed)
    }
}

/// The app.
pub struct App {
    /// The engine.
    pub engine: Engine,
    /// The keeper: every login and renewal goes through it, behind its per-session gate.
    keeper: std::sync::Arc<ssotray_core::keep::keeper::Keeper>,
    pending: Mutex<HashMap<String, Pending>>,
    errors: Mutex<HashMap<String, String>>,
    progress: Mutex<HashMap<String, (usize, usize)>>,
    /// Whether this is the demo against the built-in simulator.
    pub demo: bool,
    /// Whether a panel shows the tray icon (`tray::follow_the_watcher` knows).
    pub tray_shown: TrayShown,
}

/// An error for the window: what happened and what to do.
#[derive(Debug, Serialize)]
pub struct CmdError {
    code: &'static str,
    message: String,
}

impl From<EngineError> for CmdError {
    fn from(e: EngineError) -> Self {
        let code = match &e {
            EngineError::NotLoggedIn { .. }
            | EngineError::SessionEnded { .. }
            | EngineError::Expired { .. } => "login-needed",
            EngineError::Keychain(_) => "keychain",
            EngineError::Api { .. } => "network",
            _ => "error",
        };
        CmdError {
            code,
            message: e.to_string(),
        }
    }
}

impl std::fmt::Display for CmdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CmdError {}

impl CmdError {
    /// What happened and what to do.
    #[cfg(test)]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// An error with a message.
    pub fn msg(message: impl Into<String>) -> Self {
        CmdError {
            code: "error",
            message: message.into(),
        }
    }
}

impl App {
    /// The app over its keeper (and the keeper's engine).
    pub fn new(keeper: std::sync::Arc<ssotray_core::keep::keeper::Keeper>, demo: bool) -> App {
        App {
            engine: keeper.engine().clone(),
            keeper,
            pending: Mutex::default(),
            errors: Mutex::default(),
            progress: Mutex::default(),
            demo,
            tray_shown: TrayShown::default(),
        }
    }

    /// The target of a session name.
    pub fn target(&self, session: &str) -> Result<SsoTarget, CmdError> {
        let config = self.engine.load_config()?;
        Ok(self
            .engine
            .resolve(&config, &Selector::Any(session.to_string()))?)
    }

    /// What the window shows.
    pub async fn state(&self) -> StateDto {
        let now = self.engine.context().clock.now();
        let config = self.engine.load_config().unwrap_or_default();
        let mut sessions = Vec::new();
        for target in config.targets() {
            let Ok(status) = self.engine.status(&target).await else {
                continue;
            };
            let inventory = self.engine.cached_inventory(&target).ok().flatten();
            let name = target.display_name().to_string();
            sessions.push(SessionDto {
                name: name.clone(),
                start_url: target.start_url.clone(),
                region: target.region.clone(),
                legacy: target.is_legacy(),
                token: status.token,
                session_end: status.session_end,
                ended_at: status.ended_at,
                pending: self.pending.lock().expect("pending").get(&name).cloned(),
                error: self.errors.lock().expect("errors").get(&name).cloned(),
                fetched_at: inventory.as_ref().map(|i| i.fetched_at),
                accounts: inventory.map(|i| i.accounts).unwrap_or_default(),
                progress: self.progress.lock().expect("progress").get(&name).copied(),
            });
        }
        let prefs = self.engine.prefs();
        StateDto {
            now,
            sessions,
            favorites: prefs.favorites,
            recent: prefs.recent,
            config_problems: config.problems.iter().map(|p| p.to_string()).collect(),
            demo: self.demo,
            tray_icon: self.tray_shown.get(),
            chained: self.chained(&config),
            destinations: prefs.destinations,
            services: ssotray_core::aws::console::service_names().collect(),
        }
    }

    /// Every chained profile that resolves down to an SSO role (one that does not is left out
    /// here; `ssotray credentials --profile NAME` says why).
    fn chained(&self, config: &ssotray_core::AwsConfig) -> Vec<SessionChained> {
        config
            .chained
            .iter()
            .filter_map(|c| {
                let role = self.engine.profile_role(config, &c.name).ok()?;
                Some(SessionChained {
                    session: role.target.display_name().to_string(),
                    view: ChainedView {
                        profile: c.name.clone(),
                        source_account_id: role.account_id.clone(),
                        source_role_name: role.role_name.clone(),
                        account_id: role.final_account_id().to_string(),
                        role_name: role.final_role_name().to_string(),
                    },
                })
            })
            .collect()
    }

    /// What a window or menu role stands for: a chained profile, or an SSO role (named by the
    /// user's profile for it, when there is one, for its region and its console settings).
    fn profile_role(&self, role: &RoleRef) -> Result<ProfileRole, CmdError> {
        let config = self.engine.load_config()?;
        if let Some(profile) = &role.profile {
            return Ok(self.engine.profile_role(&config, profile)?);
        }
        let target = self.target(&role.session)?;
        let profile = profile_of(&config, &target, role);
        Ok(ProfileRole {
            profile: profile.map(|p| p.name.clone()).unwrap_or_default(),
            region: profile.and_then(|p| p.region.clone()),
            target,
            account_id: role.account_id.clone(),
            role_name: role.role_name.clone(),
            chain: Vec::new(),
        })
    }

    /// Every session's accounts and roles (the kept lists only: no token or status is read).
    pub fn accounts(&self) -> Vec<SessionAccounts> {
        let config = self.engine.load_config().unwrap_or_default();
        config
            .targets()
            .into_iter()
            .map(|target| SessionAccounts {
                session: target.display_name().to_string(),
                accounts: self
                    .engine
                    .cached_inventory(&target)
                    .ok()
                    .flatten()
                    .map(|i| i.accounts)
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// What the tray menu is made from.
    pub async fn menu_input(&self) -> MenuInput {
        let state = self.state().await;
        let state_chained = state.chained.clone();
        let settings = self.engine.settings().unwrap_or_default();
        let first_lead = settings
            .keeper
            .lead_times
            .iter()
            .copied()
            .max()
            .unwrap_or(1800) as i64;
        let sessions = state
            .sessions
            .iter()
            .filter(|s| !s.legacy)
            .map(|s| {
                let state = SessionState::of(
                    s.pending.is_some(),
                    s.ended_at,
                    &s.token,
                    s.session_end.map(|e| e.at),
                );
                SessionView {
                    name: s.name.clone(),
                    state,
                    accounts: s.accounts.clone(),
                    chained: state_chained
                        .iter()
                        .filter(|c| c.session == s.name)
                        .map(|c| c.view.clone())
                        .collect(),
                }
            })
            .collect();
        MenuInput {
            now: state.now,
            sessions,
            favorites: state.favorites,
            recent: state.recent,
            warn_within: chrono::Duration::seconds(first_lead),
        }
    }

    fn set_error(&self, session: &str, error: Option<String>) {
        let mut errors = self.errors.lock().expect("errors");
        match error {
            Some(e) => errors.insert(session.to_string(), e),
            None => errors.remove(session),
        };
    }

    /// Logs in (the flow from the session's setting, else AWS CLI v2's default), showing the
    /// device code or "waiting for the browser" while it runs.
    pub async fn login(&self, session: &str, flow: Option<Flow>) -> Result<(), CmdError> {
        self.log_in(session, flow, false).await
    }

    /// Renew: log out, then log in afresh (a new portal session, so a new end), through the
    /// keeper as every renewal is. Exported credentials stay: the keeper rewrites them.
    pub async fn renew(&self, session: &str) -> Result<(), CmdError> {
        self.log_in(session, None, true).await
    }

    /// A login (or a renewal) through the keeper, with its progress for the window and menu.
    async fn log_in(&self, session: &str, flow: Option<Flow>, renew: bool) -> Result<(), CmdError> {
        let target = self.target(session)?;
        let name = target.display_name().to_string();
        let flow = flow.or(self
            .engine
            .settings()
            .ok()
            .and_then(|s| s.session(&name).login_flow));
        self.pending
            .lock()
            .expect("pending")
            .insert(name.clone(), Pending::Browser);
        self.set_error(&name, None);
        let pending = &self.pending;
        let pending_name = name.clone();
        let prompt = move |p: &LoginPrompt| {
            let shown = match p {
                LoginPrompt::Browser { .. } => Pending::Browser,
                LoginPrompt::DeviceCode {
                    user_code,
                    verification_uri,
                    ..
                } => Pending::DeviceCode {
                    user_code: user_code.clone(),
                    verification_uri: verification_uri.clone(),
                },
            };
            pending
                .lock()
                .expect("pending")
                .insert(pending_name.clone(), shown);
        };
        let options = LoginOptions {
            flow,
            ..LoginOptions::default()
        };
        let result = if renew {
            self.keeper.renew_with(&name, &options, &prompt).await
        } else {
            // The user asked: log in unless the token changes while waiting for the turn
            // (another process's login through the keeper serves this one too).
            let stale = ssotray_core::keep::owner::current_fingerprint(&self.engine, &target).await;
            self.keeper
                .login_with(&name, stale, &options, &prompt)
                .await
        };
        self.pending.lock().expect("pending").remove(&name);
        match result {
            Ok(_) => {
                if self
                    .engine
                    .cached_inventory(&target)
                    .ok()
                    .flatten()
                    .is_none()
                {
                    let _ = self.refresh_accounts(&name).await;
                }
                Ok(())
            }
            Err(e) => {
                self.set_error(&name, Some(e.to_string()));
                Err(e.into())
            }
        }
    }

    /// Writes a profile for every known role of a session into ssotray's block of
    /// `~/.aws/config`; how many.
    pub async fn generate_profiles(&self, session: &str) -> Result<usize, CmdError> {
        let target = self.target(session)?;
        let (profiles, _) = self
            .engine
            .write_profiles(&target, ssotray_core::ops::profiles::DEFAULT_TEMPLATE)
            .await?;
        Ok(profiles.len())
    }

    /// Logs out.
    pub async fn logout(&self, session: &str) -> Result<LogoutReport, CmdError> {
        let target = self.target(session)?;
        let config = self.engine.load_config()?;
        Ok(self.engine.logout(&config, &target).await?)
    }

    /// Lists accounts and roles now, with progress.
    pub async fn refresh_accounts(&self, session: &str) -> Result<(), CmdError> {
        let target = self.target(session)?;
        let name = target.display_name().to_string();
        let progress = &self.progress;
        let progress_name = name.clone();
        let report = move |p: Progress| {
            progress
                .lock()
                .expect("progress")
                .insert(progress_name.clone(), (p.roles_done, p.accounts_listed));
        };
        let result = self.engine.discover(&target, None, &report).await;
        self.progress.lock().expect("progress").remove(&name);
        match result {
            Ok(_) => {
                self.set_error(&name, None);
                Ok(())
            }
            Err(e) => {
                self.set_error(&name, Some(e.to_string()));
                Err(e.into())
            }
        }
    }

    async fn used(&self, role: &RoleRef) {
        if let Err(e) = self.engine.update_prefs(|p| p.used(role)).await {
            tracing::warn!(error = %e, "cannot remember the recently used role");
        }
    }

    /// A role's console link (a credential: it goes to the browser or the clipboard only), on
    /// `service`'s console when given (remembered for a favorite), else the favorite's
    /// remembered one, else the console home.
    pub async fn console_url(
        &self,
        role: &RoleRef,
        service: Option<&str>,
    ) -> Result<(ProfileRole, Secret), CmdError> {
        let profile_role = self.profile_role(role)?;
        let region = profile_role
            .region
            .clone()
            .unwrap_or_else(|| profile_role.target.region.clone());
        let given = service.map(str::trim);
        let service = match given {
            Some(s) => s.to_string(),
            None => self
                .engine
                .prefs()
                .destinations
                .get(&role.key())
                .cloned()
                .unwrap_or_default(),
        };
        let destination = if service.is_empty() {
            None
        } else {
            Some(
                ssotray_core::aws::console::destination_url(&service, &region)
                    .map_err(|e| CmdError::msg(format!("{e} (in the row's service box)")))?,
            )
        };
        // Only a service that works is remembered (an empty box forgets the favorite's).
        if given.is_some() {
            if let Err(e) = self
                .engine
                .update_prefs(|p| p.remember_destination(role, &service))
                .await
            {
                tracing::warn!(error = %e, "cannot remember the favorite's console service");
            }
        }
        let url = self
            .engine
            .profile_console_url(
                &profile_role,
                &ConsoleOptions {
                    destination,
                    ..ConsoleOptions::default()
                },
            )
            .await?;
        self.used(role).await;
        Ok((profile_role, url))
    }

    /// Opens a role's console where its settings say (a Firefox container, a browser profile,
    /// the session's browser).
    pub async fn open_console(
        &self,
        role: &RoleRef,
        service: Option<&str>,
    ) -> Result<(), CmdError> {
        let (profile_role, url) = self.console_url(role, service).await?;
        self.engine.open_console(&profile_role, &url)?;
        Ok(())
    }

    /// A role's credentials as shell exports (for the clipboard).
    pub async fn credentials_exports(&self, role: &RoleRef) -> Result<Secret, CmdError> {
        let profile_role = self.profile_role(role)?;
        let creds = self.engine.profile_credentials(&profile_role).await?;
        self.used(role).await;
        Ok(Secret::new(ssotray_core::aws::credentials::shell_exports(
            &creds,
        )))
    }

    /// What the window shows the user to copy now: each device login's code and page.
    pub fn copyable(&self) -> Vec<String> {
        self.pending
            .lock()
            .expect("pending")
            .values()
            .filter_map(|p| match p {
                Pending::DeviceCode {
                    user_code,
                    verification_uri,
                } => Some([user_code.clone(), verification_uri.clone()]),
                Pending::Browser => None,
            })
            .flatten()
            .collect()
    }

    /// The profile name of a role: an existing profile for it, else the generated name.
    pub fn profile_name(&self, role: &RoleRef) -> Result<String, CmdError> {
        if let Some(p) = &role.profile {
            return Ok(p.clone());
        }
        let target = self.target(&role.session)?;
        let config = self.engine.load_config()?;
        Ok(match profile_of(&config, &target, role) {
            Some(p) => p.name.clone(),
            None => ssotray_core::ops::profiles::fill_template(
                ssotray_core::ops::profiles::DEFAULT_TEMPLATE,
                &role.session,
                &role.account_id,
                &role.account_name,
                &role.role_name,
            ),
        })
    }

    /// Adds or removes a favorite.
    pub async fn toggle_favorite(&self, role: &RoleRef) -> Result<(), CmdError> {
        self.engine
            .update_prefs(|p| p.toggle_favorite(role))
            .await?;
        Ok(())
    }

    /// Opens the page of a pending device-code login in the browser.
    pub fn open_login_page(&self, session: &str) -> Result<(), CmdError> {
        let uri = match self.pending.lock().expect("pending").get(session) {
            Some(Pending::DeviceCode {
                verification_uri, ..
            }) => verification_uri.clone(),
            _ => return Err(CmdError::msg("no device-code login is waiting")),
        };
        Ok(self
            .engine
            .context()
            .browser
            .open(&uri)
            .map_err(EngineError::Browser)?)
    }
}

/// The user's profile for a role of a session, if there is one.
fn profile_of<'a>(
    config: &'a ssotray_core::AwsConfig,
    target: &SsoTarget,
    role: &RoleRef,
) -> Option<&'a ssotray_core::aws::config::SsoProfile> {
    config.profiles.iter().find(|p| {
        p.account_id.as_deref() == Some(role.account_id.as_str())
            && p.role_name.as_deref() == Some(role.role_name.as_str())
            && config.target_of(p).as_ref() == Some(target)
    })
}
