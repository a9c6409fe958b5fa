//! Container grants: which profiles the long-running container server (`ssotray keep
//! --container-server`, the tray app's `[container_server]`) hands out, and to whom.
//!
//! A grant is one profile's own random token, in a file of its own:
//! `$XDG_STATE_HOME/ssotray/container-grants/<profile>/token` (mode 0600, no trailing newline, in
//! a 0700 directory of its own, so a container is given that one directory and nothing else). The
//! server answers `/profile/NAME` only with NAME's token; a token grants its profile and nothing
//! more, and a profile nobody granted is refused. `grant` keeps an existing token (a container
//! that read it keeps working); `revoke` removes it; `rotate` gives every grant a new token, and
//! the old ones stop working at the next request (the server reads each grant by its stamp).

use crate::engine::{Engine, EngineError};
use crate::served::ServerToken;
use std::path::PathBuf;

/// What a profile name has encoded in its directory name: everything but letters, digits, `-`,
/// `_` and `~` (so `.`, `..` and `/` cannot name another directory).
const DIR_NAME: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'~');

/// The name of the token file inside a grant's directory.
pub const TOKEN_FILE: &str = "token";

impl Engine {
    /// `$XDG_STATE_HOME/ssotray/container-grants` (else `~/.local/state/ssotray/…`).
    pub fn grants_dir(&self) -> Result<PathBuf, EngineError> {
        Ok(self.paths().grants_dir()?)
    }

    /// The directory of one profile's grant (what a container gets mounted, read-only).
    pub fn grant_dir(&self, profile: &str) -> Result<PathBuf, EngineError> {
        let name = percent_encoding::utf8_percent_encode(profile, DIR_NAME).to_string();
        Ok(self.grants_dir()?.join(name))
    }

    /// The token of a profile's grant, read again only when its file changed; `None` when the
    /// profile has no grant (or its file is not a token).
    pub fn granted_token(&self, profile: &str) -> Option<std::sync::Arc<Option<ServerToken>>> {
        let path = self.grant_dir(profile).ok()?.join(TOKEN_FILE);
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
    /// serve): its token file, made when missing (an existing token is kept).
    pub fn grant(&self, profile: &str) -> Result<PathBuf, EngineError> {
        let config = self.load_config()?;
        self.profile_role(&config, profile)?;
        let dir = self.grant_dir(profile)?;
        crate::sock::private_dir(&self.grants_dir()?)?;
        crate::sock::private_dir(&dir)?;
        let file = dir.join(TOKEN_FILE);
        if self.granted_token(profile).is_some_and(|t| t.is_some()) {
            return Ok(file);
        }
        self.write_grant(&file)?;
        Ok(file)
    }

    fn write_grant(&self, file: &std::path::Path) -> Result<(), EngineError> {
        let token = ServerToken::random(&mut rand::rng(), 32);
        self.context()
            .fs
            .write_atomic(file, token.expose().as_bytes(), 0o600)
            .map_err(|source| EngineError::Io {
                what: "write",
                path: file.to_path_buf(),
                source,
            })
    }

    /// Removes a profile's grant; whether there was one.
    pub fn revoke(&self, profile: &str) -> Result<bool, EngineError> {
        let file = self.grant_dir(profile)?.join(TOKEN_FILE);
        match self.context().fs.remove(&file) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(EngineError::Io {
                what: "remove",
                path: file,
                source,
            }),
        }
    }

    /// The profiles with a grant, sorted.
    pub fn grants(&self) -> Result<Vec<String>, EngineError> {
        let dir = self.grants_dir()?;
        let mut out: Vec<String> = self
            .context()
            .fs
            .list_subdirs(&dir)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|d| {
                let name = d.file_name()?.to_str()?;
                let profile = percent_encoding::percent_decode_str(name)
                    .decode_utf8()
                    .ok()?
                    .into_owned();
                self.granted_token(&profile)
                    .is_some_and(|t| t.is_some())
                    .then_some(profile)
            })
            .collect();
        out.sort();
        Ok(out)
    }

    /// Gives every grant a new token (the old ones stop working at once); the profiles rotated.
    pub fn rotate_grants(&self) -> Result<Vec<String>, EngineError> {
        let profiles = self.grants()?;
        for profile in &profiles {
            self.write_grant(&self.grant_dir(profile)?.join(TOKEN_FILE))?;
        }
        Ok(profiles)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_directory_cannot_name_another_directory() {
        let enc = |p: &str| percent_encoding::utf8_percent_encode(p, DIR_NAME).to_string();
        assert_eq!(enc("dev"), "dev");
        assert_eq!(enc(".."), "%2E%2E");
        assert_eq!(enc("team/prod"), "team%2Fprod");
        assert_eq!(enc("a b"), "a%20b");
        for p in ["..", "team/prod", "ünï", "x%41"] {
            assert_eq!(
                percent_encoding::percent_decode_str(&enc(p))
                    .decode_utf8()
                    .unwrap(),
                p
            );
        }
    }
}
