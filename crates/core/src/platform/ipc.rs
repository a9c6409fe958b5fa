//! Local connections between ssotray's own processes (the CLI and the keeper, a second launch of
//! the tray app and the first, the window process and the tray process): one transport per OS,
//! each admitting only the user who runs ssotray.
//!
//! A connection's *place* is a path from [`crate::platform::paths`] on every OS, so that each home (and
//! each test) has its own:
//! - Linux and macOS: a Unix domain socket at that path (mode 0600, in a 0700 directory of the
//!   user's own, see [`crate::platform::sock::private_dir`]); the peer's uid (`SO_PEERCRED`, `getpeereid`)
//!   must be the user's.
//! - Windows: a named pipe `\\.\pipe\ssotray-<128 random bits>`, a new name each time it is
//!   served, written into a file at the place (in the user's own directory, which other users
//!   cannot read), so no other user can know the name or create the pipe first; created with a
//!   security descriptor that grants access to the user's SID alone (and refuses remote
//!   clients); the process at the other end (`GetNamedPipeClientProcessId` /
//!   `GetNamedPipeServerProcessId`) must run as the user. The first instance is created
//!   exclusively, so a pipe another program made first under that name is refused, never used
//!   ("another user created `\\.\pipe\…` first").
//!
//! Both ends check: a server accepts only the user's clients ([`Listener::accept_mine`]), a
//! client talks only to the user's server ([`connect`]).
//!
//! The API is the same on every OS: `bind`, `connect` and `Listener::accept_mine`, over
//! `ipc/unix.rs` or `ipc/windows.rs`. `connect` fails with `OtherUser` rather than talk to someone
//! else's server.

use std::io;
use std::path::Path;
use std::time::Duration;

#[cfg(unix)]
#[path = "ipc/unix.rs"]
mod imp;
#[cfg(windows)]
#[path = "ipc/windows.rs"]
mod imp;

pub use imp::{Listener, Stream};

/// Why [`connect`] found no server of this user's.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Nothing serves that place (or it could not be reached).
    #[error("nothing listens there: {0}")]
    NotServed(#[source] io::Error),
    /// Something serves it, but not as this user: it is not asked.
    #[error("it is served by another user")]
    OtherUser,
}

/// Connects to the server at `place`, if one of this user's serves it.
pub async fn connect(place: &Path) -> Result<Stream, ConnectError> {
    imp::connect(place).await
}

/// Starts serving at `place` (replacing a stale Unix socket file there). The caller holds the
/// lock that makes it the only server of that place.
pub fn bind(place: &Path) -> io::Result<Listener> {
    imp::bind(place)
}

/// Removes what serving left at `place` (the socket file; the file naming the pipe).
pub fn remove(place: &Path) {
    imp::remove(place)
}

impl Listener {
    /// Accepts the next connection from this user: others are dropped at once, and a failing
    /// accept (out of file descriptors or handles) is retried after a pause instead of in a spin.
    pub async fn accept_mine(&self) -> Stream {
        loop {
            match self.accept().await {
                Ok((stream, true)) => return stream,
                Ok((_, false)) => tracing::warn!("refused a connection from another user"),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_client_reaches_the_server_at_its_place_and_both_ends_are_this_user() {
        let dir = tempfile::tempdir().unwrap();
        let place = dir.path().join("s");
        let listener = bind(&place).unwrap();
        let server = tokio::spawn(async move {
            // Two connections in turn: the next one is accepted after the first.
            for _ in 0..2 {
                let mut s = listener.accept_mine().await;
                let mut buf = [0u8; 4];
                s.read_exact(&mut buf).await.unwrap();
                s.write_all(&buf).await.unwrap();
            }
        });
        for word in [b"ping", b"pong"] {
            let mut c = connect(&place).await.unwrap();
            c.write_all(word).await.unwrap();
            let mut back = [0u8; 4];
            c.read_exact(&mut back).await.unwrap();
            assert_eq!(&back, word);
        }
        server.await.unwrap();
    }

    #[tokio::test]
    async fn nothing_at_a_place_is_not_served_and_a_removed_place_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let place = dir.path().join("none");
        assert!(matches!(
            connect(&place).await,
            Err(ConnectError::NotServed(_))
        ));
        let listener = bind(&place).unwrap();
        drop(listener);
        remove(&place);
        assert!(matches!(
            connect(&place).await,
            Err(ConnectError::NotServed(_))
        ));
    }

    #[tokio::test]
    async fn two_places_are_two_servers() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let la = bind(&a).unwrap();
        let lb = bind(&b).unwrap();
        tokio::spawn(async move {
            let mut s = la.accept_mine().await;
            s.write_all(b"a").await.unwrap();
        });
        tokio::spawn(async move {
            let mut s = lb.accept_mine().await;
            s.write_all(b"b").await.unwrap();
        });
        for (place, want) in [(&b, b'b'), (&a, b'a')] {
            let mut c = connect(place).await.unwrap();
            let mut one = [0u8; 1];
            c.read_exact(&mut one).await.unwrap();
            assert_eq!(one[0], want);
        }
    }
}
