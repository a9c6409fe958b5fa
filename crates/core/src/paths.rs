//! Where every file lives: the AWS files ssotray shares with the AWS CLI and SDKs, and ssotray's
//! own settings, state, caches, locks, private pages and sockets. Derived once from the
//! environment ([`Paths::from_env`]); nothing else in ssotray builds one of these paths.
//!
//! | what | where (Linux) |
//! |---|---|
//! | AWS config | `AWS_CONFIG_FILE`, else `~/.aws/config` |
//! | shared credentials | `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials` |
//! | token cache | `~/.aws/sso/cache` (the AWS CLI reads no variable for it) |
//! | role-credential cache | `~/.aws/cli/cache` |
//! | settings | `$XDG_CONFIG_HOME/ssotray/settings.toml`, else `~/.config/ssotray/…` |
//! | state, favorites, container grants | `$XDG_STATE_HOME/ssotray/`, else `~/.local/state/ssotray/` |
//! | registrations, accounts, config locks | `$XDG_CACHE_HOME/ssotray/`, else `~/.cache/ssotray/` |
//! | sockets, private pages | the runtime directory (below) |
//!
//! **The runtime directory** is `$XDG_RUNTIME_DIR/ssotray`; without `XDG_RUNTIME_DIR` (an ssh
//! login, cron) it is ssotray's cache directory. Every socket and private page follows this one
//! rule: the keeper's socket, the app's socket, the pages that carry sign-in URLs. Whoever
//! listens there first makes sure the directory is the user's own with mode 0700
//! ([`crate::sock::private_dir`]).
//!
//! This is the seam where another operating system's locations plug in.

use crate::os::Env;
use std::path::{Path, PathBuf};

/// No home directory: nothing under `~` can be found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no home directory: set HOME")]
pub struct NoHome;

/// Every location, from one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    home: Option<PathBuf>,
    config_file: Option<PathBuf>,
    credentials_file: Option<PathBuf>,
    config_home: Option<PathBuf>,
    state_home: Option<PathBuf>,
    cache_home: Option<PathBuf>,
    runtime_home: Option<PathBuf>,
}

/// `~/rest` with the home directory, else the path as written (as botocore expands it).
pub fn expand_home(path: &str, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}

impl Paths {
    /// The locations the environment gives (variables that are set but empty count as unset).
    pub fn from_env(env: &Env) -> Paths {
        let home = env.home();
        let file = |k: &str| {
            env.get_non_empty(k)
                .map(|p| expand_home(&p, home.as_deref()))
        };
        let dir = |k: &str| env.get_non_empty(k).map(PathBuf::from);
        Paths {
            config_file: file("AWS_CONFIG_FILE"),
            credentials_file: file("AWS_SHARED_CREDENTIALS_FILE"),
            config_home: dir("XDG_CONFIG_HOME"),
            state_home: dir("XDG_STATE_HOME"),
            cache_home: dir("XDG_CACHE_HOME"),
            runtime_home: dir("XDG_RUNTIME_DIR"),
            home,
        }
    }

    /// The user's home directory.
    pub fn home(&self) -> Result<&Path, NoHome> {
        self.home.as_deref().ok_or(NoHome)
    }

    fn under_home(&self, rest: &str) -> Result<PathBuf, NoHome> {
        Ok(self.home()?.join(rest))
    }

    fn xdg(&self, set: &Option<PathBuf>, default: &str) -> Result<PathBuf, NoHome> {
        match set {
            Some(d) => Ok(d.join("ssotray")),
            None => self.under_home(default),
        }
    }

    /// The AWS config file.
    pub fn aws_config(&self) -> Result<PathBuf, NoHome> {
        match &self.config_file {
            Some(p) => Ok(p.clone()),
            None => self.under_home(".aws/config"),
        }
    }

    /// The shared credentials file.
    pub fn aws_credentials(&self) -> Result<PathBuf, NoHome> {
        match &self.credentials_file {
            Some(p) => Ok(p.clone()),
            None => self.under_home(".aws/credentials"),
        }
    }

    /// The AWS CLI v2 token cache, `~/.aws/sso/cache`.
    pub fn token_cache(&self) -> Result<PathBuf, NoHome> {
        self.under_home(".aws/sso/cache")
    }

    /// The AWS CLI's role-credential cache, `~/.aws/cli/cache`.
    pub fn cli_cache(&self) -> Result<PathBuf, NoHome> {
        self.under_home(".aws/cli/cache")
    }

