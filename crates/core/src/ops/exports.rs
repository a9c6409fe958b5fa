//! The [`Engine`] side of exported credentials (`ssotray credentials --export-as NAME`): writing
//! a section of the shared credentials file, removing it, listing the exports, rewriting them
//! ahead of expiry (the keeper) and removing a session's exports when it logs out.
//!
//! - `export_credentials`: role credentials with more than 25 minutes left, written 0600 through
//!   `Engine::edit_shared_file` (the lock and re-read that `~/.aws/config`'s edits use too), and
//!   only while the session still holds the token they came from (`Engine::token_now`, checked
//!   under that lock).
//! - `refresh_export`: the keeper's; fetch, then replace in place under the lock.
//! - `unexport`; `unexport_session`, called by `logout` after the token is gone, finds the
//!   session's exports (chained ones too) in the file as read under its lock. Renew uses
//!   `logout_for_renewal`, which keeps them.
//! - `exports`: the list, kept by the file's stamp.
//! - `export_due`: 20 minutes before expiry; halfway for lifetimes too short for that.

use crate::aws::config::{AwsConfig, SsoTarget};
use crate::aws::credfile::{self, Export};
use crate::aws::portal::RoleCredentials;
use crate::ops::engine::{Engine, EngineError, TokenNow};
use crate::platform::files;
use chrono::{DateTime, Duration, Utc};
use std::path::PathBuf;

/// An exported section is rewritten when its credentials have less than this left (so it never
/// has less than 15 minutes, the window in which SDKs start refreshing).
pub const EXPORT_LEAD: Duration = Duration::minutes(20);
/// Credentials written into an export have more than this left (fetched anew otherwise), so a
/// fresh export is not due again at once.
pub const EXPORT_MIN_LEFT: Duration = Duration::minutes(25);

/// When an export written at `now` with credentials expiring at `expires` is due again: at
/// [`EXPORT_LEAD`] before expiry, or, for credentials that live too short for that (never the
/// case with Identity Center's 1- to 12-hour role sessions), halfway to their expiry, so a short
/// lifetime cannot make the keeper rewrite in a loop. `None` for credentials that expire within
/// seconds of being fetched (a clock far ahead of AWS's): not worth writing, tried again later.
pub fn export_due(now: DateTime<Utc>, expires: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let left = expires - now;
    if left > EXPORT_LEAD + Duration::minutes(2) {
        Some(expires - EXPORT_LEAD)
    } else if left >= Duration::seconds(10) {
        Some(now + left / 2)
    } else {
        None
    }
}

impl Engine {
    /// The shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`).
    pub fn credentials_file_path(&self) -> Result<PathBuf, EngineError> {
        Ok(self.paths().aws_credentials()?)
    }

    /// The exports in the credentials file (none when it is missing). Read again only when the
    /// file changed, so the idle keeper only looks at its stamp.
    pub fn exports(&self) -> Result<Vec<Export>, EngineError> {
        let path = self.credentials_file_path()?;
        let kept = self.read_kept(&path, Vec::new, |b| {
            Ok(credfile::exports(&String::from_utf8_lossy(
                files::strip_bom(b),
            )))
        })?;
        Ok(kept.as_ref().clone())
    }

    /// Changes the credentials file under its lock, written with mode 0600.
    async fn edit_credentials_file<T>(
        &self,
        mut change: impl FnMut(&str) -> Result<(Option<String>, T), credfile::CredfileError>,
    ) -> Result<T, EngineError> {
        let path = self.credentials_file_path()?;
        self.edit_shared_file(&path, Some(0o600), |text| {
            change(text).map_err(|reason| EngineError::Unchangeable {
                path: path.clone(),
                reason: reason.to_string(),
            })
        })
        .await
    }

