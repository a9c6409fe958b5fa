//! How ssotray reads and changes the files it shares with other programs and with itself.
//!
//! - **Tolerant decoding**: a byte-order mark is ignored and CRLF line ends read like LF, so a
//!   file saved by another system's editor reads the same as the plain file.
//! - **Parsed files kept by stamp** ([`ParsedFiles`]): a file is read and parsed again only when
//!   its stamp (device, inode, size, modification and change times) changed, so an idle keeper
//!   or tray app reads nothing when nothing changed, and still sees another tool's write at its
//!   next look (a write replaces the inode, or moves the times and usually the size).
//! - **Locked read-modify-write** ([`update`]): every change of a file ssotray rewrites (its
//!   settings, state and favorites, and `~/.aws/config`) runs under an advisory lock, re-reading
//!   the file under the lock, so two writers at once lose nothing.
//! - **Quiet files**: a shared file modified within the last 500 ms (`QUIET`) is read again after a
//!   pause, and edited only if it stayed the same.
//! - **At most 512 kept** (`KEPT_FILES`): the parsed file used longest ago goes. (Two writes within
//!   one kernel timestamp tick, of the same size, in place, with a read between them, would go
//!   unseen until the next change.)
//! - **`~/.aws/config`**, which other programs write without ssotray's lock, is re-read before the
//!   rename too: if it changed, the edit is redone on the new text.
//! - A parser's reason for refusing a file is `Invalid`, never a `String`.
//!
//! Where the locks are: `~/.aws/config`'s in `$XDG_CACHE_HOME/ssotray/locks`; those of
//! `settings.toml`, `state.json` and `app.json` beside them; a token file's is the session lock,
//! taken by refresh, login and logout.

pub use crate::platform::os::Stamp;
use crate::platform::os::{lock_file, Fs};
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The UTF-8 byte-order mark some editors put at the start of a file.
pub const BOM: &str = "\u{feff}";

/// The bytes without a leading UTF-8 byte-order mark.
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(BOM.as_bytes()).unwrap_or(bytes)
}

/// A kept value: the stamp it was made at, the value, and when it was last used (a count).
type Kept = (Option<Stamp>, Arc<dyn Any + Send + Sync>, u64);

/// At most this many files are kept; the one used longest ago makes room for a new one. ssotray
/// keeps a handful (the config, the credentials file, its settings, state and favorites, each
/// session's account list, each grant's token): the bound is for names someone else chooses,
/// which must never grow the keeper's memory without end.
pub const KEPT_FILES: usize = 512;

/// Parsed files, each kept with the stamp its bytes had, per file and type (at most
/// [`KEPT_FILES`] of them).
#[derive(Default)]
pub struct ParsedFiles(Mutex<KeptFiles>);

#[derive(Default)]
struct KeptFiles {
    kept: HashMap<(PathBuf, TypeId), Kept>,
    uses: u64,
}

impl KeptFiles {
    /// The value kept for `key` at `stamp`, marked as used now.
    fn get(
        &mut self,
        key: &(PathBuf, TypeId),
        stamp: &Option<Stamp>,
    ) -> Option<Arc<dyn Any + Send + Sync>> {
        self.uses += 1;
        let uses = self.uses;
        let kept = self.kept.get_mut(key).filter(|k| k.0 == *stamp)?;
        kept.2 = uses;
        Some(kept.1.clone())
    }

    /// Keeps `value`, making room first if it is a new file and the bound is reached.
    fn insert(
        &mut self,
        key: (PathBuf, TypeId),
        stamp: Option<Stamp>,
        value: Arc<dyn Any + Send + Sync>,
    ) {
        self.uses += 1;
        if !self.kept.contains_key(&key) && self.kept.len() >= KEPT_FILES {
            if let Some(oldest) = self
                .kept
                .iter()
                .min_by_key(|(_, k)| k.2)
                .map(|(key, _)| key.clone())
            {
                self.kept.remove(&oldest);
            }
        }
        self.kept.insert(key, (stamp, value, self.uses));
    }
}

impl std::fmt::Debug for ParsedFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ParsedFiles({} kept)",
            self.0.lock().map(|m| m.kept.len()).unwrap_or(0)
        )
    }
}

