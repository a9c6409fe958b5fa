//! The rules every local connection of ssotray follows (the keeper's, the tray app's
//! single-instance and window connections; the transport is the `ipc` module): on Unix its socket
//! lives in a directory of the user's own with mode 0700 (ssotray refuses any other and says how
//! to fix it), a peer must be the same user, a line is at most a bounded length, and a
//! connection that stays silent is closed.
//!
//! On Windows the directory is one under the user's profile, whose inherited access list admits
//! the user (and the system and administrators) only; it must be a real directory (not a link),
//! and the pipes themselves carry a security descriptor of their own (see the `ipc` module).
//!
//! A silent connection is closed after 10 s (`IDLE`).
//!
//! These local connections (`ipc`, `owner`, `sock`, `user`) are, on purpose, outside `Context`:
//! they check or create their 0700 directory, their lock file and the socket or pipe with
//! `std::fs`, and ask the OS who the process is. `grants` makes its 0700 directories with the same
//! `sock::private_dir`.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// The longest request line a socket server reads.
pub const MAX_REQUEST: usize = 64 * 1024;
/// How long a server waits for a line before closing the connection.
pub const IDLE: Duration = Duration::from_secs(10);

/// Why a directory will not hold ssotray's sockets (or private files). Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum PrivateDirError {
    /// It could not be created or looked at.
    #[error("cannot {what} `{}`: {source}", .dir.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The directory.
        dir: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// It is something else than a directory (a symlink, a file).
    #[error("`{}` is not a directory; {}", .0.display(), fix(.0))]
    NotADirectory(PathBuf),
    /// It belongs to another user.
    #[error("`{}` belongs to another user (uid {uid}); {}", .dir.display(), fix(.dir))]
    OtherUser {
        /// The directory.
        dir: PathBuf,
        /// Its owner.
        uid: u32,
    },
    /// Others can reach into it.
    #[error("`{}` has mode {mode:o}, so other users can reach its sockets; {}", .dir.display(), fix(.dir))]
    Open {
        /// The directory.
        dir: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

fn fix(dir: &Path) -> String {
    format!("ssotray keeps its sockets only in a directory of your own with mode 0700: remove `{}` (or `chmod 700` it if it is yours) and start again", dir.display())
}

/// Makes sure `dir` is a directory of this user's with mode 0700, creating it so when missing
/// (its parents as usual).
pub fn private_dir(dir: &Path) -> Result<(), PrivateDirError> {
    #[cfg(unix)]
    use std::os::unix::fs::DirBuilderExt;
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(|source| PrivateDirError::Io {
            what: "create",
            dir: parent.to_path_buf(),
            source,
        })?;
    }
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    builder.mode(0o700);
    match builder.create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(source) => {
            return Err(PrivateDirError::Io {
                what: "create",
                dir: dir.to_path_buf(),
                source,
            })
        }
    }
    check_private_dir(dir)
}

/// Checks, without creating anything, that `dir` is a directory of this user's with mode 0700
/// (on Windows: a directory, not a link).
pub fn check_private_dir(dir: &Path) -> Result<(), PrivateDirError> {
    let m = std::fs::symlink_metadata(dir).map_err(|source| PrivateDirError::Io {
        what: "check",
        dir: dir.to_path_buf(),
        source,
    })?;
    if !m.is_dir() {
        return Err(PrivateDirError::NotADirectory(dir.to_path_buf()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if crate::platform::user::UserId::from_uid(m.uid()) != crate::platform::user::me() {
            return Err(PrivateDirError::OtherUser {
                dir: dir.to_path_buf(),
                uid: m.uid(),
            });
        }
        if m.mode() & 0o777 != 0o700 {
            return Err(PrivateDirError::Open {
                dir: dir.to_path_buf(),
                mode: m.mode() & 0o777,
            });
        }
    }
    Ok(())
}

/// Why a line could not be read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// Longer than allowed without a line end.
    #[error("a line longer than {0} bytes")]
    TooLong(usize),
    /// Nothing came for too long.
    #[error("no line within {} s", .0.as_secs())]
    Silent(Duration),
    /// Not UTF-8, or the connection failed.
    #[error("an unreadable line")]
    Unreadable,
}

/// Reads one line (without its line end) of at most `max` bytes, waiting at most `idle` (`None`:
/// as long as it takes). `Ok(None)` at the end of the stream.
pub async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    max: usize,
    idle: Option<Duration>,
) -> Result<Option<String>, LineError> {
    let mut buf = Vec::new();
    let mut limited = (&mut *reader).take(max as u64 + 1);
    let read = limited.read_until(b'\n', &mut buf);
    let n = match idle {
        Some(idle) => tokio::time::timeout(idle, read)
            .await
            .map_err(|_| LineError::Silent(idle))?,
        None => read.await,
    }
    .map_err(|_| LineError::Unreadable)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
    } else if buf.len() > max {
        return Err(LineError::TooLong(max));
    }
    String::from_utf8(buf)
        .map(Some)
        .map_err(|_| LineError::Unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_bounded_in_length_and_time() {
        let mut r = tokio::io::BufReader::new(&b"short\nrest"[..]);
        assert_eq!(read_line(&mut r, 16, None).await, Ok(Some("short".into())));
        assert_eq!(read_line(&mut r, 16, None).await, Ok(Some("rest".into())));
        assert_eq!(read_line(&mut r, 16, None).await, Ok(None));
        let long = [b'x'; 100];
        let mut r = tokio::io::BufReader::new(&long[..]);
        assert_eq!(
            read_line(&mut r, 16, None).await,
            Err(LineError::TooLong(16))
        );
        let (_keep_open, silent) = tokio::io::duplex(64);
        let mut r = tokio::io::BufReader::new(silent);
        assert_eq!(
            read_line(&mut r, 16, Some(Duration::from_millis(50))).await,
            Err(LineError::Silent(Duration::from_millis(50)))
        );
    }

    #[cfg(unix)]
    #[test]
    fn only_a_private_directory_of_the_users_own_will_do() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/ssotray");
        private_dir(&dir).unwrap();
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = private_dir(&dir).unwrap_err().to_string();
        assert!(
            err.contains("has mode 755, so other users can reach its sockets")
                && err.contains("chmod 700"),
            "{err}"
        );
        std::fs::remove_dir(&dir).unwrap();
        std::os::unix::fs::symlink(root.path(), &dir).unwrap();
        assert!(private_dir(&dir)
            .unwrap_err()
            .to_string()
            .contains("is not a directory"));
    }

    #[test]
    fn a_file_in_the_way_is_no_directory_and_a_made_one_is_kept() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a").join("ssotray");
        private_dir(&dir).unwrap();
        assert!(dir.is_dir());
        private_dir(&dir).unwrap();
        let file = root.path().join("file");
        std::fs::write(&file, "x").unwrap();
        assert!(matches!(
            check_private_dir(&file),
            Err(PrivateDirError::NotADirectory(_))
        ));
    }
}
