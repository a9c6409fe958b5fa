//! `ssotray`: the command line over ssotray-core.
//!
//! Exit codes: 0 success, 1 failure (one actionable line on stderr), 2 usage error.
//!
//! Where each command is: `login`, `status`, `refresh` and `logout` here; `accounts`, `console`,
//! `credentials` and `profiles generate` in `accounts.rs`; `exec` in `exec.rs`; `container` in
//! `container.rs`; `keep` in `keep.rs`. The grammar (every clap type) is `args.rs`; what commands
//! share is `common.rs`; `CliError` is `error.rs`.
//!
//! The failure line is `error: …`; the usage errors are clap's. `credentials --env` is
//! `exec --server env`, whose command's exit status is passed on. Only what the user asked for
//! goes to stdout (the URL to open during a login, lists, credentials). `completions SHELL`
//! (clap_complete) and the hidden `manpage DIR` (clap_mangen, one page per subcommand) generate
//! what the packages install, from the same clap definitions.

use crate::args::{Cli, Command, KeychainCommand, LoginArgs, ProfilesCommand};
use crate::common::{default_selector, names, one_line};
use crate::error::CliError;
use clap::Parser;
use ssotray_core::aws::config::AwsConfig;
use ssotray_core::ops::engine::LogoutReport;
use ssotray_core::ops::login::LoginPrompt;
use ssotray_core::{
    Context, Engine, EngineError, Flow, LoginOptions, Selector, TargetStatus, TokenState,
};
use std::io::Write;
use std::process::ExitCode;

mod accounts;
mod args;
mod common;
mod container;
mod error;
mod exec;
mod keep;
mod user_path;

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
        Err(CliError::ChildExit(code)) => {
            drop(runtime);
            exec::exit_code(code)
        }
        Err(e) => {
            eprintln!("error: {}", one_line(&e.to_string()));
            ExitCode::from(1)
        }
    }
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
        Command::Container { command } => container::run(engine, command).await,
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
        Command::UserPath { edit } => user_path::run(edit),
        Command::Completions { .. } | Command::Manpage { .. } => Ok(()),
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
    // With the default flow and a keeper running, the keeper owns the login; without one, this
    // process logs in itself (and says so below, as it opens the browser).
    if !args.device_code && !args.no_browser {
        let keeper = match ssotray_core::keep::owner::socket_path(engine) {
            Some(path) => ssotray_core::keep::owner::connect(&path).await,
            None => None,
        };
        if let Some(keeper) = keeper {
            let stale = ssotray_core::keep::owner::current_fingerprint(engine, &target).await;
            let request = ssotray_core::keep::owner::Request::Login {
                session: target.display_name().to_string(),
                stale,
            };
            eprintln!(
                "Asking the running ssotray keeper to log in to `{}` (it opens the browser)…",
                target.display_name()
            );
            match keeper
                .ask(&request, ssotray_core::keep::owner::LOGIN_WAIT)
                .await
            {
                Some(ssotray_core::keep::owner::Reply::Ok) => {
                    eprintln!("Logged in to `{}`", target.display_name());
                    return Ok(());
                }
                Some(ssotray_core::keep::owner::Reply::Error { message }) => {
                    return Err(EngineError::Keeper(message).into())
                }
                Some(ssotray_core::keep::owner::Reply::ContainerServer { .. }) | None => {
                    eprintln!("The keeper did not take the login; logging in from here.")
                }
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
        ssotray_core::platform::time::format_timestamp(token.expires_at),
        if token.refresh_token.is_some() {
            " (refreshable)"
        } else {
            ""
        }
    );
    Ok(())
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
            use ssotray_core::ops::state::EndSource;
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
    let ts = ssotray_core::platform::time::format_timestamp;
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
    // The token holders and the problems: from the config's index when it is current (#32).
    let config = engine.load_config_for(&[])?;
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
                    "expires": e.expires.map(ssotray_core::platform::time::format_timestamp),
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
                ssotray_core::platform::time::format_timestamp(token.expires_at)
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
