//! What the commands share: naming the session a command is for, one-line messages, and the
//! prompt of a login started on behalf of another command.

use ssotray_core::aws::config::AwsConfig;
use ssotray_core::ops::login::LoginPrompt;
use ssotray_core::{Engine, Selector};

pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
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
