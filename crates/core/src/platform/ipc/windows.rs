//! Named pipes (Windows).
//!
//! Unsafe code is allowed here (each block with a `SAFETY` comment) only for the OS calls no safe
//! crate wraps: the pipe's security descriptor and the peer's token.
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

/// The start of every pipe name of ssotray's.
const PREFIX: &str = r"\\.\pipe\ssotray-";

/// A new pipe name: the prefix and 128 random bits, so no other user can know it, nor create the
/// pipe first (a name derived from the place's path could be, and was, guessed).
fn new_pipe_name() -> String {
    format!("{PREFIX}{:032x}", rand::random::<u128>())
}

/// Whether `name` is a pipe name [`new_pipe_name`] makes.
fn is_pipe_name(name: &str) -> bool {
    name.strip_prefix(PREFIX)
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The pipe `place` names: the place is a file (in the user's own directory, which only the
/// user, SYSTEM and Administrators can read) holding the name of the pipe served there.
fn pipe_of(place: &Path) -> io::Result<String> {
    let text = std::fs::read_to_string(place)?;
    let name = text.trim();
    if is_pipe_name(name) {
        Ok(name.to_string())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("`{}` names no pipe of ssotray's", place.display()),
        ))
    }
}

/// The error of a pipe whose name was taken before ssotray could create it.
fn taken(name: &str, e: io::Error) -> io::Error {
    // ERROR_ACCESS_DENIED (another user's pipe: its descriptor shuts this user out) and
    // ERROR_PIPE_BUSY (FILE_FLAG_FIRST_PIPE_INSTANCE on a pipe that exists).
    match e.raw_os_error() {
        Some(5 | 231) => io::Error::new(
            e.kind(),
            format!("another user created `{name}` first ({e}); ssotray will not use it: sign out the other user's session, or restart Windows"),
        ),
        _ => e,
    }
}

/// A security descriptor granting everything to this user and nothing to anyone else
/// (`D:P(A;;GA;;;<SID>)`: a protected DACL with one entry).
struct OnlyMe(PSECURITY_DESCRIPTOR);

// SAFETY: the descriptor is written once when made and only read after.
unsafe impl Send for OnlyMe {}
unsafe impl Sync for OnlyMe {}

impl OnlyMe {
    fn new() -> io::Result<OnlyMe> {
        let sid = crate::platform::user::me()
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
    pid.and_then(crate::platform::user::of_process)
        .is_some_and(|user| user == crate::platform::user::me())
}

pub async fn connect(place: &Path) -> Result<Stream, ConnectError> {
    let name = pipe_of(place).map_err(ConnectError::NotServed)?;
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
    let only_me = OnlyMe::new()?;
    let name = new_pipe_name();
    let first = only_me.create(&name, true).map_err(|e| taken(&name, e))?;
    // Then the place names it: a client reads a whole name or none (the caller holds the lock
    // that makes it the only server of the place).
    crate::platform::os::write_atomic_pausing(place, name.as_bytes(), 0o600, || {})?;
    Ok(Listener {
        name,
        only_me,
        next: tokio::sync::Mutex::new(first),
    })
}

pub fn remove(place: &Path) {
    let _ = std::fs::remove_file(place);
}

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

    #[tokio::test]
    async fn a_place_names_a_pipe_no_one_can_derive_from_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let place = dir.path().join("keeper.sock");
        let first = bind(&place).unwrap();
        let name = std::fs::read_to_string(&place).unwrap();
        assert!(is_pipe_name(&name), "{name}");
        assert_eq!(first.name, name);
        assert!(connect(&place).await.is_ok());
        drop(first);
        remove(&place);
        assert!(matches!(
            connect(&place).await,
            Err(ConnectError::NotServed(_))
        ));
        // Served again from the same place: another name, nothing to guess from the path.
        let second = bind(&place).unwrap();
        assert_ne!(second.name, name);
        assert!(connect(&place).await.is_ok());
        // A place that names anything else is no server of ssotray's.
        std::fs::write(&place, r"\\.\pipe\someone-elses").unwrap();
        assert!(matches!(
            connect(&place).await,
            Err(ConnectError::NotServed(_))
        ));
    }

    #[test]
    fn a_pipe_name_taken_first_is_reported_as_another_users() {
        let name = new_pipe_name();
        for code in [5, 231] {
            let e = taken(&name, io::Error::from_raw_os_error(code)).to_string();
            assert!(
                e.contains(&format!("another user created `{name}` first")),
                "{e}"
            );
        }
        assert!(!taken(&name, io::Error::from_raw_os_error(2))
            .to_string()
            .contains("another user"));
    }

    #[cfg_attr(
        wine,
        ignore = "Wine 8.0 does not enforce FILE_FLAG_FIRST_PIPE_INSTANCE (a second server is created)"
    )]
    #[tokio::test]
    async fn a_pipe_that_exists_is_never_served_again() {
        let only_me = OnlyMe::new().unwrap();
        let name = new_pipe_name();
        let _first = only_me.create(&name, true).unwrap();
        let again = only_me
            .create(&name, true)
            .map_err(|e| taken(&name, e))
            .unwrap_err();
        assert!(
            again.to_string().contains("another user created"),
            "{again}"
        );
    }
}
