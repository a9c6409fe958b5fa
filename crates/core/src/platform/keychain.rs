//! Refresh tokens and client secrets in the OS keychain (Secret Service, macOS Keychain, Windows
//! Credential Manager) instead of the plaintext token cache, behind the [`SecretStore`] trait.
//!
//! One entry per session: service `ssotray`, account `<session name> <start URL>`, holding the
//! refresh token and the client secret as a small JSON object.
//!
//! The OS keychain is reached through the `keyring` crate; unit tests inject `MemKeychain` in
//! `Context` instead. Failures are `KeychainError`.

use crate::platform::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;

/// The keychain service name of every ssotray entry.
pub const SERVICE: &str = "ssotray";

/// Why the keychain could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeychainError {
    /// No keychain, or it is locked, or access was refused.
    #[error("the OS keychain is not available or is locked ({0}); unlock it (log in to your desktop session, or unlock the \"login\" keyring) and try again")]
    Unavailable(String),
    /// The entry is there but is not ssotray's format.
    #[error("the keychain entry `{0}` is not one ssotray wrote; remove it with your keychain tool and log in again")]
    Corrupt(String),
}

/// A store of secrets by account name (the service is always [`SERVICE`]). Calls may block.
pub trait SecretStore: Send + Sync + std::fmt::Debug {
    /// The secret of an account, if any.
    fn get(&self, account: &str) -> Result<Option<String>, KeychainError>;
    /// Stores (or replaces) the secret of an account.
    fn set(&self, account: &str, secret: &str) -> Result<(), KeychainError>;
    /// Deletes an account's secret; `false` when there was none.
    fn delete(&self, account: &str) -> Result<bool, KeychainError>;
}

/// The OS keychain through the `keyring` crate.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsKeychain;

fn unavailable(e: keyring::Error) -> KeychainError {
    KeychainError::Unavailable(e.to_string())
}

impl SecretStore for OsKeychain {
    fn get(&self, account: &str) -> Result<Option<String>, KeychainError> {
        let entry = keyring::Entry::new(SERVICE, account).map_err(unavailable)?;
        match entry.get_password() {
            Ok(s) => Ok(Some(s)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }
    fn set(&self, account: &str, secret: &str) -> Result<(), KeychainError> {
        keyring::Entry::new(SERVICE, account)
            .and_then(|e| e.set_password(secret))
            .map_err(unavailable)
    }
    fn delete(&self, account: &str) -> Result<bool, KeychainError> {
        let entry = keyring::Entry::new(SERVICE, account).map_err(unavailable)?;
        match entry.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// An in-memory store for unit tests; `locked` makes every call fail like a locked keychain.
#[derive(Debug, Default)]
pub struct MemKeychain {
    entries: Mutex<HashMap<String, String>>,
    /// Fail every call.
    pub locked: std::sync::atomic::AtomicBool,
}

impl MemKeychain {
    fn check(&self) -> Result<(), KeychainError> {
        if self.locked.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(KeychainError::Unavailable("locked".into()));
        }
        Ok(())
    }
}

impl SecretStore for MemKeychain {
    fn get(&self, account: &str) -> Result<Option<String>, KeychainError> {
        self.check()?;
        Ok(self.entries.lock().expect("keychain").get(account).cloned())
    }
    fn set(&self, account: &str, secret: &str) -> Result<(), KeychainError> {
        self.check()?;
        self.entries
            .lock()
            .expect("keychain")
            .insert(account.into(), secret.into());
        Ok(())
    }
    fn delete(&self, account: &str) -> Result<bool, KeychainError> {
        self.check()?;
        Ok(self
            .entries
            .lock()
            .expect("keychain")
            .remove(account)
            .is_some())
    }
}

/// The keychain account of a session.
pub fn account(session: &str, start_url: &str) -> String {
    format!("{session} {start_url}")
}

/// What one entry holds.
#[derive(Clone, PartialEq)]
pub struct KeychainSecrets {
    /// The refresh token.
    pub refresh_token: Secret,
    /// The client secret of the registration.
    pub client_secret: Secret,
}

impl std::fmt::Debug for KeychainSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeychainSecrets(** redacted **)")
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stored {
    refresh_token: String,
    client_secret: String,
}

impl KeychainSecrets {
    /// The entry's text.
    pub fn to_entry(&self) -> String {
        serde_json::to_string(&Stored {
            refresh_token: self.refresh_token.expose().to_string(),
            client_secret: self.client_secret.expose().to_string(),
        })
        .expect("two strings serialize")
    }

    /// Parses an entry's text.
    pub fn from_entry(account: &str, text: &str) -> Result<Self, KeychainError> {
        let s: Stored =
            serde_json::from_str(text).map_err(|_| KeychainError::Corrupt(account.to_string()))?;
        Ok(KeychainSecrets {
            refresh_token: Secret::new(s.refresh_token),
            client_secret: Secret::new(s.client_secret),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_never_print() {
        let s = KeychainSecrets {
            refresh_token: Secret::new("aor-x"),
            client_secret: Secret::new("cs-y"),
        };
        let text = s.to_entry();
        assert_eq!(KeychainSecrets::from_entry("a", &text).unwrap(), s);
        assert_eq!(format!("{s:?}"), "KeychainSecrets(** redacted **)");
        assert!(KeychainSecrets::from_entry("a", "hunter2").is_err());
        assert_eq!(
            account("my-sso", "https://x/start"),
            "my-sso https://x/start"
        );
    }

    #[test]
    fn a_locked_memory_keychain_fails_every_call() {
        let k = MemKeychain::default();
        k.set("a", "1").unwrap();
        k.locked.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(matches!(k.get("a"), Err(KeychainError::Unavailable(_))));
        k.locked.store(false, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(k.get("a").unwrap().as_deref(), Some("1"));
        assert!(k.delete("a").unwrap());
        assert!(!k.delete("a").unwrap());
    }
}
