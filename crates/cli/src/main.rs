//! `ssotray`: the command line over ssotray-core.
//!
//! Exit codes: 0 success, 1 failure (one actionable line on stderr), 2 usage error.

use crate::error::CliError;
use clap::{Args, Parser, Subcommand};
use ssotray_core::config::AwsConfig;
use ssotray_core::engine::LogoutReport;
use ssotray_core::login::LoginPrompt;
use ssotray_core::{
    Context, Engine, EngineError, Flow, LoginOptions, Selector, TargetStatus, TokenState,
};
use std::io::Write;
use std::process::ExitCode;

/// Keeps AWS IAM Identity Center (AWS SSO) sessions logged in and the AWS CLI's token cache fresh.
#[derive(Parser, Debug)]
#[command(name = "ssotray", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
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
        command: container::ContainerCommand,
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
struct ConsoleArgs {
    /// The profile whose account and role to open (an SSO profile, or a role_arn profile on top of one).
    #[arg(long, conflicts_with_all = ["sso_session", "account_id", "role_name"])]
    profile: Option<String>,
    /// The sso-session (with --account-id and --role-name).
    #[arg(long, requires_all = ["account_id", "role_name"])]
    sso_session: Option<String>,
    /// 12-digit account id.
    #[arg(long)]
    account_id: Option<String>,
    /// Role (permission set) name.
    #[arg(long)]
    role_name: Option<String>,
    /// Console page to land on (default: the console home of the profile's region).
    #[arg(long, value_name = "URL", conflicts_with = "service")]
    destination: Option<String>,
    /// A service's console to land on, in the profile's region and partition (`s3`, `ec2`,
    /// `cloudwatch`, `lambda`, `iam`, …).
    #[arg(long, value_name = "NAME")]
    service: Option<String>,
    /// The region for the console (default: the profile's `region`, else the SSO region).
    #[arg(long)]
    region: Option<String>,
    /// Print the sign-in URL instead of opening it (the URL is a credential: handle with care).
    #[arg(long)]
    print: bool,
    /// Use the access portal's deep link (no API call) instead of federation.
    #[arg(long)]
    portal_link: bool,
    /// Console session length in seconds, 900 to 43200 (default 3600).
    #[arg(long, value_name = "SECS")]
    duration: Option<u32>,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["profile", "unexport"])))]
struct CredentialsArgs {
    /// The profile: an SSO profile (sso_account_id, sso_role_name), or a role_arn profile whose
    /// source_profile leads down to one.
    #[arg(long)]
    profile: Option<String>,
    /// Print `export` lines for a POSIX shell instead of JSON.
    #[arg(long, conflicts_with_all = ["env", "export_as"])]
    export: bool,
    /// Write the credentials into the shared credentials file (~/.aws/credentials) as section
    /// [NAME], for tools that read nothing else; the keeper (tray app or `ssotray keep`)
    /// rewrites it before it has 15 minutes left. Every other byte of the file is kept.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["env", "login"])]
    export_as: Option<String>,
    /// Remove section [NAME] that --export-as wrote.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["profile", "env", "export", "login"])]
    unexport: Option<String>,
    /// Run COMMAND with the credentials in its environment (see also `ssotray exec`).
    #[arg(long, requires = "command")]
    env: bool,
    /// The command to run with --env.
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
    /// If the session needs a login, log in (once, however many processes ask at the same time;
    /// through the running keeper when there is one) instead of failing.
    #[arg(long)]
    login: bool,
}

