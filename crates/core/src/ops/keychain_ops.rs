//! Engine operations for keeping refresh tokens in the OS keychain: saving tokens with their
//! secrets split off, reading them back once per process, turning the setting on and off.
//!
//! Every token write goes through `save_token`, which splits the secrets off when the setting is
//! on: no refresh token or client secret is then written to the token cache, not even when the
//! keychain fails (the token file is written without them and the error is returned). The keychain
//! is read once per process into memory, and again only after a refused refresh. Also: enable,
//! disable and status.

use crate::aws::cache::{self, CachedToken, TokenFile};
use crate::aws::config::SsoTarget;
use crate::ops::engine::{Engine, EngineError};
use crate::platform::keychain::{self, KeychainError, KeychainSecrets};
use std::path::Path;

/// What `ssotray keychain status` shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeychainStatus {
    /// Session name.
    pub session: String,
    /// The setting.
    pub enabled: bool,
    /// Whether the keychain holds an entry (`Err`: the keychain could not be asked).
    pub entry: Result<bool, String>,
    /// Whether the token cache file holds a refresh token.
    pub file_has_refresh_token: bool,
}

impl Engine {
    /// Whether the session keeps its secrets in the keychain: the setting; if the settings file
    /// cannot be read, whatever ssotray last did (never a silent move back into the file).
    pub fn keychain_enabled(&self, target: &SsoTarget) -> bool {
        match self.settings() {
            Ok(s) => s.session(target.display_name()).keychain,
            Err(_) => self.recorded_in_keychain(target),
        }
    }

    fn recorded_in_keychain(&self, target: &SsoTarget) -> bool {
        self.load_state()
            .ok()
            .and_then(|s| s.sessions.get(target.display_name()).map(|r| r.in_keychain))
            .unwrap_or(false)
    }

    /// Drops this process's copy of the session's keychain secrets; `true` if there was one.
    pub(crate) fn forget_keychain_memory(&self, target: &SsoTarget) -> bool {
        self.keychain_memory
            .lock()
            .expect("keychain memory")
            .remove(target.display_name())
            .is_some()
    }