    /// ssotray's settings file.
    pub fn settings(&self) -> Result<PathBuf, NoHome> {
        Ok(self
            .xdg(&self.config_home, ".config/ssotray")?
            .join("settings.toml"))
    }

    /// ssotray's state directory (its memory of sessions, favorites, container grants).
    pub fn state_dir(&self) -> Result<PathBuf, NoHome> {
        self.xdg(&self.state_home, ".local/state/ssotray")
    }

    /// ssotray's cache directory (registrations, account lists, config locks).
    pub fn cache_dir(&self) -> Result<PathBuf, NoHome> {
        self.xdg(&self.cache_home, ".cache/ssotray")
    }

    /// The runtime directory: `$XDG_RUNTIME_DIR/ssotray`, else the cache directory.
    pub fn runtime_dir(&self) -> Result<PathBuf, NoHome> {
        match &self.runtime_home {
            Some(d) => Ok(d.join("ssotray")),
            None => self.cache_dir(),
        }
    }

    /// Whether the runtime directory is the desktop session's (`XDG_RUNTIME_DIR`), which ends
    /// with the login, rather than the cache directory.
    pub fn has_session_runtime(&self) -> bool {
        self.runtime_home.is_some()
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

    fn paths(vars: &[(&str, &str)]) -> Paths {
        Paths::from_env(&Env::from_slice(vars))
    }

    #[test]
    fn with_only_a_home_everything_is_under_it() {
        let p = |r: Result<PathBuf, NoHome>| r.unwrap().display().to_string();
        let all = paths(&[("HOME", "/home/u")]);
        assert_eq!(p(all.aws_config()), "/home/u/.aws/config");
        assert_eq!(p(all.aws_credentials()), "/home/u/.aws/credentials");
        assert_eq!(p(all.token_cache()), "/home/u/.aws/sso/cache");
        assert_eq!(p(all.cli_cache()), "/home/u/.aws/cli/cache");
        assert_eq!(p(all.settings()), "/home/u/.config/ssotray/settings.toml");
        assert_eq!(
            p(all.state_file()),
            "/home/u/.local/state/ssotray/state.json"
        );
        assert_eq!(p(all.prefs_file()), "/home/u/.local/state/ssotray/app.json");
        assert_eq!(
            p(all.grants_dir()),
            "/home/u/.local/state/ssotray/container-grants"
        );
        assert_eq!(
            p(all.registrations_dir()),
            "/home/u/.cache/ssotray/registrations"
        );
        assert_eq!(p(all.accounts_dir()), "/home/u/.cache/ssotray/accounts");
        assert_eq!(p(all.locks_dir()), "/home/u/.cache/ssotray/locks");
        // No runtime directory: sockets and pages share the one fallback.
        assert!(!all.has_session_runtime());
        assert_eq!(p(all.keeper_socket()), "/home/u/.cache/ssotray/keeper.sock");
        assert_eq!(p(all.app_socket()), "/home/u/.cache/ssotray/app.sock");
        assert_eq!(p(all.private_pages_dir()), "/home/u/.cache/ssotray/open");
        assert_eq!(
            p(all.old_container_token()),
            "/home/u/.cache/ssotray/container-token"
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
        let p = |r: Result<PathBuf, NoHome>| r.unwrap().display().to_string();
        assert_eq!(p(all.aws_config()), "/home/u/cfg/aws");
        assert_eq!(p(all.aws_credentials()), "/etc/creds");
        assert_eq!(p(all.settings()), "/c/ssotray/settings.toml");
        assert_eq!(p(all.state_file()), "/s/ssotray/state.json");
        assert_eq!(p(all.cache_dir()), "/home/u/.cache/ssotray");
        // The token cache has no variable, as in the AWS CLI.
        assert_eq!(p(all.token_cache()), "/home/u/.aws/sso/cache");
        assert!(all.has_session_runtime());
        assert_eq!(p(all.keeper_socket()), "/run/user/1000/ssotray/keeper.sock");
        assert_eq!(p(all.app_socket()), "/run/user/1000/ssotray/app.sock");
        assert_eq!(p(all.private_pages_dir()), "/run/user/1000/ssotray/open");
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
        assert_eq!(NoHome.to_string(), "no home directory: set HOME");
    }
}