    /// Writes `[name]` with fresh credentials of `profile` (more than [`EXPORT_MIN_LEFT`] left).
    /// Never starts a login. Written only while the session still holds the token it held when
    /// the credentials were fetched, checked under the file's lock: a logout (which removes the
    /// token first, then the session's exports under the same lock) either finds the section and
    /// removes it, or is found here and nothing is written. A token replaced meanwhile (a
    /// refresh) means fetching again, a few times at most.
    pub async fn export_credentials(
        &self,
        config: &AwsConfig,
        profile: &str,
        name: &str,
    ) -> Result<RoleCredentials, EngineError> {
        let role = self.profile_role(config, profile)?;
        let session = role.target.display_name().to_string();
        for _ in 0..3 {
            let before = self.token_now(&role.target);
            if before == TokenNow::Missing {
                return Err(EngineError::NotLoggedIn { name: session });
            }
            let creds = self
                .profile_credentials_with(&role, EXPORT_MIN_LEFT)
                .await?;
            let changed = self
                .edit_credentials_file(|text| {
                    let now = self.token_now(&role.target);
                    if now != before || now == TokenNow::Unreadable {
                        return Ok((None, Some(now)));
                    }
                    credfile::set_export(text, name, profile, &creds).map(|t| (Some(t), None))
                })
                .await?;
            match changed {
                None => return Ok(creds),
                Some(TokenNow::Missing) => {
                    return Err(EngineError::LoggedOutMeanwhile {
                        name: session,
                        what: "its credentials were being exported",
                    })
                }
                Some(_) => continue,
            }
        }
        Err(EngineError::Refused(format!(
            "the token of `{session}` kept changing while its credentials were being exported; nothing was written; try again"
        )))
    }

    /// The keeper's rewrite of `[name]` with fresh credentials of `profile`: in place, under the
    /// file's lock, and only while the section is still there and still exported from `profile`.
    /// `Ok(None)` when it is not (removed, or exported anew, while the credentials were fetched):
    /// a rewrite never brings a section back.
    pub async fn refresh_export(
        &self,
        config: &AwsConfig,
        profile: &str,
        name: &str,
    ) -> Result<Option<RoleCredentials>, EngineError> {
        let role = self.profile_role(config, profile)?;
        let creds = self
            .profile_credentials_with(&role, EXPORT_MIN_LEFT)
            .await?;
        let written = self
            .edit_credentials_file(|text| {
                Ok(
                    match credfile::replace_export(text, name, profile, &creds)? {
                        Some(t) => (Some(t), true),
                        None => (None, false),
                    },
                )
            })
            .await?;
        Ok(written.then_some(creds))
    }

    /// Removes exported section `name`; whether there was one.
    pub async fn unexport(&self, name: &str) -> Result<bool, EngineError> {
        self.edit_credentials_file(|text| {
            Ok(match credfile::remove_export(text, name)? {
                Some(t) => (Some(t), true),
                None => (None, false),
            })
        })
        .await
    }

    /// Removes every export of a profile of `target` (a logout); how many. The exports are
    /// found in the file as it is read under its lock, so an export written by a process that
    /// fetched before the logout and waited for the lock is found too.
    pub async fn unexport_session(
        &self,
        config: &AwsConfig,
        target: &SsoTarget,
    ) -> Result<usize, EngineError> {
        self.edit_credentials_file(|text| {
            let mut text = text.to_string();
            let mut removed = 0;
            for export in credfile::exports(&text) {
                // A chained profile's export goes with the session its chain starts from.
                let of_session = self
                    .profile_role(config, &export.profile)
                    .is_ok_and(|role| role.target == *target);
                if !of_session {
                    continue;
                }
                if let Some(t) = credfile::remove_export(&text, &export.name)? {
                    text = t;
                    removed += 1;
                }
            }
            Ok(((removed > 0).then_some(text), removed))
        })
        .await
    }

    /// Removes every export (logout of everything); how many. Found in the file as it is read
    /// under its lock, as [`Engine::unexport_session`] finds them.
    pub async fn unexport_all(&self) -> Result<usize, EngineError> {
        self.edit_credentials_file(|text| {
            let mut text = text.to_string();
            let mut removed = 0;
            for export in credfile::exports(&text) {
                if let Some(t) = credfile::remove_export(&text, &export.name)? {
                    text = t;
                    removed += 1;
                }
            }
            Ok(((removed > 0).then_some(text), removed))
        })
        .await
    }
}
