//! The outside world, injected: clock, environment, filesystem and browser.
//!
//! Everything else in the core reaches the outside only through these, so tests can hand in a
//! [`ManualClock`], an [`Env::from_slice`] and a [`MemFs`] instead of the real ones.
//!
//! The real ones are `SystemClock`, the process's environment, `RealFs` and `SystemBrowser`
//! (which runs `BROWSER` when set, else opens the URL with the `open` crate).
//!
//! `RealFs` replaces a file atomically with an exact mode (temporary file in the same
//! directory, fsync, rename: 0600 for tokens and credentials, the file's own mode for
//! `~/.aws/config`), so nothing is ever half-written; it creates directories 0700 (existing ones
//! are left as they are), takes advisory locks (std's `File::lock`: `flock`, `LockFileEx`) and
//! reads file stamps (`Stamp`, here because every module above shares it). Each temporary file is
//! locked while its writer lives, so a dead writer's copy is removed at the next write, at logout
//! and at the keeper's start (`remove_leftovers`). On Windows the rename over a file a reader holds
//! open is retried for up to 2 s.
//!
//! Exceptions to "only through `Context`", on purpose: monotonic timers (`tokio::time`, `Instant`)
//! pace discovery and device-code polling; the login's loopback callback listener and the
//! credential servers' listeners (`credserver`, and `peer`, which asks the kernel whose a
//! connection is); and the local connections (`ipc`, `owner`, `sock`, `user`; see `sock`).

use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A source of wall-clock time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current wall-clock instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when told to, for tests.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock(Mutex::new(start))
    }
    /// Sets the time.
    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = t;
    }
    /// Moves the time forward.
    pub fn advance(&self, by: chrono::Duration) {
        let mut t = self.0.lock().expect("clock lock");
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

/// Process environment variables, real or given.
#[derive(Debug, Clone, Default)]
pub struct Env {
    fixed: Option<Arc<HashMap<String, String>>>,
}

impl Env {
    /// The real process environment, read at each look-up.
    pub fn real() -> Self {
        Env { fixed: None }
    }

    /// A fixed environment, for tests.
    pub fn from_slice(vars: &[(&str, &str)]) -> Self {
        let map = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env {
            fixed: Some(Arc::new(map)),
        }
    }

    /// The value of `key`, if set and valid Unicode.
    pub fn get(&self, key: &str) -> Option<String> {
        match &self.fixed {
            Some(map) => map.get(key).cloned(),
            None => std::env::var(key).ok(),
        }
    }

    /// The value of `key` if it is set and not empty.
    pub fn get_non_empty(&self, key: &str) -> Option<String> {
        self.get(key).filter(|v| !v.trim().is_empty())
    }
}

/// What tells a file's content apart without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Device.
    pub dev: u64,
    /// Inode (an atomic replacement gives a new one).
    pub ino: u64,
    /// Size in bytes.
    pub len: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i128,
    /// Status change time, nanoseconds since the epoch.
    pub ctime_ns: i128,
}

/// A file opened to read parts of it ([`Fs::open`]).
pub trait ReadSeek: io::Read + io::Seek + Send {}
impl<T: io::Read + io::Seek + Send> ReadSeek for T {}

