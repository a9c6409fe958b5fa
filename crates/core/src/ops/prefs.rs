//! The tray app's favorites and recently used roles, in ssotray's state directory
//! (`$XDG_STATE_HOME/ssotray/app.json`), changed under its lock like every file ssotray rewrites.
//!
//! A `RoleRef` may name a chained profile. Each favorite may also carry its console service.

use crate::ops::engine::{Engine, EngineError};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How many recently used roles are kept.
pub const RECENT: usize = 10;

/// A role of an account of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleRef {
    /// sso-session.
    pub session: String,
    /// Account id.
    pub account_id: String,
    /// Account name.
    pub account_name: String,
    /// Role name.
    pub role_name: String,
    /// A chained profile (`role_arn` on top of this SSO role) this entry stands for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

impl RoleRef {
    /// The key of its remembered destination.
    pub fn key(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.session,
            self.account_id,
            self.role_name,
            self.profile.as_deref().unwrap_or_default()
        )
    }
}

/// Favorites and recently used roles.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prefs {
    /// Favorite roles.
    #[serde(default)]
    pub favorites: Vec<RoleRef>,
    /// Recently used roles, newest first.
    #[serde(default)]
    pub recent: Vec<RoleRef>,
    /// The console service each favorite opens on (by [`RoleRef::key`]).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub destinations: std::collections::BTreeMap<String, String>,
}

impl Prefs {
    /// Parses `app.json` (a byte-order mark is ignored).
    pub fn parse(bytes: &[u8]) -> Result<Prefs, serde_json::Error> {
        serde_json::from_slice(crate::platform::files::strip_bom(bytes))
    }

    /// Adds a favorite, or removes it if it is one.
    pub fn toggle_favorite(&mut self, role: &RoleRef) {
        if self.favorites.contains(role) {
            self.favorites.retain(|r| r != role);
            self.destinations.remove(&role.key());
        } else {
            self.favorites.push(role.clone());
        }
    }

    /// Remembers (or, empty, forgets) the console service of a favorite; other roles keep none.
    pub fn remember_destination(&mut self, role: &RoleRef, service: &str) {
        if !self.favorites.contains(role) {
            return;
        }
        if service.is_empty() {
            self.destinations.remove(&role.key());
        } else {
            self.destinations.insert(role.key(), service.to_string());
        }
    }

    /// Puts a role first among the recently used ones.
    pub fn used(&mut self, role: &RoleRef) {
        self.recent.retain(|r| r != role);
        self.recent.insert(0, role.clone());
        self.recent.truncate(RECENT);
    }
}

impl Engine {
    /// `app.json` beside the state file.
    pub fn prefs_path(&self) -> Result<PathBuf, EngineError> {
        Ok(self.paths().prefs_file()?)
    }

    /// The favorites and recent roles (none when there is no file or it cannot be read; a file
    /// that cannot be read is never rewritten, see [`Engine::update_prefs`]).
    pub fn prefs(&self) -> Prefs {
        let Ok(path) = self.prefs_path() else {
            return Prefs::default();
        };
        let kept = self.read_kept(&path, Prefs::default, |b| {
            Ok(Prefs::parse(b).unwrap_or_default())
        });
        kept.map(|p| p.as_ref().clone()).unwrap_or_default()
    }

    /// Changes the favorites or recent roles under the file's lock, on what the file holds now.
    pub async fn update_prefs(
        &self,
        mut change: impl FnMut(&mut Prefs),
    ) -> Result<Prefs, EngineError> {
        let path = self.prefs_path()?;
        self.update_own_file(&path, |bytes| {
            let mut prefs = match bytes {
                Some(b) => Prefs::parse(b)
                    .map_err(|e| crate::ops::engine::unreadable("favorites file", &path, e))?,
                None => Prefs::default(),
            };
            change(&mut prefs);
            let bytes = serde_json::to_vec_pretty(&prefs).expect("the favorites serialize");
            Ok((Some(bytes), prefs))
        })
        .await
    }
}
