//! Container grants: which profiles the long-running container server (`ssotray keep
//! --container-server`, the tray app's `[container_server]`) hands out, and to whom.
//!
//! A grant is one profile's own random token, in a directory of its own:
//! `$XDG_STATE_HOME/ssotray/container-grants/<profile, encoded>/` holds `token` (mode 0600, no
//! trailing newline) and `profile` (the profile's exact name), in a 0700 directory a container is
//! given alone. The server answers `/profile/NAME` only with NAME's token; a token grants its
//! profile and nothing more, and a profile nobody granted is refused.
//!
//! - **Which profiles are granted** is read from the grants directory by its stamp
//!   ([`GrantIndex`]): a grant is a directory renamed into it, a revoke one renamed out of it,
//!   so the directory's stamp changes with each. A request for a profile that is not in the index
//!   is refused before anything else is looked at or kept, so names someone else makes up cost
//!   nothing and are not remembered.
//! - **The directory name is injective, even where names compare without case** (macOS, Windows):
//!   everything but lowercase letters, digits, `-`, `_` and `~` is percent-encoded, uppercase
//!   letters too (`Prod` is `%50rod`), and a name Windows reserves (`con`, `nul`, `com1`…) has its
//!   first letter encoded. The index takes a directory only if its name is the encoding of the
//!   name its `profile` file holds, and the server compares that exact name.
//! - **`grant`** makes the directory whole under a hidden name (`.new-…`) and renames it into
//!   place; an existing grant keeps its token (a container that read it keeps working).
//! - **`revoke`** renames the directory out (`.revoked-…`), then empties and removes it: a
//!   container that has the old directory mounted sees it empty, and a later grant of the same
//!   profile is a new directory it does not have.
//! - **`rotate`** gives every grant a new token file in its directory; the old tokens stop
//!   working at the next request (the server reads each token by its file's stamp).
//!
//! Directories of earlier versions (no `profile` file, uppercase letters kept in the name) are
//! moved to the new names when the server starts and by every `ssotray container` command
//! ([`Engine::migrate_grants`]); what a grant or revoke killed half-way left (a minute old: one
//! under way takes milliseconds) is removed then too.
//!
//! The functions: `Engine::grant`, `revoke`, `rotate_grants`, `grants`, `grant_index` and
//! `migrate_grants`. Each token is read through `ParsedFiles`: a stat per request, so a revoked or
//! rotated token is refused at once. The 0700 directories are made with `sock::private_dir`.

use crate::ops::engine::{Engine, EngineError};
use crate::serve::served::ServerToken;
use percent_encoding::AsciiSet;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What a profile name has encoded in its directory name: everything but lowercase letters,
/// digits, `-`, `_` and `~` (so `.`, `..` and `/` cannot name another directory, and no two
/// names differ only in case).
const DIR_NAME: &AsciiSet = &dir_name_set();

const fn dir_name_set() -> AsciiSet {
    let mut set = percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'~');
    let mut c = b'A';
    while c <= b'Z' {
        set = set.add(c);
        c += 1;
    }
    set
}