/// The filesystem operations the core needs. Writes are atomic replacements.
pub trait Fs: Send + Sync + std::fmt::Debug {
    /// Reads a whole file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Opens a file to read parts of it (a large file that is looked into, not read whole).
    fn open(&self, path: &Path) -> io::Result<Box<dyn ReadSeek>> {
        Ok(Box::new(io::Cursor::new(self.read(path)?)))
    }
    /// Replaces `path` atomically with `data` (temporary file in the same directory, fsync,
    /// rename), with file mode `mode`; missing parent directories are created with mode 0700.
    fn write_atomic(&self, path: &Path, data: &[u8], mode: u32) -> io::Result<()>;
    /// Removes a file.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Removes from `dir` the temporary files of atomic writes whose writers died before their
    /// rename; how many (see [`write_atomic_pausing`]).
    fn remove_leftovers(&self, _dir: &Path) -> usize {
        0
    }
    /// Renames a file or a directory (a directory keeps its inode, and whoever has it open or
    /// mounted keeps it). Fails when `to` is a directory with entries.
    fn rename(&self, _from: &Path, _to: &Path) -> io::Result<()> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
    /// Removes an empty directory.
    fn remove_dir(&self, _path: &Path) -> io::Result<()> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
    /// Lists the files of a directory (an empty list when it does not exist).
    fn list_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>>;
    /// The directories in a directory (not following symlinks), sorted; empty when it is missing.
    fn list_subdirs(&self, _path: &Path) -> io::Result<Vec<PathBuf>> {
        Ok(Vec::new())
    }
    /// The permission bits of an existing file, where the platform has them.
    fn file_mode(&self, _path: &Path) -> Option<u32> {
        None
    }
    /// Makes sure `dir` is a directory of this user's that no one else may change (mode 0700 on
    /// Unix), creating it so when missing: what ssotray reads back from there and trusts.
    fn private_dir(&self, _dir: &Path) -> io::Result<()> {
        Ok(())
    }
    /// What tells the file's content apart without reading it (see [`Stamp`]);
    /// `Ok(None)` when there is no file, `Err` when this filesystem cannot tell (then the file
    /// is read every time).
    fn stamp(&self, _path: &Path) -> io::Result<Option<Stamp>> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
    /// Takes an exclusive advisory lock on `path` (created, mode 0600, if missing), waiting for
    /// it; released when the returned guard is dropped. Blocks: call from a blocking thread.
    fn lock(&self, path: &Path) -> io::Result<FileLock>;
    /// Like [`Fs::lock`], but `None` at once when another holder has it.
    fn try_lock(&self, path: &Path) -> io::Result<Option<FileLock>> {
        self.lock(path).map(Some)
    }
}

/// A held advisory lock; dropping it releases the lock.
pub struct FileLock(#[allow(dead_code)] Box<dyn Send + Sync>);

impl std::fmt::Debug for FileLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileLock")
    }
}

/// Takes a lock without blocking the async runtime.
pub async fn lock_file(fs: Arc<dyn Fs>, path: PathBuf) -> io::Result<FileLock> {
    tokio::task::spawn_blocking(move || fs.lock(&path))
        .await
        .map_err(|e| io::Error::other(format!("lock task failed: {e}")))?
}

/// The real filesystem.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealFs;

impl Fs for RealFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn open(&self, path: &Path) -> io::Result<Box<dyn ReadSeek>> {
        Ok(Box::new(std::fs::File::open(path)?))
    }

    fn write_atomic(&self, path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
        write_atomic_pausing(path, data, mode, || {})
    }

    fn remove_leftovers(&self, dir: &Path) -> usize {
        remove_leftovers(dir, None)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_dir(path)
    }

    fn lock(&self, path: &Path) -> io::Result<FileLock> {
        let file = open_lock_file(path)?;
        file.lock()?;
        Ok(FileLock(Box::new(file)))
    }

    fn try_lock(&self, path: &Path) -> io::Result<Option<FileLock>> {
        let file = open_lock_file(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(FileLock(Box::new(file)))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }

    fn stamp(&self, path: &Path) -> io::Result<Option<Stamp>> {
        let m = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
            Ok(Some(Stamp {
                dev: m.dev(),
                ino: m.ino(),
                len: m.len(),
                mtime_ns: ns(m.mtime(), m.mtime_nsec()),
                ctime_ns: ns(m.ctime(), m.ctime_nsec()),
            }))
        }
        #[cfg(not(unix))]
        {
            let mtime_ns = m
                .modified()?
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as i128)
                .unwrap_or(0);
            Ok(Some(Stamp {
                dev: 0,
                ino: 0,
                len: m.len(),
                mtime_ns,
                ctime_ns: 0,
            }))
        }
    }

    fn private_dir(&self, dir: &Path) -> io::Result<()> {
        crate::platform::sock::private_dir(dir).map_err(io::Error::other)
    }

    fn file_mode(&self, path: &Path) -> Option<u32> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(path)
                .ok()
                .map(|m| m.permissions().mode() & 0o7777)
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            None
        }
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        list_entries(path, |t| t.is_file())
    }

    fn list_subdirs(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        list_entries(path, |t| t.is_dir())
    }
}

