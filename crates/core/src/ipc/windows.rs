//! Named pipes (Windows).
#![allow(unsafe_code)] // Win32 calls: each block says why it is sound.

use super::ConnectError;
use std::io;
use std::os::windows::io::AsRawHandle;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::windows::named_pipe::{
    ClientOptions, NamedPipeClient, NamedPipeServer, ServerOptions,
};
use windows_sys::Win32::Foundation::{LocalFree, ERROR_FILE_NOT_FOUND, ERROR_PIPE_BUSY};
use windows_sys::Win32::Security::Authorization::{
    ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::{PSECURITY_DESCRIPTOR, SECURITY_ATTRIBUTES};
use windows_sys::Win32::System::Pipes::{GetNamedPipeClientProcessId, GetNamedPipeServerProcessId};

/// The pipe that stands for `place`: one per path (paths are case-insensitive here).
pub fn pipe_name(place: &Path) -> String {
    use sha2::{Digest, Sha256};
    let key = place.to_string_lossy().to_lowercase();
    let hash = Sha256::digest(key.as_bytes());
    format!(r"\\.\pipe\ssotray-{}", hex::encode(&hash[..16]))
}

/// A security descriptor granting everything to this user and nothing to anyone else
/// (`D:P(A;;GA;;;<SID>)`: a protected DACL with one entry).
struct OnlyMe(PSECURITY_DESCRIPTOR);

// SAFETY: the descriptor is written once when made and only read after.
unsafe impl Send for OnlyMe {}
unsafe impl Sync for OnlyMe {}

impl OnlyMe {
    fn new() -> io::Result<OnlyMe> {
        let sid = crate::user::me()
            .sid_string()
            .ok_or_else(|| io::Error::other("cannot name this user's SID"))?;
        let sddl: Vec<u16> = format!("D:P(A;;GA;;;{sid})")
            .encode_utf16()
            .chain([0])
            .collect();
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: `sddl` is NUL-terminated; the descriptor is freed in Drop.
        let ok = unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                sddl.as_ptr(),
                SDDL_REVISION_1,
                &mut sd,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(OnlyMe(sd))
    }

    fn create(&self, name: &str, first: bool) -> io::Result<NamedPipeServer> {
        let mut attributes = SECURITY_ATTRIBUTES {
            nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
            lpSecurityDescriptor: self.0,
            bInheritHandle: 0,
        };
        // SAFETY: the attributes point at a live descriptor for the length of the call.
        unsafe {
            ServerOptions::new()
                .first_pipe_instance(first)
                .reject_remote_clients(true)
                .create_with_security_attributes_raw(
                    name,
                    (&mut attributes as *mut SECURITY_ATTRIBUTES).cast(),
                )
        }
    }
}

impl Drop for OnlyMe {
    fn drop(&mut self) {
        // SAFETY: allocated by ConvertStringSecurityDescriptorToSecurityDescriptorW.
        unsafe { LocalFree(self.0) };
    }
}

/// A served pipe: the instance waiting for the next client.
pub struct Listener {
    name: String,
    only_me: OnlyMe,
    next: tokio::sync::Mutex<NamedPipeServer>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("name", &self.name)
            .finish()
    }
}

/// One connection: the server's or the client's end.
#[derive(Debug)]
pub enum Stream {
    /// Accepted by a [`Listener`].
    Server(NamedPipeServer),
    /// Made by [`connect`].
    Client(NamedPipeClient),
}

fn runs_as_me(pid: Option<u32>) -> bool {
    pid.and_then(crate::user::of_process)
        .is_some_and(|user| user == crate::user::me())
}

pub async fn connect(place: &Path) -> Result<Stream, ConnectError> {
    let name = pipe_name(place);
    let mut busy_for = Duration::ZERO;
    let client = loop {
        match ClientOptions::new().open(&name) {
            Ok(client) => break client,
            // Every instance taken: the server makes the next one at once.
            Err(e)
                if e.raw_os_error() == Some(ERROR_PIPE_BUSY as i32)
                    && busy_for < Duration::from_secs(5) =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
                busy_for += Duration::from_millis(20);
            }
            Err(e) if e.raw_os_error() == Some(ERROR_FILE_NOT_FOUND as i32) => {
                return Err(ConnectError::NotServed(e))
            }
            Err(e) => return Err(ConnectError::NotServed(e)),
        }
    };
    let mut pid = 0u32;
    // SAFETY: a live pipe handle and an out-parameter.
    let known = unsafe { GetNamedPipeServerProcessId(client.as_raw_handle(), &mut pid) } != 0;
    if !runs_as_me(known.then_some(pid)) {
        return Err(ConnectError::OtherUser);
    }
    Ok(Stream::Client(client))
}

pub fn bind(place: &Path) -> io::Result<Listener> {
    let name = pipe_name(place);
    let only_me = OnlyMe::new()?;
    let first = only_me.create(&name, true)?;
    Ok(Listener {
        name,
        only_me,
        next: tokio::sync::Mutex::new(first),
    })
}

pub fn remove(_place: &Path) {}

impl Listener {
    /// The next connection, and whether its client runs as this user.
    pub(super) async fn accept(&self) -> io::Result<(Stream, bool)> {
        let mut next = self.next.lock().await;
        next.connect().await?;
        let fresh = self.only_me.create(&self.name, false)?;
        let connected = std::mem::replace(&mut *next, fresh);
        drop(next);
        let mut pid = 0u32;
        // SAFETY: a live pipe handle and an out-parameter.
        let known =
            unsafe { GetNamedPipeClientProcessId(connected.as_raw_handle(), &mut pid) } != 0;
        Ok((Stream::Server(connected), runs_as_me(known.then_some(pid))))
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Server(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Client(c) => Pin::new(c).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Server(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Client(c) => Pin::new(c).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Server(s) => Pin::new(s).poll_flush(cx),
            Stream::Client(c) => Pin::new(c).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Server(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Client(c) => Pin::new(c).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_names_one_pipe_whatever_its_case() {
        let a = pipe_name(Path::new(r"C:\Users\Me\AppData\Local\ssotray\keeper.sock"));
        let b = pipe_name(Path::new(r"c:\users\me\appdata\local\ssotray\KEEPER.sock"));
        let c = pipe_name(Path::new(
            r"C:\Users\Other\AppData\Local\ssotray\keeper.sock",
        ));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.starts_with(r"\\.\pipe\ssotray-"));
    }

    #[cfg_attr(
        wine,
        ignore = "Wine 8.0 does not enforce FILE_FLAG_FIRST_PIPE_INSTANCE (a second server is created)"
    )]
    #[tokio::test]
    async fn a_second_server_of_the_same_place_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let place = dir.path().join("s");
        let _first = bind(&place).unwrap();
        assert!(
            bind(&place).is_err(),
            "the pipe's first instance is exclusive"
        );
    }
}
