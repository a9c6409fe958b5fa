//! Where every file lives: the AWS files ssotray shares with the AWS CLI and SDKs, and ssotray's
//! own settings, state, caches, locks, private pages and sockets. Derived once from the
//! environment ([`Paths::from_env`]); nothing else in ssotray builds one of these paths.
//!
//! | what | Linux (and other Unix) | macOS | Windows |
//! |---|---|---|---|
//! | home (`~`) | `HOME` | `HOME` | `USERPROFILE`, else `HOMEDRIVE`+`HOMEPATH`, else `HOME` |
//! | AWS config | `AWS_CONFIG_FILE`, else `~/.aws/config` | same | same |
//! | shared credentials | `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials` | same | same |
//! | token cache | `~/.aws/sso/cache` (the AWS CLI reads no variable for it) | same | same |
//! | role-credential cache | `~/.aws/cli/cache` | same | same |
//! | settings | `$XDG_CONFIG_HOME/ssotray/`, else `~/.config/ssotray/` | `$XDG_CONFIG_HOME/ssotray/`, else `~/Library/Application Support/ssotray/` | `%APPDATA%\ssotray\` |
//! | state, favorites, container grants | `$XDG_STATE_HOME/ssotray/`, else `~/.local/state/ssotray/` | `$XDG_STATE_HOME/ssotray/`, else `~/Library/Application Support/ssotray/state/` | `%LOCALAPPDATA%\ssotray\state\` |
//! | registrations, accounts, config locks | `$XDG_CACHE_HOME/ssotray/`, else `~/.cache/ssotray/` | `$XDG_CACHE_HOME/ssotray/`, else `~/Library/Caches/ssotray/` | `%LOCALAPPDATA%\ssotray\cache\` |
//! | sockets, private pages | the runtime directory (below) | same | same |
//!
//! Windows follows the AWS CLI for `~` (Python's `expanduser`: `USERPROFILE`, then
//! `HOMEDRIVE`+`HOMEPATH`); `HOME` (which Git Bash sets) is used only when neither is set, so
//! ssotray, the AWS CLI and botocore share one `.aws`. Without `APPDATA`/`LOCALAPPDATA`, their
//! usual places under the home are used (`AppData\Roaming`, `AppData\Local`). The `XDG_*`
//! variables mean nothing on Windows.
//!
//! **The runtime directory** is `$XDG_RUNTIME_DIR/ssotray`; without `XDG_RUNTIME_DIR` (an ssh
//! login, cron, and always on macOS and Windows) it is ssotray's cache directory. Every socket
//! and private page follows this one rule: the keeper's socket, the app's socket, the pages that
//! carry sign-in URLs. Whoever listens there first makes sure the directory is the user's own
//! with mode 0700 ([`crate::platform::sock::private_dir`]). On Windows a socket's path names its named
//! pipe (the `ipc` module).
//!
//! One `Rules` per OS family (`Xdg`, `Mac`, `Windows`), chosen at build time; all three are
//! unit-tested on every OS. This module is the seam where another OS's locations plug in. It also
//! knows where each browser's program and its `Local State` are on each OS (`Paths::browser`).

use crate::platform::os::Env;
use std::path::{Path, PathBuf};

/// No home directory: nothing under `~` can be found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(not(windows), error("no home directory: set HOME"))]
#[cfg_attr(windows, error("no home directory: set USERPROFILE"))]
pub struct NoHome;

/// Whose conventions the locations follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rules {
    /// Linux and other Unix: the XDG base directories.
    Xdg,
    /// macOS: `~/Library`, unless an `XDG_*` variable says otherwise.
    Mac,
    /// Windows: the user's profile, `%APPDATA%` and `%LOCALAPPDATA%`.
    Windows,
}

impl Rules {
    /// This build's operating system's.
    pub const fn native() -> Rules {
        if cfg!(windows) {
            Rules::Windows
        } else if cfg!(target_os = "macos") {
            Rules::Mac
        } else {
            Rules::Xdg
        }
    }
}

/// Every location, from one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    home: Option<PathBuf>,
    config_file: Option<PathBuf>,
    credentials_file: Option<PathBuf>,
    /// ssotray's own directories.
    config_dir: Option<PathBuf>,
    state_dir: Option<PathBuf>,
    cache_dir: Option<PathBuf>,
    /// `$XDG_RUNTIME_DIR/ssotray`, when there is a session's runtime directory.
    session_runtime: Option<PathBuf>,
    /// Where browsers are installed and keep their data (see [`Paths::browser`]).
    browsers: BrowserRoots,
}