#[derive(Args, Debug)]
struct ExecArgs {
    /// The profile (an SSO profile, or a role_arn profile on top of one).
    #[arg(long)]
    profile: String,
    /// How the command gets credentials: `ecs` (container-credentials server), `imds` (an
    /// IMDSv2 endpoint on loopback) or `env` (static variables, valid until they expire).
    #[arg(long, value_enum, default_value_t = exec::ServerKind::Ecs)]
    server: exec::ServerKind,
    /// If the session needs a login before the command starts, log in (once) instead of failing.
    #[arg(long)]
    login: bool,
    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

#[derive(Subcommand, Debug)]
enum KeychainCommand {
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
enum ProfilesCommand {
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
        #[arg(long, default_value = ssotray_core::profiles::DEFAULT_TEMPLATE)]
        template: String,
    },
}

#[derive(Args, Debug)]
struct LoginArgs {
    /// sso-session name, profile name or legacy start URL.
    #[arg(conflicts_with_all = ["sso_session", "profile"])]
    name: Option<String>,
    /// The sso-session to log in to.
    #[arg(long, conflicts_with = "profile")]
    sso_session: Option<String>,
    /// Log in to the session this profile uses.
    #[arg(long)]
    profile: Option<String>,
    /// Use the device-code flow (sign in on any device) instead of the browser flow.
    #[arg(long)]
    device_code: bool,
    /// Do not open a browser: print the URL to open (and the code) instead.
    #[arg(long)]
    no_browser: bool,
}

mod accounts;
mod container;
mod error;
mod exec;
mod keep;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Generated from the definitions above: nothing to read, no runtime needed.
    match cli.command {
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "ssotray", &mut script);
            // A closed pipe (`| head`) is not an error worth a message.
            let _ = std::io::stdout().write_all(&script);
            return ExitCode::SUCCESS;
        }
        Command::Manpage { dir } => {
            let command = <Cli as clap::CommandFactory>::command();
            return match clap_mangen::generate_to(command, &dir) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!(
                        "error: cannot write the man pages into {}: {e}",
                        dir.display()
                    );
                    ExitCode::from(1)
                }
            };
        }
        _ => {}
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SSOTRAY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    let engine = Engine::new(Context::real());
    match runtime.block_on(run(&engine, cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::ChildExit(code)) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {}", one_line(&e.to_string()));
            ExitCode::from(1)
        }
    }
}

pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn run(engine: &Engine, command: Command) -> Result<(), CliError> {
    match command {
        Command::Login(args) => login(engine, args).await,
        Command::Status { json } => status(engine, json).await,
        Command::Refresh { name } => refresh(engine, name).await,
        Command::Logout { name, all } => logout(engine, name, all).await,
        Command::Keychain { command } => keychain(engine, command).await,
        Command::Keep {
            no_notify,
            container_server,
            rotate_container_token,
        } => {
            keep::run(
                engine.clone(),
                !no_notify,
                container_server,
                rotate_container_token,
            )
            .await
        }
        Command::Container { command } => container::run(engine, command),
        Command::Accounts {
            sso_session,
            json,
            refresh,
            rate_limit,
        } => accounts::list(engine, sso_session, json, refresh, rate_limit).await,
        Command::Console(args) => accounts::console(engine, args).await,
        Command::Credentials(args) => accounts::credentials(engine, args).await,
        Command::Exec(args) => exec::run(engine, args).await,
        Command::Profiles {
            command:
                ProfilesCommand::Generate {
                    sso_session,
                    dry_run,
                    template,
                },
        } => accounts::generate_profiles(engine, &sso_session, dry_run, &template).await,
        Command::Completions { .. } | Command::Manpage { .. } => Ok(()),
    }
}

/// Prompts during a login started on behalf of another command: stderr only (stdout may carry
/// credentials).
pub(crate) fn prompt_on_stderr(p: &LoginPrompt) {
    match p {
        LoginPrompt::DeviceCode {
            user_code,
            verification_uri,
            ..
        } => {
            eprintln!("Log in: open {verification_uri} and confirm the code {user_code} (opening the browser…)")
        }
        LoginPrompt::Browser { .. } => {
            eprintln!("Log in: opening the browser… (waiting for the sign-in)")
        }
    }
}

fn warn_problems(config: &AwsConfig) {
    for p in &config.problems {
        eprintln!("warning: {}: {p}", config.path.display());
    }
}

