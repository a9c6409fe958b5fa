//! The command line's grammar (clap): every subcommand, flag and its help text. The man pages
//! and completions are generated from it.

use clap::{Args, Parser, Subcommand};

/// Keeps AWS IAM Identity Center (AWS SSO) sessions logged in and the AWS CLI's token cache fresh.
#[derive(Parser, Debug)]
#[command(name = "ssotray", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Log in to an sso-session (browser sign-in by default) and write the AWS CLI token cache.
    Login(LoginArgs),
    /// Show every sso-session and legacy start URL: logged in or not, expiry, whether it can refresh.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Refresh the access token now (all logged-in sso-sessions when no name is given).
    Refresh {
        /// sso-session or profile name.
        name: Option<String>,
    },
    /// End the portal session, remove its token file and its role credentials from the AWS CLI cache.
    ///
    /// With no name, logs out of everything, like `aws sso logout`.
    Logout {
        /// sso-session or profile name.
        #[arg(conflicts_with = "all")]
        name: Option<String>,
        /// Log out of every session in the token cache.
        #[arg(long)]
        all: bool,
    },
    /// List the accounts and roles of an sso-session (the last list at once; --refresh to fetch anew).
    Accounts {
        /// The sso-session (default: the only one, or AWS_PROFILE's).
        #[arg(long)]
        sso_session: Option<String>,
        /// Print JSON (the list, when it was fetched, and what changed since the list before).
        #[arg(long)]
        json: bool,
        /// Fetch the list from Identity Center now.
        #[arg(long)]
        refresh: bool,
        /// Portal requests per second while fetching (default 20, or the session's setting).
        #[arg(long, value_name = "TPS")]
        rate_limit: Option<f64>,
    },
    /// Open (or print) the AWS console of a role.
    Console(ConsoleArgs),
    /// Print role credentials for `credential_process` (or as shell exports, or run a command with them).
    ///
    /// Never opens a browser: a session that needs a login fails at once with the command to run.
    Credentials(CredentialsArgs),
    /// Run a command with a profile's credentials, served to it for as long as it runs.
    ///
    /// By default a private container-credentials server on loopback
    /// (`AWS_CONTAINER_CREDENTIALS_FULL_URI` and `AWS_CONTAINER_AUTHORIZATION_TOKEN`): every AWS
    /// SDK and the AWS CLI inside fetch fresh credentials from it by themselves, for hours. Never
    /// opens a browser once the command runs. Exits with the command's status.
    Exec(ExecArgs),
    /// Keep every session fresh in the foreground: refresh ahead, notify before sessions end,
    /// and own logins for all ssotray processes (the tray app does the same in the background).
    Keep {
        /// Print events on stderr instead of desktop notifications.
        #[arg(long)]
        no_notify: bool,
        /// Also serve credentials to containers: one loopback port, a route per granted profile
        /// (`http://ADDR/profile/NAME`, each with its own token: `ssotray container grant NAME`).
        /// Without ADDR: the settings' `container_server.address` (default 127.0.0.1:9911).
        /// `[container_server] enabled = true` in the settings turns it on without this flag.
        #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "")]
        container_server: Option<String>,
        /// Give every container grant a new token first: the old tokens stop working
        /// (the same as `ssotray container rotate`).
        #[arg(long)]
        rotate_container_token: bool,
    },
    /// Grants of the long-running container server: which profiles it serves, each with a
    /// token of its own that unlocks that profile and nothing else.
    Container {
        #[command(subcommand)]
        command: ContainerCommand,
    },
    /// Keep a session's refresh token in the OS keychain instead of ~/.aws/sso/cache.
    Keychain {
        #[command(subcommand)]
        command: KeychainCommand,
    },
    /// Manage generated profiles in ~/.aws/config.
    Profiles {
        #[command(subcommand)]
        command: ProfilesCommand,
    },
    /// Print the tab-completion script for a shell (the packages install them already).
    ///
    /// bash: `ssotray completions bash > ~/.local/share/bash-completion/completions/ssotray`;
    /// zsh: into a directory of `$fpath` as `_ssotray`; fish: `~/.config/fish/completions/ssotray.fish`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Add a folder to the user's PATH (`HKCU\Environment`), or take it off, keeping every other
    /// entry as it is, whatever the value's length: what the Windows installer and uninstaller
    /// run (Windows only).
    #[command(hide = true)]
    UserPath {
        #[command(subcommand)]
        edit: UserPathEdit,
    },
    /// Write the man pages (roff) of ssotray and of each subcommand into DIR; the packages
    /// install them as ssotray(1), ssotray-login(1), …
    #[command(hide = true)]
    Manpage {
        /// The directory to write `ssotray.1`, `ssotray-login.1`, … into.
        dir: std::path::PathBuf,
    },
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("role").required(true).args(["profile", "sso_session"])))]
pub(crate) struct ConsoleArgs {
    /// The profile whose account and role to open (an SSO profile, or a role_arn profile on top of one).
    #[arg(long, conflicts_with_all = ["sso_session", "account_id", "role_name"])]
    pub(crate) profile: Option<String>,
    /// The sso-session (with --account-id and --role-name).
    #[arg(long, requires_all = ["account_id", "role_name"])]
    pub(crate) sso_session: Option<String>,
    /// 12-digit account id.
    #[arg(long)]
    pub(crate) account_id: Option<String>,
    /// Role (permission set) name.
    #[arg(long)]
    pub(crate) role_name: Option<String>,
    /// Console page to land on (default: the console home of the profile's region).
    #[arg(long, value_name = "URL", conflicts_with = "service")]
    pub(crate) destination: Option<String>,
    /// A service's console to land on, in the profile's region and partition (`s3`, `ec2`,
    /// `cloudwatch`, `lambda`, `iam`, …).
    #[arg(long, value_name = "NAME")]
    pub(crate) service: Option<String>,
    /// The region for the console (default: the profile's `region`, else the SSO region).
    #[arg(long)]
    pub(crate) region: Option<String>,
    /// Print the sign-in URL instead of opening it (the URL is a credential: handle with care).
    #[arg(long)]
    pub(crate) print: bool,
    /// Use the access portal's deep link (no API call) instead of federation.
    #[arg(long)]
    pub(crate) portal_link: bool,
    /// Console session length in seconds, 900 to 43200 (default 3600).
    #[arg(long, value_name = "SECS")]
    pub(crate) duration: Option<u32>,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["profile", "unexport"])))]
