//! What users open ssotray for: accounts and roles, role credentials, console links, profiles.
//! More `Engine` operations, over the same injected [`Context`](crate::platform::context::Context).
//!
//! - A usable token: refreshed when less than 15 minutes are left, never a login.
//! - Discover and keep the account list.
//! - Role credentials through the AWS CLI's cache: an entry is written under the cache's lock, only
//!   while the token it came from is there; a logout removes the session's entries under that lock,
//!   after its token. Reading credentials never starts a login and never hands out credentials with
//!   15 minutes or less left.
//! - `profile_role`: what a profile stands for (`ProfileRole`: an SSO role and the roles assumed on
//!   top). `profile_credentials`: each AssumeRole through the AWS CLI's assume-role cache, under
//!   the CLI's key and nowhere else; source credentials fetched anew once when STS refuses them.
//!   Everything that takes a profile (`credentials`, `exec`, the servers, exports, `console`, the
//!   app) goes through `profile_role`, so chains work the same everywhere.
//! - Console URLs, opening them with the session's browser, and planning and writing generated
//!   profiles.
//!
//! `~/.aws/config` is written only by `profiles generate` (inside ssotray's marked block) and "Add
//! Identity Center" (a section appended), through `Engine::edit_config`: atomically, keeping the
//! file's mode (and a symlink's target), under ssotray's lock (in `$XDG_CACHE_HOME/ssotray/locks`,
//! nothing of ssotray's in `~/.aws`), and redone on the new text if another program changed the
//! file since it was read. Nothing an INI line cannot hold is ever written (`config::ini_problem`).

use crate::aws::cache::{self, CacheError, CachedToken, TokenFile};
use crate::aws::config::{AwsConfig, SsoTarget};
use crate::aws::console;
use crate::aws::credentials;
use crate::aws::error::ErrorCode;
use crate::aws::oidc::ApiError;
use crate::aws::portal::{RetryPolicy, RoleCredentials};
use crate::ops::discovery::{
    self, DiscoveryError, DiscoveryOptions, DiscoveryStats, Inventory, Progress,
};
use crate::ops::engine::{unreadable, Engine, EngineError};
use crate::ops::profiles::{self, GeneratedProfile};
use crate::ops::settings::{ConsoleLink, SessionSettings, Settings};
use crate::platform::secret::Secret;
use chrono::Duration;
use std::io;
use std::path::PathBuf;

/// An access token is refreshed before use when less than this is left (the AWS CLI's window).
pub const TOKEN_MIN_LEFT: Duration = Duration::minutes(15);

/// What a profile stands for (see [`Engine::profile_role`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRole {
    /// The profile asked for.
    pub profile: String,
    /// The token holder of the SSO profile at the bottom.
    pub target: SsoTarget,
    /// The SSO role's account.
    pub account_id: String,
    /// The SSO role's name.
    pub role_name: String,
    /// The profile's own `region`.
    pub region: Option<String>,
    /// Roles assumed on top of the SSO role, from the bottom up (empty for an SSO profile).
    pub chain: Vec<crate::aws::chain::ChainedProfile>,
}

impl ProfileRole {
    /// The account whose credentials the profile gives.
    pub fn final_account_id(&self) -> &str {
        self.chain
            .last()
            .map_or(&self.account_id, |s| s.account_id())
    }

    /// The role whose credentials the profile gives.
    pub fn final_role_name(&self) -> &str {
        self.chain.last().map_or(&self.role_name, |s| s.role_name())
    }
}

enum AssumeFailure {
    /// STS refused the source credentials (expired, unknown, bad signature).
    SourceRefused(EngineError),
    Other(EngineError),
}