/// Device names Windows reserves in every directory (a name that is one, in any case, cannot be
/// a directory there).
const RESERVED: &[&str] = &[
    "con", "prn", "aux", "nul", "com0", "com1", "com2", "com3", "com4", "com5", "com6", "com7",
    "com8", "com9", "lpt0", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// The name of the token file inside a grant's directory.
pub const TOKEN_FILE: &str = "token";
/// The name of the file that holds the grant's exact profile name.
pub const PROFILE_FILE: &str = "profile";

/// A grant's directory name for `profile` (see `DIR_NAME`).
pub fn dir_name(profile: &str) -> String {
    let name = percent_encoding::utf8_percent_encode(profile, DIR_NAME).to_string();
    if RESERVED.contains(&name.as_str()) {
        format!("%{:02X}{}", name.as_bytes()[0], &name[1..])
    } else {
        name
    }
}

/// The granted profiles, by their exact names: each one's directory.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GrantIndex(HashMap<String, PathBuf>);

impl GrantIndex {
    /// The directory of `profile`'s grant, if it has one (the exact name).
    pub fn dir(&self, profile: &str) -> Option<&Path> {
        self.0.get(profile).map(PathBuf::as_path)
    }

    /// The granted profiles, sorted.
    pub fn profiles(&self) -> Vec<String> {
        let mut out: Vec<String> = self.0.keys().cloned().collect();
        out.sort();
        out
    }
}

/// Whether a directory entry is a grant's (not a grant or revoke in progress).
fn is_grant_name(name: &str) -> bool {
    !name.starts_with('.')
}

impl Engine {
    /// `$XDG_STATE_HOME/ssotray/container-grants` (else `~/.local/state/ssotray/…`).
    pub fn grants_dir(&self) -> Result<PathBuf, EngineError> {
        Ok(self.paths().grants_dir()?)
    }

    /// The directory of one profile's grant (what a container gets mounted, read-only).
    pub fn grant_dir(&self, profile: &str) -> Result<PathBuf, EngineError> {
        Ok(self.grants_dir()?.join(dir_name(profile)))
    }

    /// The granted profiles, read again only when the grants directory changed. A directory
    /// changed within the last two seconds is listed again at every call (a change within its
    /// timestamps' resolution would keep the same stamp).
    pub fn grant_index(&self) -> Arc<GrantIndex> {
        let Ok(dir) = self.grants_dir() else {
            return Arc::default();
        };
        let ctx = self.context();
        let keep = !matches!(ctx.fs.stamp(&dir), Ok(Some(_)))
            || self.changed_before(&dir, chrono::Duration::seconds(2));
        ctx.parsed
            .kept_or_made(ctx.fs.as_ref(), &dir, keep, |_| {
                Ok::<_, std::convert::Infallible>(self.list_grants(&dir))
            })
            .unwrap_or_else(|e| match e {})
    }

    /// The grants in `dir`: each directory whose name is the encoding of the exact profile name
    /// its `profile` file holds.
    fn list_grants(&self, dir: &Path) -> GrantIndex {
        let fs = &self.context().fs;
        let mut index = HashMap::new();
        for sub in fs.list_subdirs(dir).unwrap_or_default() {
            let Some(name) = sub.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !is_grant_name(name) {
                continue;
            }
            let Some(profile) = fs
                .read(&sub.join(PROFILE_FILE))
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
            else {
                continue;
            };
            if dir_name(&profile) == name {
                index.insert(profile, sub);
            }
        }
        GrantIndex(index)
    }

    /// The token of a profile's grant, read again only when its file changed; `None` when the
    /// profile has no grant (nothing is read or kept for it then), `Some(None)` when its file is
    /// not a token.
    pub fn granted_token(&self, profile: &str) -> Option<Arc<Option<ServerToken>>> {
        let index = self.grant_index();
        let path = index.dir(profile)?.join(TOKEN_FILE);
        let ctx = self.context();
        ctx.parsed
            .get(ctx.fs.as_ref(), &path, |bytes| {
                Ok::<_, ()>(
                    bytes
                        .ok()
                        .and_then(|b| String::from_utf8(b).ok())
                        .and_then(|t| ServerToken::from_text(&t)),
                )
            })
            .ok()
    }

    /// Grants the container server's route for `profile` (which must be a profile ssotray can
    /// serve): its directory with a token and its name, made whole under a hidden name and
    /// renamed into place; an existing grant keeps its token. Returns the token file.
    pub fn grant(&self, profile: &str) -> Result<PathBuf, EngineError> {
        let config = self.load_config()?;
        self.profile_role(&config, profile)?;
        let grants = self.grants_dir()?;
        crate::platform::sock::private_dir(&grants)?;
        self.migrate_grants();
        let dir = self.grant_dir(profile)?;
        if self.grant_index().dir(profile).is_some() {
            let file = dir.join(TOKEN_FILE);
            if self.granted_token(profile).is_some_and(|t| t.is_some()) {
                return Ok(file);
            }
            // A damaged token file: a new token, in the same directory.
            self.write_token(&file)?;
            return Ok(file);
        }
        let fs = &self.context().fs;
        let new = grants.join(format!(".new-{:016x}", rand::random::<u64>()));
        crate::platform::sock::private_dir(&new)?;
        let made = self
            .write_file(&new.join(PROFILE_FILE), profile.as_bytes())
            .and_then(|()| self.write_token(&new.join(TOKEN_FILE)));
        let placed = made.and_then(|()| {
            fs.rename(&new, &dir).map_err(|source| EngineError::Io {
                what: "put in place",
                path: dir.clone(),
                source,
            })
        });
        if let Err(e) = placed {
            self.remove_grant_dir(&new);
            // Another `grant` of the same profile got there first: that grant stands.
            if self.grant_index().dir(profile).is_some() {
                return Ok(dir.join(TOKEN_FILE));
            }
            return Err(e);
        }
        Ok(dir.join(TOKEN_FILE))
    }

    fn write_file(&self, file: &Path, bytes: &[u8]) -> Result<(), EngineError> {
        self.context()
            .fs
            .write_atomic(file, bytes, 0o600)
            .map_err(|source| EngineError::Io {
                what: "write",
                path: file.to_path_buf(),
                source,
            })
    }

    fn write_token(&self, file: &Path) -> Result<(), EngineError> {
        let token = ServerToken::random(&mut rand::rng(), 32);
        self.write_file(file, token.expose().as_bytes())
    }

    /// Empties and removes a grant's directory (best effort: what is left is removed by the
    /// next [`Engine::migrate_grants`]).
    fn remove_grant_dir(&self, dir: &Path) {
        let fs = &self.context().fs;
        for file in fs.list_dir(dir).unwrap_or_default() {
            let _ = fs.remove(&file);
        }
        let _ = fs.remove_dir(dir);
    }

    /// Removes a profile's grant: its directory leaves the grants directory at once (a
    /// container that has it mounted sees it emptied; a later grant is a new directory);
    /// whether there was one.
    pub fn revoke(&self, profile: &str) -> Result<bool, EngineError> {
        self.migrate_grants();
        let index = self.grant_index();
        let Some(dir) = index.dir(profile) else {
            return Ok(false);
        };
        let gone = self
            .grants_dir()?
            .join(format!(".revoked-{:016x}", rand::random::<u64>()));
        self.context()
            .fs
            .rename(dir, &gone)
            .map_err(|source| EngineError::Io {
                what: "remove",
                path: dir.to_path_buf(),
                source,
            })?;
        self.remove_grant_dir(&gone);
        Ok(true)
    }

    /// The profiles with a grant, sorted.
    pub fn grants(&self) -> Result<Vec<String>, EngineError> {
        self.migrate_grants();
        Ok(self.grant_index().profiles())
    }

    /// Gives every grant a new token (the old ones stop working at once); the profiles rotated.
    pub fn rotate_grants(&self) -> Result<Vec<String>, EngineError> {
        self.migrate_grants();
        let index = self.grant_index();
        let profiles = index.profiles();
        for profile in &profiles {
            if let Some(dir) = index.dir(profile) {
                self.write_token(&dir.join(TOKEN_FILE))?;
            }
        }
        Ok(profiles)
    }

    /// Whether `path` last changed more than `ago` before now.
    fn changed_before(&self, path: &Path, ago: chrono::Duration) -> bool {
        let ctx = self.context();
        ctx.fs.stamp(path).ok().flatten().is_some_and(|s| {
            let changed = chrono::DateTime::from_timestamp_nanos(
                s.mtime_ns.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64,
            );
            ctx.clock.now() - changed > ago
        })
    }

    /// Brings the grants directory to this version's form: a directory of an earlier version
    /// (no `profile` file; its name the old encoding, uppercase letters kept) gets its profile's
    /// name written and is renamed to its new name (the same directory: a container that has
    /// it mounted keeps it); what a grant or revoke killed half-way left is removed. Problems
    /// are logged, never fatal.
    pub fn migrate_grants(&self) {
        let Ok(grants) = self.grants_dir() else {
            return;
        };
        let fs = &self.context().fs;
        for sub in fs.list_subdirs(&grants).unwrap_or_default() {
            let Some(name) = sub.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
                continue;
            };
            if name.starts_with(".new-") || name.starts_with(".revoked-") {
                // Another process's grant or revoke may be under way: only what is a minute old
                // (each takes milliseconds) is what one that was killed left.
                if self.changed_before(&sub, chrono::Duration::minutes(1)) {
                    self.remove_grant_dir(&sub);
                }
                continue;
            }
            if !is_grant_name(&name) || fs.stamp(&sub.join(PROFILE_FILE)).ok().flatten().is_some() {
                continue;
            }
            let Ok(profile) = percent_encoding::percent_decode_str(&name).decode_utf8() else {
                continue;
            };
            let profile = profile.into_owned();
            if let Err(e) = self.write_file(&sub.join(PROFILE_FILE), profile.as_bytes()) {
                tracing::warn!(error = %e, "cannot bring a container grant to this version");
                continue;
            }
            let new = grants.join(dir_name(&profile));
            if new != sub {
                if let Err(e) = fs.rename(&sub, &new) {
                    tracing::warn!(grant = %sub.display(), error = %e, "cannot rename a container grant to its new name");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_directory_cannot_name_another_directory_nor_another_profiles_in_any_case() {
        assert_eq!(dir_name("dev"), "dev");
        assert_eq!(dir_name(".."), "%2E%2E");
        assert_eq!(dir_name("team/prod"), "team%2Fprod");
        assert_eq!(dir_name("a b"), "a%20b");
        assert_eq!(dir_name("Prod"), "%50rod");
        assert_eq!(dir_name("con"), "%63on");
        assert_eq!(dir_name("LPT1"), "%4C%50%541");
        let names = [
            "..",
            "team/prod",
            "ünï",
            "x%41",
            "prod",
            "Prod",
            "PROD",
            "pRoD",
            "con",
            "CON",
            "%63on",
            "nul",
            "a.b",
            "A.B",
        ];
        for p in names {
            assert_eq!(
                percent_encoding::percent_decode_str(&dir_name(p))
                    .decode_utf8()
                    .unwrap(),
                p
            );
        }
        // No two names give directory names that a case-insensitive file system takes for one.
        let folded: std::collections::HashSet<String> =
            names.iter().map(|p| dir_name(p).to_lowercase()).collect();
        assert_eq!(folded.len(), names.len());
        for p in names {
            let d = dir_name(p);
            assert!(!RESERVED.contains(&d.to_lowercase().as_str()), "{d}");
            assert!(!d.starts_with('.'), "{d}");
        }
    }
}