/// [`Fs::write_atomic`] of the real filesystem, calling `pause` between the write and the rename
/// (a fault point: the tests kill a writer there, as a crash or `kill -9` might).
///
/// The temporary file (`.<name>.<16 hex digits>.tmp` beside the file) holds an exclusive advisory
/// lock for as long as its writer lives, so the leftovers of a dead writer (a full copy of what
/// it wrote: a token file's refresh token, say) are told from a live writer's and removed: on
/// the next write of the same file, on logout, at the keeper's start ([`remove_leftovers`]). A
/// temporary file removed by such a sweep in the moment between its creation and its lock makes
/// its rename fail; the write is then made again with a new one.
pub fn write_atomic_pausing(
    path: &Path,
    data: &[u8],
    mode: u32,
    pause: impl Fn(),
) -> io::Result<()> {
    // A symlinked file (dotfiles managers do this to ~/.aws/config) is replaced at its
    // target, so the link survives.
    let resolved = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path)?,
        _ => path.to_path_buf(),
    };
    let path = resolved.as_path();
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent"))?;
    create_private_dir_all(dir)?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?
        .to_string_lossy()
        .into_owned();
    remove_leftovers(dir, Some(&name));
    let mut tries = 0;
    loop {
        tries += 1;
        match write_once(dir, &name, path, data, mode, &pause) {
            Err(e) if e.kind() == io::ErrorKind::NotFound && tries < 3 => continue,
            other => return other,
        }
    }
}

fn write_once(
    dir: &Path,
    name: &str,
    path: &Path,
    data: &[u8],
    mode: u32,
    pause: &impl Fn(),
) -> io::Result<()> {
    use std::io::Write;
    let tmp = dir.join(format!(".{name}.{:016x}.tmp", rand::random::<u64>()));
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        let mut file = options.open(&tmp)?;
        // Held until the file is renamed (and the handle closed): a sweep leaves it alone.
        file.try_lock().map_err(|e| match e {
            std::fs::TryLockError::Error(e) => e,
            std::fs::TryLockError::WouldBlock => io::Error::from(io::ErrorKind::NotFound),
        })?;
        // Exactly `mode`, whatever the umask (a config file keeps the mode it had).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        file.write_all(data)?;
        file.sync_all()?;
        pause();
        // Windows renames a file only once no handle has it open without sharing deletion;
        // ours shares it, and closing first would leave a moment unlocked.
        replace(&tmp, path)?;
        drop(file);
        // Make the rename itself durable; a failure here is not worth failing the write for.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Whether `file_name` is one of ssotray's temporary files (`.<name>.<16 hex digits>.tmp`), of
/// the file `of` when given.
fn is_temporary(file_name: &str, of: Option<&str>) -> bool {
    let Some(rest) = file_name
        .strip_prefix('.')
        .and_then(|r| r.strip_suffix(".tmp"))
    else {
        return false;
    };
    let Some((name, random)) = rest.rsplit_once('.') else {
        return false;
    };
    random.len() == 16
        && random.bytes().all(|b| b.is_ascii_hexdigit())
        && !name.is_empty()
        && of.is_none_or(|of| of == name)
}

/// Removes from `dir` the temporary files that writers which died before their rename left
/// (of the file named `of`, or of any): each one whose lock can be had (a live writer holds
/// its own). How many were removed.
pub fn remove_leftovers(dir: &Path, of: Option<&str>) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !is_temporary(&name.to_string_lossy(), of) {
            continue;
        }
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        let Ok(file) = std::fs::OpenOptions::new().read(true).open(&path) else {
            continue;
        };
        if file.try_lock().is_ok() && std::fs::remove_file(&path).is_ok() {
            tracing::info!(file = %path.display(), "removed what a writer that died left");
            removed += 1;
        }
    }
    removed
}