async fn login(engine: &Engine, args: LoginArgs) -> Result<(), CliError> {
    let config = engine.load_config()?;
    let selector = match (args.name, args.sso_session, args.profile) {
        (Some(n), _, _) => Selector::Any(n),
        (_, Some(s), _) => Selector::Session(s),
        (_, _, Some(p)) => Selector::Profile(p),
        (None, None, None) => match default_selector(engine, &config) {
            Some(s) => s,
            None => {
                return Err(EngineError::UnknownTarget(format!(
                    "say which session to log in to: `ssotray login NAME` (known: {})",
                    names(&config)
                ))
                .into())
            }
        },
    };
    let target = engine.resolve(&config, &selector)?;
    // With the default flow and a keeper running, the keeper owns the login.
    if !args.device_code && !args.no_browser {
        if let Some(path) = ssotray_core::owner::socket_path(engine) {
            let stale = ssotray_core::owner::current_fingerprint(engine, &target).await;
            let request = ssotray_core::owner::Request::Login {
                session: target.display_name().to_string(),
                stale,
            };
            eprintln!(
                "Asking the running ssotray keeper to log in to `{}`…",
                target.display_name()
            );
            match ssotray_core::owner::ask(&path, &request, ssotray_core::owner::LOGIN_WAIT).await {
                Some(ssotray_core::owner::Reply::Ok) => {
                    eprintln!("Logged in to `{}`", target.display_name());
                    return Ok(());
                }
                Some(ssotray_core::owner::Reply::Error { message }) => {
                    return Err(EngineError::Keeper(message).into())
                }
                None => {}
            }
        }
    }
    let options = LoginOptions {
        flow: args.device_code.then_some(Flow::DeviceCode),
        open_browser: !args.no_browser,
        ..LoginOptions::default()
    };
    let name = target.display_name().to_string();
    let no_browser = args.no_browser;
    let prompt = move |p: &LoginPrompt| {
        let mut err = std::io::stderr().lock();
        match p {
            LoginPrompt::DeviceCode {
                user_code,
                verification_uri,
                verification_uri_complete,
            } => {
                let _ = writeln!(err, "To sign in to `{name}`, open {verification_uri} and confirm the code:\n\n    {user_code}\n");
                if no_browser {
                    let _ = writeln!(err, "Or open this URL, which has the code in it:");
                    println!("{verification_uri_complete}");
                } else {
                    let _ = writeln!(err, "Opening the browser… (waiting for approval)");
                }
            }
            LoginPrompt::Browser { authorize_url } => {
                if no_browser {
                    let _ = writeln!(
                        err,
                        "To sign in to `{name}`, open this URL in a browser on this machine:"
                    );
                    println!("{authorize_url}");
                } else {
                    let _ = writeln!(
                        err,
                        "Opening the browser to sign in to `{name}`… (waiting for the sign-in)"
                    );
                }
            }
        }
        let _ = std::io::stdout().flush();
    };
    let token = engine.login(&target, &options, &prompt).await?;
    eprintln!(
        "Logged in to `{}`; access token valid until {}{}",
        target.display_name(),
        ssotray_core::time::format_timestamp(token.expires_at),
        if token.refresh_token.is_some() {
            " (refreshable)"
        } else {
            ""
        }
    );
    Ok(())
}

/// With no name, AWS CLI users expect `AWS_PROFILE`; else the only sso-session, if there is one.
pub(crate) fn default_selector(engine: &Engine, config: &AwsConfig) -> Option<Selector> {
    if let Some(p) = engine.context().env.get_non_empty("AWS_PROFILE") {
        return Some(Selector::Profile(p));
    }
    // The only sso-session; failing that, the only legacy start URL.
    if config.sessions.len() == 1 {
        return Some(Selector::Session(config.sessions[0].name.clone()));
    }
    let targets = config.targets();
    (targets.len() == 1).then(|| Selector::Any(targets[0].cache_id().to_string()))
}

pub(crate) fn names(config: &AwsConfig) -> String {
    let n: Vec<String> = config
        .targets()
        .iter()
        .map(|t| t.display_name().to_string())
        .collect();
    if n.is_empty() {
        format!("none in `{}`", config.path.display())
    } else {
        n.join(", ")
    }
}

