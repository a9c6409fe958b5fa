//! `ssotray container grant|revoke|rotate|list`: the grants of the long-running container
//! server (`ssotray keep --container-server`, the tray app's `[container_server]`). A grant is one
//! profile's token in a directory of its own; a container is given that directory, read-only.

use crate::args::ContainerCommand;
use crate::error::CliError;
use ssotray_core::credserver::profile_route;
use ssotray_core::grants::TOKEN_FILE;
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

pub fn run(engine: &Engine, command: ContainerCommand) -> Result<(), CliError> {
    match command {
        ContainerCommand::Grant { profile, address } => {
            let file = engine.grant(&profile)?;
            let dir = file.parent().expect("a grant's token is in its directory");
            let address = match address {
                Some(a) => a,
                None => engine.settings()?.container_server.address,
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