/// The directories browsers are found in, by the rules' conventions.
#[derive(Debug, Clone, PartialEq, Eq)]
enum BrowserRoots {
    /// Programs on `PATH`; data under `$XDG_CONFIG_HOME`, else `~/.config`.
    Xdg { config_home: Option<PathBuf> },
    /// `/Applications` and `~/Applications`; data under `~/Library/Application Support`.
    Mac { home: Option<PathBuf> },
    /// `%ProgramFiles%`, `%ProgramFiles(x86)%`, `%LOCALAPPDATA%`; data under `%LOCALAPPDATA%`.
    Windows {
        programs: Vec<PathBuf>,
        local: Option<PathBuf>,
    },
}

/// A browser a console can be opened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Browser {
    /// Mozilla Firefox (consoles in containers).
    Firefox,
    /// Google Chrome.
    Chrome,
    /// Chromium.
    Chromium,
    /// Brave.
    Brave,
    /// Microsoft Edge.
    Edge,
}

/// One browser's places on each OS: the Linux program and its data directory under the config
/// home, the macOS app's program and its data under `~/Library/Application Support`, the Windows
/// program under an install root and its data under `%LOCALAPPDATA%` (empty data: none).
struct Installed {
    linux: &'static str,
    linux_data: &'static [&'static str],
    app: &'static str,
    mac_data: &'static [&'static str],
    win_exe: &'static [&'static str],
    win_data: &'static [&'static str],
}

/// Where a browser is on this OS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserPlace {
    /// The program, as candidates in order: the first that exists is run (a bare name is looked
    /// up on `PATH`; when none exists, the first is tried and its failure reported).
    pub programs: Vec<PathBuf>,
    /// A Chromium-family browser's user-data directory, where its `Local State` is.
    pub user_data: Option<PathBuf>,
}

/// A file path from the environment (`AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`) as
/// botocore and the AWS CLI read it: `os.path.expandvars`, then `os.path.expanduser`, each by its
/// OS's rules (Python's `ntpath` on Windows, `posixpath` elsewhere).
pub fn expand_path(path: &str, env: &Env, rules: Rules) -> PathBuf {
    let expanded = match rules {
        Rules::Windows => expand_vars_nt(path, env),
        Rules::Xdg | Rules::Mac => expand_vars_posix(path, env),
    };
    PathBuf::from(match rules {
        Rules::Windows => expand_user_nt(&expanded, env),
        Rules::Xdg | Rules::Mac => expand_user_posix(&expanded, env),
    })
}