fn describe(status: &TargetStatus, now: chrono::DateTime<chrono::Utc>) -> String {
    let token = describe_token(status, now);
    let local = |t: &chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&chrono::Local).format("%H:%M").to_string()
    };
    let session = match (&status.token, &status.ended_at, &status.session_end) {
        (TokenState::LoggedOut, _, _) => String::new(),
        (_, Some(at), _) => format!("; session ended at {}", local(at)),
        (_, None, Some(end)) => {
            use ssotray_core::state::EndSource;
            let hours = end.length_secs as f64 / 3600.0;
            let source = match end.source {
                EndSource::Learned => "learned".to_string(),
                EndSource::Configured => format!("configured {hours:.0} h"),
                EndSource::Assumed => format!("assumed {hours:.0} h"),
                EndSource::TokenExpiry => "legacy: token expiry".to_string(),
            };
            format!("; session ends ~{}, {source}", local(&end.at))
        }
        _ => String::new(),
    };
    format!("{token}{session}")
}

fn describe_token(status: &TargetStatus, now: chrono::DateTime<chrono::Utc>) -> String {
    let ts = ssotray_core::time::format_timestamp;
    match &status.token {
        TokenState::LoggedOut => "logged out".into(),
        TokenState::Valid {
            expires_at,
            can_refresh,
        } => {
            let left = (*expires_at - now).num_minutes();
            format!(
                "logged in, access token expires in {left} min ({}), {}",
                ts(*expires_at),
                if *can_refresh {
                    "can refresh"
                } else {
                    "cannot refresh"
                }
            )
        }
        TokenState::Expired {
            expires_at,
            can_refresh,
        } => format!(
            "access token expired at {}, {}",
            ts(*expires_at),
            if *can_refresh {
                "can refresh (run `ssotray refresh`)"
            } else {
                "log in again"
            }
        ),
        TokenState::Unreadable { reason } => format!(
            "token file unreadable ({reason}): {}",
            status.cache_file.display()
        ),
    }
}

async fn status(engine: &Engine, json: bool) -> Result<(), CliError> {
    let config = engine.load_config()?;
    let mut list = Vec::new();
    for target in config.targets() {
        list.push(engine.status(&target).await?);
    }
    if json {
        let problems: Vec<String> = config.problems.iter().map(|p| p.to_string()).collect();
        let exports: Vec<serde_json::Value> = engine
            .exports()?
            .iter()
            .map(|e| {
                serde_json::json!({
                    "name": e.name,
                    "profile": e.profile,
                    "expires": e.expires.map(ssotray_core::time::format_timestamp),
                })
            })
            .collect();
        let out =
            serde_json::json!({ "sessions": list, "configProblems": problems, "exports": exports });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).expect("the status serializes")
        );
        return Ok(());
    }
    warn_problems(&config);
    if list.is_empty() {
        println!(
            "No sso-sessions in `{}`. Add one with `aws configure sso-session`, or by hand:",
            config.path.display()
        );
        println!("  [sso-session my-sso]\n  sso_start_url = https://d-1234567890.awsapps.com/start\n  sso_region = us-east-1");
        return Ok(());
    }
    let now = engine.context().clock.now();
    let width = list.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in &list {
        let kind = if s.legacy { " (legacy)" } else { "" };
        println!("{:width$}  {}{kind}", s.name, describe(s, now));
    }
    let exports = engine.exports()?;
    if !exports.is_empty() {
        println!(
            "\nExported to {}:",
            engine.credentials_file_path()?.display()
        );
        for e in &exports {
            let until = e.expires.map_or("expiry unknown".to_string(), |t| {
                format!(
                    "valid until {}",
                    t.with_timezone(&chrono::Local).format("%H:%M")
                )
            });
            println!("  [{}] from profile {}, {until}", e.name, e.profile);
        }
    }
    Ok(())
}

