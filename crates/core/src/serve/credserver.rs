//! ssotray's local credential endpoints: the container-credentials server (the protocol of
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI`, `spec/credential-protocols.md` §2) and an IMDSv2 endpoint
//! (§3), for `ssotray exec` and for the long-running server of the tray app and `ssotray keep`.
//!
//! The rules, whoever runs it:
//! - it listens on loopback only ([`bind_loopback`] refuses anything else) and answers only
//!   requests whose `Host` is that loopback address and port (a web page that rebinds its own
//!   name to 127.0.0.1 sends its own name, and is refused);
//! - the container protocol needs a token in `Authorization`, compared in constant time: for
//!   `exec`, the server's own random token; for the long-running server, the token of the
//!   profile's grant ([`crate::serve::grants`]), so a token unlocks its one profile; the IMDS protocol has
//!   no shared secret, so it answers only connections of this user and only with an IMDSv2 token
//!   from `PUT /latest/api/token`, as IMDSv2 does;
//! - whose connection it is, is asked once, when it is accepted ([`crate::platform::peer`]): `exec`'s
//!   servers refuse other users' connections at once, before they hold a slot; the long-running
//!   server (which containers reach as other uids) keeps this user's slots apart from everyone
//!   else's, and lets no other uid hold more than a few of theirs;
//! - a connection that has not sent a complete request head within [`HEAD_TIMEOUT`] is closed;
//! - anything else gets 403 (401 for a missing IMDS token) and a body with nothing of value;
//! - credentials come from [`Engine::role_credentials`] (the AWS CLI's cache, fetched anew with
//!   less than 15 minutes left), held in memory per role, one fetch at a time per role; a session
//!   that needs a login is never logged in from here: the answer names `ssotray login`, and the
//!   server's `login_needed` hook tells the keeper (one "Log in" notification).
//!
//! How, in short:
//! - `CredServer` runs over hyper (http1). The container protocol has a route per profile
//!   (`/profile/NAME`): `Scope::One` for `exec`, with the server's own token; `Scope::Granted` for
//!   the long-running server, each route with its grant's token. IMDSv2 hands out tokens with their
//!   TTL, for one profile.
//! - Each connection's owner is asked once, in the connection's own task
//!   (`peer::tcp_peer_off_loop`; the accept loop never waits), and decides its slot (`Admission`):
//!   `exec`'s servers and IMDS close other users' connections and those the OS cannot name
//!   (`peer::only_mine`); the long-running server keeps 128 slots for this user and 64 for the
//!   rest, at most 16 per other uid. `HEAD_TIMEOUT` is 3 s.
//! - Where the OS names no owner, `may_serve` refuses IMDS with a message.
//! - The long-running server refuses a profile with no grant before it reads or keeps anything
//!   (`Engine::grant_index`). Credentials are held per role while `fresh_enough`.
//! - The answer to a session that needs a login is a 403 naming `ssotray login NAME`, except to a
//!   client with no `User-Agent` (aws-config, which reads nothing else), which gets a 200 with
//!   `Code`/`Message`. A transient error (`EngineError::is_transient`) is answered with 503.
//! - `start_long_running` binds the configured address for the granted profiles (and removes the
//!   single token file of earlier versions).

use crate::aws::config::SsoTarget;
use crate::aws::credentials::fresh_enough;
use crate::aws::portal::RoleCredentials;
use crate::ops::engine::{Engine, EngineError};
use crate::serve::served::{container_json, error_json, imds_json, ServerToken};
use chrono::{DateTime, Utc};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{HeaderMap, Method, StatusCode};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

/// The path prefix of a profile's container-credentials route: `/profile/<name>`.
pub const PROFILE_ROUTE: &str = "/profile/";
/// What a profile name has encoded in its route: everything but unreserved URL characters.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// The longest IMDSv2 token lifetime a client may ask for (as EC2: 6 hours).
pub const IMDS_MAX_TTL: u32 = 21_600;
/// At most this many IMDS tokens are kept (the oldest go first).
const IMDS_MAX_TOKENS: usize = 1024;
/// At most this many connections of this user's at once; more are closed at once.
const MY_CONNECTIONS: usize = 128;
/// At most this many connections of other users (and of peers the platform cannot name) at once.
const OTHER_CONNECTIONS: usize = 64;
/// At most this many of those for any one other uid.
const PER_OTHER_PEER: usize = 16;
/// A connection that sends no complete request head in this time is closed (every SDK sends its
/// request at once; botocore gives up on IMDS after 1 s).
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(3);

/// Which protocol a server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Container credentials (`AWS_CONTAINER_CREDENTIALS_FULL_URI`), a route per profile.
    Container,
    /// IMDSv2 (`AWS_EC2_METADATA_SERVICE_ENDPOINT`), for one profile.
    Imds,
}

/// Which profiles a server hands out, and to whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Only this one, with the server's own token, to this user's processes (`ssotray exec`):
    /// any other route is refused.
    One(String),
    /// Each profile that has a grant, with that grant's token (the long-running server for
    /// containers, which other uids may reach).
    Granted,
}

/// Called when a request needed a login that the server will not start.
pub type LoginNeeded = Arc<dyn Fn(SsoTarget) + Send + Sync>;

/// An answer, before it becomes HTTP (its body may hold credentials: `Debug` shows its status
/// only).
#[derive(Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// The body (JSON, or text for IMDS).
    pub body: String,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl Answer {
    fn json(status: u16, body: String) -> Answer {
        Answer {
            status,
            headers: vec![("content-type", "application/json".into())],
            body,
        }
    }
    fn text(status: u16, body: impl Into<String>) -> Answer {
        Answer {
            status,
            headers: vec![("content-type", "text/plain".into())],
            body: body.into(),
        }
    }
    /// The answer to anything not allowed: nothing of value in it.
    fn refused() -> Answer {
        Answer::json(
            403,
            error_json("AccessDenied", "invalid Authorization token"),
        )
    }
}

/// The request as the server needs it (its headers hold tokens: `Debug` shows method and path).
#[derive(Clone, Copy)]
pub struct Asked<'a> {
    /// Method.
    pub method: &'a Method,
    /// Path (no query).
    pub path: &'a str,
    /// Headers.
    pub headers: &'a HeaderMap,
    /// The connecting socket's address.
    pub peer: SocketAddr,
}

impl std::fmt::Debug for Asked<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Asked")
            .field("method", self.method)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Credentials held for one role: one fetch at a time, shared by every request for it.
type Slot = Arc<tokio::sync::Mutex<Option<(RoleCredentials, DateTime<Utc>)>>>;

/// A credential server (either protocol); [`CredServer::serve`] runs it on a listener.
pub struct CredServer {
    engine: Engine,
    protocol: Protocol,
    scope: Scope,
    token: ServerToken,
    address: SocketAddr,
    login_needed: LoginNeeded,
    admission: Admission,
    held: Mutex<HashMap<(String, String, String), Slot>>,
    imds_tokens: Mutex<Vec<(ServerToken, DateTime<Utc>)>>,
    served: AtomicU64,
}

impl std::fmt::Debug for CredServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredServer")
            .field("protocol", &self.protocol)
            .field("scope", &self.scope)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// Whether `protocol` may be served here. IMDS has no secret a client must send, so it is served
/// only where the OS names whose a loopback connection is
/// ([`crate::platform::peer::names_owners_here`]); elsewhere it is refused with what to use instead, never
/// served unchecked.
pub fn may_serve(protocol: Protocol) -> Result<(), EngineError> {
    may_serve_where(protocol, crate::platform::peer::names_owners_here())
}

/// [`may_serve`], on an OS that can (or cannot) tell.
fn may_serve_where(protocol: Protocol, can_tell: bool) -> Result<(), EngineError> {
    match protocol {
        Protocol::Imds if !can_tell => Err(EngineError::Refused(
            "ssotray cannot tell on this OS which user a loopback connection comes from, and IMDS has no token to prove it, so it serves no IMDS here: use `--server ecs` (the container protocol, with its own token) or `--server env`".into(),
        )),
        _ => Ok(()),
    }
}

/// Binds a listener for a credential server, refusing any address that is not loopback.
pub async fn bind_loopback(address: SocketAddr) -> Result<TcpListener, EngineError> {
    if !address.ip().is_loopback() {
        return Err(EngineError::Refused(format!(
            "ssotray serves credentials on a loopback address only (127.0.0.1 or [::1]), not on {address}: anyone who can reach it could ask"
        )));
    }
    TcpListener::bind(address)
        .await
        .map_err(|source| EngineError::Listen {
            on: address.to_string(),
            source,
            then: "",
        })
}

impl CredServer {
    /// A server for `scope` on the listener's `address` (its `Host` check and URLs), with its own
    /// random token.
    pub fn new(
        engine: Engine,
        protocol: Protocol,
        scope: Scope,
        address: SocketAddr,
        token: ServerToken,
        login_needed: LoginNeeded,
    ) -> CredServer {
        CredServer {
            engine,
            protocol,
            scope,
            token,
            address,
            login_needed,
            admission: Admission::default(),
            held: Mutex::new(HashMap::new()),
            imds_tokens: Mutex::new(Vec::new()),
            served: AtomicU64::new(0),
        }
    }

    /// The token clients must send (container protocol, [`Scope::One`]).
    pub fn token(&self) -> &ServerToken {
        &self.token
    }

    /// The URL of a profile's container-credentials route.
    pub fn profile_url(&self, profile: &str) -> String {
        format!("http://{}{}", self.address, profile_route(profile))
    }

    /// The IMDS endpoint (`AWS_EC2_METADATA_SERVICE_ENDPOINT`).
    pub fn imds_endpoint(&self) -> String {
        format!("http://{}/", self.address)
    }

    /// How many credential answers were sent.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    /// Serves connections until the task is dropped.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        use hyper_util::rt::{TokioIo, TokioTimer};
        let local = listener.local_addr().unwrap_or(self.address);
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "credential server: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            // The owner is asked once per connection, before it may hold a slot, in the
            // connection's own task: the accept loop never waits for a look-up.
            let me = self.clone();
            tokio::spawn(async move {
                let who = crate::platform::peer::tcp_peer_off_loop(peer, local).await;
                let Some(permit) = me.admit(&who) else {
                    tracing::debug!(?who, "credential server: connection refused");
                    return;
                };
                let service = {
                    let me = me.clone();
                    hyper::service::service_fn(move |request| {
                        let me = me.clone();
                        async move { Ok::<_, std::convert::Infallible>(me.respond(request, peer).await) }
                    })
                };
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEAD_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
                drop(permit);
            });
        }
    }

    /// Whether a connection of `who` is served, and the slot it holds while it is.
    fn admit(&self, who: &crate::platform::peer::Peer) -> Option<Permit> {
        use crate::platform::peer::{OnlyMine, Peer};
        match (self.protocol, &self.scope, who) {
            (_, _, Peer::Me) => self.admission.mine(),
            // IMDS has no shared secret: the user's own connections only (and it is not
            // served at all where the OS names no owner, `may_serve`).
            (Protocol::Imds, _, _) => None,
            // `exec`'s container server (its token is `exec`'s own command's): the user's own
            // connections, and where the OS names no owner the unnamed ones, in other slots.
            (Protocol::Container, Scope::One(_), other) => {
                match crate::platform::peer::only_mine(other) {
                    Some(OnlyMine::Mine) => self.admission.mine(),
                    Some(OnlyMine::Unnamed) => self.admission.other(Peer::Unknown),
                    None => None,
                }
            }
            // The long-running server also serves other users (a container run by root, with
            // its grant's token), each capped; a connection the OS cannot name is one more
            // "other" where that is how the OS shows other users (macOS, Windows) or where it
            // names no owner, and is refused where it can only be a socket that hid from the
            // look-up (Linux).
            (Protocol::Container, Scope::Granted, Peer::Unknown)
                if !crate::platform::peer::UNKNOWN_MAY_BE_ANOTHER_USER
                    && crate::platform::peer::names_owners_here() =>
            {
                None
            }
            (Protocol::Container, Scope::Granted, other) => self.admission.other(other.clone()),
        }
    }

    async fn respond(
        &self,
        request: hyper::Request<hyper::body::Incoming>,
        peer: SocketAddr,
    ) -> hyper::Response<Full<Bytes>> {
        let asked = Asked {
            method: request.method(),
            path: request.uri().path(),
            headers: request.headers(),
            peer,
        };
        let answer = self.answer(asked).await;
        let mut response = hyper::Response::new(Full::new(Bytes::from(answer.body)));
        *response.status_mut() =
            StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        for (name, value) in answer.headers {
            if let Ok(v) = hyper::header::HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, v);
            }
        }
        response
    }

    /// The answer to one request.
    pub async fn answer(&self, asked: Asked<'_>) -> Answer {
        if !self.host_is_mine(asked.headers) || !asked.peer.ip().is_loopback() {
            return Answer::refused();
        }
        match self.protocol {
            Protocol::Container => self.container(asked).await,
            Protocol::Imds => self.imds(asked).await,
        }
    }

    /// The `Host` header names this server's loopback address and port (never another name).
    fn host_is_mine(&self, headers: &HeaderMap) -> bool {
        let Some(host) = headers
            .get(hyper::header::HOST)
            .and_then(|h| h.to_str().ok())
        else {
            return false;
        };
        let port = self.address.port();
        let names: [String; 3] = [
            match self.address.ip() {
                IpAddr::V4(ip) => format!("{ip}:{port}"),
                IpAddr::V6(ip) => format!("[{ip}]:{port}"),
            },
            format!("localhost:{port}"),
            format!("[::1]:{port}"),
        ];
        names.iter().any(|n| n.eq_ignore_ascii_case(host))
    }

    async fn container(&self, asked: Asked<'_>) -> Answer {
        if asked.method != Method::GET {
            return Answer::refused();
        }
        let Some(profile) = profile_of_route(asked.path) else {
            return Answer::refused();
        };
        let presented = asked.headers.get(hyper::header::AUTHORIZATION);
        let authorized = match &self.scope {
            Scope::One(only) => {
                *only == profile && presented.is_some_and(|v| self.token.matches(v.as_bytes()))
            }
            Scope::Granted => self.engine.granted_token(&profile).is_some_and(|t| {
                t.as_ref()
                    .as_ref()
                    .is_some_and(|t| presented.is_some_and(|v| t.matches(v.as_bytes())))
            }),
        };
        if !authorized {
            return Answer::refused();
        }
        match self.credentials(&profile).await {
            Ok((c, _)) => {
                self.served.fetch_add(1, Ordering::Relaxed);
                Answer::json(200, container_json(&c))
            }
            Err(a) if a.status < 500 && !asked.headers.contains_key(hyper::header::USER_AGENT) => {
                // aws-config (the only SDK that sends no User-Agent here) shows nothing of a 4xx
                // answer but its status, and shows `Code` and `Message` of a 200 answer (its
                // error is not retried). botocore shows a 4xx answer's body, and cannot read a
                // 200 without credentials: it keeps the 4xx.
                Answer { status: 200, ..a }
            }
            Err(a) => a,
        }
    }

    async fn imds(&self, asked: Asked<'_>) -> Answer {
        // Only this user's connections got this far (`admit`).
        let Scope::One(profile) = &self.scope else {
            return Answer::refused();
        };
        let now = self.engine.context().clock.now();
        if asked.path == "/latest/api/token" {
            if asked.method != Method::PUT {
                return Answer::text(405, "");
            }
            // As IMDSv2: a request that came through a proxy is refused.
            if asked.headers.contains_key("x-forwarded-for") {
                return Answer::refused();
            }
            let ttl = asked
                .headers
                .get("x-aws-ec2-metadata-token-ttl-seconds")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u32>().ok())
                .filter(|t| (1..=IMDS_MAX_TTL).contains(t));
            let Some(ttl) = ttl else {
                return Answer::text(400, "");
            };
            let token = ServerToken::random(&mut rand::rng(), 32);
            let text = token.expose().to_string();
            {
                let mut tokens = self.imds_tokens.lock().expect("imds tokens");
                tokens.retain(|(_, until)| *until > now);
                if tokens.len() >= IMDS_MAX_TOKENS {
                    tokens.remove(0);
                }
                tokens.push((token, now + chrono::Duration::seconds(ttl.into())));
            }
            let mut a = Answer::text(200, text);
            a.headers
                .push(("x-aws-ec2-metadata-token-ttl-seconds", ttl.to_string()));
            return a;
        }
        if asked.method != Method::GET {
            return Answer::text(405, "");
        }
        let presented = asked
            .headers
            .get("x-aws-ec2-metadata-token")
            .map(|v| v.as_bytes());
        let valid = presented.is_some_and(|p| {
            self.imds_tokens
                .lock()
                .expect("imds tokens")
                .iter()
                .any(|(t, until)| *until > now && t.matches(p))
        });
        if !valid {
            return Answer::text(401, "");
        }
        let config = match self.engine.load_config() {
            Ok(c) => c,
            Err(e) => return self.failure(e),
        };
        let role = match self.engine.profile_role(&config, profile) {
            Ok(r) => r,
            Err(e) => return self.failure(e),
        };
        let region = role
            .region
            .clone()
            .unwrap_or_else(|| role.target.region.clone());
        let (account_id, role_name) = (role.final_account_id(), role.final_role_name());
        match asked.path {
            "/latest/meta-data/iam/security-credentials"
            | "/latest/meta-data/iam/security-credentials/" => Answer::text(200, role_name),
            "/latest/meta-data/placement/region" => Answer::text(200, region),
            "/latest/meta-data/placement/availability-zone"
            | "/latest/meta-data/placement/availability-zone/" => {
                Answer::text(200, format!("{region}a"))
            }
            "/latest/dynamic/instance-identity/document" => Answer::json(
                200,
                serde_json::json!({
                    "accountId": account_id,
                    "region": region,
                    "availabilityZone": format!("{region}a"),
                    "instanceId": "i-00000000000000000",
                    "architecture": std::env::consts::ARCH,
                })
                .to_string(),
            ),
            path => match path.strip_prefix("/latest/meta-data/iam/security-credentials/") {
                Some(role) if role == role_name => match self.credentials(profile).await {
                    Ok((c, fetched)) => {
                        self.served.fetch_add(1, Ordering::Relaxed);
                        Answer::json(200, imds_json(&c, fetched))
                    }
                    Err(a) => a,
                },
                _ => Answer::text(404, ""),
            },
        }
    }

    /// The credentials of a profile: held while fresh enough, else from the engine (one fetch
    /// at a time per role).
    async fn credentials(&self, profile: &str) -> Result<(RoleCredentials, DateTime<Utc>), Answer> {
        let config = self.engine.load_config().map_err(|e| self.failure(e))?;
        let role = self
            .engine
            .profile_role(&config, profile)
            .map_err(|e| self.failure(e))?;
        let target = role.target.clone();
        // A chained profile is its own role: the SSO role and each role assumed on top of it.
        let mut chained = role.role_name.clone();
        for step in &role.chain {
            chained.push('>');
            chained.push_str(&crate::aws::chain::cache_key(step));
        }
        let key = (
            target.cache_id().to_string(),
            role.account_id.clone(),
            chained,
        );
        let slot = self
            .held
            .lock()
            .expect("held")
            .entry(key.clone())
            .or_default()
            .clone();
        let mut held = slot.lock().await;
        let now = self.engine.context().clock.now();
        if let Some((c, at)) = held.as_ref() {
            // Held only while the session is logged in: after a logout (its token file gone)
            // the server says to log in, as the AWS CLI's emptied cache would.
            let logged_in = self
                .engine
                .token_path(&target)
                .ok()
                .is_some_and(|p| !matches!(self.engine.context().fs.stamp(&p), Ok(None)));
            if fresh_enough(c, now) && logged_in {
                return Ok((c.clone(), *at));
            }
        }
        match self.engine.profile_credentials(&role).await {
            Ok(c) => {
                *held = Some((c.clone(), now));
                Ok((c, now))
            }
            Err(e) => {
                *held = None;
                if e.needs_login() {
                    (self.login_needed)(target);
                }
                Err(self.failure(e))
            }
        }
    }

    /// An engine error as an answer: what may pass by itself is a 503 (retried); a login or
    /// anything else is the user's to fix (4xx, not retried; the message says how).
    fn failure(&self, e: EngineError) -> Answer {
        let message = format!("ssotray: {e}");
        if e.needs_login() {
            Answer::json(403, error_json("LoginRequired", &message))
        } else if e.is_transient() {
            Answer::json(503, error_json("ServiceUnavailable", &message))
        } else {
            Answer::json(400, error_json("ConfigurationError", &message))
        }
    }
}

/// The long-running container server (tray app, `ssotray keep`), once started.
#[derive(Debug)]
pub struct Running {
    /// The server.
    pub server: Arc<CredServer>,
    /// The address it listens on.
    pub address: SocketAddr,
    /// Where the grants are (a directory per profile, [`crate::serve::grants`]).
    pub grants_dir: std::path::PathBuf,
    /// The serving task (aborted when this is dropped).
    pub task: AbortOnDrop,
}

/// A task aborted when its handle is dropped.
#[derive(Debug)]
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts the long-running container server on `address` (loopback only), with a route per
/// granted profile. Whether the single token of earlier versions was found (and removed).
pub async fn start_long_running(
    engine: &Engine,
    address: &str,
    login_needed: LoginNeeded,
) -> Result<(Running, bool), EngineError> {
    let address: SocketAddr = address.parse().map_err(|_| {
        EngineError::Refused(format!(
            "`{address}` is not an address and port such as 127.0.0.1:9911"
        ))
    })?;
    let listener = bind_loopback(address).await?;
    let address = listener
        .local_addr()
        .map_err(|source| EngineError::Listen {
            on: address.to_string(),
            source,
            then: "",
        })?;
    let grants_dir = engine.grants_dir()?;
    // Grants of earlier versions get this version's names; half-made ones go.
    engine.migrate_grants();
    let old = engine.paths().old_container_token()?;
    let had_old_token = engine.context().fs.remove(&old).is_ok();
    let server = Arc::new(CredServer::new(
        engine.clone(),
        Protocol::Container,
        Scope::Granted,
        address,
        // Never presented: every route of this server takes its grant's token.
        ServerToken::random(&mut rand::rng(), 32),
        login_needed,
    ));
    let task = AbortOnDrop(tokio::spawn(server.clone().serve(listener)));
    Ok((
        Running {
            server,
            address,
            grants_dir,
            task,
        },
        had_old_token,
    ))
}

/// How many connections each other peer holds.
type PeerCounts = Arc<Mutex<HashMap<crate::platform::peer::Peer, usize>>>;

/// A connection's slot, given back when it closes.
#[derive(Debug)]
struct Permit {
    _slot: tokio::sync::OwnedSemaphorePermit,
    peer: Option<(crate::platform::peer::Peer, PeerCounts)>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some((peer, counts)) = &self.peer {
            let mut counts = counts.lock().expect("peer counts");
            if let Some(n) = counts.get_mut(peer) {
                *n -= 1;
                if *n == 0 {
                    counts.remove(peer);
                }
            }
        }
    }
}

/// The connection slots: this user's apart from everyone else's, and a cap per other peer, so
/// that no other user can hold the slots this user's programs need.
#[derive(Debug)]
struct Admission {
    mine: Arc<tokio::sync::Semaphore>,
    others: Arc<tokio::sync::Semaphore>,
    per_peer: PeerCounts,
}

impl Default for Admission {
    fn default() -> Self {
        Admission {
            mine: Arc::new(tokio::sync::Semaphore::new(MY_CONNECTIONS)),
            others: Arc::new(tokio::sync::Semaphore::new(OTHER_CONNECTIONS)),
            per_peer: Arc::default(),
        }
    }
}

impl Admission {
    fn mine(&self) -> Option<Permit> {
        let slot = self.mine.clone().try_acquire_owned().ok()?;
        Some(Permit {
            _slot: slot,
            peer: None,
        })
    }

    fn other(&self, peer: crate::platform::peer::Peer) -> Option<Permit> {
        let mut counts = self.per_peer.lock().expect("peer counts");
        if counts.get(&peer).copied().unwrap_or(0) >= PER_OTHER_PEER {
            return None;
        }
        let slot = self.others.clone().try_acquire_owned().ok()?;
        *counts.entry(peer.clone()).or_default() += 1;
        Some(Permit {
            _slot: slot,
            peer: Some((peer, self.per_peer.clone())),
        })
    }
}

/// The route of a profile's credentials: `/profile/<name>`, the name percent-encoded.
pub fn profile_route(profile: &str) -> String {
    format!(
        "{PROFILE_ROUTE}{}",
        percent_encoding::utf8_percent_encode(profile, PATH_SEGMENT)
    )
}

/// The profile a route names: percent-decoded as a path (a `+` stays a `+`); `None` for another
/// path or a name that is not UTF-8.
pub fn profile_of_route(path: &str) -> Option<String> {
    let name = path.strip_prefix(PROFILE_ROUTE)?;
    percent_encoding::percent_decode_str(name)
        .decode_utf8()
        .ok()
        .map(|p| p.into_owned())
        .filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn imds_is_refused_with_what_to_use_where_the_os_cannot_tell_whose_a_connection_is() {
        let refused = may_serve_where(Protocol::Imds, false)
            .unwrap_err()
            .to_string();
        assert!(refused.contains("--server ecs"), "{refused}");
        assert!(may_serve_where(Protocol::Imds, true).is_ok());
        assert!(may_serve_where(Protocol::Container, false).is_ok());
        assert_eq!(
            may_serve(Protocol::Imds).is_ok(),
            crate::platform::peer::names_owners_here()
        );
    }

    use super::*;

    #[test]
    fn a_profile_name_survives_its_route() {
        for name in ["dev", "a b+c", "team/prod", "ünï", "x%41"] {
            let route = profile_route(name);
            assert!(!route[PROFILE_ROUTE.len()..].contains('/'), "{route}");
            assert_eq!(profile_of_route(&route).as_deref(), Some(name), "{route}");
        }
        assert_eq!(profile_of_route("/profile/a+b").as_deref(), Some("a+b"));
        assert_eq!(profile_of_route("/profile/%FF"), None);
        assert_eq!(profile_of_route("/profile/"), None);
        assert_eq!(profile_of_route("/latest/api/token"), None);
    }
}
