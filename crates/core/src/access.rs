//! What users open ssotray for: accounts and roles, role credentials, console links, profiles.
//! More `Engine` operations, over the same injected [`Context`](crate::os::Context).

use crate::aws_error::ErrorCode;
use crate::cache::{self, CacheError, CachedToken, TokenFile};
use crate::config::{AwsConfig, SsoTarget};
use crate::console;
use crate::credentials;
use crate::discovery::{
    self, DiscoveryError, DiscoveryOptions, DiscoveryStats, Inventory, Progress,
};
use crate::engine::{Engine, EngineError};
use crate::oidc::ApiError;
use crate::portal::{RetryPolicy, RoleCredentials};
use crate::profiles::{self, GeneratedProfile};
use crate::secret::Secret;
use crate::settings::{ConsoleLink, SessionSettings, Settings};
use chrono::Duration;
use std::io;
use std::path::PathBuf;

/// An access token is refreshed before use when less than this is left (the AWS CLI's window).
pub const TOKEN_MIN_LEFT: Duration = Duration::minutes(15);

/// How to make a console link.
#[derive(Debug, Clone, Default)]
pub struct ConsoleOptions {
    /// Console URL to land on; default: the console home of `region`.
    pub destination: Option<String>,
    /// Region for the default destination (the profile's `region`, else the SSO region).
    pub region: Option<String>,
    /// Portal deep link instead of federation (`None`: the session's setting).
    pub portal_link: Option<bool>,
    /// Console session length in seconds (`None`: the session's setting, else 1 h).
    pub session_duration: Option<u32>,
}

impl Engine {
    /// `$XDG_CONFIG_HOME/ssotray/settings.toml`, else `~/.config/ssotray/settings.toml`.
    pub fn settings_path(&self) -> Result<PathBuf, EngineError> {
        if let Some(d) = self.ctx.env.get_non_empty("XDG_CONFIG_HOME") {
            return Ok(PathBuf::from(d).join("ssotray/settings.toml"));
        }
        Ok(self.home()?.join(".config/ssotray/settings.toml"))
    }