pub(crate) struct CredentialsArgs {
    /// The profile: an SSO profile (sso_account_id, sso_role_name), or a role_arn profile whose
    /// source_profile leads down to one.
    #[arg(long)]
    pub(crate) profile: Option<String>,
    /// Print `export` lines for a POSIX shell instead of JSON.
    #[arg(long, conflicts_with_all = ["env", "export_as"])]
    pub(crate) export: bool,
    /// Write the credentials into the shared credentials file (~/.aws/credentials) as section
    /// [NAME], for tools that read nothing else; the keeper (tray app or `ssotray keep`)
    /// rewrites it before it has 15 minutes left. Every other byte of the file is kept.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["env", "login"])]
    pub(crate) export_as: Option<String>,
    /// Remove section [NAME] that --export-as wrote.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["profile", "env", "export", "login"])]
    pub(crate) unexport: Option<String>,
    /// Run COMMAND with the credentials in its environment (see also `ssotray exec`).
    #[arg(long, requires = "command")]
    pub(crate) env: bool,
    /// The command to run with --env.
    #[arg(last = true, value_name = "COMMAND")]
    pub(crate) command: Vec<String>,
    /// If the session needs a login, log in (once, however many processes ask at the same time;
    /// through the running keeper when there is one) instead of failing.
    #[arg(long)]
    pub(crate) login: bool,
}