async fn keychain(engine: &Engine, command: KeychainCommand) -> Result<(), CliError> {
    let config = engine.load_config()?;
    let pick = |name: Option<String>| -> Result<ssotray_core::SsoTarget, EngineError> {
        let selector = match name {
            Some(n) => Selector::Any(n),
            None => default_selector(engine, &config).ok_or_else(|| {
                EngineError::UnknownTarget(format!("say which session (known: {})", names(&config)))
            })?,
        };
        engine.resolve(&config, &selector)
    };
    match command {
        KeychainCommand::Enable { name } => {
            let target = pick(name)?;
            engine.keychain_enable(&target).await?;
            eprintln!("`{}` keeps its refresh token in the OS keychain; the token cache holds only the access token", target.display_name());
        }
        KeychainCommand::Disable { name } => {
            let target = pick(name)?;
            engine.keychain_disable(&target).await?;
            eprintln!("`{}` keeps its refresh token in the token cache again (the AWS CLI can refresh on its own)", target.display_name());
        }
        KeychainCommand::Status { name } => {
            let targets = match name {
                Some(n) => vec![pick(Some(n))?],
                None => config
                    .targets()
                    .into_iter()
                    .filter(|t| !t.is_legacy())
                    .collect(),
            };
            for t in targets {
                let s = engine.keychain_status(&t).await?;
                let entry = match &s.entry {
                    Ok(true) => "entry in the keychain".to_string(),
                    Ok(false) => "no keychain entry".to_string(),
                    Err(e) => format!("keychain unavailable: {}", one_line(e)),
                };
                println!(
                    "{}  keychain {}; {entry}; refresh token {}in the token cache",
                    s.session,
                    if s.enabled { "on" } else { "off" },
                    if s.file_has_refresh_token { "" } else { "not " }
                );
            }
        }
    }
    Ok(())
}

async fn refresh(engine: &Engine, name: Option<String>) -> Result<(), CliError> {
    let config = engine.load_config()?;
    let targets = match name {
        Some(n) => vec![engine.resolve(&config, &Selector::Any(n))?],
        None => {
            let mut logged_in = Vec::new();
            for t in config.targets().into_iter().filter(|t| !t.is_legacy()) {
                if !matches!(engine.status(&t).await?.token, TokenState::LoggedOut) {
                    logged_in.push(t);
                }
            }
            if logged_in.is_empty() {
                return Err(CliError::Usage(
                    "no sso-session is logged in; run `ssotray login NAME` first".into(),
                ));
            }
            logged_in
        }
    };
    let mut first_error = None;
    for t in targets {
        match engine.refresh(&t).await {
            Ok(token) => eprintln!(
                "Refreshed `{}`; access token valid until {}",
                t.display_name(),
                ssotray_core::time::format_timestamp(token.expires_at)
            ),
            Err(e) if first_error.is_none() => first_error = Some(e),
            Err(e) => eprintln!("error: {}", one_line(&e.to_string())),
        }
    }
    first_error.map_or(Ok(()), |e| Err(e.into()))
}

fn exported_removed(n: usize) -> String {
    match n {
        0 => String::new(),
        n => format!("; {n} exported section(s) removed from the credentials file"),
    }
}

fn report_logout(name: &str, r: &LogoutReport) {
    let portal = match &r.portal_logout {
        Some(Ok(())) => "portal session ended".to_string(),
        Some(Err(e)) => format!(
            "portal logout failed ({}), local files removed anyway",
            one_line(&e.to_string())
        ),
        None => "no token was cached".to_string(),
    };
    eprintln!(
        "Logged out of `{name}`: {portal}; {} role credential file(s) removed{}",
        r.removed_role_credentials,
        exported_removed(r.removed_exports)
    );
}

async fn logout(engine: &Engine, name: Option<String>, _all: bool) -> Result<(), CliError> {
    match name {
        Some(n) => {
            let config = engine.load_config()?;
            let target = engine.resolve(&config, &Selector::Any(n))?;
            let report = engine.logout(&config, &target).await?;
            report_logout(target.display_name(), &report);
            Ok(())
        }
        None => {
            let (report, problems) = engine.logout_all().await?;
            for p in &problems {
                eprintln!("warning: {}", one_line(&p.to_string()));
            }
            eprintln!(
                "Logged out of every session{}; {} role credential file(s) removed{}",
                if report.removed_token {
                    ""
                } else {
                    " (none was logged in)"
                },
                report.removed_role_credentials,
                exported_removed(report.removed_exports)
            );
            Ok(())
        }
    }
}
