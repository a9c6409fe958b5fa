//! Who a process runs as: the one notion of "the same user" that every local check of ssotray
//! compares (a socket's or a pipe's peer, a loopback connection's owner, a directory's owner).
//!
//! Unix: the uid. Windows: the security identifier (SID) of the process token's user, compared
//! byte for byte as `EqualSid` does.
//!
//! `UserId` is either; `me()` is this process's, `of_process(pid)` (Windows) another process's.
//! Unsafe code is allowed here (each block with a `SAFETY` comment) only for the process token's
//! SID.

/// A user, as the platform names one.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UserId(imp::Id);

impl std::fmt::Debug for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UserId({self})")
    }
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        imp::fmt(&self.0, f)
    }
}

/// The user this process runs as.
pub fn me() -> UserId {
    UserId(imp::me())
}

#[cfg(unix)]
impl UserId {
    /// The user with this uid.
    pub fn from_uid(uid: u32) -> UserId {
        UserId(uid)
    }

    /// Its uid.
    pub fn uid(&self) -> u32 {
        self.0
    }
}

/// The user a process runs as (`None` when it is gone or may not be looked at).
#[cfg(windows)]
pub fn of_process(pid: u32) -> Option<UserId> {
    imp::of_process(pid).map(UserId)
}

#[cfg(windows)]
impl UserId {
    /// The SID in its string form (`S-1-5-21-…`), for a security descriptor.
    pub fn sid_string(&self) -> Option<String> {
        imp::sid_string(&self.0)
    }
}

#[cfg(unix)]
mod imp {
    pub type Id = u32;

    pub fn me() -> Id {
        rustix::process::getuid().as_raw()
    }

    pub fn fmt(id: &Id, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "uid {id}")
    }
}

#[cfg(windows)]
#[allow(unsafe_code)] // Win32 calls: each block says why it is sound.
mod imp {
    use std::sync::OnceLock;
    use windows_sys::Win32::Foundation::{CloseHandle, LocalFree, HANDLE};
    use windows_sys::Win32::Security::Authorization::ConvertSidToStringSidW;
    use windows_sys::Win32::Security::{
        GetLengthSid, GetTokenInformation, TokenUser, TOKEN_QUERY, TOKEN_USER,
    };
    use windows_sys::Win32::System::Threading::{
        GetCurrentProcess, OpenProcess, OpenProcessToken, PROCESS_QUERY_LIMITED_INFORMATION,
    };

    /// The SID's bytes.
    pub type Id = Vec<u8>;

    pub fn me() -> Id {
        static ME: OnceLock<Id> = OnceLock::new();
        ME.get_or_init(|| {
            // SAFETY: the pseudo-handle of this process needs no closing.
            unsafe { token_user(GetCurrentProcess()) }
                .expect("the user of this process (its token)")
        })
        .clone()
    }

    pub fn of_process(pid: u32) -> Option<Id> {
        // SAFETY: a handle opened here is closed here; null is checked.
        unsafe {
            let process = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
            if process.is_null() {
                return None;
            }
            let user = token_user(process);
            CloseHandle(process);
            user
        }
    }

    /// The user SID of `process`'s token.
    ///
    /// # Safety
    /// `process` must be a valid process handle with query access.
    unsafe fn token_user(process: HANDLE) -> Option<Id> {
        // SAFETY (each block below): `token` is opened here and closed here; the buffer is as
        // long as the call said it must be; the SID lies inside that buffer.
        let mut token: HANDLE = std::ptr::null_mut();
        if unsafe { OpenProcessToken(process, TOKEN_QUERY, &mut token) } == 0 {
            return None;
        }
        let mut len = 0u32;
        unsafe { GetTokenInformation(token, TokenUser, std::ptr::null_mut(), 0, &mut len) };
        // (u64s: the TOKEN_USER at its start needs pointer alignment.)
        let mut buf = vec![0u64; (len as usize).div_ceil(8).max(1)];
        let ok = unsafe {
            GetTokenInformation(token, TokenUser, buf.as_mut_ptr().cast(), len, &mut len)
        };
        unsafe { CloseHandle(token) };
        if ok == 0 {
            return None;
        }
        let user = unsafe { &*(buf.as_ptr() as *const TOKEN_USER) };
        let sid = user.User.Sid;
        let n = unsafe { GetLengthSid(sid) } as usize;
        Some(unsafe { std::slice::from_raw_parts(sid as *const u8, n) }.to_vec())
    }

    pub fn sid_string(id: &Id) -> Option<String> {
        let mut sid = id.clone();
        let mut out: windows_sys::core::PWSTR = std::ptr::null_mut();
        // SAFETY: `sid` holds a whole SID (copied from a token); the string is freed with
        // LocalFree as the function requires.
        unsafe {
            if ConvertSidToStringSidW(sid.as_mut_ptr().cast(), &mut out) == 0 {
                return None;
            }
            let len = (0..).take_while(|&i| *out.add(i) != 0).count();
            let s = String::from_utf16(std::slice::from_raw_parts(out, len)).ok();
            LocalFree(out.cast());
            s
        }
    }

    pub fn fmt(id: &Id, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match sid_string(id) {
            Some(s) => f.write_str(&s),
            None => f.write_str("an unreadable SID"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `me()` against what the OS says by another way: the owner of a file this process makes
    /// (Unix), the user of a process it starts (Windows); and another user is not `me()`.
    #[test]
    fn this_process_is_the_user_the_os_names_and_no_other() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("mine");
            std::fs::write(&file, b"").unwrap();
            let owner = std::fs::metadata(&file).unwrap().uid();
            assert_eq!(me(), UserId::from_uid(owner));
            assert_ne!(me(), UserId::from_uid(owner.wrapping_add(1)));
            assert_eq!(me().to_string(), format!("uid {owner}"));
        }
        #[cfg(windows)]
        {
            // A child runs with this process's token: its user is this one.
            let mut child = std::process::Command::new("cmd")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap();
            assert_eq!(of_process(child.id()), Some(me()));
            drop(child.stdin.take());
            let _ = child.wait();
            assert!(me().sid_string().is_some_and(|s| s.starts_with("S-1-")));
        }
    }

    #[cfg(windows)]
    #[test]
    fn this_process_looked_up_by_its_id_is_me_and_a_missing_process_is_no_one() {
        assert_eq!(of_process(std::process::id()), Some(me()));
        assert!(me().sid_string().is_some_and(|s| s.starts_with("S-1-")));
        // Process ids are multiples of 4 on Windows: 3 is never one.
        assert_eq!(of_process(3), None);
    }
}
