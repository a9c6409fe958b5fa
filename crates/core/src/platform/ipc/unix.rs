//! Unix domain sockets (Linux and macOS).

use super::ConnectError;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{UnixListener, UnixStream};

/// A bound socket.
#[derive(Debug)]
pub struct Listener(UnixListener);

/// One connection.
#[derive(Debug)]
pub struct Stream(UnixStream);

fn is_me(stream: &UnixStream) -> bool {
    stream.peer_cred().is_ok_and(|c| {
        crate::platform::user::UserId::from_uid(c.uid()) == crate::platform::user::me()
    })
}

pub async fn connect(place: &Path) -> Result<Stream, ConnectError> {
    let stream = UnixStream::connect(place)
        .await
        .map_err(ConnectError::NotServed)?;
    if !is_me(&stream) {
        return Err(ConnectError::OtherUser);
    }
    Ok(Stream(stream))
}

pub fn bind(place: &Path) -> io::Result<Listener> {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::remove_file(place);
    let listener = UnixListener::bind(place)?;
    std::fs::set_permissions(place, std::fs::Permissions::from_mode(0o600))?;
    Ok(Listener(listener))
}

pub fn remove(place: &Path) {
    let _ = std::fs::remove_file(place);
}

impl Listener {
    /// The next connection, and whether it is this user's.
    pub(super) async fn accept(&self) -> io::Result<(Stream, bool)> {
        let (stream, _) = self.0.accept().await?;
        let mine = is_me(&stream);
        Ok((Stream(stream), mine))
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