impl AssumeFailure {
    fn into_error(self) -> EngineError {
        match self {
            AssumeFailure::SourceRefused(e) | AssumeFailure::Other(e) => e,
        }
    }
}

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
    /// ssotray's settings file (see [`crate::platform::paths`]).
    pub fn settings_path(&self) -> Result<PathBuf, EngineError> {
        Ok(self.paths().settings()?)
    }

    /// ssotray's settings (kept until the file changes); a missing file gives the defaults, a
    /// broken one an error saying where.
    pub fn settings(&self) -> Result<Settings, EngineError> {
        let path = self.settings_path()?;
        let settings = self.read_kept(&path, Settings::default, |bytes| {
            Settings::parse(&String::from_utf8_lossy(bytes))
                .map_err(|e| unreadable("settings file", &path, e))
        })?;
        Ok(settings.as_ref().clone())
    }

    /// Edits ssotray's settings file (kept comments and all) under its lock and writes it back
    /// atomically. A file that cannot be parsed is left as it is.
    pub async fn edit_settings(
        &self,
        mut edit: impl FnMut(&str) -> Result<String, crate::platform::files::Invalid>,
    ) -> Result<(), EngineError> {
        let path = self.settings_path()?;
        self.update_own_file(&path, |bytes| {
            let text = match bytes {
                Some(b) => std::str::from_utf8(b)
                    .map_err(|_| unreadable("settings file", &path, "not UTF-8 text"))?,
                None => "",
            };
            // A byte-order mark some editors write stays where it is.
            let (bom, body) = match text.strip_prefix(crate::platform::files::BOM) {
                Some(rest) => (crate::platform::files::BOM, rest),
                None => ("", text),
            };
            crate::ops::settings::Settings::parse(body)
                .map_err(|e| unreadable("settings file", &path, e))?;
            let new = edit(body).map_err(|e| EngineError::Unchangeable {
                path: path.clone(),
                reason: format!("{e}; fix it or move it away"),
            })?;
            crate::ops::settings::Settings::parse(&new)
                .map_err(|e| EngineError::Refused(format!("that setting is not valid: {e}")))?;
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
            at: crate::platform::time::format_timestamp(token.expires_at),
        })
    }

    fn inventory_path(&self, target: &SsoTarget) -> Result<PathBuf, EngineError> {
        Ok(self
            .paths()
            .accounts_dir()?
            .join(cache::token_file_name(target.cache_id())))
    }

    /// The last list of accounts and roles, if one was fetched. A file that cannot be read is
    /// treated as absent (it is ssotray's own cache, rebuilt by the next discovery).
    pub fn cached_inventory(&self, target: &SsoTarget) -> Result<Option<Inventory>, EngineError> {
        let path = self.inventory_path(target)?;
        let kept = crate::platform::files::read_kept(
            &self.ctx.parsed,
            self.ctx.fs.as_ref(),
            &path,
            || None,
            |b| Ok::<_, ()>(serde_json::from_slice(crate::platform::files::strip_bom(b)).ok()),
            |_| (),
        )
        .unwrap_or_default();
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
        let (accounts, stats) =
            match discovery::discover(&portal, &token.access_token, options, progress).await {
                Ok(found) => found,
                Err(DiscoveryError::SessionEnded) => {
                    let kept = match &previous {
                        Some(p) => format!(
                            "the list fetched at {} is kept",
                            crate::platform::time::format_timestamp(p.fetched_at)
                        ),
                        None => "no earlier list exists".to_string(),
                    };
                    return Err(EngineError::EndedWhileListing { name, kept });
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
        let bytes = serde_json::to_vec(&inventory).expect("an account list serializes");
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

    /// What a profile stands for: its token holder, SSO account and role, region, and the roles
    /// assumed on top (`role_arn` … `source_profile`, resolved down to an SSO profile).
    pub fn profile_role(
        &self,
        config: &crate::aws::config::AwsConfig,
        profile: &str,
    ) -> Result<ProfileRole, EngineError> {
        let chain = crate::aws::chain::resolve(config, profile)?;
        let base = chain.as_ref().map_or(profile, |c| c.base.as_str());
        let target = self.resolve(config, &crate::Selector::Profile(base.to_string()))?;
        let p = config.profile(base).expect("resolved above");
        match (&p.account_id, &p.role_name) {
            (Some(a), Some(r)) => Ok(ProfileRole {
                profile: profile.to_string(),
                target,
                account_id: a.clone(),
                role_name: r.clone(),
                region: match &chain {
                    Some(c) => c.region.clone(),
                    None => p.region.clone(),
                },
                chain: chain.map(|c| c.steps).unwrap_or_default(),
            }),
            _ => Err(EngineError::Refused(format!(
                "profile `{base}` has no sso_account_id and sso_role_name; add them, or run `ssotray profiles generate --sso-session {}`",
                target.display_name()
            ))),
        }
    }

    /// A profile's credentials: the SSO role's ([`Engine::role_credentials`]), then each role of
    /// its chain assumed in turn. Never starts a login.
    pub async fn profile_credentials(
        &self,
        role: &ProfileRole,
    ) -> Result<RoleCredentials, EngineError> {
        self.profile_credentials_with(role, credentials::ROLE_CREDENTIALS_MIN_LEFT)
            .await
    }

    /// [`Engine::profile_credentials`], reusing cached ones only while more than `min_left` (at
    /// least 15 minutes) is left. A chained profile's cached credentials are used without
    /// looking at its source's; the source is fetched (down the chain) only to assume anew.
    pub async fn profile_credentials_with(
        &self,
        role: &ProfileRole,
        min_left: Duration,
    ) -> Result<RoleCredentials, EngineError> {
        let min_left = min_left.max(credentials::ROLE_CREDENTIALS_MIN_LEFT);
        let Some((step, below)) = role.chain.split_last() else {
            return self
                .role_credentials_with(&role.target, &role.account_id, &role.role_name, min_left)
                .await;
        };
        if let Some(cached) = self.cached_assumed_role(step, min_left) {
            return Ok(cached);
        }
        // The session's token before anything of the chain is fetched: what the assumed role's
        // cache entry is written under (nothing once the session was logged out meanwhile).
        let held = self.token_now(&role.target);
        let source_role = ProfileRole {
            chain: below.to_vec(),
            ..role.clone()
        };
        let source = Box::pin(self.profile_credentials(&source_role)).await?;
        match self
            .assume_step(role, below.len(), step, &source, &held)
            .await
        {
            Err(AssumeFailure::SourceRefused(_)) => {
                // The source credentials were refused as expired or invalid (a clock apart from
                // AWS's, a damaged cache entry): once more with fresh ones (longer than any
                // credentials live: nothing cached is reused).
                let fresh =
                    Box::pin(self.profile_credentials_with(&source_role, Duration::days(3650)))
                        .await?;
                self.assume_step(role, below.len(), step, &fresh, &held)
                    .await
                    .map_err(AssumeFailure::into_error)
            }
            other => other.map_err(AssumeFailure::into_error),
        }
    }

    fn assumed_role_path(
        &self,
        step: &crate::aws::chain::ChainedProfile,
    ) -> Result<PathBuf, EngineError> {
        Ok(self
            .paths()
            .cli_cache()?
            .join(format!("{}.json", crate::aws::chain::cache_key(step))))
    }

    /// A chained role's credentials from the AWS CLI's assume-role cache, while more than
    /// `min_left` is left.
    fn cached_assumed_role(
        &self,
        step: &crate::aws::chain::ChainedProfile,
        min_left: Duration,
    ) -> Option<RoleCredentials> {
        let path = self.assumed_role_path(step).ok()?;
        let cached = crate::aws::chain::from_cli_cache_json(&self.ctx.fs.read(&path).ok()?)?;
        (cached.credentials.expiration - self.ctx.clock.now() > min_left)
            .then_some(cached.credentials)
    }

    /// Assumes one role of a chain (step `i`) with `source`, and caches it in the AWS CLI's
    /// assume-role cache.
    async fn assume_step(
        &self,
        role: &ProfileRole,
        i: usize,
        step: &crate::aws::chain::ChainedProfile,
        source: &RoleCredentials,
        held: &crate::ops::engine::TokenNow,
    ) -> Result<RoleCredentials, AssumeFailure> {
        let local = |e: EngineError| AssumeFailure::Other(e);
        let path = self.assumed_role_path(step).map_err(local)?;
        let now = self.ctx.clock.now();
        let (endpoint, region) = crate::aws::sts::endpoint_and_region(
            &self.ctx.env,
            role.region.as_deref(),
            &role.target.region,
        )
        .map_err(|e| local(EngineError::Endpoint(e)))?;
        let session_name = step
            .role_session_name
            .clone()
            .unwrap_or_else(|| format!("ssotray-{}", now.timestamp()));
        let input = crate::aws::sts::AssumeRoleInput {
            role_arn: &step.role_arn,
            role_session_name: &session_name,
            external_id: step.external_id.as_deref(),
            duration_seconds: step.duration_seconds,
        };
        let http = self
            .ctx
            .http
            .get()
            .map_err(|e| local(EngineError::Http(e)))?;
        let source_name = if i == 0 {
            format!("{}/{}", role.account_id, role.role_name)
        } else {
            format!("profile `{}`", role.chain[i - 1].name)
        };
        // Server errors, throttling and network failures are tried again (3 attempts), as botocore does.
        let retry = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let assumed = match retry
            .run(
                || crate::aws::sts::assume_role(http, &endpoint, &region, source, &input, now),
                &|_| {},
            )
            .await
        {
            Ok(a) => a,
            Err(ApiError::Service(e))
                if matches!(&e.code, ErrorCode::Other(c) if matches!(c.as_str(), "ExpiredToken" | "InvalidClientTokenId" | "SignatureDoesNotMatch")) =>
            {
                return Err(AssumeFailure::SourceRefused(EngineError::RoleRefused(format!(
                    "STS refused the credentials of {source_name} when assuming `{}` for profile `{}`: {e}; run the command again, or `ssotray login {}` if it persists",
                    step.role_arn,
                    step.name,
                    role.target.display_name()
                ))))
            }
            Err(ApiError::Service(e)) => {
                let hint = match &e.code {
                    ErrorCode::Other(c) if c == "AccessDenied" => format!(
                        "; the role's trust policy must allow {source_name} to assume it (ask its administrator), or check `role_arn` and `external_id` of profile `{}`",
                        step.name
                    ),
                    ErrorCode::Other(c) if c == "ValidationError" => format!(
                        "; roles assumed from other roles' credentials (role chaining) last at most 1 hour: lower or remove `duration_seconds` of profile `{}`",
                        step.name
                    ),
                    _ => String::new(),
                };
                return Err(local(EngineError::RoleRefused(format!(
                    "cannot assume `{}` for profile `{}`: {e}{hint}",
                    step.role_arn, step.name
                ))));
            }
            Err(source) => {
                return Err(local(EngineError::Api {
                    context: format!("cannot assume `{}` for profile `{}`", step.role_arn, step.name),
                    source,
                }))
            }
        };
        // Cached for the AWS CLI and the next call, as role credentials are.
        self.cache_for_the_cli(
            &path,
            &crate::aws::chain::to_cli_cache_json(&assumed),
            |b| crate::aws::chain::from_cli_cache_json(b).is_some(),
            "assumed-role credentials",
            (&role.target, held),
        )
        .await;
        Ok(assumed.credentials)
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
        let path = self
            .paths()
            .cli_cache()?
            .join(cache::role_credential_cache_file_name(
                account_id, role_name, target,
            ));
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
                return Err(EngineError::RoleRefused(format!(
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
        self.cache_for_the_cli(
            &path,
            &credentials::to_cli_cache_json(&creds),
            |b| credentials::from_cli_cache_json(b).is_some(),
            "role credentials",
            (
                target,
                &crate::ops::engine::TokenNow::Token(cache::fingerprint(&token.access_token)),
            ),
        )
        .await;
        Ok(creds)
    }

    /// Writes an entry of the AWS CLI's cache (`~/.aws/cli/cache`, 0600), a courtesy to the CLI
    /// and the next call: failing is not fatal, and a file there that `readable` does not accept
    /// (another tool's, or damaged) is left alone. Written only while `from`'s session still holds
    /// the token the credentials came from, checked under the cache's lock ([`Engine::cli_cache_lock`]),
    /// which a logout takes to remove the session's entries after it removed its token: an entry
    /// from a logged-out session never outlives the logout.
    async fn cache_for_the_cli(
        &self,
        path: &std::path::Path,
        entry: &str,
        readable: impl Fn(&[u8]) -> bool,
        what: &str,
        from: (&SsoTarget, &crate::ops::engine::TokenNow),
    ) {
        let _lock = match self.cli_cache_lock().await {
            Ok(lock) => lock,
            Err(e) => {
                tracing::warn!(error = %e, "not caching {what}: cannot lock the cache");
                return;
            }
        };
        if self.token_now(from.0) != *from.1 {
            tracing::info!(
                session = from.0.display_name(),
                "not caching {what}: the session was logged out or logged in anew meanwhile"
            );
            return;
        }
        let replaceable = match self.ctx.fs.read(path) {
            Ok(b) => readable(&b),
            Err(e) => e.kind() == io::ErrorKind::NotFound,
        };
        if !replaceable {
            tracing::warn!(path = %path.display(), "not caching {what} over a file ssotray cannot read");
        } else if let Err(e) = self.ctx.fs.write_atomic(path, entry.as_bytes(), 0o600) {
            tracing::warn!(path = %path.display(), error = %e, "cannot cache {what}");
        }
    }

    /// The lock under which entries of the AWS CLI's cache are written from a session's token,
    /// and a logout removes its session's entries (ssotray's own lock file: `~/.aws` gets none).
    pub(crate) async fn cli_cache_lock(
        &self,
    ) -> Result<crate::platform::os::FileLock, EngineError> {
        let lock = self.config_lock_path(&self.paths().cli_cache()?)?;
        crate::platform::os::lock_file(self.ctx.fs.clone(), lock.clone())
            .await
            .map_err(|source| EngineError::Io {
                what: "lock",
                path: lock,
                source,
            })
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
        let role = ProfileRole {
            profile: String::new(),
            target: target.clone(),
            account_id: account_id.to_string(),
            role_name: role_name.to_string(),
            region: None,
            chain: Vec::new(),
        };
        self.profile_console_url(&role, options).await
    }

    /// A console link for a profile's role. A chained role always signs in through federation
    /// (the portal knows only SSO roles); the federation endpoint refuses `SessionDuration` for
    /// chained credentials, and the link is asked for once more without it.
    pub async fn profile_console_url(
        &self,
        role: &ProfileRole,
        options: &ConsoleOptions,
    ) -> Result<Secret, EngineError> {
        let target = &role.target;
        let settings = self.session_settings(target)?;
        let region = options
            .region
            .clone()
            .or_else(|| role.region.clone())
            .unwrap_or_else(|| target.region.clone());
        let destination = options
            .destination
            .clone()
            .unwrap_or_else(|| console::console_home(&region));
        let portal_link = options
            .portal_link
            .unwrap_or(settings.console_link == Some(ConsoleLink::Portal));
        if portal_link && role.chain.is_empty() {
            return Ok(Secret::new(console::portal_link(
                &target.start_url,
                &role.account_id,
                &role.role_name,
                Some(&destination),
            )?));
        }
        let duration = options
            .session_duration
            .or(settings.console_session_duration)
            .unwrap_or(3600);
        if !console::SESSION_DURATION_RANGE.contains(&duration) {
            return Err(EngineError::Refused(format!(
                "console session duration {duration} s is outside 900..=43200 seconds"
            )));
        }
        let creds = self.profile_credentials(role).await?;
        let endpoint = console::federation_endpoint(&self.ctx.env, &target.region)
            .map_err(EngineError::Endpoint)?;
        console::federation_login_url(
            self.ctx.http.get()?,
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
            return Err(EngineError::Refused("profiles are generated for sso-sessions; add an [sso-session] section for this start URL".into()));
        };
        let Some(inventory) = self.cached_inventory(target)? else {
            return Err(EngineError::Refused(format!("no account list for `{session}` yet; run `ssotray accounts --sso-session {session} --refresh` first")));
        };
        profiles::generate(current, session, &inventory.accounts, template).map_err(|e| {
            EngineError::Unchangeable {
                path: config_path.to_path_buf(),
                reason: e.to_string(),
            }
        })
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
                return Err(EngineError::Io {
                    what: "read",
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
        let path = self.config_path()?;
        self.edit_config(|current| {
            Ok((
                Some(
                    crate::aws::config::append_sso_session(current, name, start_url, region)
                        .map_err(|reason| EngineError::Unchangeable {
                            path: path.clone(),
                            reason: reason.to_string(),
                        })?,
                ),
                (),
            ))
        })
        .await?;
        let config = self.load_config()?;
        self.resolve(
            &config,
            &crate::ops::engine::Selector::Session(name.trim().to_string()),
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
            .paths()
            .locks_dir()?
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
        let how = crate::platform::files::WriteMode { mode, shared: true };
        self.update_file(path, &lock, how, |bytes| {
            let bytes = bytes.unwrap_or_default();
            let bom = bytes.starts_with(crate::platform::files::BOM.as_bytes());
            let current = std::str::from_utf8(crate::platform::files::strip_bom(bytes))
                .map_err(|_| not_utf8(path))?;
            let (new, result) = edit(current)?;
            let new = new.map(|n| {
                if bom {
                    format!("{}{n}", crate::platform::files::BOM)
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
    EngineError::Unchangeable {
        path: path.to_path_buf(),
        reason: "it is not UTF-8 text; ssotray will not rewrite it".into(),
    }
}
