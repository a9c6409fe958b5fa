//! `ssotray container grant|revoke|rotate|list`: the grants of the long-running container
//! server (`ssotray keep --container-server`, the tray app's `[container_server]`). A grant is one
//! profile's token in a directory of its own; a container is given that directory, read-only.
//!
//! `grant` prints the `docker run` options that give a container its grant.

use crate::args::ContainerCommand;
use crate::error::CliError;
use ssotray_core::serve::credserver::profile_route;
use ssotray_core::serve::grants::TOKEN_FILE;
use ssotray_core::Engine;

/// What `rotate` says.
pub fn rotated_message(rotated: &[String]) -> String {
    if rotated.is_empty() {
        "No container grants to rotate.".to_string()
    } else {
        format!(
            "New tokens for {} container grant(s) ({}); the old tokens no longer work. Restart containers that read their token once (botocore).",
            rotated.len(),
            rotated.join(", ")
        )
    }
}

/// A word for a POSIX shell: single-quoted when it holds anything but safe characters.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The address the running container server listens on, asked of the running keeper; `None`
/// when no keeper runs or it serves no containers.
async fn running_address(engine: &Engine) -> Option<String> {
    let path = ssotray_core::keep::owner::socket_path(engine)?;
    match ssotray_core::keep::owner::ask(
        &path,
        &ssotray_core::keep::owner::Request::ContainerServer,
        std::time::Duration::from_secs(2),
    )
    .await
    {
        Some(ssotray_core::keep::owner::Reply::ContainerServer { address }) => address,
        _ => None,
    }
}

pub async fn run(engine: &Engine, command: ContainerCommand) -> Result<(), CliError> {
    match command {
        ContainerCommand::Grant { profile, address } => {
            let file = engine.grant(&profile)?;
            let dir = file.parent().expect("a grant's token is in its directory");
            // The address asked for; else the running server's (it may listen elsewhere than
            // the settings say: `keep --container-server ADDR`); else the settings'.
            let address = match address {
                Some(a) => a,
                None => match running_address(engine).await {
                    Some(a) => a,
                    None => {
                        let a = engine.settings()?.container_server.address;
                        eprintln!(
                            "No container server runs now: the line below names the settings' address ({a}); start one with `ssotray keep --container-server` or the tray app's setting."
                        );
                        a
                    }
                },
            };
            eprintln!(
                "Granted `{profile}`: its token ({}) unlocks this profile and nothing else. `ssotray container revoke {profile}` takes it away.",
                file.display()
            );
            println!(
                "docker run --rm --network host -e AWS_CONTAINER_CREDENTIALS_FULL_URI={} -e AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/run/ssotray/{TOKEN_FILE} -v {} IMAGE",
                shell_word(&format!("http://{address}{}", profile_route(&profile))),
                shell_word(&format!("{}:/run/ssotray:ro", dir.display())),
            );
            Ok(())
        }
        ContainerCommand::Revoke { profile } => {
            if engine.revoke(&profile)? {
                eprintln!("Revoked `{profile}`: its token no longer works.");
                Ok(())
            } else {
                Err(CliError::Usage(format!(
                    "`{profile}` has no container grant (`ssotray container list` shows them)"
                )))
            }
        }
        ContainerCommand::Rotate => {
            eprintln!("{}", rotated_message(&engine.rotate_grants()?));
            Ok(())
        }
        ContainerCommand::List => {
            for profile in engine.grants()? {
                println!("{profile}");
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted_when_they_need_it() {
        assert_eq!(
            shell_word("http://127.0.0.1:9911/profile/dev"),
            "http://127.0.0.1:9911/profile/dev"
        );
        assert_eq!(shell_word("/home/a b:/run:ro"), "'/home/a b:/run:ro'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
