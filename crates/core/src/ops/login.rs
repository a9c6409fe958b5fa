//! The two interactive logins: device code (spec §1.2) and authorization code with PKCE (spec §1.3).
//!
//! The PKCE callback listener is stricter than the AWS CLI's: it binds 127.0.0.1 only, answers
//! only `/oauth/callback`, checks `state`, accepts exactly one callback and gives up after a deadline.
//!
//! The device-code poll loop: an immediate first try, then every `interval` (a `slow_down` adds
//! 5 s), until expiry. PKCE: the verifier, its S256 challenge and the `/authorize` URL. The callback
//! listener is `CallbackListener`. `Flow` (device code or browser) lives here, the lower module,
//! for everyone who names a flow.

use crate::aws::error::ErrorCode;
use crate::aws::oidc::{
    ApiError, DeviceAuthorization, Grant, OidcClient, Registration, TokenResponse,
};
use crate::platform::secret::Secret;
use base64::Engine as _;
use rand::Rng;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use url::Url;

/// How to log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flow {
    /// Authorization code with PKCE through the browser.
    Browser,
    /// Device code.
    DeviceCode,
}

impl Flow {
    /// Its name in settings and file names (`browser`, `device-code`).
    pub fn key(self) -> &'static str {
        match self {
            Flow::Browser => "browser",
            Flow::DeviceCode => "device-code",
        }
    }
}

/// The redirect URI registered for PKCE: no port, as the AWS CLI registers it.
pub const REGISTERED_REDIRECT_URI: &str = "http://127.0.0.1/oauth/callback";
/// The callback path.
pub const CALLBACK_PATH: &str = "/oauth/callback";

/// What the user has to see or do while a login is pending.
#[derive(Debug, Clone)]
pub enum LoginPrompt {
    /// Device code: open `verification_uri` and enter `user_code` (or open the complete URI).
    DeviceCode {
        /// The code to confirm.
        user_code: String,
        /// Page to open.
        verification_uri: String,
        /// Page with the code filled in.
        verification_uri_complete: String,
    },
    /// Browser flow: open this `/authorize` URL.
    Browser {
        /// The URL.
        authorize_url: String,
    },
}

/// How a login ended without a token.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The user pressed Deny.
    #[error("sign-in was denied")]
    Denied,
    /// The device code expired before approval.
    #[error("the device code expired before it was approved")]
    DeviceCodeExpired,
    /// Nobody completed the browser sign-in in time.
    #[error("no sign-in arrived within {0} s")]
    TimedOut(u64),
    /// The browser could not be opened.
    #[error("cannot open a browser: {0}")]
    Browser(std::io::Error),
    /// The loopback listener could not be set up.
    #[error("cannot listen on 127.0.0.1 for the browser's answer: {0}")]
    Listener(std::io::Error),
    /// An API call failed.
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// Polls CreateToken for an approved device code: once at once, then every `interval`
/// seconds, 5 more after each `SlowDownException`, until approval, denial or expiry.
pub async fn poll_device_token(
    oidc: &OidcClient,
    registration: &Registration,
    authorization: &DeviceAuthorization,
) -> Result<TokenResponse, LoginError> {
    // Bounded so that absurd server values cannot overflow the clock arithmetic.
    let mut interval = authorization
        .interval
        .filter(|i| *i > 0)
        .unwrap_or(5)
        .min(600) as u64;
    let deadline = tokio::time::Instant::now()
        + Duration::from_secs(authorization.expires_in.clamp(1, 24 * 3600) as u64);
    let grant = Grant::DeviceCode(authorization.device_code.clone());
    loop {
        match oidc.create_token(registration, &grant).await {
            Ok(token) => return Ok(token),
            Err(ApiError::Service(e)) => match e.code {
                ErrorCode::AuthorizationPending => {}
                ErrorCode::SlowDown => interval = (interval + 5).min(600),
                ErrorCode::ExpiredToken => return Err(LoginError::DeviceCodeExpired),
                ErrorCode::AccessDenied => return Err(LoginError::Denied),
                _ => return Err(LoginError::Api(ApiError::Service(e))),
            },
            Err(e) => return Err(e.into()),
        }
        let next = tokio::time::Instant::now() + Duration::from_secs(interval);
        if next > deadline + Duration::from_secs(interval) {
            // The server should have said ExpiredTokenException by now; do not poll forever.
            return Err(LoginError::DeviceCodeExpired);
        }
        tokio::time::sleep_until(next).await;
    }
}

/// A PKCE verifier and its S256 challenge.
#[derive(Debug)]
pub struct Pkce {
    /// 64 characters from `[A-Za-z0-9-._~]`.
    pub verifier: Secret,
    /// base64url(sha256(verifier)) without padding.
    pub challenge: String,
}