impl ParsedFiles {
    /// How many files are kept now.
    pub fn len(&self) -> usize {
        self.0.lock().expect("parsed files").kept.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value parsed from `path`: kept from the last call while the file's stamp is the
    /// same, else read and parsed again. `parse` gets the bytes, or the read's error (`NotFound`
    /// for a missing file). A parse that fails is not kept, so it is tried again next time.
    pub fn get<T, E>(
        &self,
        fs: &dyn Fs,
        path: &Path,
        parse: impl FnOnce(io::Result<Vec<u8>>) -> Result<T, E>,
    ) -> Result<Arc<T>, E>
    where
        T: Send + Sync + 'static,
    {
        self.kept_or_made(fs, path, true, |stamp| {
            let bytes = match stamp {
                Ok(None) => Err(io::Error::from(io::ErrorKind::NotFound)),
                _ => fs.read(path),
            };
            parse(bytes)
        })
    }

    /// A value made from `path` by `make` (given the stamp just taken; it reads what it needs,
    /// a directory's entries say), kept while the stamp stays the same. `keep`: whether the
    /// value may be kept at all (a directory changed within its timestamps' resolution might
    /// change again unseen, with the same stamp).
    pub fn kept_or_made<T, E>(
        &self,
        fs: &dyn Fs,
        path: &Path,
        keep: bool,
        make: impl FnOnce(&io::Result<Option<Stamp>>) -> Result<T, E>,
    ) -> Result<Arc<T>, E>
    where
        T: Send + Sync + 'static,
    {
        let key = (path.to_path_buf(), TypeId::of::<T>());
        // The stamp is taken before the read: a change after it shows at the next look.
        let stamp = fs.stamp(path);
        if let Ok(stamp) = &stamp {
            let kept = self.0.lock().expect("parsed files").get(&key, stamp);
            if let Some(value) = kept.and_then(|v| v.downcast::<T>().ok()) {
                return Ok(value);
            }
        }
        let value = Arc::new(make(&stamp)?);
        if let (Ok(stamp), true) = (stamp, keep) {
            self.0
                .lock()
                .expect("parsed files")
                .insert(key, stamp, value.clone());
        }
        Ok(value)
    }
}

/// Why a text (a file's, or a value the user gave) is not one ssotray can accept: what is wrong
/// and what to do, never the secret parts of the contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl From<String> for Invalid {
    fn from(why: String) -> Self {
        Invalid(why)
    }
}

