//! Client registrations (RegisterClient): kept in ssotray's own cache
//! (`$XDG_CACHE_HOME/ssotray/registrations/<flow>-<sha1>.json`), reused while more than 15
//! minutes are left, replaced when Identity Center rejects them. With the keychain setting on,
//! the client secret follows the refresh token into the OS keychain (account
//! `registration <flow> <session> <start URL>`) and the file keeps only the client id and expiry.
//!
//! A registration whose client secret the keychain cannot take is not kept.

use crate::aws::cache::{self, CacheError};
use crate::aws::config::SsoTarget;
use crate::aws::oidc::{OidcClient, RegisterClientRequest, Registration};
use crate::ops::engine::{Engine, EngineError, Flow, REGISTRATION_MIN_LEFT};
use crate::ops::login;
use crate::platform::secret::Secret;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A registration as ssotray keeps it in its own cache directory.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredRegistration {
    client_id: String,
    /// Absent when the secret is in the keychain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
    expires_at: String,
}

impl Engine {
    fn registration_path(&self, target: &SsoTarget, flow: Flow) -> Result<PathBuf, EngineError> {
        Ok(self.paths().registrations_dir()?.join(format!(
            "{}-{}",
            flow.key(),
            cache::token_file_name(target.cache_id())
        )))
    }

    fn registration_account(target: &SsoTarget, flow: Flow) -> String {
        format!(
            "registration {} {} {}",
            flow.key(),
            target.display_name(),
            target.start_url
        )
    }

    fn read_registration(
        &self,
        target: &SsoTarget,
        flow: Flow,
    ) -> Option<(PathBuf, StoredRegistration)> {
        let path = self.registration_path(target, flow).ok()?;
        let bytes = self.ctx.fs.read(&path).ok()?;
        let stored = serde_json::from_slice(crate::platform::files::strip_bom(&bytes)).ok()?;
        Some((path, stored))
    }

    fn write_registration(
        &self,
        path: PathBuf,
        stored: &StoredRegistration,
    ) -> Result<(), EngineError> {
        let bytes = serde_json::to_vec(stored).expect("a registration serializes");
        self.ctx
            .fs
            .write_atomic(&path, &bytes, 0o600)
            .map_err(|source| {
                EngineError::Cache(CacheError::Io {
                    what: "write",
                    path,
                    source,
                })
            })
    }

    /// The kept registration of a session and flow, if it has more than 15 minutes left (and,
    /// with its secret in the keychain, the keychain can be read).
    pub(crate) async fn load_registration(
        &self,
        target: &SsoTarget,
        flow: Flow,
    ) -> Option<Registration> {
        let (_, stored) = self.read_registration(target, flow)?;
        let expires_at = crate::platform::time::parse_timestamp(&stored.expires_at)?;
        if expires_at - self.ctx.clock.now() <= REGISTRATION_MIN_LEFT {
            return None;
        }
        let client_secret = match stored.client_secret {
            Some(s) => s,
            None => {
                let account = Self::registration_account(target, flow);
                self.blocking(move |store| store.get(&account))
                    .await
                    .ok()?
                    .ok()??
            }
        };
        Some(Registration {
            client_id: stored.client_id,
            client_secret: Secret::new(client_secret),
            expires_at,
        })
    }

    /// Keeps a registration; with the keychain setting on, its secret goes to the keychain, and
    /// if the keychain cannot take it, it is not kept at all (the next login registers anew):
    /// never written into the file.
    async fn store_registration(
        &self,
        target: &SsoTarget,
        flow: Flow,
        r: &Registration,
    ) -> Result<(), EngineError> {
        let path = self.registration_path(target, flow)?;
        let mut stored = StoredRegistration {
            client_id: r.client_id.clone(),
            client_secret: Some(r.client_secret.expose().to_string()),
            expires_at: crate::platform::time::format_timestamp(r.expires_at),
        };
        if self.keychain_enabled(target) && !target.is_legacy() {
            let (account, secret) = (
                Self::registration_account(target, flow),
                r.client_secret.clone(),
            );
            match self
                .blocking(move |store| store.set(&account, secret.expose()))
                .await
            {
                Ok(Ok(())) => stored.client_secret = None,
                Ok(Err(e)) | Err(e) => {
                    tracing::warn!(session = target.display_name(), error = %e, "not keeping the client registration: the keychain cannot take its secret");
                    self.forget_registration(target, flow);
                    return Ok(());
                }
            }
        }
        self.write_registration(path, &stored)
    }