/// Renames `from` over `to`. On Windows a file another program has open without sharing its
/// deletion (the AWS CLI, Python and most readers open that way) cannot be replaced until it is
/// closed: those readers hold it for milliseconds, so the rename is retried for about two
/// seconds before the write fails (and the temporary file is removed; `to` is left as it was).
fn replace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(windows)]
    {
        // ERROR_ACCESS_DENIED and ERROR_SHARING_VIOLATION: the target is open elsewhere.
        let busy = |e: &io::Error| matches!(e.raw_os_error(), Some(5 | 32));
        let mut pause = std::time::Duration::from_millis(5);
        let mut waited = std::time::Duration::ZERO;
        loop {
            match std::fs::rename(from, to) {
                Err(e) if busy(&e) && waited < std::time::Duration::from_secs(2) => {
                    std::thread::sleep(pause);
                    waited += pause;
                    pause = (pause * 2).min(std::time::Duration::from_millis(200));
                }
                other => return other,
            }
        }
    }
    #[cfg(not(windows))]
    std::fs::rename(from, to)
}

/// Opens (creating, mode 0600) a lock file, and its directory (0700) if needed.
pub fn open_lock_file(path: &Path) -> io::Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        create_private_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// An in-memory filesystem for unit tests. It records the mode each file was written with, and
/// gives every write a new stamp (as an atomic replacement gives a new inode).
#[derive(Debug, Default)]
pub struct MemFs(
    Mutex<BTreeMap<PathBuf, MemFile>>,
    std::sync::atomic::AtomicU64,
);

/// A file of [`MemFs`]: its bytes, mode, and the write that made it (its "inode").
type MemFile = (Vec<u8>, u32, u64);

impl MemFs {
    /// An empty filesystem.
    pub fn new() -> Self {
        Self::default()
    }
    /// Puts a file in place, as another program would.
    pub fn put(&self, path: impl Into<PathBuf>, data: impl Into<Vec<u8>>) {
        self.0
            .lock()
            .expect("memfs lock")
            .insert(path.into(), (data.into(), 0o644, self.next()));
    }
    fn next(&self) -> u64 {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1
    }
    /// The mode a file was last written with.
    pub fn mode(&self, path: &Path) -> Option<u32> {
        self.0.lock().expect("memfs lock").get(path).map(|f| f.1)
    }
}

impl Fs for MemFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.0
            .lock()
            .expect("memfs lock")
            .get(path)
            .map(|f| f.0.clone())
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
    fn write_atomic(&self, path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
        self.0
            .lock()
            .expect("memfs lock")
            .insert(path.to_path_buf(), (data.to_vec(), mode, self.next()));
        Ok(())
    }
    fn stamp(&self, path: &Path) -> io::Result<Option<Stamp>> {
        Ok(self.0.lock().expect("memfs lock").get(path).map(|f| Stamp {
            dev: 0,
            ino: f.2,
            len: f.0.len() as u64,
            mtime_ns: 0,
            ctime_ns: 0,
        }))
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.0
            .lock()
            .expect("memfs lock")
            .remove(path)
            .map(|_| ())
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
    fn lock(&self, _path: &Path) -> io::Result<FileLock> {
        // Unit tests run in one process; nothing to exclude.
        Ok(FileLock(Box::new(())))
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        Ok(self
            .0
            .lock()
            .expect("memfs lock")
            .keys()
            .filter(|p| p.parent() == Some(path))
            .cloned()
            .collect())
    }
}

/// Opens URLs for the user.
pub trait Browser: Send + Sync + std::fmt::Debug {
    /// Opens `url`. The URL may be a credential: implementations never log it.
    fn open(&self, url: &str) -> io::Result<()>;
    /// Opens `url` with a given command (a per-session browser setting), else as [`Browser::open`].
    fn open_with(&self, command: Option<&str>, url: &str) -> io::Result<()> {
        match command {
            Some(c) => spawn_browser_command(c, url),
            None => self.open(url),
        }
    }
    /// Runs a browser with these arguments exactly (a Firefox or Chromium-family launch).
    fn launch(&self, program: &str, args: &[String]) -> io::Result<()> {
        spawn_argv(program, args)
    }
}

