//! `ssotray exec`: runs a command with a profile's credentials served to it by a private server
//! for as long as it runs (the container-credentials protocol by default, IMDSv2, or static
//! variables), passing on its exit status. How the command is watched over is each OS's own
//! (signals on Unix; Ctrl+C and a job object on Windows): [`child`].
//!
//! The private `CredServer` listens on 127.0.0.1:0, in the same current-thread runtime as the wait
//! for the child. The child's environment is cleaned of other credential sources.

use crate::args::{ExecArgs, ServerKind};
use crate::error::CliError;
use ssotray_core::serve::credserver::{self, CredServer, Protocol, Scope};
use ssotray_core::serve::served::ServerToken;
use ssotray_core::{AwsConfig, Engine};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Variables that would make an SDK look elsewhere than where `exec` points it (the first ones
/// also outrank the container and IMDS providers in every default chain).
const CLEARED: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_V1_DISABLED",
];

/// Keys that give a profile credentials of its own.
const CREDENTIAL_KEYS: &[&str] = &[
    "aws_access_key_id",
    "sso_session",
    "sso_start_url",
    "role_arn",
    "credential_process",
    "web_identity_token_file",
    "credential_source",
];

/// The default chains read the `default` profile before the container and IMDS providers: a
/// `[default]` with credentials of its own would be used instead of what `exec` serves.
fn warn_about_the_default_profile(engine: &Engine, config: &AwsConfig) {
    let mut found: Vec<(PathBuf, String, Vec<String>)> = Vec::new();
    if let Ok(path) = engine.credentials_file_path() {
        if let Ok(bytes) = engine.context().fs.read(&path) {
            let text = String::from_utf8_lossy(&bytes);
            if let Some(keys) = ssotray_core::aws::credfile::section_keys(&text, "default") {
                found.push((path, "default".to_string(), keys));
            }
        }
    }
    // The config's come with the config (from its index when it is current, #32).
    for (section, keys) in &config.default_keys {
        found.push((config.path.clone(), section.clone(), keys.clone()));
    }
    for (path, section, keys) in found {
        if let Some(key) = keys
            .iter()
            .find(|k| CREDENTIAL_KEYS.contains(&k.to_ascii_lowercase().as_str()))
        {
            eprintln!(
                "warning: [{section}] in `{}` has credentials of its own ({key}); AWS SDKs use them before the ones `ssotray exec` serves. Move them to a named profile.",
                path.display()
            );
        }
    }
}

#[cfg(unix)]
#[path = "exec/unix.rs"]
mod child;
#[cfg(windows)]
#[path = "exec/windows.rs"]
mod child;

pub use child::exit_code;

pub async fn run(engine: &Engine, args: ExecArgs) -> Result<(), CliError> {
    let config = engine.load_config_for(&[&args.profile])?;
    let role = engine.profile_role(&config, &args.profile)?;
    // Credentials now: a session that needs a login is said before the command starts.
    let creds = ssotray_core::keep::owner::credentials_or_login(
        engine,
        &role,
        args.login,
        &crate::common::prompt_on_stderr,
    )
    .await?;
    let region = role.region.clone();
    warn_about_the_default_profile(engine, &config);
    let (program, rest) = args.command.split_first().expect("clap requires a command");
    let mut command = tokio::process::Command::new(program);
    command.args(rest);
    for name in CLEARED {
        command.env_remove(name);
    }
    let env = &engine.context().env;
    if let Some(region) = &region {
        if env.get_non_empty("AWS_REGION").is_none()
            && env.get_non_empty("AWS_DEFAULT_REGION").is_none()
        {
            command
                .env("AWS_REGION", region)
                .env("AWS_DEFAULT_REGION", region);
        }
    }
    let mut _server = None;
    match args.server {
        ServerKind::Env => {
            command
                .env("AWS_ACCESS_KEY_ID", &creds.access_key_id)
                .env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key.expose())
                .env("AWS_SESSION_TOKEN", creds.session_token.expose())
                .env(
                    "AWS_CREDENTIAL_EXPIRATION",
                    ssotray_core::platform::time::format_timestamp(creds.expiration),
                );
        }
        kind => {
            let protocol = if kind == ServerKind::Imds {
                Protocol::Imds
            } else {
                Protocol::Container
            };
            credserver::may_serve(protocol)?;
            let listener = credserver::bind_loopback(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
            let address = listener
                .local_addr()
                .map_err(CliError::io("listen on loopback"))?;
            let hook_engine = engine.clone();
            let server = Arc::new(CredServer::new(
                engine.clone(),
                protocol,
                Scope::One(args.profile.clone()),
                address,
                ServerToken::random(&mut rand::rng(), 32),
                Arc::new(move |t| {
                    // Told in the background: the answer to the SDK does not wait for it.
                    let engine = hook_engine.clone();
                    tokio::spawn(async move {
                        ssotray_core::keep::owner::tell_login_needed(&engine, t.display_name())
                            .await
                    });
                }),
            ));
            if protocol == Protocol::Imds {
                command.env("AWS_EC2_METADATA_SERVICE_ENDPOINT", server.imds_endpoint());
            } else {
                command
                    .env(
                        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                        server.profile_url(&args.profile),
                    )
                    .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", server.token().expose());
            }
            _server = Some(tokio::spawn(server.serve(listener)));
        }
    }
    drop(creds);

    match child::run(command, program).await? {
        0 => Ok(()),
        code => Err(CliError::ChildExit(code)),
    }
}