impl Pkce {
    /// A fresh random verifier.
    pub fn generate() -> Pkce {
        const ALPHABET: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
        let mut rng = rand::rng();
        let verifier: String = (0..64)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        Pkce::from_verifier(verifier)
    }

    /// The challenge for a given verifier.
    pub fn from_verifier(verifier: String) -> Pkce {
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes()));
        Pkce {
            verifier: Secret::new(verifier),
            challenge,
        }
    }
}

/// The `/authorize` URL: scheme and host (and port) of the OIDC endpoint, without its path.
pub fn authorize_url(
    oidc_endpoint: &Url,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    challenge: &str,
    scopes: &[String],
) -> Url {
    let mut url = oidc_endpoint.clone();
    url.set_path("/authorize");
    url.set_query(None);
    url.set_fragment(None);
    // Built by hand so that scopes are joined with %20, as the AWS CLI sends them.
    let enc = |s: &str| {
        url::form_urlencoded::byte_serialize(s.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
    };
    let query = format!(
        "response_type=code&client_id={}&redirect_uri={}&state={}&code_challenge_method=S256&scopes={}&code_challenge={}",
        enc(client_id),
        enc(redirect_uri),
        enc(state),
        enc(&scopes.join(" ")),
        enc(challenge),
    );
    url.set_query(Some(&query));
    url
}

/// A bound loopback listener waiting for one OAuth callback.
#[derive(Debug)]
pub struct CallbackListener {
    listener: TcpListener,
    port: u16,
}

/// The callback's outcome.
#[derive(Debug)]
enum Callback {
    /// The code, and the browser's connection, answered once the code was exchanged.
    Code(Secret, CallbackPage),
    Denied,
}

/// The browser's request that brought the code, still waiting for its page: "Signed in" only
/// once the code was exchanged for a token, else the failure. Dropped unanswered, the browser
/// sees the connection close.
#[derive(Debug)]
pub struct CallbackPage(TcpStream);

impl CallbackPage {
    /// Answers "Signed in".
    pub async fn signed_in(mut self) {
        respond(&mut self.0, "200 OK", PAGE_SIGNED_IN).await;
    }

    /// Answers that the sign-in did not complete.
    pub async fn failed(mut self) {
        respond(&mut self.0, "200 OK", PAGE_FAILED).await;
    }
}

impl CallbackListener {
    /// Binds 127.0.0.1 on a free port.
    pub async fn bind() -> Result<CallbackListener, LoginError> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(LoginError::Listener)?;
        let port = listener.local_addr().map_err(LoginError::Listener)?.port();
        Ok(CallbackListener { listener, port })
    }

    /// The redirect URI with the listener's port, as sent to CreateToken.
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}{CALLBACK_PATH}", self.port)
    }

    /// Waits for the one callback with the right `state`, or the deadline. Each connection is
    /// handled on its own task, so a browser's idle pre-connection cannot hold up the real one.
    /// The browser's request is answered by the caller, through the returned [`CallbackPage`].
    pub async fn wait(
        self,
        state: String,
        timeout: Duration,
    ) -> Result<(Secret, CallbackPage), LoginError> {
        let (tx, mut rx) = mpsc::channel::<Callback>(1);
        // The user's own connections have slots of their own: no one else's can take them.
        let mine = Arc::new(tokio::sync::Semaphore::new(CALLBACK_CONNECTIONS));
        let unnamed = Arc::new(tokio::sync::Semaphore::new(CALLBACK_CONNECTIONS));
        let local = self.listener.local_addr().map_err(LoginError::Listener)?;
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let result = loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(accepted) => accepted,
                        Err(e) => {
                            // Out of file descriptors, say: wait a moment instead of spinning.
                            tracing::warn!(error = %e, "cannot accept the browser's connection");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    };
                    let tx = tx.clone();
                    let state = state.clone();
                    let (mine, unnamed) = (mine.clone(), unnamed.clone());
                    tokio::spawn(async move {
                        // The browser is this user's: another user's connection, or one whose
                        // owner the OS cannot name (where it names owners), is closed at once,
                        // before it holds a slot (looked up in this task: the accept loop never
                        // waits for it). A few connections at a time are enough for a browser.
                        let who = crate::platform::peer::tcp_peer_off_loop(peer, local).await;
                        let slots = match crate::platform::peer::only_mine(&who) {
                            Some(crate::platform::peer::OnlyMine::Mine) => mine,
                            Some(crate::platform::peer::OnlyMine::Unnamed) => unnamed,
                            None => {
                                tracing::debug!(?who, "refused a connection to the callback listener");
                                return;
                            }
                        };
                        let Ok(_slot) = slots.try_acquire_owned() else {
                            return;
                        };
                        if let Some(callback) = handle_connection(stream, &state).await {
                            if let Err(mpsc::error::TrySendError::Full(Callback::Code(_, page)) | mpsc::error::TrySendError::Closed(Callback::Code(_, page))) = tx.try_send(callback) {
                                page.failed().await;
                            }
                        }
                    });
                }
                Some(callback) = rx.recv() => break match callback {
                    Callback::Code(code, page) => Ok((code, page)),
                    Callback::Denied => Err(LoginError::Denied),
                },
                _ = &mut deadline => break Err(LoginError::TimedOut(timeout.as_secs())),
            }
        };
        // Dropping the listener here: no second callback is accepted.
        drop(self.listener);
        result
    }
}

