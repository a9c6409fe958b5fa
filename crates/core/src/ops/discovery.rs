//! Account and role discovery at the portal's rate limit: ListAccounts pages feed a bounded pool
//! of ListAccountRoles calls, all paced by one client-side rate limiter, every call retried on
//! throttling and server faults. An ended session stops everything at once.
//!
//! One listing task feeds the pool; the `RateLimiter` spaces calls evenly; progress is reported as
//! it goes. `Inventory` is the kept list; `diff` tells the roles added and removed.

use crate::aws::error::ErrorCode;
use crate::aws::oidc::ApiError;
use crate::aws::portal::{PortalClient, RetryPolicy};
use crate::platform::secret::Secret;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Mutex, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The portal's page size limit.
pub const MAX_PAGE: u32 = 100;

/// Paces calls to at most `per_second`, evenly spaced (no bursts), across all tasks.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Option<Duration>,
    next: Mutex<Instant>,
}

impl RateLimiter {
    /// A limiter of `per_second` calls; 0 or less means unlimited.
    pub fn new(per_second: f64) -> Self {
        // At least one call a minute, at most a million a second: no absurd or non-finite intervals.
        let interval = (per_second > 0.0 && per_second.is_finite())
            .then(|| Duration::from_secs_f64(1.0 / per_second.clamp(1.0 / 60.0, 1e6)));
        RateLimiter {
            interval,
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits for the next free slot.
    pub async fn acquire(&self) {
        let Some(interval) = self.interval else {
            return;
        };
        let slot = {
            let mut next = self.next.lock().await;
            let (slot, following) = next_slot(Instant::now(), *next, interval);
            *next = following;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// The slot a call gets (`now`, or the next free one if that is later) and the slot after it.
fn next_slot(now: Instant, next_free: Instant, interval: Duration) -> (Instant, Instant) {
    let slot = next_free.max(now);
    (slot, slot + interval)
}

/// How discovery runs.
#[derive(Debug, Clone, Copy)]
pub struct DiscoveryOptions {
    /// Portal requests per second (the portal allows about 20 per user).
    pub rate_limit: f64,
    /// ListAccountRoles calls in flight at once.
    pub concurrency: usize,
    /// Retries of throttled or failed calls.
    pub retry: RetryPolicy,
}

impl Default for DiscoveryOptions {
    fn default() -> Self {
        DiscoveryOptions {
            rate_limit: 20.0,
            concurrency: 16,
            retry: RetryPolicy::default(),
        }
    }
}

/// One account and the roles the user has in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountRoles {
    /// 12-digit id.
    pub account_id: String,
    /// Name (may be empty).
    pub account_name: String,
    /// Root email, when the portal gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    /// Role (permission set) names.
    pub roles: Vec<String>,
}

/// Whether a role appeared or went away between two listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// New since the previous list.
    Added,
    /// Gone since the previous list.
    Removed,
}

/// One role added or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleChange {
    /// Added or removed.
    pub change: Change,
    /// Account id.
    pub account_id: String,
    /// Account name.
    pub account_name: String,
    /// Role name.
    pub role_name: String,
}

/// Roles added and removed from `old` to `new`, sorted by account then role.
pub fn diff(old: &[AccountRoles], new: &[AccountRoles]) -> Vec<RoleChange> {
    let pairs = |list: &[AccountRoles]| -> BTreeMap<(String, String), String> {
        list.iter()
            .flat_map(|a| {
                a.roles
                    .iter()
                    .map(move |r| ((a.account_id.clone(), r.clone()), a.account_name.clone()))
            })
            .collect()
    };
    let (old, new) = (pairs(old), pairs(new));
    let keys: BTreeSet<_> = old.keys().chain(new.keys()).cloned().collect();
    keys.into_iter()
        .filter_map(|key| {
            let change = match (old.get(&key), new.get(&key)) {
                (None, Some(_)) => Change::Added,
                (Some(_), None) => Change::Removed,
                _ => return None,
            };
            let account_name = new.get(&key).or(old.get(&key)).cloned().unwrap_or_default();
            Some(RoleChange {
                change,
                account_id: key.0,
                account_name,
                role_name: key.1,
            })
        })
        .collect()
}

/// How far discovery has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Accounts listed so far.
    pub accounts_listed: usize,
    /// Whether every page of accounts is in (so `accounts_listed` is the total).
    pub listing_done: bool,
    /// Accounts whose roles are known.
    pub roles_done: usize,
}

/// What discovery cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiscoveryStats {
    /// Requests sent, retries included.
    pub requests: u64,
    /// Answers that were throttling (429).
    pub throttled: u64,
    /// Calls that failed for good (0 when discovery succeeds).
    pub failed: u64,
}