/// `posixpath.expandvars`: `$name` (ASCII letters, digits, `_`) and `${name}`; unknown
/// variables are left as written.
fn expand_vars_posix(path: &str, env: &Env) -> String {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        // The name after `$`, and how many characters name it.
        let named = if let Some(braced) = after.strip_prefix('{') {
            braced.find('}').map(|end| (&braced[..end], end + 2))
        } else {
            let end = after.find(|c: char| !word(c)).unwrap_or(after.len());
            (end > 0).then(|| (&after[..end], end))
        };
        match named.and_then(|(name, len)| env.get(name).map(|value| (value, len))) {
            Some((value, len)) => {
                out.push_str(&value);
                rest = &after[len..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `ntpath.expandvars`: `%name%`, `$name`, `${name}`; `%%` and `$$` are one character; nothing
/// inside single quotes is expanded; unknown variables are left as written.
fn expand_vars_nt(path: &str, env: &Env) -> String {
    if !path.contains(['$', '%']) {
        return path.to_string();
    }
    let chars: Vec<char> = path.chars().collect();
    let varchar = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' => match chars[i + 1..].iter().position(|&d| d == '\'') {
                Some(end) => {
                    out.extend(&chars[i..=i + 1 + end]);
                    i += end + 2;
                }
                None => {
                    out.extend(&chars[i..]);
                    i = chars.len();
                }
            },
            // `%%` and `$$`: the character itself.
            '%' | '$' if chars.get(i + 1) == Some(&c) => {
                out.push(c);
                i += 2;
            }
            // `%name%` and `${name}`: a name up to the closing character; without one, the rest
            // as written.
            '%' | '$' if c == '%' || chars.get(i + 1) == Some(&'{') => {
                let (open, close) = if c == '%' { ("%", '%') } else { ("${", '}') };
                let from = i + open.len();
                match chars[from..].iter().position(|&d| d == close) {
                    Some(end) => {
                        let name: String = chars[from..from + end].iter().collect();
                        match env.get(&name) {
                            Some(value) => out.push_str(&value),
                            None => out.push_str(&format!("{open}{name}{close}")),
                        }
                        i = from + end + 1;
                    }
                    None => {
                        out.extend(&chars[i..]);
                        i = chars.len();
                    }
                }
            }
            '$' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&d| !varchar(d))
                    .map_or(chars.len(), |p| i + 1 + p);
                let name: String = chars[i + 1..end].iter().collect();
                match env.get(&name).filter(|_| !name.is_empty()) {
                    Some(value) => out.push_str(&value),
                    None => {
                        out.push('$');
                        out.push_str(&name);
                    }
                }
                i = end;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// `posixpath.expanduser` for `~` and `~/…` (the home from `HOME`); `~user` is left as written
/// (looking another user up is not this process's business).
fn expand_user_posix(path: &str, env: &Env) -> String {
    match (path, env.get("HOME")) {
        ("~", Some(home)) => home,
        (p, Some(home)) if p.starts_with("~/") => {
            let home = home.trim_end_matches('/');
            format!("{}{}", if home.is_empty() { "/" } else { home }, &p[1..])
        }
        (p, _) => p.to_string(),
    }
}

/// `ntpath.expanduser`: `~` up to the first `\` or `/` is the home (`USERPROFILE`, else
/// `HOMEDRIVE` + `HOMEPATH`); `~name` is the profile of that name beside the current user's,
/// when the home is a usual profile directory.
fn expand_user_nt(path: &str, env: &Env) -> String {
    let Some(after) = path.strip_prefix('~') else {
        return path.to_string();
    };
    let end = after.find(['\\', '/']).unwrap_or(after.len());
    let (user, rest) = after.split_at(end);
    let Some(mut home) = env.get("USERPROFILE").or_else(|| {
        let homepath = env.get("HOMEPATH")?;
        let drive = env.get("HOMEDRIVE").unwrap_or_default();
        Some(nt_join(&drive, &homepath))
    }) else {
        return path.to_string();
    };
    if !user.is_empty() && env.get("USERNAME").as_deref() != Some(user) {
        let trimmed = home.trim_end_matches(['\\', '/']);
        let (parent, base) = trimmed
            .rfind(['\\', '/'])
            .map_or(("", trimmed), |i| (&trimmed[..=i], &trimmed[i + 1..]));
        if env.get("USERNAME").as_deref() != Some(base) {
            return path.to_string();
        }
        home = format!("{parent}{user}");
    }
    format!("{home}{rest}")
}

/// `ntpath.join(drive, path)` for the two parts of a Windows home.
fn nt_join(drive: &str, path: &str) -> String {
    if drive.is_empty() || path.starts_with(['\\', '/']) || drive.ends_with(['\\', '/', ':']) {
        format!("{drive}{path}")
    } else {
        format!("{drive}\\{path}")
    }
}

/// `base` with each part added in turn.
fn join(base: &Path, parts: &[&str]) -> PathBuf {
    parts
        .iter()
        .fold(base.to_path_buf(), |p, part| p.join(part))
}

impl Paths {
    /// The locations the environment gives (variables that are set but empty count as unset),
    /// by this operating system's rules.
    pub fn from_env(env: &Env) -> Paths {
        Paths::from_env_by(env, Rules::native())
    }

    /// The locations the environment gives by `rules`.
    pub fn from_env_by(env: &Env, rules: Rules) -> Paths {
        let var = |k: &str| env.get_non_empty(k).map(PathBuf::from);
        let home = match rules {
            Rules::Windows => var("USERPROFILE")
                .or_else(|| {
                    let drive = env.get_non_empty("HOMEDRIVE")?;
                    let path = env.get_non_empty("HOMEPATH")?;
                    Some(PathBuf::from(format!("{drive}{path}")))
                })
                .or_else(|| var("HOME")),
            Rules::Xdg | Rules::Mac => var("HOME"),
        };
        let file = |k: &str| env.get_non_empty(k).map(|p| expand_path(&p, env, rules));
        let in_home = |parts: &[&str]| home.as_deref().map(|h| join(h, parts));
        // A directory of ssotray's: under the variable's directory, else under the home.
        let ours = |k: Option<&str>, default: &[&str]| {
            k.and_then(var)
                .or_else(|| in_home(default))
                .map(|d| d.join("ssotray"))
        };
        let (config_dir, state_dir, cache_dir) = match rules {
            Rules::Xdg => (
                ours(Some("XDG_CONFIG_HOME"), &[".config"]),
                ours(Some("XDG_STATE_HOME"), &[".local", "state"]),
                ours(Some("XDG_CACHE_HOME"), &[".cache"]),
            ),
            Rules::Mac => (
                ours(Some("XDG_CONFIG_HOME"), &["Library", "Application Support"]),
                match var("XDG_STATE_HOME") {
                    Some(d) => Some(d.join("ssotray")),
                    None => in_home(&["Library", "Application Support", "ssotray", "state"]),
                },
                ours(Some("XDG_CACHE_HOME"), &["Library", "Caches"]),
            ),
            Rules::Windows => {
                let local = var("LOCALAPPDATA")
                    .or_else(|| in_home(&["AppData", "Local"]))
                    .map(|d| d.join("ssotray"));
                (
                    var("APPDATA")
                        .or_else(|| in_home(&["AppData", "Roaming"]))
                        .map(|d| d.join("ssotray")),
                    local.as_ref().map(|d| d.join("state")),
                    local.map(|d| d.join("cache")),
                )
            }
        };
        Paths {
            config_file: file("AWS_CONFIG_FILE"),
            credentials_file: file("AWS_SHARED_CREDENTIALS_FILE"),
            config_dir,
            state_dir,
            cache_dir,
            session_runtime: match rules {
                Rules::Windows => None,
                Rules::Xdg | Rules::Mac => var("XDG_RUNTIME_DIR").map(|d| d.join("ssotray")),
            },
            browsers: match rules {
                Rules::Xdg => BrowserRoots::Xdg {
                    config_home: var("XDG_CONFIG_HOME").or_else(|| in_home(&[".config"])),
                },
                Rules::Mac => BrowserRoots::Mac { home: home.clone() },
                Rules::Windows => BrowserRoots::Windows {
                    programs: ["ProgramFiles", "ProgramFiles(x86)", "LOCALAPPDATA"]
                        .into_iter()
                        .filter_map(var)
                        .collect(),
                    local: var("LOCALAPPDATA").or_else(|| in_home(&["AppData", "Local"])),
                },
            },
            home,
        }
    }

    /// The user's home directory.
    pub fn home(&self) -> Result<&Path, NoHome> {
        self.home.as_deref().ok_or(NoHome)
    }

    fn under_home(&self, parts: &[&str]) -> Result<PathBuf, NoHome> {
        Ok(join(self.home()?, parts))
    }

    fn known(dir: &Option<PathBuf>) -> Result<PathBuf, NoHome> {
        dir.clone().ok_or(NoHome)
    }

    /// The AWS config file.
    pub fn aws_config(&self) -> Result<PathBuf, NoHome> {
        match &self.config_file {
            Some(p) => Ok(p.clone()),
            None => self.under_home(&[".aws", "config"]),
        }
    }

    /// The shared credentials file.
    pub fn aws_credentials(&self) -> Result<PathBuf, NoHome> {
        match &self.credentials_file {
            Some(p) => Ok(p.clone()),
            None => self.under_home(&[".aws", "credentials"]),
        }
    }

    /// The AWS CLI v2 token cache, `~/.aws/sso/cache`.
    pub fn token_cache(&self) -> Result<PathBuf, NoHome> {
        self.under_home(&[".aws", "sso", "cache"])
    }

    /// The AWS CLI's role-credential cache, `~/.aws/cli/cache`.
    pub fn cli_cache(&self) -> Result<PathBuf, NoHome> {
        self.under_home(&[".aws", "cli", "cache"])
    }

    /// ssotray's settings file.
    pub fn settings(&self) -> Result<PathBuf, NoHome> {
        Ok(Self::known(&self.config_dir)?.join("settings.toml"))
    }

    /// ssotray's state directory (its memory of sessions, favorites, container grants).
    pub fn state_dir(&self) -> Result<PathBuf, NoHome> {
        Self::known(&self.state_dir)
    }

    /// ssotray's cache directory (registrations, account lists, config locks).
    pub fn cache_dir(&self) -> Result<PathBuf, NoHome> {
        Self::known(&self.cache_dir)
    }

    /// The runtime directory: `$XDG_RUNTIME_DIR/ssotray`, else the cache directory.
    pub fn runtime_dir(&self) -> Result<PathBuf, NoHome> {
        match &self.session_runtime {
            Some(d) => Ok(d.clone()),
            None => self.cache_dir(),
        }
    }

    /// Where `browser` is installed and keeps its data, by this OS's conventions (the browser's
    /// own documented defaults; a `browser_executable` setting overrides the program).
    pub fn browser(&self, browser: Browser) -> BrowserPlace {
        // Per browser: the Linux program, the macOS app and its data directory, the Windows
        // program under an install root and its data directory under %LOCALAPPDATA%.
        let Installed {
            linux,
            linux_data,
            app,
            mac_data,
            win_exe,
            win_data,
        } = match browser {
            Browser::Firefox => Installed {
                linux: "firefox",
                linux_data: &[],
                app: "Firefox.app/Contents/MacOS/firefox",
                mac_data: &[],
                win_exe: &["Mozilla Firefox", "firefox.exe"],
                win_data: &[],
            },
            Browser::Chrome => Installed {
                linux: "google-chrome",
                linux_data: &["google-chrome"],
                app: "Google Chrome.app/Contents/MacOS/Google Chrome",
                mac_data: &["Google", "Chrome"],
                win_exe: &["Google", "Chrome", "Application", "chrome.exe"],
                win_data: &["Google", "Chrome", "User Data"],
            },
            Browser::Chromium => Installed {
                linux: "chromium",
                linux_data: &["chromium"],
                app: "Chromium.app/Contents/MacOS/Chromium",
                mac_data: &["Chromium"],
                win_exe: &["Chromium", "Application", "chrome.exe"],
                win_data: &["Chromium", "User Data"],
            },
            Browser::Brave => Installed {
                linux: "brave-browser",
                linux_data: &["BraveSoftware", "Brave-Browser"],
                app: "Brave Browser.app/Contents/MacOS/Brave Browser",
                mac_data: &["BraveSoftware", "Brave-Browser"],
                win_exe: &["BraveSoftware", "Brave-Browser", "Application", "brave.exe"],
                win_data: &["BraveSoftware", "Brave-Browser", "User Data"],
            },
            Browser::Edge => Installed {
                linux: "microsoft-edge",
                linux_data: &["microsoft-edge"],
                app: "Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
                mac_data: &["Microsoft Edge"],
                win_exe: &["Microsoft", "Edge", "Application", "msedge.exe"],
                win_data: &["Microsoft", "Edge", "User Data"],
            },
        };
        let data = |base: Option<&Path>, parts: &[&str]| {
            (!parts.is_empty())
                .then(|| base.map(|b| join(b, parts)))
                .flatten()
        };
        match &self.browsers {
            BrowserRoots::Xdg { config_home } => BrowserPlace {
                programs: vec![PathBuf::from(linux)],
                user_data: data(config_home.as_deref(), linux_data),
            },
            BrowserRoots::Mac { home } => {
                let mut programs = vec![Path::new("/Applications").join(app)];
                programs.extend(home.as_deref().map(|h| join(h, &["Applications", app])));
                BrowserPlace {
                    programs,
                    user_data: data(
                        home.as_deref()
                            .map(|h| join(h, &["Library", "Application Support"]))
                            .as_deref(),
                        mac_data,
                    ),
                }
            }
            BrowserRoots::Windows { programs, local } => BrowserPlace {
                programs: programs.iter().map(|root| join(root, win_exe)).collect(),
                user_data: data(local.as_deref(), win_data),
            },
        }
    }

    /// Whether the runtime directory is the desktop session's (`XDG_RUNTIME_DIR`), which ends
    /// with the login, rather than the cache directory.
    pub fn has_session_runtime(&self) -> bool {
        self.session_runtime.is_some()
    }
}

/// Accessors of paths inside another one: `name = base / "file";`.
macro_rules! inside {
    ($($(#[$doc:meta])* $name:ident = $base:ident / $file:literal;)*) => {
        impl Paths {
            $($(#[$doc])*
            pub fn $name(&self) -> Result<PathBuf, NoHome> {
                Ok(self.$base()?.join($file))
            })*
        }
    };
}

inside! {
    /// ssotray's memory of each session.
    state_file = state_dir / "state.json";
    /// The favorites and recent roles.
    prefs_file = state_dir / "app.json";
    /// The container grants, one directory per profile.
    grants_dir = state_dir / "container-grants";
    /// Client registrations.
    registrations_dir = cache_dir / "registrations";
    /// The last list of accounts and roles of each session.
    accounts_dir = cache_dir / "accounts";
    /// The index of each config file read by the command line (`ops::config_index`).
    config_index_dir = cache_dir / "config-index";
    /// Locks for files that get none beside them (the AWS config: `~/.aws` gets no file of
    /// ssotray's).
    locks_dir = cache_dir / "locks";
    /// The keeper's socket (the lock that makes one keeper is beside it).
    keeper_socket = runtime_dir / "keeper.sock";
    /// The tray app's socket, through which a second launch hands over.
    app_socket = runtime_dir / "app.sock";
    /// The private pages that carry sign-in URLs to the browser.
    private_pages_dir = runtime_dir / "open";
    /// Where the container server kept its one token before grants (removed at start).
    old_container_token = runtime_dir / "container-token";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aws_files_named_in_the_environment_are_expanded_as_botocore_expands_them() {
        let win = Env::from_slice(&[
            ("USERPROFILE", r"C:\Users\me"),
            ("USERNAME", "me"),
            ("TOOLS", r"D:\tools"),
        ]);
        let w = |p: &str| expand_path(p, &win, Rules::Windows);
        // `~\` (and `~/`): the profile, as ntpath.expanduser has it since Python 3.8.
        assert_eq!(
            w(r"~\.aws\config"),
            PathBuf::from(r"C:\Users\me\.aws\config")
        );
        assert_eq!(
            w("~/.aws/config"),
            PathBuf::from(r"C:\Users\me/.aws/config")
        );
        assert_eq!(w("~"), PathBuf::from(r"C:\Users\me"));
        assert_eq!(w(r"~other\cfg"), PathBuf::from(r"C:\Users\other\cfg"));
        assert_eq!(w(r"~me\cfg"), PathBuf::from(r"C:\Users\me\cfg"));
        // Variables first (expandvars), in every form ntpath reads; unknown ones kept.
        assert_eq!(
            w(r"%TOOLS%\aws\config"),
            PathBuf::from(r"D:\tools\aws\config")
        );
        assert_eq!(
            w(r"${TOOLS}\a;$TOOLS\b"),
            PathBuf::from(r"D:\tools\a;D:\tools\b")
        );
        assert_eq!(
            w(r"%NOPE%\x\$NOPE\${NOPE}"),
            PathBuf::from(r"%NOPE%\x\$NOPE\${NOPE}")
        );
        assert_eq!(w("'%TOOLS%'\\100%%"), PathBuf::from("'%TOOLS%'\\100%"));
        assert_eq!(w(r"C:\plain\config"), PathBuf::from(r"C:\plain\config"));
        // HOMEDRIVE and HOMEPATH when there is no USERPROFILE (HOME is not read there).
        let old = Env::from_slice(&[
            ("HOMEDRIVE", "C:"),
            ("HOMEPATH", r"\Users\me"),
            ("HOME", "/x"),
        ]);
        assert_eq!(
            expand_path(r"~\c", &old, Rules::Windows),
            PathBuf::from(r"C:\Users\me\c")
        );
        let paths = Paths::from_env_by(
            &Env::from_slice(&[
                ("USERPROFILE", r"C:\Users\me"),
                ("AWS_CONFIG_FILE", r"~\work\config"),
            ]),
            Rules::Windows,
        );
        assert_eq!(
            paths.aws_config().unwrap(),
            PathBuf::from(r"C:\Users\me\work\config")
        );

        let unix = Env::from_slice(&[("HOME", "/home/me"), ("CFG", "/etc/aws")]);
        let u = |p: &str| expand_path(p, &unix, Rules::Xdg);
        assert_eq!(u("~/.aws/config"), PathBuf::from("/home/me/.aws/config"));
        assert_eq!(u("~"), PathBuf::from("/home/me"));
        assert_eq!(u("~other/x"), PathBuf::from("~other/x"));
        assert_eq!(u("$CFG/config"), PathBuf::from("/etc/aws/config"));
        assert_eq!(
            u("${CFG}x/${NOPE}/$NOPE/$/%CFG%"),
            PathBuf::from("/etc/awsx/${NOPE}/$NOPE/$/%CFG%")
        );
        assert_eq!(u(r"~\x"), PathBuf::from(r"~\x"));
    }

    #[test]
    fn each_os_finds_a_browser_and_its_local_state_where_the_browser_puts_them() {
        let xdg = Paths::from_env_by(&Env::from_slice(&[("HOME", "/home/u")]), Rules::Xdg);
        assert_eq!(
            xdg.browser(Browser::Brave),
            BrowserPlace {
                programs: vec!["brave-browser".into()],
                user_data: Some("/home/u/.config/BraveSoftware/Brave-Browser".into()),
            }
        );
        let moved = Paths::from_env_by(
            &Env::from_slice(&[("HOME", "/home/u"), ("XDG_CONFIG_HOME", "/cfg")]),
            Rules::Xdg,
        );
        assert_eq!(
            moved.browser(Browser::Chrome).user_data,
            Some("/cfg/google-chrome".into())
        );
        assert_eq!(xdg.browser(Browser::Firefox).user_data, None);

        let mac = Paths::from_env_by(&Env::from_slice(&[("HOME", "/Users/u")]), Rules::Mac);
        assert_eq!(
            mac.browser(Browser::Chrome),
            BrowserPlace {
                programs: vec![
                    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome".into(),
                    "/Users/u/Applications/Google Chrome.app/Contents/MacOS/Google Chrome".into(),
                ],
                user_data: Some("/Users/u/Library/Application Support/Google/Chrome".into()),
            }
        );
        assert_eq!(
            mac.browser(Browser::Firefox).programs[0],
            PathBuf::from("/Applications/Firefox.app/Contents/MacOS/firefox")
        );

        let win = Paths::from_env_by(
            &Env::from_slice(&[
                ("USERPROFILE", r"C:\Users\u"),
                ("ProgramFiles", r"C:\Program Files"),
                ("ProgramFiles(x86)", r"C:\Program Files (x86)"),
                ("LOCALAPPDATA", r"C:\Users\u\AppData\Local"),
            ]),
            Rules::Windows,
        );
        let edge = win.browser(Browser::Edge);
        assert_eq!(
            edge.programs,
            [
                r"C:\Program Files",
                r"C:\Program Files (x86)",
                r"C:\Users\u\AppData\Local"
            ]
            .map(|root| join(
                Path::new(root),
                &["Microsoft", "Edge", "Application", "msedge.exe"]
            ))
        );
        assert_eq!(
            edge.user_data,
            Some(join(
                Path::new(r"C:\Users\u\AppData\Local"),
                &["Microsoft", "Edge", "User Data"]
            ))
        );
        assert_eq!(
            win.browser(Browser::Firefox).programs[0],
            join(
                Path::new(r"C:\Program Files"),
                &["Mozilla Firefox", "firefox.exe"]
            )
        );
    }

    fn paths(vars: &[(&str, &str)]) -> Paths {
        Paths::from_env_by(&Env::from_slice(vars), Rules::Xdg)
    }

    #[test]
    fn macos_keeps_its_files_in_the_library_unless_an_xdg_variable_says_otherwise() {
        let p = |r: Result<PathBuf, NoHome>| r.unwrap();
        let mac = Paths::from_env_by(&Env::from_slice(&[("HOME", "/Users/u")]), Rules::Mac);
        let home = Path::new("/Users/u");
        assert_eq!(p(mac.aws_config()), join(home, &[".aws", "config"]));
        assert_eq!(p(mac.token_cache()), join(home, &[".aws", "sso", "cache"]));
        let support = join(home, &["Library", "Application Support", "ssotray"]);
        assert_eq!(p(mac.settings()), support.join("settings.toml"));
        assert_eq!(
            p(mac.state_file()),
            support.join("state").join("state.json")
        );
        let caches = join(home, &["Library", "Caches", "ssotray"]);
        assert_eq!(p(mac.registrations_dir()), caches.join("registrations"));
        // No session runtime directory on macOS: sockets live in the cache directory.
        assert!(!mac.has_session_runtime());
        assert_eq!(p(mac.keeper_socket()), caches.join("keeper.sock"));
        let moved = Paths::from_env_by(
            &Env::from_slice(&[
                ("HOME", "/Users/u"),
                ("XDG_CONFIG_HOME", "/Users/u/.config"),
            ]),
            Rules::Mac,
        );
        assert_eq!(
            p(moved.settings()),
            join(home, &[".config", "ssotray", "settings.toml"])
        );
    }

    #[test]
    fn windows_finds_the_home_as_the_aws_cli_does_and_keeps_its_files_in_appdata() {
        let p = |r: Result<PathBuf, NoHome>| r.unwrap();
        let win =
            |vars: &[(&str, &str)]| Paths::from_env_by(&Env::from_slice(vars), Rules::Windows);
        let profile = r"C:\Users\u";
        let all = win(&[
            ("USERPROFILE", profile),
            ("HOME", "/c/Users/u"),
            ("APPDATA", r"C:\Users\u\AppData\Roaming"),
            ("LOCALAPPDATA", r"C:\Users\u\AppData\Local"),
            ("XDG_CONFIG_HOME", "/ignored"),
            ("XDG_RUNTIME_DIR", "/ignored"),
        ]);
        // USERPROFILE wins over Git Bash's HOME, as in Python's expanduser.
        assert_eq!(
            p(all.aws_config()),
            join(Path::new(profile), &[".aws", "config"])
        );
        assert_eq!(
            p(all.token_cache()),
            join(Path::new(profile), &[".aws", "sso", "cache"])
        );
        let roaming = Path::new(r"C:\Users\u\AppData\Roaming");
        let local = Path::new(r"C:\Users\u\AppData\Local");
        assert_eq!(
            p(all.settings()),
            join(roaming, &["ssotray", "settings.toml"])
        );
        assert_eq!(
            p(all.state_file()),
            join(local, &["ssotray", "state", "state.json"])
        );
        assert_eq!(
            p(all.locks_dir()),
            join(local, &["ssotray", "cache", "locks"])
        );
        assert!(!all.has_session_runtime());
        assert_eq!(
            p(all.keeper_socket()),
            join(local, &["ssotray", "cache", "keeper.sock"])
        );
        // Without USERPROFILE: HOMEDRIVE and HOMEPATH, then HOME; AppData under that home.
        let drive = win(&[("HOMEDRIVE", "D:"), ("HOMEPATH", r"\u"), ("HOME", "/h")]);
        assert_eq!(
            p(drive.home().map(Path::to_path_buf)),
            PathBuf::from(r"D:\u")
        );
        let only_home = win(&[("HOME", "/h")]);
        assert_eq!(
            p(only_home.settings()),
            join(
                Path::new("/h"),
                &["AppData", "Roaming", "ssotray", "settings.toml"]
            )
        );
        assert_eq!(win(&[]).settings(), Err(NoHome));
    }

    #[test]
    fn with_only_a_home_everything_is_under_it() {
        let p = |r: Result<PathBuf, NoHome>| r.unwrap();
        let all = paths(&[("HOME", "/home/u")]);
        assert_eq!(p(all.aws_config()), PathBuf::from("/home/u/.aws/config"));
        assert_eq!(
            p(all.aws_credentials()),
            PathBuf::from("/home/u/.aws/credentials")
        );
        assert_eq!(
            p(all.token_cache()),
            PathBuf::from("/home/u/.aws/sso/cache")
        );
        assert_eq!(p(all.cli_cache()), PathBuf::from("/home/u/.aws/cli/cache"));
        assert_eq!(
            p(all.settings()),
            PathBuf::from("/home/u/.config/ssotray/settings.toml")
        );
        assert_eq!(
            p(all.state_file()),
            PathBuf::from("/home/u/.local/state/ssotray/state.json")
        );
        assert_eq!(
            p(all.prefs_file()),
            PathBuf::from("/home/u/.local/state/ssotray/app.json")
        );
        assert_eq!(
            p(all.grants_dir()),
            PathBuf::from("/home/u/.local/state/ssotray/container-grants")
        );
        assert_eq!(
            p(all.registrations_dir()),
            PathBuf::from("/home/u/.cache/ssotray/registrations")
        );
        assert_eq!(
            p(all.accounts_dir()),
            PathBuf::from("/home/u/.cache/ssotray/accounts")
        );
        assert_eq!(
            p(all.locks_dir()),
            PathBuf::from("/home/u/.cache/ssotray/locks")
        );
        // No runtime directory: sockets and pages share the one fallback.
        assert!(!all.has_session_runtime());
        assert_eq!(
            p(all.keeper_socket()),
            PathBuf::from("/home/u/.cache/ssotray/keeper.sock")
        );
        assert_eq!(
            p(all.app_socket()),
            PathBuf::from("/home/u/.cache/ssotray/app.sock")
        );
        assert_eq!(
            p(all.private_pages_dir()),
            PathBuf::from("/home/u/.cache/ssotray/open")
        );
        assert_eq!(
            p(all.old_container_token()),
            PathBuf::from("/home/u/.cache/ssotray/container-token")
        );
    }

    #[test]
    fn variables_move_what_they_name_and_an_empty_one_is_unset() {
        let all = paths(&[
            ("HOME", "/home/u"),
            ("AWS_CONFIG_FILE", "~/cfg/aws"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/etc/creds"),
            ("XDG_CONFIG_HOME", "/c"),
            ("XDG_STATE_HOME", "/s"),
            ("XDG_CACHE_HOME", " "),
            ("XDG_RUNTIME_DIR", "/run/user/1000"),
        ]);
        let p = |r: Result<PathBuf, NoHome>| r.unwrap();
        assert_eq!(p(all.aws_config()), PathBuf::from("/home/u/cfg/aws"));
        assert_eq!(p(all.aws_credentials()), PathBuf::from("/etc/creds"));
        assert_eq!(p(all.settings()), PathBuf::from("/c/ssotray/settings.toml"));
        assert_eq!(p(all.state_file()), PathBuf::from("/s/ssotray/state.json"));
        assert_eq!(p(all.cache_dir()), PathBuf::from("/home/u/.cache/ssotray"));
        // The token cache has no variable, as in the AWS CLI.
        assert_eq!(
            p(all.token_cache()),
            PathBuf::from("/home/u/.aws/sso/cache")
        );
        assert!(all.has_session_runtime());
        assert_eq!(
            p(all.keeper_socket()),
            PathBuf::from("/run/user/1000/ssotray/keeper.sock")
        );
        assert_eq!(
            p(all.app_socket()),
            PathBuf::from("/run/user/1000/ssotray/app.sock")
        );
        assert_eq!(
            p(all.private_pages_dir()),
            PathBuf::from("/run/user/1000/ssotray/open")
        );
    }

    #[test]
    fn without_a_home_only_what_variables_name_is_known() {
        let p = paths(&[
            ("AWS_CONFIG_FILE", "/etc/aws/config"),
            ("XDG_RUNTIME_DIR", "/run/user/7"),
            ("XDG_CACHE_HOME", "/var/cache/u"),
        ]);
        assert_eq!(p.aws_config().unwrap(), PathBuf::from("/etc/aws/config"));
        assert_eq!(p.token_cache(), Err(NoHome));
        assert_eq!(p.settings(), Err(NoHome));
        assert_eq!(
            p.keeper_socket().unwrap(),
            PathBuf::from("/run/user/7/ssotray/keeper.sock")
        );
        assert_eq!(
            p.registrations_dir().unwrap(),
            PathBuf::from("/var/cache/u/ssotray/registrations")
        );
        #[cfg(not(windows))]
        assert_eq!(NoHome.to_string(), "no home directory: set HOME");
    }
}
