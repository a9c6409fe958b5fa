//! The outside world bundled for the core: [`Context`] holds the clock, filesystem, environment
//! and browser of [`os`](crate::platform::os), the HTTP client (built on first use), the keychain and the
//! parsed-file cache (`ParsedFiles`).

use crate::platform::os::{Browser, Clock, Env, Fs, RealFs, SystemBrowser, SystemClock};
use std::sync::Arc;

/// Everything the core needs from the outside world, bundled.
#[derive(Debug, Clone)]
pub struct Context {
    /// Wall clock.
    pub clock: Arc<dyn Clock>,
    /// Filesystem.
    pub fs: Arc<dyn Fs>,
    /// Environment variables.
    pub env: Env,
    /// Opens URLs for the user.
    pub browser: Arc<dyn Browser>,
    /// HTTP client used for every AWS call, built on first use (a command that answers from
    /// the cache never pays for it).
    pub http: LazyHttp,
    /// The OS keychain (touched only for sessions that keep their refresh token there).
    pub secrets: Arc<dyn crate::platform::keychain::SecretStore>,
    /// Files parsed so far, kept while they do not change (see [`crate::platform::files`]).
    pub parsed: Arc<crate::platform::files::ParsedFiles>,
}

/// ssotray's HTTP client cannot be built; the message says why and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HttpClientError(String);

/// An HTTP client built when first needed.
#[derive(Debug, Clone, Default)]
pub struct LazyHttp(Arc<std::sync::OnceLock<Result<reqwest::Client, HttpClientError>>>);

impl LazyHttp {
    /// The client; the first call builds ssotray's default client. Fails, each time with the
    /// same message, when it cannot be built (no CA certificates on the system).
    pub fn get(&self) -> Result<&reqwest::Client, HttpClientError> {
        self.0
            .get_or_init(default_http_client)
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl From<reqwest::Client> for LazyHttp {
    fn from(client: reqwest::Client) -> Self {
        let cell = std::sync::OnceLock::new();
        let _ = cell.set(Ok(client));
        LazyHttp(Arc::new(cell))
    }
}

impl Context {
    /// The real world: system clock, real filesystem and environment, the user's browser.
    pub fn real() -> Self {
        let env = Env::real();
        Context {
            clock: Arc::new(SystemClock),
            fs: Arc::new(RealFs),
            browser: Arc::new(SystemBrowser::new(env.clone())),
            env,
            http: LazyHttp::default(),
            secrets: Arc::new(crate::platform::keychain::OsKeychain),
            parsed: Arc::default(),
        }
    }
}

/// The HTTP client ssotray uses: rustls with the system's CA certificates (so a company's own CA
/// works as it does for every other program), a user agent, bounded timeouts, no redirects.
pub fn default_http_client() -> Result<reqwest::Client, HttpClientError> {
    reqwest::Client::builder()
        .user_agent(concat!("ssotray/", env!("CARGO_PKG_VERSION")))
        // No AWS API answers with a redirect: following one would hand the bearer token or the
        // signed credentials to whatever address it names. Nor is a Referer sent.
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| HttpClientError(http_client_problem(&e.to_string(), &format!("{e:?}"))))
}

/// What to tell the user when the HTTP client cannot be built.
fn http_client_problem(shown: &str, detail: &str) -> String {
    if detail.contains("CA certificates") {
        "this system has no CA certificates, so no HTTPS server can be checked; install them \
         (Debian/Ubuntu: `sudo apt install ca-certificates`; Fedora: `sudo dnf install ca-certificates`)"
            .into()
    } else {
        format!("cannot set up HTTPS: {shown}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_system_without_ca_certificates_is_told_what_to_install() {
        // What reqwest says when the system's certificate store is empty (seen on a minimal
        // Debian root without the ca-certificates package).
        let m = http_client_problem(
            "builder error",
            "reqwest::Error { kind: Builder, source: General(\"No CA certificates were loaded from the system\") }",
        );
        assert!(m.contains("sudo apt install ca-certificates"), "{m}");
        assert!(http_client_problem("x", "y").contains("cannot set up HTTPS: x"));
    }
}