impl std::ops::Deref for Invalid {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<&str> for Invalid {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl From<&str> for Invalid {
    fn from(why: &str) -> Self {
        Invalid(why.to_string())
    }
}

/// A file read and parsed through `parsed` (so kept while it does not change): `missing()` when
/// there is no file, `parse` of its bytes (BOM and all) otherwise, `failed` for a read that fails.
/// Every "kept file" of ssotray (config, settings, state, favorites, exports, account lists) is
/// read through this.
pub fn read_kept<T, E>(
    parsed: &ParsedFiles,
    fs: &dyn Fs,
    path: &Path,
    missing: impl FnOnce() -> T,
    parse: impl FnOnce(&[u8]) -> Result<T, E>,
    failed: impl FnOnce(io::Error) -> E,
) -> Result<Arc<T>, E>
where
    T: Send + Sync + 'static,
{
    parsed.get(fs, path, |bytes| match bytes {
        Ok(b) => parse(&b),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(missing()),
        Err(e) => Err(failed(e)),
    })
}

/// The advisory lock file that guards changes of `path`: `<name>.lock` beside it.
pub fn lock_beside(path: &Path) -> PathBuf {
    path.with_extension("lock")
}

/// Why a change could not be made.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError<E> {
    /// The lock, the read or the write failed.
    #[error("failed to {what} `{path}`: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file (or its lock).
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The change itself refused (the file cannot be parsed, the edit is not valid…).
    #[error(transparent)]
    Refused(E),
    /// Another program kept changing the file while ssotray tried to write it.
    #[error("`{0}` kept changing while ssotray was writing it; try again")]
    Busy(PathBuf),
}

/// How a locked change writes its file.
#[derive(Debug, Clone, Copy)]
pub struct WriteMode {
    /// File mode of the new file (`None`: the old file's mode, else 0600).
    pub mode: Option<u32>,
    /// Another program may write the file without taking ssotray's lock (`~/.aws/config`):
    /// re-read right before replacing it and start over (a few times) if it changed.
    pub shared: bool,
}

/// How long a shared file must have been left alone before an edit is built on what was read:
/// a file modified more recently is read again after this pause, and used only if it did not
/// change meanwhile. Another tool that rewrites the file in place (truncate, then write) leaves
/// it empty or half-written for a moment; no edit is built on that moment.
pub const QUIET: std::time::Duration = std::time::Duration::from_millis(500);

/// Changes a file under an advisory lock: takes `lock`, reads `path` (`None` when missing),
/// lets `change` compute the new content (`Ok(None)`: nothing to write) and a result, and
/// replaces the file atomically. Two processes changing the file at once both get their
/// change in: the second reads what the first wrote. A shared file (`how.shared`) is read
/// only once it has been left alone for [`QUIET`] by the clock `now` gives.
pub async fn update<T, E>(
    fs: Arc<dyn Fs>,
    path: &Path,
    lock: &Path,
    how: WriteMode,
    now: impl Fn() -> chrono::DateTime<chrono::Utc>,
    mut change: impl FnMut(Option<&[u8]>) -> Result<(Option<Vec<u8>>, T), E>,
) -> Result<T, UpdateError<E>> {
    let _guard = lock_file(fs.clone(), lock.to_path_buf())
        .await
        .map_err(|source| UpdateError::Io {
            what: "lock",
            path: lock.to_path_buf(),
            source,
        })?;
    let read = |fs: &dyn Fs| match fs.read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(UpdateError::Io {
            what: "read",
            path: path.to_path_buf(),
            source,
        }),
    };
    let stamp = |fs: &dyn Fs| {
        fs.stamp(path).map_err(|source| UpdateError::Io {
            what: "read",
            path: path.to_path_buf(),
            source,
        })
    };
    // Whether the file was modified within QUIET of now (or in the future, by a clock apart).
    let recent = |s: &Option<Stamp>| {
        s.as_ref().is_some_and(|s| {
            let ns = now().timestamp_nanos_opt().map_or(i128::MAX, i128::from);
            ns - s.mtime_ns < QUIET.as_nanos() as i128
        })
    };
    for _ in 0..10 {
        let before = if how.shared {
            stamp(fs.as_ref())?
        } else {
            None
        };
        let current = read(fs.as_ref())?;
        if how.shared && recent(&before) {
            // Being written right now, perhaps in place: only what stays so will do.
            tokio::time::sleep(QUIET).await;
            if stamp(fs.as_ref())? != before || read(fs.as_ref())? != current {
                continue;
            }
        }
        let (new, result) = change(current.as_deref()).map_err(UpdateError::Refused)?;
        let Some(new) = new else { return Ok(result) };
        if how.shared && read(fs.as_ref())? != current {
            continue;
        }
        let mode = how.mode.or_else(|| fs.file_mode(path)).unwrap_or(0o600);
        fs.write_atomic(path, &new, mode)
            .map_err(|source| UpdateError::Io {
                what: "write",
                path: path.to_path_buf(),
                source,
            })?;
        return Ok(result);
    }
    Err(UpdateError::Busy(path.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::os::MemFs;

    #[test]
    fn a_file_is_parsed_again_only_when_it_changed() {
        let fs = MemFs::new();
        let files = ParsedFiles::default();
        let path = Path::new("/f");
        let parses = std::cell::Cell::new(0);
        let parse = |b: io::Result<Vec<u8>>| -> Result<String, ()> {
            parses.set(parses.get() + 1);
            Ok(b.map(|b| String::from_utf8(b).unwrap()).unwrap_or_default())
        };
        assert_eq!(*files.get(&fs, path, parse).unwrap(), "");
        assert_eq!(
            *files.get(&fs, path, parse).unwrap(),
            "",
            "a missing file is kept as missing"
        );
        assert_eq!(parses.get(), 1);
        fs.put(path, "one");
        assert_eq!(*files.get(&fs, path, parse).unwrap(), "one");
        assert_eq!(*files.get(&fs, path, parse).unwrap(), "one");
        assert_eq!(parses.get(), 2);
        // Same size, new content: a write is a new stamp.
        fs.put(path, "two");
        assert_eq!(*files.get(&fs, path, parse).unwrap(), "two");
        assert_eq!(parses.get(), 3);
        // A failed parse is not kept.
        let failing = |_: io::Result<Vec<u8>>| -> Result<String, &str> { Err("bad") };
        assert!(files.get(&fs, Path::new("/g"), failing).is_err());
        fs.put("/g", "x");
        assert!(files.get(&fs, Path::new("/g"), failing).is_err());
    }

    #[test]
    fn however_many_names_are_asked_for_only_so_many_files_are_kept_and_the_used_ones_stay() {
        let fs = MemFs::new();
        let files = ParsedFiles::default();
        fs.put("/config", "mine");
        let read =
            |b: io::Result<Vec<u8>>| -> Result<usize, ()> { Ok(b.map(|b| b.len()).unwrap_or(0)) };
        assert_eq!(*files.get(&fs, Path::new("/config"), read).unwrap(), 4);
        for i in 0..5 * KEPT_FILES {
            files
                .get(&fs, Path::new(&format!("/nobody-{i}")), read)
                .unwrap();
            // The file ssotray uses all the time stays kept among them.
            if i % 100 == 0 {
                files.get(&fs, Path::new("/config"), read).unwrap();
            }
        }
        assert_eq!(files.len(), KEPT_FILES);
        let parses = std::cell::Cell::new(0);
        let counted = |b: io::Result<Vec<u8>>| -> Result<usize, ()> {
            parses.set(parses.get() + 1);
            Ok(b.map(|b| b.len()).unwrap_or(0))
        };
        assert_eq!(*files.get(&fs, Path::new("/config"), counted).unwrap(), 4);
        assert_eq!(parses.get(), 0, "the file in use was not evicted");
    }

    #[test]
    fn the_bom_is_ignored() {
        assert_eq!(strip_bom(b"\xef\xbb\xbf{}"), b"{}");
        assert_eq!(strip_bom(b"{}"), b"{}");
    }

    /// The same text as other systems' editors save it: CRLF line ends, a byte-order mark, no
    /// newline after the last line, and all three.
    pub(crate) fn editor_variants(text: &str) -> Vec<String> {
        let crlf = text.replace('\n', "\r\n");
        let trimmed = text.trim_end_matches('\n').to_string();
        vec![
            crlf.clone(),
            format!("{BOM}{text}"),
            trimmed,
            format!("{BOM}{}", crlf.trim_end_matches("\r\n")),
        ]
    }

    /// Every parser of a file reads the editor variants as it reads the plain file.
    #[test]
    fn files_saved_by_other_editors_read_the_same() {
        fn same<T: PartialEq + std::fmt::Debug>(
            what: &str,
            text: &str,
            parse: impl Fn(&[u8]) -> T,
        ) {
            let plain = parse(text.as_bytes());
            for v in editor_variants(text) {
                assert_eq!(parse(v.as_bytes()), plain, "{what}: {v:?}");
            }
        }
        let config = "# mine\n[sso-session s]\nsso_start_url = https://d-1.awsapps.com/start\nsso_region = us-east-1\n\n[profile p]\nsso_session = s\nsso_account_id = 111111111111\nsso_role_name = R\nregion = eu-west-1\n";
        same("config", config, |b| {
            let c =
                crate::aws::config::AwsConfig::parse(PathBuf::new(), &String::from_utf8_lossy(b));
            assert!(c.problems.is_empty(), "{:?}", c.problems);
            (c.sessions, c.profiles)
        });
        let token = "{\n  \"startUrl\": \"https://d-1.awsapps.com/start\",\n  \"region\": \"us-east-1\",\n  \"accessToken\": \"aoa\",\n  \"expiresAt\": \"2026-12-01T10:00:00Z\"\n}\n";
        same("token", token, |b| {
            crate::aws::cache::CachedToken::from_json(b).map(|t| t.to_json())
        });
        let creds = "{\n  \"ProviderType\": \"sso\",\n  \"Credentials\": {\"AccessKeyId\": \"ASIA\", \"SecretAccessKey\": \"s\", \"SessionToken\": \"t\", \"Expiration\": \"2026-12-01T10:00:00Z\"}\n}\n";
        same("role credentials", creds, |b| {
            crate::aws::credentials::from_cli_cache_json(b).map(|c| (c.access_key_id, c.expiration))
        });
        let settings = "# mine\n[sessions.s]\nbrowser = \"firefox %s\"\nkeychain = true\n\n[keeper]\nlead_times = [1800, 300]\n";
        same("settings", settings, |b| {
            crate::ops::settings::Settings::parse(&String::from_utf8_lossy(b))
        });
        let state = "{\n  \"sessions\": {\n    \"s\": {\"loginAt\": \"2026-12-01T08:00:00Z\", \"learnedLengthSecs\": 28800}\n  }\n}\n";
        same("state", state, crate::ops::state::State::parse);
        let inventory = "{\"session\": \"s\", \"startUrl\": \"https://d-1.awsapps.com/start\", \"fetchedAt\": \"2026-12-01T08:00:00Z\",\n \"accounts\": [{\"accountId\": \"111111111111\", \"accountName\": \"a\", \"roles\": [\"R\"]}]}\n";
        same("account list", inventory, |b| {
            serde_json::from_slice::<crate::ops::discovery::Inventory>(strip_bom(b))
                .map_err(|e| e.to_string())
        });
    }
}
