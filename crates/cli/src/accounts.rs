//! `ssotray accounts`, `console`, `credentials` and `profiles generate`.
//!
//! `credentials` takes `--export-as` and `--unexport`. A session that needs a login is handled by
//! `owner::credentials_or_login` (through the keeper when it runs, one login per session).

use crate::args::{ConsoleArgs, CredentialsArgs, ExecArgs, ServerKind};
use crate::common::{default_selector, names, one_line, prompt_on_stderr};
use crate::error::CliError;
use ssotray_core::aws::config::{AwsConfig, SsoTarget};
use ssotray_core::keep::owner;
use ssotray_core::ops::access::{ConsoleOptions, ProfileRole};
use ssotray_core::ops::discovery::{Change, DiscoveryOptions, Inventory, Progress};
use ssotray_core::ops::launch::Opened;
use ssotray_core::{aws::credentials, Engine, EngineError, Selector};
use std::io::{IsTerminal, Write};
use std::time::Duration;

fn session_target(
    engine: &Engine,
    config: &AwsConfig,
    name: Option<String>,
) -> Result<SsoTarget, EngineError> {
    let selector = match name {
        Some(n) => Selector::Session(n),
        None => default_selector(engine, config).ok_or_else(|| {
            EngineError::UnknownTarget(format!(
                "say which session: --sso-session NAME (known: {})",
                names(config)
            ))
        })?,
    };
    engine.resolve(config, &selector)
}

/// A profile's target, account and role.
pub(crate) fn profile_role(
    engine: &Engine,
    config: &AwsConfig,
    profile: &str,
) -> Result<ProfileRole, EngineError> {
    engine.profile_role(config, profile)
}

/// Writes to stdout; a reader that went away (`| head`) is not an error.
fn print_out(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::io("write to stdout")(e))
        }
        _ => Ok(()),
    }
}

fn print_inventory(inventory: &Inventory) -> Result<(), CliError> {
    let width = inventory
        .accounts
        .iter()
        .map(|a| a.account_name.len())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for a in &inventory.accounts {
        for r in &a.roles {
            text.push_str(&format!(
                "{}  {:width$}  {r}\n",
                a.account_id, a.account_name
            ));
        }
    }
    print_out(&text)
}

pub async fn list(
    engine: &Engine,
    session: Option<String>,
    json: bool,
    refresh: bool,
    rate_limit: Option<f64>,
) -> Result<(), CliError> {
    let config = engine.load_config()?;
    let target = session_target(engine, &config, session)?;
    let cached = engine.cached_inventory(&target)?;
    let inventory = match cached {
        Some(inv) if !refresh => {
            let age = (engine.context().clock.now() - inv.fetched_at).num_minutes();
            eprintln!(
                "Accounts of `{}` as fetched {age} min ago; `--refresh` fetches them anew",
                target.display_name()
            );
            inv
        }
        _ => {
            let interactive = std::io::stderr().is_terminal();
            let progress = move |p: Progress| {
                if interactive {
                    let total = if p.listing_done {
                        p.accounts_listed.to_string()
                    } else {
                        format!("{}+", p.accounts_listed)
                    };
                    eprint!("\rListing roles: {} of {total} accounts", p.roles_done);
                    let _ = std::io::stderr().flush();
                }
            };
            let options = rate_limit.map(|r| DiscoveryOptions {
                rate_limit: r,
                ..DiscoveryOptions::default()
            });
            let result = engine.discover(&target, options, &progress).await;
            if interactive {
                eprintln!();
            }
            let (inv, stats) = result?;
            let roles: usize = inv.accounts.iter().map(|a| a.roles.len()).sum();
            eprintln!(
                "Fetched {} accounts and {roles} roles of `{}` ({} requests, {} throttled and retried)",
                inv.accounts.len(),
                target.display_name(),
                stats.requests,
                stats.throttled
            );
            for c in &inv.changes {
                let sign = if c.change == Change::Added { '+' } else { '-' };
                eprintln!(
                    "{sign} {} ({}) {}",
                    c.account_name, c.account_id, c.role_name
                );
            }
            inv
        }
    };
    if json {
        print_out(
            &(serde_json::to_string_pretty(&inventory).expect("an account list serializes") + "\n"),
        )
    } else {
        print_inventory(&inventory)
    }
}