    /// Forgets a kept registration (its file; a keychain copy is overwritten by the next one).
    pub(crate) fn forget_registration(&self, target: &SsoTarget, flow: Flow) {
        if let Ok(path) = self.registration_path(target, flow) {
            let _ = self.ctx.fs.remove(&path);
        }
    }

    /// Moves the kept registrations' secrets into the keychain (`to_keychain`) or back into
    /// their files, for both flows. A registration whose secret cannot be moved is forgotten
    /// (the next login registers anew): a secret is never left in the file with the setting on.
    pub(crate) async fn move_registration_secrets(&self, target: &SsoTarget, to_keychain: bool) {
        for flow in [Flow::Browser, Flow::DeviceCode] {
            let Some((path, mut stored)) = self.read_registration(target, flow) else {
                continue;
            };
            let account = Self::registration_account(target, flow);
            let moved = match (to_keychain, stored.client_secret.take()) {
                (true, Some(secret)) => {
                    let a = account.clone();
                    self.blocking(move |store| store.set(&a, &secret))
                        .await
                        .is_ok_and(|r| r.is_ok())
                }
                (false, None) => {
                    let a = account.clone();
                    match self.blocking(move |store| store.get(&a)).await {
                        Ok(Ok(Some(secret))) => {
                            stored.client_secret = Some(secret);
                            let _ = self.blocking(move |store| store.delete(&account)).await;
                            true
                        }
                        _ => false,
                    }
                }
                (_, secret) => {
                    stored.client_secret = secret;
                    true
                }
            };
            if !moved || self.write_registration(path, &stored).is_err() {
                self.forget_registration(target, flow);
            }
        }
    }

    async fn register(
        &self,
        oidc: &OidcClient,
        target: &SsoTarget,
        flow: Flow,
    ) -> Result<Registration, EngineError> {
        let client_name = format!(
            "ssotray-{}",
            target.session_name.as_deref().unwrap_or("legacy")
        );
        // sso-sessions ask for `sso:account:access` when no scopes are configured: without a
        // scope Identity Center issues no refresh token, and ssotray's point is to refresh.
        // Legacy profiles register without scopes, as the AWS CLI does (they never refresh).
        let scopes = match (&target.session_name, target.scopes.is_empty()) {
            (None, _) => Vec::new(),
            (Some(_), true) => vec!["sso:account:access".to_string()],
            (Some(_), false) => target.scopes.clone(),
        };
        let request = match flow {
            Flow::DeviceCode => RegisterClientRequest {
                client_name,
                client_type: "public".into(),
                scopes,
                ..Default::default()
            },
            Flow::Browser => RegisterClientRequest {
                client_name,
                client_type: "public".into(),
                scopes,
                redirect_uris: vec![login::REGISTERED_REDIRECT_URI.into()],
                grant_types: vec!["authorization_code".into(), "refresh_token".into()],
                issuer_url: Some(target.start_url.clone()),
            },
        };
        let registration =
            oidc.register_client(&request)
                .await
                .map_err(|source| EngineError::Api {
                    context: format!(
                        "cannot register ssotray with Identity Center for `{}`",
                        target.display_name()
                    ),
                    source,
                })?;
        self.store_registration(target, flow, &registration).await?;
        Ok(registration)
    }

    /// The kept registration, else a new one.
    pub(crate) async fn registration(
        &self,
        oidc: &OidcClient,
        target: &SsoTarget,
        flow: Flow,
    ) -> Result<Registration, EngineError> {
        match self.load_registration(target, flow).await {
            Some(r) => Ok(r),
            None => self.register(oidc, target, flow).await,
        }
    }
}