    /// ssotray's settings (kept until the file changes); a missing file gives the defaults, a
    /// broken one an error saying where.
    pub fn settings(&self) -> Result<Settings, EngineError> {
        let path = self.settings_path()?;
        let settings = self
            .ctx
            .parsed
            .get(self.ctx.fs.as_ref(), &path, |bytes| match bytes {
                Ok(bytes) => Settings::parse(&String::from_utf8_lossy(&bytes)).map_err(|e| {
                    EngineError::Local(format!(
                        "settings file `{}` cannot be read: {e}; fix it or move it away",
                        path.display()
                    ))
                }),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Settings::default()),
                Err(e) => Err(EngineError::Local(format!(
                    "failed to read `{}`: {e}",
                    path.display()
                ))),
            })?;
        Ok(settings.as_ref().clone())
    }

    /// Edits ssotray's settings file (kept comments and all) under its lock and writes it back
    /// atomically. A file that cannot be parsed is left as it is.
    pub async fn edit_settings(
        &self,
        mut edit: impl FnMut(&str) -> Result<String, String>,
    ) -> Result<(), EngineError> {
        let path = self.settings_path()?;
        self.update_own_file(&path, |bytes| {
            let text = match bytes {
                Some(b) => std::str::from_utf8(b).map_err(|_| {
                    EngineError::Local(format!(
                        "`{}` is not UTF-8 text; fix it or move it away",
                        path.display()
                    ))
                })?,
                None => "",
            };
            // A byte-order mark some editors write stays where it is.
            let (bom, body) = match text.strip_prefix(crate::files::BOM) {
                Some(rest) => (crate::files::BOM, rest),
                None => ("", text),
            };
            crate::settings::Settings::parse(body).map_err(|e| {
                EngineError::Local(format!(
                    "settings file `{}` cannot be read: {e}; fix it or move it away",
                    path.display()
                ))
            })?;
            let new = edit(body).map_err(|e| {
                EngineError::Local(format!(
                    "settings file `{}` cannot be edited ({e}); fix it or move it away",
                    path.display()
                ))
            })?;
            crate::settings::Settings::parse(&new)
                .map_err(|e| EngineError::Local(format!("that setting is not valid: {e}")))?;
            Ok((Some(format!("{bom}{new}").into_bytes()), ()))
        })
        .await
    }

    fn session_settings(&self, target: &SsoTarget) -> Result<SessionSettings, EngineError> {
        Ok(self.settings()?.session(target.display_name()))
    }

    /// A token good for a portal call: refreshed first when less than 15 minutes are left and it
    /// can be. Never starts a login.
    pub async fn usable_token(&self, target: &SsoTarget) -> Result<CachedToken, EngineError> {
        let name = target.display_name().to_string();
        let path = self.token_path(target)?;
        let token = match cache::read_token(&self.ctx, &path).await? {
            TokenFile::Missing => return Err(EngineError::NotLoggedIn { name }),
            TokenFile::Token(t) => t,
        };
        let now = self.ctx.clock.now();
        if token.expires_at - now > TOKEN_MIN_LEFT {
            return Ok(token);
        }
        if !target.is_legacy() && self.refreshable(target, &token).await {
            return self.refresh(target).await;
        }
        if token.expires_at > now {
            return Ok(token);
        }
        Err(EngineError::Expired {
            name,
            at: crate::time::format_timestamp(token.expires_at),
        })
    }

    fn inventory_path(&self, target: &SsoTarget) -> Result<PathBuf, EngineError> {
        Ok(self
            .own_cache_dir()?
            .join("accounts")
            .join(cache::token_file_name(target.cache_id())))
    }

    /// The last list of accounts and roles, if one was fetched. A file that cannot be read is
    /// treated as absent (it is ssotray's own cache, rebuilt by the next discovery).
    pub fn cached_inventory(&self, target: &SsoTarget) -> Result<Option<Inventory>, EngineError> {
        let path = self.inventory_path(target)?;
        let kept = self.ctx.parsed.get(
            self.ctx.fs.as_ref(),
            &path,
            |bytes| -> Result<Option<Inventory>, EngineError> {
                Ok(bytes
                    .ok()
                    .and_then(|b| serde_json::from_slice(crate::files::strip_bom(&b)).ok()))
            },
        )?;
        Ok(kept.as_ref().clone())
    }

    /// Lists every account and role now and keeps the list. When the session ends mid-way, the
    /// last good list stays as it was and the error says so.
    pub async fn discover(
        &self,
        target: &SsoTarget,
        options: Option<DiscoveryOptions>,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<(Inventory, DiscoveryStats), EngineError> {
        let name = target.display_name().to_string();
        let options = match options {
            Some(o) => o,
            None => DiscoveryOptions {
                rate_limit: self
                    .session_settings(target)?
                    .rate_limit
                    .unwrap_or(DiscoveryOptions::default().rate_limit),
                ..DiscoveryOptions::default()
            },
        };
        let token = self.usable_token(target).await?;
        let portal = self.portal(&target.region)?;
        let previous = self.cached_inventory(target)?;
        let (accounts, stats) = match discovery::discover(
            &portal,
            &token.access_token,
            options,
            progress,
        )
        .await
        {
            Ok(found) => found,
            Err(DiscoveryError::SessionEnded) => {
                let kept = match &previous {
                    Some(p) => format!(
                        "the list fetched at {} is kept",
                        crate::time::format_timestamp(p.fetched_at)
                    ),
                    None => "no earlier list exists".to_string(),
                };
                return Err(EngineError::Local(format!(
                    "session ended while listing accounts of `{name}` ({kept}); run `ssotray login {name}`"
                )));
            }
            Err(DiscoveryError::Api(source)) => {
                return Err(EngineError::Api {
                    context: format!("cannot list accounts of `{name}`"),
                    source,
                })
            }
        };
        let changes = previous
            .as_ref()
            .map(|p| discovery::diff(&p.accounts, &accounts))
            .unwrap_or_default();
        let inventory = Inventory {
            session: name,
            start_url: target.start_url.clone(),
            fetched_at: self.ctx.clock.now(),
            accounts,
            changes,
        };
        let path = self.inventory_path(target)?;
        let bytes =
            serde_json::to_vec(&inventory).map_err(|e| EngineError::Local(e.to_string()))?;
        self.ctx
            .fs
            .write_atomic(&path, &bytes, 0o600)
            .map_err(|source| CacheError::Io {
                what: "write",
                path,
                source,
            })?;
        Ok((inventory, stats))
    }

    /// A profile's token holder, account, role and region (`sso_account_id`, `sso_role_name`).
    pub fn profile_role(
        &self,
        config: &crate::config::AwsConfig,
        profile: &str,
    ) -> Result<(SsoTarget, String, String, Option<String>), EngineError> {
        let target = self.resolve(config, &crate::Selector::Profile(profile.to_string()))?;
        let p = config.profile(profile).expect("resolved above");
        match (&p.account_id, &p.role_name) {
            (Some(a), Some(r)) => Ok((target, a.clone(), r.clone(), p.region.clone())),
            _ => Err(EngineError::Local(format!(
                "profile `{profile}` has no sso_account_id and sso_role_name; add them, or run `ssotray profiles generate --sso-session {}`",
                target.display_name()
            ))),
        }
    }

    /// Role credentials: from the AWS CLI's cache while more than 15 minutes are left, else
    /// fetched with the session's token (refreshed first if needed) and cached for the CLI too.
    /// Never starts a login.
    pub async fn role_credentials(
        &self,
        target: &SsoTarget,
        account_id: &str,
        role_name: &str,
    ) -> Result<RoleCredentials, EngineError> {
        self.role_credentials_with(
            target,
            account_id,
            role_name,
            credentials::ROLE_CREDENTIALS_MIN_LEFT,
        )
        .await
    }

    /// [`Engine::role_credentials`], reusing cached ones only while more than `min_left` (at
    /// least 15 minutes) is left.
    pub async fn role_credentials_with(
        &self,
        target: &SsoTarget,
        account_id: &str,
        role_name: &str,
        min_left: Duration,
    ) -> Result<RoleCredentials, EngineError> {
        let path = cache::cli_cache_dir(&self.ctx.env)?.join(
            cache::role_credential_cache_file_name(account_id, role_name, target),
        );
        let now = self.ctx.clock.now();
        if let Some(c) = self
            .ctx
            .fs
            .read(&path)
            .ok()
            .and_then(|b| credentials::from_cli_cache_json(&b))
        {
            if credentials::fresh_enough(&c, now) && c.expiration - now > min_left {
                return Ok(c);
            }
        }
        let name = target.display_name().to_string();
        let token = self.usable_token(target).await?;
        let portal = self.portal(&target.region)?;
        let fetched = RetryPolicy::default()
            .run(
                || portal.get_role_credentials(&token.access_token, account_id, role_name),
                &|_| {},
            )
            .await;
        let creds = match fetched {
            Ok(c) => c,
            Err(ApiError::Service(e)) if e.code == ErrorCode::Unauthorized || e.status == 401 => {
                return Err(EngineError::SessionEnded { name });
            }
            Err(ApiError::Service(e)) if e.status == 403 || e.status == 404 => {
                return Err(EngineError::Local(format!(
                    "no access to role `{role_name}` in account {account_id} through `{name}`; check the names with `ssotray accounts --sso-session {name}`"
                )));
            }
            Err(source) => {
                return Err(EngineError::Api {
                    context: format!("cannot get credentials for {account_id}/{role_name}"),
                    source,
                })
            }
        };
        // Caching is a courtesy to the AWS CLI and the next call; failing to cache is not fatal.
        // A file there that is not an SSO entry ssotray can read is left alone.
        let replaceable = match self.ctx.fs.read(&path) {
            Ok(b) => credentials::from_cli_cache_json(&b).is_some(),
            Err(e) => e.kind() == io::ErrorKind::NotFound,
        };
        if replaceable {
            if let Err(e) = self.ctx.fs.write_atomic(
                &path,
                credentials::to_cli_cache_json(&creds).as_bytes(),
                0o600,
            ) {
                tracing::warn!(path = %path.display(), error = %e, "cannot cache role credentials");
            }
        } else {
            tracing::warn!(path = %path.display(), "not caching role credentials over a file ssotray cannot read");
        }
        Ok(creds)
    }

    /// A console link for a role: federation (one or two round trips) or the portal deep link.
    /// The link is a credential.
    pub async fn console_url(
        &self,
        target: &SsoTarget,
        account_id: &str,
        role_name: &str,
        options: &ConsoleOptions,
    ) -> Result<Secret, EngineError> {
        let settings = self.session_settings(target)?;
        let region = options
            .region
            .clone()
            .unwrap_or_else(|| target.region.clone());
        let destination = options
            .destination
            .clone()
            .unwrap_or_else(|| console::console_home(&region));
        let portal_link = options
            .portal_link
            .unwrap_or(settings.console_link == Some(ConsoleLink::Portal));
        if portal_link {
            return Ok(Secret::new(console::portal_link(
                &target.start_url,
                account_id,
                role_name,
                Some(&destination),
            )));
        }
        let duration = options
            .session_duration
            .or(settings.console_session_duration)
            .unwrap_or(3600);
        if !console::SESSION_DURATION_RANGE.contains(&duration) {
            return Err(EngineError::Local(format!(
                "console session duration {duration} s is outside 900..=43200 seconds"
            )));
        }
        let creds = self.role_credentials(target, account_id, role_name).await?;
        let endpoint = console::federation_endpoint(&self.ctx.env, &target.region)
            .map_err(EngineError::Endpoint)?;
        console::federation_login_url(
            self.ctx.http.get().map_err(EngineError::Local)?,
            &endpoint,
            &creds,
            Some(duration),
            &destination,
        )
        .await
        .map_err(|source| EngineError::Api {
            context: "cannot get a console sign-in token".into(),
            source,
        })
    }

    /// Opens a URL with the session's browser command, else the user's browser.
    pub fn open_for_session(&self, target: &SsoTarget, url: &Secret) -> Result<(), EngineError> {
        let settings = self.session_settings(target)?;
        self.open_privately(settings.browser.as_deref(), url)
    }

    /// The profile block for `target` planned on `current` config text, from the last
    /// discovered list: the new text and the profiles.
    fn profiles_on(
        &self,
        config_path: &std::path::Path,
        current: &str,
        target: &SsoTarget,
        template: &str,
    ) -> Result<(String, Vec<GeneratedProfile>), EngineError> {
        let Some(session) = &target.session_name else {
            return Err(EngineError::Local("profiles are generated for sso-sessions; add an [sso-session] section for this start URL".into()));
        };
        let Some(inventory) = self.cached_inventory(target)? else {
            return Err(EngineError::Local(format!("no account list for `{session}` yet; run `ssotray accounts --sso-session {session} --refresh` first")));
        };
        profiles::generate(current, session, &inventory.accounts, template)
            .map_err(|e| EngineError::Local(format!("`{}`: {e}", config_path.display())))
    }

    /// The config text with ssotray's profile block for `target` written (or replaced), from
    /// the last discovered list, without writing it (for a dry run). Returns (current text, new
    /// text, profiles).
    pub fn plan_profiles(
        &self,
        config: &AwsConfig,
        target: &SsoTarget,
        template: &str,
    ) -> Result<(String, String, Vec<GeneratedProfile>), EngineError> {
        let current = match self.ctx.fs.read(&config.path) {
            Ok(b) => String::from_utf8(b).map_err(|_| not_utf8(&config.path))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(EngineError::ConfigIo {
                    path: config.path.clone(),
                    source,
                })
            }
        };
        let (new, profiles) = self.profiles_on(&config.path, &current, target, template)?;
        Ok((current, new, profiles))
    }

    /// Writes (or replaces) ssotray's profile block for `target` in the AWS config, under the
    /// config's lock. Returns the profiles and whether the file changed.
    pub async fn write_profiles(
        &self,
        target: &SsoTarget,
        template: &str,
    ) -> Result<(Vec<GeneratedProfile>, bool), EngineError> {
        let path = self.config_path()?;
        self.edit_config(|current| {
            let (new, profiles) = self.profiles_on(&path, current, target, template)?;
            let changed = new != current;
            Ok((changed.then_some(new), (profiles, changed)))
        })
        .await
    }

    /// Appends an `[sso-session]` section to the AWS config under its lock (every other byte
    /// stays) and returns the new session's target.
    pub async fn add_sso_session(
        &self,
        name: &str,
        start_url: &str,
        region: &str,
    ) -> Result<SsoTarget, EngineError> {
        self.edit_config(|current| {
            Ok((
                Some(
                    crate::config::append_sso_session(current, name, start_url, region)
                        .map_err(EngineError::Local)?,
                ),
                (),
            ))
        })
        .await?;
        let config = self.load_config()?;
        self.resolve(
            &config,
            &crate::engine::Selector::Session(name.trim().to_string()),
        )
    }

    /// The advisory lock that ssotray processes take to change the AWS config file. It lives in
    /// ssotray's own cache directory (`locks/config-<sha1 of the path>.lock`): `~/.aws` is
    /// shared with other tools and gets no file of ssotray's for this.
    pub fn config_lock_path(
        &self,
        config_path: &std::path::Path,
    ) -> Result<std::path::PathBuf, EngineError> {
        use sha1::Digest;
        let digest = sha1::Sha1::digest(config_path.to_string_lossy().as_bytes());
        Ok(self
            .own_cache_dir()?
            .join("locks")
            .join(format!("config-{}.lock", &hex::encode(digest)[..16])))
    }

    /// Changes the AWS config under its lock: `edit` gets the current text (empty when there is
    /// no file) and returns the new one (`None`: no change) and a result. The file keeps its
    /// mode (and a symlink its target); if another program changes it meanwhile (one that does
    /// not take ssotray's lock, like `aws configure set`), the edit is made again on its text.
    pub async fn edit_config<T>(
        &self,
        edit: impl FnMut(&str) -> Result<(Option<String>, T), EngineError>,
    ) -> Result<T, EngineError> {
        let path = self.config_path()?;
        self.edit_shared_file(&path, None, edit).await
    }

    /// Changes a file other AWS tools also write (`~/.aws/config`, `~/.aws/credentials`) under
    /// ssotray's lock for it (in its cache directory, nothing in `~/.aws`): `edit` gets the text
    /// without a byte-order mark (kept in the file), and is made again if another program changed
    /// the file before the rename. `mode`: the new file's (`None`: the old file's, else 0600).
    pub(crate) async fn edit_shared_file<T>(
        &self,
        path: &std::path::Path,
        mode: Option<u32>,
        mut edit: impl FnMut(&str) -> Result<(Option<String>, T), EngineError>,
    ) -> Result<T, EngineError> {
        let lock = self.config_lock_path(path)?;
        let how = crate::files::WriteMode { mode, shared: true };
        self.update_file(path, &lock, how, |bytes| {
            let bytes = bytes.unwrap_or_default();
            let bom = bytes.starts_with(crate::files::BOM.as_bytes());
            let current =
                std::str::from_utf8(crate::files::strip_bom(bytes)).map_err(|_| not_utf8(path))?;
            let (new, result) = edit(current)?;
            let new = new.map(|n| {
                if bom {
                    format!("{}{n}", crate::files::BOM)
                } else {
                    n
                }
            });
            Ok((new.map(String::into_bytes), result))
        })
        .await
    }
}

fn not_utf8(path: &std::path::Path) -> EngineError {
    EngineError::Local(format!(
        "`{}` is not UTF-8 text; ssotray will not rewrite it",
        path.display()
    ))
}