#[derive(Args, Debug)]
pub(crate) struct ExecArgs {
    /// The profile (an SSO profile, or a role_arn profile on top of one).
    #[arg(long)]
    pub(crate) profile: String,
    /// How the command gets credentials: `ecs` (container-credentials server), `imds` (an
    /// IMDSv2 endpoint on loopback) or `env` (static variables, valid until they expire).
    #[arg(long, value_enum, default_value_t = ServerKind::Ecs)]
    pub(crate) server: ServerKind,
    /// If the session needs a login before the command starts, log in (once) instead of failing.
    #[arg(long)]
    pub(crate) login: bool,
    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub(crate) command: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum KeychainCommand {
    /// Move the refresh token and client secret into the keychain (no new login needed).
    Enable {
        /// sso-session (default: the only one).
        name: Option<String>,
    },
    /// Move them back into the token cache, so the AWS CLI can refresh on its own.
    Disable {
        /// sso-session (default: the only one).
        name: Option<String>,
    },
    /// Show whether each session uses the keychain and where its refresh token is.
    Status {
        /// sso-session (default: all).
        name: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum ProfilesCommand {
    /// Write a [profile …] section for every account and role of an sso-session, in ssotray's own
    /// marked block at the end of ~/.aws/config (every other byte stays as it is).
    Generate {
        /// The sso-session.
        #[arg(long)]
        sso_session: String,
        /// Show the change as a diff without writing.
        #[arg(long)]
        dry_run: bool,
        /// Profile name template: <account-name>, <account-id>, <role-name>, <session>.
        #[arg(long, default_value = ssotray_core::ops::profiles::DEFAULT_TEMPLATE)]
        template: String,
    },
}

#[derive(Args, Debug)]
pub(crate) struct LoginArgs {
    /// sso-session name, profile name or legacy start URL.
    #[arg(conflicts_with_all = ["sso_session", "profile"])]
    pub(crate) name: Option<String>,
    /// The sso-session to log in to.
    #[arg(long, conflicts_with = "profile")]
    pub(crate) sso_session: Option<String>,
    /// Log in to the session this profile uses.
    #[arg(long)]
    pub(crate) profile: Option<String>,
    /// Use the device-code flow (sign in on any device) instead of the browser flow.
    #[arg(long)]
    pub(crate) device_code: bool,
    /// Do not open a browser: print the URL to open (and the code) instead.
    #[arg(long)]
    pub(crate) no_browser: bool,
}

#[derive(Subcommand, Debug)]
pub enum ContainerCommand {
    /// Let containers have PROFILE's credentials: makes its token (or keeps the one it has) and
    /// prints the `docker run` options that give a container this one profile.
    Grant {
        /// The profile (an SSO profile, or a role_arn profile on top of one).
        profile: String,
        /// The server's address in the printed line (default: the settings' `container_server.address`).
        #[arg(long, value_name = "ADDR")]
        address: Option<String>,
    },
    /// Take PROFILE's grant away: its token stops working at the next request.
    Revoke {
        /// The profile.
        profile: String,
    },
    /// Give every grant a new token: the old ones stop working at the next request. Containers
    /// that read the token file once (botocore) need a restart; aws-config and the JavaScript SDK
    /// read it on every fetch.
    Rotate,
    /// List the granted profiles.
    List,
}

/// How the command gets its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServerKind {
    /// A container-credentials server (`AWS_CONTAINER_CREDENTIALS_FULL_URI`): every SDK
    /// refreshes from it by itself.
    Ecs,
    /// An IMDSv2 endpoint (`AWS_EC2_METADATA_SERVICE_ENDPOINT`) for tools that know only
    /// instance metadata.
    Imds,
    /// Static variables (`AWS_ACCESS_KEY_ID`, …), valid until they expire.
    Env,
}

#[derive(Subcommand, Debug)]
pub(crate) enum UserPathEdit {
    /// Add DIR once (nothing changes when it is on PATH already).
    Add {
        /// The folder.
        dir: String,
    },
    /// Take every entry that is DIR off.
    Remove {
        /// The folder.
        dir: String,
    },
}