    fn keychain_account(target: &SsoTarget) -> String {
        keychain::account(target.display_name(), &target.start_url)
    }

    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn keychain::SecretStore) -> T + Send + 'static,
    ) -> Result<T, KeychainError> {
        let store = self.ctx.secrets.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| KeychainError::Unavailable(format!("keychain task failed: {e}")))
    }

    /// The session's keychain secrets: from memory, else from the keychain (once per process).
    pub async fn keychain_secrets(
        &self,
        target: &SsoTarget,
    ) -> Result<Option<KeychainSecrets>, KeychainError> {
        let name = target.display_name().to_string();
        if let Some(s) = self
            .keychain_memory
            .lock()
            .expect("keychain memory")
            .get(&name)
        {
            return Ok(Some(s.clone()));
        }
        let account = Self::keychain_account(target);
        let a = account.clone();
        let text = self.blocking(move |store| store.get(&a)).await??;
        let Some(text) = text else { return Ok(None) };
        let secrets = KeychainSecrets::from_entry(&account, &text)?;
        self.keychain_memory
            .lock()
            .expect("keychain memory")
            .insert(name, secrets.clone());
        Ok(Some(secrets))
    }

    /// The keychain secrets when this session uses the keychain (setting on, or an entry
    /// ssotray put there and has not taken back); `None` otherwise, without asking the keychain.
    pub(crate) async fn keychain_secrets_if_used(
        &self,
        target: &SsoTarget,
    ) -> Result<Option<KeychainSecrets>, EngineError> {
        let in_memory = self
            .keychain_memory
            .lock()
            .expect("keychain memory")
            .contains_key(target.display_name());
        if !(in_memory || self.recorded_in_keychain(target) || self.keychain_enabled(target)) {
            return Ok(None);
        }
        Ok(self.keychain_secrets(target).await?)
    }

    async fn keychain_put(
        &self,
        target: &SsoTarget,
        secrets: KeychainSecrets,
    ) -> Result<(), KeychainError> {
        // In memory first: whatever the keychain says, this process keeps the session alive.
        self.keychain_memory
            .lock()
            .expect("keychain memory")
            .insert(target.display_name().to_string(), secrets.clone());
        let account = Self::keychain_account(target);
        let text = secrets.to_entry();
        self.blocking(move |store| store.set(&account, &text))
            .await??;
        self.update_record(target.display_name(), |r| r.in_keychain = true)
            .await
            .ok();
        Ok(())
    }

    /// Deletes the session's keychain entry (and this process's copy).
    pub async fn keychain_forget(&self, target: &SsoTarget) -> Result<bool, KeychainError> {
        let in_memory = self.forget_keychain_memory(target);
        if !(in_memory || self.recorded_in_keychain(target) || self.keychain_enabled(target)) {
            return Ok(false);
        }
        let account = Self::keychain_account(target);
        let deleted = self.blocking(move |store| store.delete(&account)).await??;
        self.update_record(target.display_name(), |r| r.in_keychain = false)
            .await
            .ok();
        Ok(deleted)
    }

    /// Writes a token file. With the keychain setting on, the refresh token and client secret
    /// go to the keychain and the file keeps only what AWS readers need; if the keychain fails,
    /// the file is still written without them (never silently with them) and the error returned.
    pub(crate) async fn save_token(
        &self,
        target: &SsoTarget,
        path: &Path,
        token: &CachedToken,
    ) -> Result<(), EngineError> {
        if !self.keychain_enabled(target) || target.is_legacy() {
            cache::write_token(&self.ctx, path, token).await?;
            // Turned off (by a readable setting) with the secrets back in the file: the keychain
            // copy is no longer needed.
            if token.refresh_token.is_some()
                && self.settings().is_ok()
                && self.recorded_in_keychain(target)
            {
                if let Err(e) = self.keychain_forget(target).await {
                    tracing::warn!(session = target.display_name(), error = %e, "cannot delete the keychain entry");
                }
            }
            return Ok(());
        }
        let mut stripped = token.clone();
        let refresh = stripped.refresh_token.take();
        let secret = stripped.client_secret.take();
        let result = match (refresh, secret) {
            (Some(refresh_token), Some(client_secret)) => {
                self.keychain_put(
                    target,
                    KeychainSecrets {
                        refresh_token,
                        client_secret,
                    },
                )
                .await
            }
            _ => Ok(()),
        };
        cache::write_token(&self.ctx, path, &stripped).await?;
        result.map_err(EngineError::Keychain)
    }

    /// Whether a refresh can be tried: the file has what it needs, or the keychain does.
    pub async fn refreshable(&self, target: &SsoTarget, token: &CachedToken) -> bool {
        self.refreshable_checked(target, token)
            .await
            .unwrap_or(false)
    }

    /// Like [`Engine::refreshable`], but says when the keychain could not be asked.
    pub async fn refreshable_checked(
        &self,
        target: &SsoTarget,
        token: &CachedToken,
    ) -> Result<bool, EngineError> {
        let now = self.ctx.clock.now();
        if token.can_refresh(now) {
            return Ok(true);
        }
        let registration_ok =
            token.client_id.is_some() && token.registration_expires_at.is_some_and(|t| t > now);
        Ok(registration_ok && self.keychain_secrets_if_used(target).await?.is_some())
    }

    async fn set_setting(&self, target: &SsoTarget, on: bool) -> Result<(), EngineError> {
        let name = target.display_name().to_string();
        self.edit_settings(|text| {
            crate::ops::settings::set_session_value(text, &name, "keychain", on)
        })
        .await
    }

    /// Turns the keychain on: moves the refresh token and client secret from the token file into
    /// the keychain (no new login). If the keychain cannot take them, nothing changes.
    pub async fn keychain_enable(&self, target: &SsoTarget) -> Result<(), EngineError> {
        if target.is_legacy() {
            return Err(EngineError::Refused(
                "legacy profiles have no refresh token to protect; use an sso-session".into(),
            ));
        }
        let _lock = self.lock_session(target).await?;
        let path = self.token_path(target)?;
        let file = cache::read_token(&self.ctx, &path).await?;
        if let TokenFile::Token(t) = &file {
            if let (Some(refresh_token), Some(client_secret)) =
                (t.refresh_token.clone(), t.client_secret.clone())
            {
                self.keychain_put(
                    target,
                    KeychainSecrets {
                        refresh_token,
                        client_secret,
                    },
                )
                .await?;
            }
        }
        self.set_setting(target, true).await?;
        if let TokenFile::Token(t) = file {
            self.save_token(target, &path, &t).await?;
        }
        self.move_registration_secrets(target, true).await;
        Ok(())
    }

    /// Turns the keychain off: writes the secrets back into the token file (so the AWS CLI can
    /// refresh alone) and deletes the entry. The setting is turned off even when the keychain is
    /// locked; the entry then stays (nothing is lost) and the error says what to do.
    pub async fn keychain_disable(&self, target: &SsoTarget) -> Result<(), EngineError> {
        let _lock = self.lock_session(target).await?;
        self.set_setting(target, false).await?;
        let path = self.token_path(target)?;
        let secrets = match self.keychain_secrets(target).await {
            Ok(s) => s,
            Err(e) => {
                return Err(EngineError::KeychainLeftOn(format!(
                    "keychain use for `{}` is now off, but {e}. The refresh token stays in the keychain until then (a running ssotray keeper writes it back at its next refresh); run `ssotray keychain disable {}` again once unlocked",
                    target.display_name(),
                    target.display_name()
                )))
            }
        };
        if let (Some(k), TokenFile::Token(mut t)) =
            (secrets, cache::read_token(&self.ctx, &path).await?)
        {
            t.refresh_token = t.refresh_token.or(Some(k.refresh_token));
            t.client_secret = t.client_secret.or(Some(k.client_secret));
            cache::write_token(&self.ctx, &path, &t).await?;
        }
        self.move_registration_secrets(target, false).await;
        self.keychain_forget(target).await?;
        Ok(())
    }

    /// The keychain state of a session.
    pub async fn keychain_status(&self, target: &SsoTarget) -> Result<KeychainStatus, EngineError> {
        let path = self.token_path(target)?;
        let file_has_refresh_token = matches!(cache::read_token(&self.ctx, &path).await?, TokenFile::Token(t) if t.refresh_token.is_some());
        let account = Self::keychain_account(target);
        let entry = match self.blocking(move |store| store.get(&account)).await {
            Ok(Ok(v)) => Ok(v.is_some()),
            Ok(Err(e)) | Err(e) => Err(e.to_string()),
        };
        Ok(KeychainStatus {
            session: target.display_name().to_string(),
            enabled: self.keychain_enabled(target),
            entry,
            file_has_refresh_token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::context::Context;
    use crate::platform::keychain::{MemKeychain, SecretStore};
    use crate::platform::os::{Env, Fs, ManualClock, MemFs};
    use crate::platform::secret::Secret;
    use chrono::TimeZone;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;

    const CONFIG: &str = "[sso-session my-sso]\nsso_start_url = https://d-1234567890.awsapps.com/start\nsso_region = us-east-1\n";

    fn world() -> (Engine, Arc<MemFs>, Arc<MemKeychain>, SsoTarget) {
        let fs = Arc::new(MemFs::new());
        fs.put("/home/u/.aws/config", CONFIG);
        let keychain = Arc::new(MemKeychain::default());
        let ctx = Context {
            clock: Arc::new(ManualClock::new(
                chrono::Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0).unwrap(),
            )),
            fs: fs.clone(),
            env: Env::from_slice(&[("HOME", "/home/u")]),
            browser: Arc::new(crate::platform::os::SystemBrowser::new(
                Env::from_slice(&[]),
            )),
            http: Default::default(),
            secrets: keychain.clone(),
            parsed: Default::default(),
        };
        let engine = Engine::new(ctx);
        let config = engine.load_config().unwrap();
        let target = engine
            .resolve(&config, &crate::ops::engine::Selector::Any("my-sso".into()))
            .unwrap();
        let token = CachedToken {
            start_url: Some(target.start_url.clone()),
            region: Some("us-east-1".into()),
            access_token: Secret::new("aoa-1"),
            expires_at: chrono::Utc
                .with_ymd_and_hms(2026, 11, 26, 10, 0, 0)
                .unwrap(),
            client_id: Some("cid".into()),
            client_secret: Some(Secret::new("csec")),
            registration_expires_at: Some(
                chrono::Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
            ),
            refresh_token: Some(Secret::new("aor-1")),
            extra: Default::default(),
        };
        fs.put(engine.token_path(&target).unwrap(), token.to_json());
        (engine, fs, keychain, target)
    }

    fn file(engine: &Engine, fs: &MemFs, target: &SsoTarget) -> String {
        String::from_utf8(fs.read(&engine.token_path(target).unwrap()).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn enabling_moves_the_secrets_and_disabling_brings_them_back() {
        let (engine, fs, keychain, target) = world();
        engine.keychain_enable(&target).await.unwrap();
        let stripped = file(&engine, &fs, &target);
        assert!(
            !stripped.contains("refreshToken") && !stripped.contains("clientSecret"),
            "{stripped}"
        );
        for key in [
            "startUrl",
            "region",
            "accessToken",
            "expiresAt",
            "clientId",
            "registrationExpiresAt",
        ] {
            assert!(stripped.contains(key), "{key} kept: {stripped}");
        }
        let entry = keychain
            .get("my-sso https://d-1234567890.awsapps.com/start")
            .unwrap()
            .unwrap();
        assert_eq!(entry, r#"{"refreshToken":"aor-1","clientSecret":"csec"}"#);
        assert!(engine.keychain_enabled(&target));
        let status = engine.keychain_status(&target).await.unwrap();
        assert_eq!(
            (
                status.enabled,
                status.entry.clone(),
                status.file_has_refresh_token
            ),
            (true, Ok(true), false)
        );
        assert!(
            engine
                .refreshable(
                    &target,
                    &CachedToken::from_json(stripped.as_bytes()).unwrap()
                )
                .await
        );

        engine.keychain_disable(&target).await.unwrap();
        let restored = file(&engine, &fs, &target);
        assert!(
            restored.contains(r#""clientSecret": "csec""#)
                && restored.contains(r#""refreshToken": "aor-1""#),
            "{restored}"
        );
        assert_eq!(
            keychain
                .get("my-sso https://d-1234567890.awsapps.com/start")
                .unwrap(),
            None
        );
        assert!(!engine.keychain_enabled(&target));
    }

    #[tokio::test]
    async fn a_locked_keychain_changes_nothing_on_enable_and_loses_nothing_on_disable() {
        let (engine, fs, keychain, target) = world();
        let before = file(&engine, &fs, &target);
        keychain.locked.store(true, Ordering::SeqCst);
        let err = engine
            .keychain_enable(&target)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("the OS keychain is not available or is locked"),
            "{err}"
        );
        assert_eq!(
            file(&engine, &fs, &target),
            before,
            "the secrets stay in the file"
        );
        assert!(!engine.keychain_enabled(&target));

        keychain.locked.store(false, Ordering::SeqCst);
        engine.keychain_enable(&target).await.unwrap();
        // A fresh process (no memory) meets a locked keychain when turning the setting off.
        let fresh = Engine::new(engine.context().clone());
        keychain.locked.store(true, Ordering::SeqCst);
        let err = fresh
            .keychain_disable(&target)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("keychain use for `my-sso` is now off, but the OS keychain is not available or is locked"), "{err}");
        assert!(!fresh.keychain_enabled(&target));
        keychain.locked.store(false, Ordering::SeqCst);
        assert!(
            keychain
                .get("my-sso https://d-1234567890.awsapps.com/start")
                .unwrap()
                .is_some(),
            "not lost"
        );
        fresh.keychain_disable(&target).await.unwrap();
        assert!(file(&engine, &fs, &target).contains("aor-1"));
    }

    #[tokio::test]
    async fn a_broken_settings_file_never_moves_secrets_back_into_the_file() {
        let (engine, fs, keychain, target) = world();
        engine.keychain_enable(&target).await.unwrap();
        fs.put(
            "/home/u/.config/ssotray/settings.toml",
            "[sessions.my-sso]\nkeychian = true\n",
        );
        let path = engine.token_path(&target).unwrap();
        let mut token = CachedToken::from_json(&fs.read(&path).unwrap()).unwrap();
        token.refresh_token = Some(Secret::new("aor-2"));
        token.client_secret = Some(Secret::new("csec"));
        engine.save_token(&target, &path, &token).await.unwrap();
        let text = file(&engine, &fs, &target);
        assert!(!text.contains("aor-2"), "{text}");
        assert!(keychain
            .get("my-sso https://d-1234567890.awsapps.com/start")
            .unwrap()
            .unwrap()
            .contains("aor-2"));
    }

    #[tokio::test]
    async fn the_keychain_is_asked_once_per_process() {
        let (engine, _fs, keychain, target) = world();
        engine.keychain_enable(&target).await.unwrap();
        let fresh = Engine::new(engine.context().clone());
        assert!(fresh.keychain_secrets(&target).await.unwrap().is_some());
        keychain.locked.store(true, Ordering::SeqCst);
        // Later reads come from memory: no second prompt, and a locked keychain does not matter.
        assert!(fresh.keychain_secrets(&target).await.unwrap().is_some());
    }
}