pub async fn console(engine: &Engine, args: ConsoleArgs) -> Result<(), CliError> {
    // Only what this profile needs, from the config's index when it is current (#32).
    let config = engine.load_config_for(&[args.profile.as_deref().unwrap_or_default()])?;
    let role = match (&args.profile, &args.sso_session) {
        (Some(p), _) => profile_role(engine, &config, p)?,
        (None, Some(s)) => ProfileRole {
            profile: String::new(),
            target: engine.resolve(&config, &Selector::Session(s.clone()))?,
            account_id: args.account_id.clone().unwrap_or_default(),
            role_name: args.role_name.clone().unwrap_or_default(),
            region: None,
            chain: Vec::new(),
        },
        (None, None) => unreachable!("clap requires one"),
    };
    let region = args
        .region
        .clone()
        .or_else(|| role.region.clone())
        .unwrap_or_else(|| role.target.region.clone());
    let destination = match &args.service {
        Some(service) => Some(
            ssotray_core::aws::console::destination_url(service, &region).map_err(|e| {
                CliError::Usage(format!("{e}; or give a console URL with --destination"))
            })?,
        ),
        None => args.destination,
    };
    let options = ConsoleOptions {
        destination,
        region: Some(region),
        portal_link: args.portal_link.then_some(true),
        session_duration: args.duration,
    };
    let url = engine.profile_console_url(&role, &options).await?;
    if args.print {
        println!("{}", url.expose());
    } else {
        let opened = engine.open_console(&role, &url)?;
        let how = match opened {
            Opened::Browser => String::new(),
            Opened::Container(name) => format!(" in Firefox container `{name}`"),
            Opened::Profile(dir) => format!(" in browser profile `{dir}`"),
        };
        eprintln!(
            "Opened the console of {} as {}{how}",
            role.final_account_id(),
            role.final_role_name()
        );
    }
    Ok(())
}

pub async fn credentials(engine: &Engine, args: CredentialsArgs) -> Result<(), CliError> {
    if let Some(name) = &args.unexport {
        let path = engine.credentials_file_path()?;
        return if engine.unexport(name).await? {
            eprintln!("Removed [{name}] from {}", path.display());
            Ok(())
        } else {
            Err(CliError::Usage(format!(
                "{} has no section [{name}] that ssotray exported",
                path.display()
            )))
        };
    }
    let profile = args.profile.clone().expect("clap requires --profile");
    if args.env {
        // `exec --server env`: the same static variables, signals forwarded.
        let exec = ExecArgs {
            profile,
            server: ServerKind::Env,
            login: args.login,
            command: args.command,
        };
        return crate::exec::run(engine, exec).await;
    }
    let config = engine.load_config_for(&[&profile])?;
    if let Some(name) = &args.export_as {
        let creds = match engine.export_credentials(&config, &profile, name).await {
            Err(e) if e.needs_login() => {
                if let Ok(role) = profile_role(engine, &config, &profile) {
                    ssotray_core::keep::owner::tell_login_needed(
                        engine,
                        role.target.display_name(),
                    )
                    .await;
                }
                return Err(e.into());
            }
            other => other?,
        };
        let keeper = match owner::socket_path(engine) {
            Some(p) => owner::ask(&p, &owner::Request::ExportsChanged, Duration::from_secs(2))
                .await
                .is_some(),
            None => false,
        };
        eprintln!(
            "Wrote [{name}] (profile {profile}) into {}; valid until {}{}",
            engine.credentials_file_path()?.display(),
            ssotray_core::platform::time::format_timestamp(creds.expiration),
            if keeper {
                "; the running keeper rewrites it before it has 15 minutes left"
            } else {
                "; no keeper is running to rewrite it before it expires: start the tray app or `ssotray keep`"
            }
        );
        return Ok(());
    }
    let role = profile_role(engine, &config, &profile)?;
    // The token this attempt will use, taken before it: if it turns out unusable, a login is
    // needed only if nobody replaced it meanwhile (read after the failure, it could already be
    // the new one, and a second login would start).
    let creds = ssotray_core::keep::owner::credentials_or_login(
        engine,
        &role,
        args.login,
        &prompt_on_stderr,
    )
    .await?;
    print_out(&if args.export {
        credentials::shell_exports(&creds)
    } else {
        credentials::credential_process_json(&creds) + "\n"
    })
}

pub async fn generate_profiles(
    engine: &Engine,
    session: &str,
    dry_run: bool,
    template: &str,
) -> Result<(), CliError> {
    let config = engine.load_config()?;
    let target = engine.resolve(&config, &Selector::Session(session.to_string()))?;
    if engine.cached_inventory(&target)?.is_none() {
        eprintln!("No account list for `{session}` yet; fetching it…");
        engine.discover(&target, None, &|_| {}).await?;
    }
    if dry_run {
        let (current, new, profiles) = engine.plan_profiles(&config, &target, template)?;
        let diff = similar::TextDiff::from_lines(&current, &new);
        let path = config.path.display().to_string();
        print_out(
            &diff
                .unified_diff()
                .context_radius(2)
                .header(&path, &format!("{path} (after)"))
                .to_string(),
        )?;
        eprintln!(
            "{} profile(s) would be written; nothing was changed (dry run)",
            profiles.len()
        );
        return Ok(());
    }
    let (profiles, changed) = engine.write_profiles(&target, template).await?;
    if !changed {
        eprintln!(
            "`{}` already has all {} profile(s) of `{session}`",
            config.path.display(),
            profiles.len()
        );
        return Ok(());
    }
    eprintln!(
        "Wrote {} profile(s) of `{session}` to `{}`",
        profiles.len(),
        one_line(&config.path.display().to_string())
    );
    Ok(())
}
