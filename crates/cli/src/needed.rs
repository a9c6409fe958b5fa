//! A session that needs a login: logged in once when the user asked for it (`--login`), else
//! the running keeper is told (one "Log in" notification, however many requests failed).

use ssotray_core::access::ProfileRole;
use ssotray_core::{owner, Engine, EngineError};
use std::time::Duration;

/// Tells the running keeper (if any) that `session` needs a login: one "Log in" notification,
/// however many requests failed.
pub fn tell_keeper(engine: &Engine, session: String) {
    let engine = engine.clone();
    tokio::spawn(async move { tell_keeper_now(&engine, &session).await });
}

/// Tells the running keeper (if any) that `session` needs a login, and waits for its answer.
pub async fn tell_keeper_now(engine: &Engine, session: &str) {
    if let Some(path) = owner::socket_path(engine) {
        let request = owner::Request::LoginNeeded {
            session: session.to_string(),
        };
        let _ = owner::ask(&path, &request, Duration::from_secs(2)).await;
    }
}

/// A role's credentials. A session that needs a login is logged in once with `login` (however
/// many processes ask), else it is an error, and the running keeper shows one notification.
pub(crate) async fn credentials_or_login(
    engine: &Engine,
    role: &ProfileRole,
    login: bool,
) -> Result<ssotray_core::portal::RoleCredentials, EngineError> {
    let target = &role.target;
    // The token this attempt will use, taken before it: if it turns out unusable, a login is
    // needed only if nobody replaced it meanwhile (read after the failure, it could already be
    // the new one, and a second login would start).
    let stale = owner::current_fingerprint(engine, target).await;
    match engine.profile_credentials(role).await {
        Err(e) if e.needs_login() && login => {
            crate::login_once(engine, target, stale).await?;
            engine.profile_credentials(role).await
        }
        Err(e) if e.needs_login() => {
            // With a keeper running, the user hears of it once (not once per call).
            tell_keeper_now(engine, target.display_name()).await;
            Err(e)
        }
        other => other,
    }
}