/// Why discovery stopped.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The portal session ended (UnauthorizedException).
    #[error("the portal session ended")]
    SessionEnded,
    /// A call failed even after retries.
    #[error(transparent)]
    Api(ApiError),
}

struct Counters {
    requests: AtomicU64,
    throttled: AtomicU64,
}

fn classify(e: ApiError) -> DiscoveryError {
    match &e {
        ApiError::Service(s) if s.code == ErrorCode::Unauthorized || s.status == 401 => {
            DiscoveryError::SessionEnded
        }
        _ => DiscoveryError::Api(e),
    }
}

/// Lists every account and its roles. `progress` is called as accounts and roles come in.
pub async fn discover(
    portal: &PortalClient,
    token: &Secret,
    options: DiscoveryOptions,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<(Vec<AccountRoles>, DiscoveryStats), DiscoveryError> {
    let limiter = Arc::new(RateLimiter::new(options.rate_limit));
    let counters = Arc::new(Counters {
        requests: AtomicU64::new(0),
        throttled: AtomicU64::new(0),
    });
    let (tx, mut rx) = mpsc::unbounded_channel();

    // The pages are walked in their own task, so roles are fetched while pages still come in.
    let lister = {
        let (portal, token, limiter, counters) = (
            portal.clone(),
            token.clone(),
            limiter.clone(),
            counters.clone(),
        );
        let retry = options.retry;
        tokio::spawn(async move {
            let mut next: Option<String> = None;
            let mut seen_tokens = BTreeSet::new();
            loop {
                let page = retry
                    .run(
                        || {
                            let (limiter, counters, portal, token, next) =
                                (&limiter, &counters, &portal, &token, next.clone());
                            async move {
                                limiter.acquire().await;
                                counters.requests.fetch_add(1, Ordering::Relaxed);
                                portal.list_accounts(token, next.as_deref(), MAX_PAGE).await
                            }
                        },
                        &|e| count_throttle(&counters, e),
                    )
                    .await
                    .map_err(classify)?;
                for account in page.0 {
                    if tx.send(account).is_err() {
                        return Ok(());
                    }
                }
                match page.1 {
                    // A repeated token would loop forever; botocore fails the same way.
                    Some(t) if !seen_tokens.insert(t.clone()) => {
                        return Err(DiscoveryError::Api(ApiError::Decode {
                            endpoint: "portal".into(),
                            reason: "ListAccounts repeated a nextToken".into(),
                        }))
                    }
                    Some(t) => next = Some(t),
                    None => return Ok(()),
                }
            }
        })
    };

    let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut tasks: JoinSet<Result<(usize, Vec<String>), DiscoveryError>> = JoinSet::new();
    let mut accounts = Vec::new();
    let mut roles: Vec<Option<Vec<String>>> = Vec::new();
    let mut state = Progress {
        accounts_listed: 0,
        listing_done: false,
        roles_done: 0,
    };
    loop {
        tokio::select! {
            account = rx.recv(), if !state.listing_done => match account {
                Some(account) => {
                    let index = accounts.len();
                    let account_id = account.account_id.clone();
                    accounts.push(account);
                    roles.push(None);
                    state.accounts_listed += 1;
                    progress(state);
                    let permit = permits.clone().acquire_owned().await.expect("semaphore open");
                    let (portal, token, limiter, counters) = (portal.clone(), token.clone(), limiter.clone(), counters.clone());
                    let retry = options.retry;
                    tasks.spawn(async move {
                        let _permit = permit;
                        let mut all = Vec::new();
                        let mut next: Option<String> = None;
                        loop {
                            let (page, more) = retry
                                .run(
                                    || {
                                        let (limiter, counters, portal, token, next, account_id) = (&limiter, &counters, &portal, &token, next.clone(), &account_id);
                                        async move {
                                            limiter.acquire().await;
                                            counters.requests.fetch_add(1, Ordering::Relaxed);
                                            portal.list_account_roles(token, account_id, next.as_deref(), MAX_PAGE).await
                                        }
                                    },
                                    &|e| count_throttle(&counters, e),
                                )
                                .await
                                .map_err(classify)?;
                            all.extend(page);
                            match more {
                                Some(t) if Some(&t) != next.as_ref() => next = Some(t),
                                _ => break,
                            }
                        }
                        Ok((index, all))
                    });
                }
                None => {
                    state.listing_done = true;
                    progress(state);
                }
            },
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                let (index, found) = done.expect("discovery task panicked")?;
                roles[index] = Some(found);
                state.roles_done += 1;
                progress(state);
            }
            else => break,
        }
        if state.listing_done && tasks.is_empty() {
            break;
        }
    }
    lister.await.expect("listing task panicked")?;
    let stats = DiscoveryStats {
        requests: counters.requests.load(Ordering::Relaxed),
        throttled: counters.throttled.load(Ordering::Relaxed),
        failed: 0,
    };
    let list = accounts
        .into_iter()
        .zip(roles)
        .map(|(a, r)| AccountRoles {
            account_id: a.account_id,
            account_name: a.account_name.unwrap_or_default(),
            email_address: a.email_address,
            roles: r.unwrap_or_default(),
        })
        .collect();
    Ok((list, stats))
}