/// At most this many connections to the callback listener at once (a browser opens one or two,
/// with a pre-connect); more are closed at once.
pub const CALLBACK_CONNECTIONS: usize = 16;

const PAGE_SIGNED_IN: &str = "<!doctype html><title>ssotray</title><h1>Signed in</h1><p>ssotray has your sign-in. You can close this tab.</p>";
const PAGE_FAILED: &str = "<!doctype html><title>ssotray</title><h1>Sign-in did not complete</h1><p>Identity Center answered, but ssotray could not finish the sign-in. ssotray says why; try again from there. You can close this tab.</p>";
const PAGE_DENIED: &str = "<!doctype html><title>ssotray</title><h1>Sign-in denied</h1><p>ssotray did not get access. You can close this tab.</p>";
const PAGE_WRONG_STATE: &str = "<!doctype html><title>ssotray</title><h1>Unexpected sign-in answer</h1><p>This answer does not belong to the login ssotray started, so it was ignored.</p>";

async fn respond(stream: &mut TcpStream, status: &str, body: &str) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// What one request to the callback listener is.
#[derive(Debug, PartialEq, Eq)]
pub enum CallbackRequest {
    /// More bytes are needed (and may come: the request is still short enough).
    Partial,
    /// Not an HTTP request, or too long.
    Bad,
    /// Another path or method.
    NotFound,
    /// The callback, but with another login's `state`.
    WrongState,
    /// The sign-in's code.
    Code(String),
    /// The user denied, or Identity Center sent an error.
    Denied,
}

/// Reads the bytes of one request to the callback listener (pure: the fuzzed parser).
pub fn parse_callback(bytes: &[u8], expected_state: &str) -> CallbackRequest {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    let (method, target) = match request.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => match (request.method, request.path) {
            (Some(m), Some(p)) => (m, p),
            _ => return CallbackRequest::Bad,
        },
        Ok(httparse::Status::Partial) if bytes.len() < 16 * 1024 => {
            return CallbackRequest::Partial
        }
        _ => return CallbackRequest::Bad,
    };
    let Ok(url) = Url::parse(&format!("http://127.0.0.1{target}")) else {
        return CallbackRequest::NotFound;
    };
    if method != "GET" || url.path() != CALLBACK_PATH {
        return CallbackRequest::NotFound;
    }
    let (mut state, mut code, mut error) = (None, None, None);
    for (k, v) in url.query_pairs() {
        match &*k {
            "state" => state = Some(v.into_owned()),
            "code" => code = Some(v.into_owned()),
            "error" => error = Some(v.into_owned()),
            _ => {}
        }
    }
    if state.as_deref() != Some(expected_state) {
        return CallbackRequest::WrongState;
    }
    match (code, error) {
        (Some(code), None) => CallbackRequest::Code(code),
        _ => CallbackRequest::Denied,
    }
}