/// Runs one browser command with the URL as one argument (no shell), reaping it in the background.
pub fn spawn_browser_command(entry: &str, url: &str) -> io::Result<()> {
    let (program, args) = browser_command(entry, url)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty browser command"))?;
    spawn_argv(&program, &args)
}

/// Runs `program` with `args` (no shell), reaping it in the background.
pub fn spawn_argv(program: &str, args: &[String]) -> io::Result<()> {
    match std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .spawn()
    {
        Ok(mut child) => {
            std::thread::spawn(move || {
                let _ = child.wait();
            });
            Ok(())
        }
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("could not start browser `{program}` ({:?})", e.kind()),
        )),
    }
}

/// The user's browser: the `BROWSER` variable when set (a `:`-separated list of commands, `%s`
/// standing for the URL, as Python's `webbrowser` reads it), else the platform opener.
/// The URL is always passed as one argument, never through a shell.
#[derive(Debug, Clone)]
pub struct SystemBrowser {
    env: Env,
}

impl SystemBrowser {
    /// A browser opener that reads `BROWSER` from `env`.
    pub fn new(env: Env) -> Self {
        SystemBrowser { env }
    }
}

/// Splits one `BROWSER` entry into a program and its arguments, with the URL in place of `%s`
/// (or appended when there is no `%s`).
pub fn browser_command(entry: &str, url: &str) -> Option<(String, Vec<String>)> {
    let mut words = entry.split_whitespace().map(str::to_string);
    let program = words.next()?;
    let mut args: Vec<String> = words.collect();
    if args.iter().any(|a| a.contains("%s")) {
        for a in &mut args {
            *a = a.replace("%s", url);
        }
    } else {
        args.push(url.to_string());
    }
    Some((program, args))
}

impl Browser for SystemBrowser {
    fn open(&self, url: &str) -> io::Result<()> {
        if let Some(list) = self.env.get_non_empty("BROWSER") {
            let separator = if cfg!(windows) { ';' } else { ':' };
            let mut last_error = None;
            for entry in list.split(separator).filter(|e| !e.trim().is_empty()) {
                match spawn_browser_command(entry, url) {
                    Ok(()) => return Ok(()),
                    Err(e) => {
                        last_error = Some(io::Error::new(e.kind(), format!("{e} (from BROWSER)")))
                    }
                }
            }
            return Err(last_error
                .unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "BROWSER is empty")));
        }
        // The opener's own error text quotes its command line, which holds the URL (a
        // credential for console links): keep only the kind of failure.
        open::that_detached(url).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("the system's URL opener failed ({:?})", e.kind()),
            )
        })
    }
}