fn count_throttle(counters: &Counters, e: &ApiError) {
    if let ApiError::Service(s) = e {
        if s.status == 429 {
            counters.throttled.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The last known list of a session, as kept in ssotray's cache directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    /// Session name (or legacy start URL).
    pub session: String,
    /// Start URL.
    pub start_url: String,
    /// When it was fetched.
    pub fetched_at: DateTime<Utc>,
    /// Accounts and roles.
    pub accounts: Vec<AccountRoles>,
    /// What changed against the list before this one.
    #[serde(default)]
    pub changes: Vec<RoleChange>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(id: &str, roles: &[&str]) -> AccountRoles {
        AccountRoles {
            account_id: id.into(),
            account_name: format!("n{id}"),
            email_address: None,
            roles: roles.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn diff_lists_roles_added_and_removed() {
        let old = [acct("1", &["A", "B"]), acct("2", &["A"])];
        let new = [acct("1", &["A", "C"]), acct("3", &["A"])];
        let changes = diff(&old, &new);
        let got: Vec<(Change, &str, &str)> = changes
            .iter()
            .map(|c| (c.change, c.account_id.as_str(), c.role_name.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (Change::Removed, "1", "B"),
                (Change::Added, "1", "C"),
                (Change::Removed, "2", "A"),
                (Change::Added, "3", "A")
            ]
        );
        assert!(diff(&new, &new).is_empty());
    }

    #[test]
    fn the_limiter_spaces_calls_evenly_and_never_saves_up_a_burst() {
        let t0 = Instant::now();
        let interval = Duration::from_millis(50);
        // 21 calls asked for at once at 20/s: the last one goes 1 s after the first.
        let mut next = t0;
        let mut slots = Vec::new();
        for _ in 0..21 {
            let (slot, following) = next_slot(t0, next, interval);
            slots.push(slot);
            next = following;
        }
        assert_eq!(slots[0], t0);
        assert_eq!(slots[20] - t0, Duration::from_secs(1));
        // After a quiet minute a call goes at once, and the one after it waits a full interval.
        let later = t0 + Duration::from_secs(60);
        let (slot, following) = next_slot(later, next, interval);
        assert_eq!((slot, following), (later, later + interval));
    }
}