/// Reads one request; answers it unless it carries the code (that answer waits for the
/// exchange); returns the callback it carried, if it is the right one.
async fn handle_connection(mut stream: TcpStream, expected_state: &str) -> Option<Callback> {
    let mut buf = Vec::with_capacity(2048);
    let parsed = tokio::time::timeout(Duration::from_secs(30), async {
        let mut chunk = [0u8; 2048];
        loop {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
            match parse_callback(&buf, expected_state) {
                CallbackRequest::Partial => continue,
                other => return Some(other),
            }
        }
    })
    .await
    .ok()
    .flatten()
    .unwrap_or(CallbackRequest::Bad);
    match parsed {
        CallbackRequest::Code(code) => {
            Some(Callback::Code(Secret::new(code), CallbackPage(stream)))
        }
        CallbackRequest::Denied => {
            respond(&mut stream, "200 OK", PAGE_DENIED).await;
            Some(Callback::Denied)
        }
        CallbackRequest::WrongState => {
            respond(&mut stream, "400 Bad Request", PAGE_WRONG_STATE).await;
            None
        }
        CallbackRequest::NotFound => {
            respond(&mut stream, "404 Not Found", "not found").await;
            None
        }
        CallbackRequest::Partial | CallbackRequest::Bad => {
            respond(&mut stream, "400 Bad Request", "bad request").await;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_is_unpadded_base64url_sha256() {
        // Expected value computed independently with Python's hashlib and base64.
        let p = Pkce::from_verifier("dBjftJeZ4CVP-mJ0kzfqDkmYpYWlE5aR0n9Bw8kvvs0".into());
        assert_eq!(p.challenge, "R9jrPNBYKx1KfMIib4FmiQ7m7dhaHzPAHdjT6hZl70g");
        let g = Pkce::generate();
        assert_eq!(g.verifier.expose().len(), 64);
        assert_eq!(g.challenge.len(), 43);
    }

    #[test]
    fn authorize_url_uses_only_scheme_and_host_and_plural_scopes() {
        let base = Url::parse("http://127.0.0.1:4000/some/prefix").unwrap();
        let url = authorize_url(
            &base,
            "cid",
            "http://127.0.0.1:5000/oauth/callback",
            "st",
            "ch",
            &["sso:account:access".into(), "b".into()],
        );
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:4000/authorize?response_type=code&client_id=cid&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Foauth%2Fcallback&state=st&code_challenge_method=S256&scopes=sso%3Aaccount%3Aaccess%20b&code_challenge=ch"
        );
    }

    async fn get(port: u16, path: &str) -> (String, String) {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        let status = out.lines().next().unwrap_or("").to_string();
        (status, out)
    }

    #[tokio::test]
    async fn listener_checks_path_and_state_and_takes_one_callback() {
        let l = CallbackListener::bind().await.unwrap();
        let port = l.port;
        assert_eq!(
            l.redirect_uri(),
            format!("http://127.0.0.1:{port}/oauth/callback")
        );
        let waiter = tokio::spawn(l.wait("good".into(), Duration::from_secs(20)));
        // An idle connection (a browser pre-connect) must not block the real callback.
        let _idle = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        assert!(get(port, "/other?code=c&state=good")
            .await
            .0
            .contains("404"));
        assert!(get(port, "/oauth/callback?code=c&state=bad")
            .await
            .0
            .contains("400"));
        let browser = tokio::spawn(get(port, "/oauth/callback?code=the-code&state=good"));
        let (code, page) = waiter.await.unwrap().unwrap();
        assert_eq!(code.expose(), "the-code");
        // The browser has no page yet: "Signed in" comes only after the code was exchanged.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!browser.is_finished(), "answered before the exchange");
        page.signed_in().await;
        let (status, body) = browser.await.unwrap();
        assert!(status.contains("200"), "{status}");
        assert!(body.contains("<h1>Signed in</h1>"));
        // Exactly one: the listener is gone.
        assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
    }

    #[tokio::test]
    async fn the_listener_caps_its_connections() {
        let l = CallbackListener::bind().await.unwrap();
        let port = l.port;
        let waiter = tokio::spawn(l.wait("s".into(), Duration::from_secs(20)));
        // Connections that send nothing hold every slot…
        let mut idle = Vec::new();
        for _ in 0..CALLBACK_CONNECTIONS {
            idle.push(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        // …so one more is closed at once, unread.
        let mut extra = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let mut buf = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(5), extra.read(&mut buf))
            .await
            .expect("closed at once, not left waiting")
            .unwrap_or(0);
        assert_eq!(n, 0, "the connection beyond the cap is closed");
        // A slot given back lets the callback in.
        drop(idle.pop());
        tokio::time::sleep(Duration::from_millis(200)).await;
        let browser = tokio::spawn(get(port, "/oauth/callback?code=c&state=s"));
        let (code, page) = waiter.await.unwrap().unwrap();
        assert_eq!(code.expose(), "c");
        page.signed_in().await;
        assert!(browser.await.unwrap().0.contains("200"));
    }

    #[tokio::test]
    async fn listener_reports_a_denial_and_times_out() {
        let l = CallbackListener::bind().await.unwrap();
        let port = l.port;
        let waiter = tokio::spawn(l.wait("s".into(), Duration::from_secs(20)));
        get(port, "/oauth/callback?error=access_denied&state=s").await;
        assert!(matches!(waiter.await.unwrap(), Err(LoginError::Denied)));

        let l = CallbackListener::bind().await.unwrap();
        let r = l.wait("s".into(), Duration::from_millis(50)).await;
        assert!(matches!(r, Err(LoginError::TimedOut(_))));
    }

    #[tokio::test]
    async fn a_failed_exchange_shows_the_failure_not_signed_in() {
        let l = CallbackListener::bind().await.unwrap();
        let port = l.port;
        let waiter = tokio::spawn(l.wait("s".into(), Duration::from_secs(20)));
        let browser = tokio::spawn(get(port, "/oauth/callback?code=c&state=s"));
        let (_, page) = waiter.await.unwrap().unwrap();
        page.failed().await;
        let (_, body) = browser.await.unwrap();
        assert!(
            body.contains("Sign-in did not complete") && !body.contains("Signed in"),
            "{body}"
        );
    }
}