/// The entries of a directory whose type `keep` accepts, sorted; empty when it is missing.
fn list_entries(path: &Path, keep: fn(std::fs::FileType) -> bool) -> io::Result<Vec<PathBuf>> {
    match std::fs::read_dir(path) {
        Ok(entries) => {
            let mut out = Vec::new();
            for entry in entries {
                let entry = entry?;
                if keep(entry.file_type()?) {
                    out.push(entry.path());
                }
            }
            out.sort();
            Ok(out)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_command_passes_the_url_as_one_argument() {
        let url = "http://x/a?b=1&c=$(rm -rf ~)";
        assert_eq!(
            browser_command("firefox", url),
            Some(("firefox".into(), vec![url.into()]))
        );
        assert_eq!(
            browser_command("chromium --new-window %s --incognito", url),
            Some((
                "chromium".into(),
                vec!["--new-window".into(), url.into(), "--incognito".into()]
            ))
        );
        assert_eq!(browser_command("  ", url), None);
    }

    #[test]
    fn a_browser_that_fails_to_start_does_not_repeat_the_url() {
        let url = "https://signin.example/federation?Action=login&SigninToken=secret-token";
        let browser = SystemBrowser::new(Env::from_slice(&[(
            "BROWSER",
            "/nonexistent/browser --flag",
        )]));
        let err = browser.open(url).unwrap_err().to_string();
        assert!(
            err.contains("could not start browser `/nonexistent/browser`"),
            "{err}"
        );
        assert!(!err.contains("secret-token"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn real_fs_writes_atomically_with_private_modes() {
        use std::os::unix::fs::PermissionsExt;
        let root = std::env::temp_dir().join(format!("ssotray-fs-{}", rand::random::<u64>()));
        let path = root.join("a/b/file.json");
        RealFs.write_atomic(&path, b"one", 0o600).unwrap();
        RealFs.write_atomic(&path, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700);
        // No temporary file is left behind.
        assert_eq!(
            RealFs.list_dir(path.parent().unwrap()).unwrap(),
            vec![path.clone()]
        );
        // Writing through a symlink replaces the target and keeps the link.
        let link = root.join("link.json");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        RealFs.write_atomic(&link, b"three", 0o600).unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&path).unwrap(), b"three");
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_dead_writers_copy_is_removed_by_the_next_write_and_a_live_writers_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token.json");
        RealFs.write_atomic(&file, b"one", 0o600).unwrap();
        let names = || {
            let mut n: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            n.sort();
            n
        };
        // What a writer killed before its rename left (nobody holds it), another file's, and a
        // file of another tool's whose name is not one of ssotray's.
        let dead = ".token.json.0123456789abcdef.tmp";
        std::fs::write(dir.path().join(dead), b"refreshToken").unwrap();
        std::fs::write(dir.path().join(".other.json.fedcba9876543210.tmp"), b"x").unwrap();
        std::fs::write(dir.path().join(".token.json.tmp"), b"not ssotray's").unwrap();
        // A live writer, stopped at its fault point between the write and the rename.
        let (paused_tx, paused) = std::sync::mpsc::channel();
        let (go, go_rx) = std::sync::mpsc::channel::<()>();
        let go_rx = std::sync::Mutex::new(go_rx);
        let live_file = file.clone();
        let live = std::thread::spawn(move || {
            write_atomic_pausing(&live_file, b"live", 0o600, || {
                paused_tx.send(()).unwrap();
                go_rx.lock().unwrap().recv().unwrap();
            })
        });
        paused.recv().unwrap();
        let live_tmp: Vec<String> = names()
            .into_iter()
            .filter(|n| n.starts_with(".token.json.") && n.ends_with(".tmp") && n != dead)
            .filter(|n| n.len() == dead.len())
            .collect();
        assert_eq!(live_tmp.len(), 1, "{:?}", names());
        // The next write of token.json removes the dead writer's copy only.
        RealFs.write_atomic(&file, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"two");
        let mut expected = vec![
            ".other.json.fedcba9876543210.tmp".to_string(),
            ".token.json.tmp".to_string(),
            live_tmp[0].clone(),
            "token.json".to_string(),
        ];
        expected.sort();
        assert_eq!(names(), expected);
        // The live writer's rename lands.
        go.send(()).unwrap();
        live.join().unwrap().unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"live");
        // A sweep of the whole directory (logout, the keeper's start) takes every dead one.
        assert_eq!(remove_leftovers(dir.path(), None), 1);
        assert_eq!(names(), [".token.json.tmp", "token.json"]);
    }

    #[test]
    fn a_file_a_reader_holds_open_is_replaced_once_it_lets_go_and_the_reader_sees_the_old_bytes() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token.json");
        RealFs.write_atomic(&path, b"old", 0o600).unwrap();
        // Opened as Python and the AWS CLI open a file on Windows: deletion not shared, so the
        // rename over it fails until it is closed.
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        #[cfg(windows)]
        {
            use std::os::windows::fs::OpenOptionsExt;
            options.share_mode(1); // FILE_SHARE_READ
        }
        let mut reader = options.open(&path).unwrap();
        let (held, let_go) = std::sync::mpsc::channel::<()>();
        let holder = std::thread::spawn(move || {
            held.send(()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(300));
            let mut seen = Vec::new();
            reader.read_to_end(&mut seen).unwrap();
            seen
        });
        let_go.recv().unwrap();
        RealFs.write_atomic(&path, b"new", 0o600).unwrap();
        assert_eq!(holder.join().unwrap(), b"old");
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(RealFs.list_dir(dir.path()).unwrap(), vec![path]);
    }
}
