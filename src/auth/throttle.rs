//! Throttling of failed logins, in memory (per process).
//!
//! Two limits, each over a sliding window of `login_window_secs`:
//! - failures per username and address (`login_failures_per_window`): guessing one account's
//!   password from one place is slow, and nobody elsewhere is locked out of it;
//! - failures per address alone (`login_address_ceiling`): one place cannot spread its guesses
//!   over many usernames either.
//!
//! A username is counted under its canonical form (see `usernames`), whether or not it exists,
//! so a 429 reveals nothing about accounts and look-alike spellings share one budget.
//!
//! Attempts whose password is still being checked are *in flight*. An attempt is admitted only
//! when the failures already counted plus the attempts in flight stay under each limit; one that
//! is over only because of attempts in flight waits for their outcome. So a burst of guesses
//! evaluates exactly as many passwords as the budget has left and gets 429 for the rest, while a
//! burst of correct logins all succeed: each success frees its place without counting.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

/// Keys tracked at most (a few tens of MiB). Past this, keys whose failures have all left the
/// window are forgotten, and if that is not enough, the tenth least recently failed: memory stays
/// bounded and the keys of recent failures, an attacker's included, keep being counted.
const MAX_KEYS: usize = 200_000;
/// Characters of a username that make up its key: longer names cannot inflate memory.
const MAX_KEY_CHARS: usize = 128;
/// Longest an attempt waits for the outcome of attempts in flight before it is refused. Those
/// finish within one password check each, so only a server drowning in logins ever gets here.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// A login refused before its password was looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// Seconds until an attempt can succeed again (the `Retry-After` value), at least 1.
    pub retry_after: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    UserAtAddress(String, String),
    Address(String),
}

/// What is known of one key: its failures inside the window, oldest first, and how many
/// admitted attempts have not reported their outcome yet.
#[derive(Debug, Default)]
struct Counters {
    failures: VecDeque<u64>,
    in_flight: usize,
}

impl Counters {
    fn forget_before(&mut self, window_start: u64) {
        while self.failures.front().is_some_and(|&t| t <= window_start) {
            self.failures.pop_front();
        }
    }

    /// Worth keeping: an attempt in flight, or a failure still inside the window.
    fn is_active(&self, window_start: u64) -> bool {
        self.in_flight > 0 || self.failures.back().is_some_and(|&t| t > window_start)
    }

    fn last_failure(&self) -> u64 {
        self.failures.back().copied().unwrap_or(0)
    }
}

type Table = HashMap<Key, Counters>;

/// The verdict on an attempt, given the table as it is now.
enum Admission {
    Admit,
    /// Over a limit on failures alone.
    Refuse(Throttled),
    /// Over a limit only counting attempts in flight: wait for their outcome.
    Wait,
}

/// An admitted attempt. Report its outcome with [`Attempt::succeeded`] or [`Attempt::failed`];
/// dropped without either (the check could not be made, say the database failed), it only
/// leaves the in-flight count and is not held against anyone.
#[must_use = "report the outcome with Attempt::succeeded or Attempt::failed"]
#[derive(Debug)]
pub struct Attempt {
    throttle: Arc<LoginThrottle>,
    keys: [Key; 2],
    at: u64,
    settled: bool,
}

impl Attempt {
    /// The password was right: this attempt is not a failure, and the username's earlier
    /// failures from this address are forgiven.
    pub fn succeeded(mut self) {
        self.settled = true;
        self.throttle.settle(&self.keys, None);
    }

    /// The password was wrong (or the account cannot log in): counted against both keys.
    pub fn failed(mut self) {
        self.settled = true;
        self.throttle.settle(&self.keys, Some(self.at));
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if !self.settled {
            self.throttle.release(&self.keys);
        }
    }
}

/// The limits, each over a sliding window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Failed logins allowed per username and address within the window.
    pub failures_per_window: u32,
    /// Failed logins allowed per address (all usernames) within the window.
    pub address_ceiling: u32,
    pub window_secs: u64,
}

pub struct LoginThrottle {
    failures_per_window: usize,
    address_ceiling: usize,
    window: u64,
    table: Mutex<Table>,
    /// Woken whenever an attempt in flight reports its outcome.
    settled: Notify,
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginThrottle")
            .field("failures_per_window", &self.failures_per_window)
            .field("address_ceiling", &self.address_ceiling)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

/// The address an attempt is counted against. IPv6 clients usually hold a whole /64, so the
/// prefix is what identifies them; a request without a peer address shares one key.
fn address_key(address: Option<IpAddr>) -> String {
    match address {
        Some(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(IpAddr::V6(v6)) => v6.to_canonical().to_string(),
        Some(ip) => ip.to_string(),
        None => "unknown".into(),
    }
}

/// A canonical username, cut to a bounded length.
fn username_key(canonical: &str) -> String {
    canonical.chars().take(MAX_KEY_CHARS).collect()
}

/// Frees room in a full table: first every key with nothing in flight whose failures have left
/// the window, then, if the table is still nearly full, the tenth of the keys whose last failure
/// is oldest (keys with attempts in flight always stay).
fn make_room(table: &mut Table, window_start: u64) {
    table.retain(|_, counters| counters.is_active(window_start));
    if table.len() + 2 <= MAX_KEYS {
        return;
    }
    let mut last_failures: Vec<u64> = table.values().map(Counters::last_failure).collect();
    let cut = last_failures.len() / 10;
    let (_, &mut oldest_kept, _) = last_failures.select_nth_unstable(cut);
    table.retain(|_, counters| counters.in_flight > 0 || counters.last_failure() >= oldest_kept);
    log::warn!(
        "login throttling tracks {MAX_KEYS} keys: forgot the least recently failed to make room \
         (failed logins from many addresses at once?)"
    );
}

impl LoginThrottle {
    pub fn new(settings: ThrottleSettings) -> LoginThrottle {
        LoginThrottle {
            failures_per_window: settings.failures_per_window as usize,
            address_ceiling: settings.address_ceiling as usize,
            window: settings.window_secs,
            table: Mutex::default(),
            settled: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Admits an attempt for the canonical username `canonical` from `address`, or refuses it
    /// when either limit is reached by failures already counted. When a limit is reached only
    /// by counting attempts still in flight, waits for their outcome first. A refused attempt
    /// is not counted.
    pub async fn begin(
        self: &Arc<Self>,
        canonical: &str,
        address: Option<IpAddr>,
        now: u64,
    ) -> Result<Attempt, Throttled> {
        let address = address_key(address);
        let keys = [
            Key::UserAtAddress(username_key(canonical), address.clone()),
            Key::Address(address),
        ];
        let deadline = tokio::time::Instant::now() + MAX_WAIT;
        loop {
            // Registered before the table is unlocked, so an outcome reported in between is not
            // missed.
            let settled = self.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            {
                let mut table = self.lock();
                match self.admission(&mut table, &keys, now) {
                    Admission::Refuse(throttled) => return Err(throttled),
                    Admission::Admit => {
                        let window_start = now.saturating_sub(self.window);
                        if table.len() + 2 > MAX_KEYS {
                            make_room(&mut table, window_start);
                        }
                        for key in &keys {
                            table.entry(key.clone()).or_default().in_flight += 1;
                        }
                        return Ok(Attempt {
                            throttle: Arc::clone(self),
                            keys,
                            at: now,
                            settled: false,
                        });
                    }
                    Admission::Wait => {}
                }
            }
            if tokio::time::timeout_at(deadline, settled).await.is_err() {
                return Err(Throttled { retry_after: 1 });
            }
        }
    }

    fn admission(&self, table: &mut Table, keys: &[Key; 2], now: u64) -> Admission {
        let window_start = now.saturating_sub(self.window);
        let limits = [self.failures_per_window, self.address_ceiling];
        let mut retry_after = 0;
        let mut wait = false;
        for (key, limit) in keys.iter().zip(limits) {
            let Some(counters) = table.get_mut(key) else {
                continue;
            };
            counters.forget_before(window_start);
            let failures = counters.failures.len();
            if failures >= limit {
                // The attempt becomes possible when enough failures have left the window.
                if let Some(&oldest) = counters.failures.get(failures - limit) {
                    retry_after =
                        retry_after.max((oldest + self.window).saturating_sub(now).max(1));
                }
            } else if failures + counters.in_flight >= limit {
                wait = true;
            }
        }
        if retry_after > 0 {
            Admission::Refuse(Throttled { retry_after })
        } else if wait {
            Admission::Wait
        } else {
            Admission::Admit
        }
    }

    /// An attempt's outcome: it leaves the in-flight count, and either its failure is counted
    /// against both keys or (a success) the username's failures from this address are forgiven.
    fn settle(&self, keys: &[Key; 2], failed_at: Option<u64>) {
        {
            let mut table = self.lock();
            for key in keys {
                if let Some(counters) = table.get_mut(key) {
                    counters.in_flight = counters.in_flight.saturating_sub(1);
                    if let Some(at) = failed_at {
                        counters.failures.push_back(at);
                    }
                }
            }
            if failed_at.is_none()
                && let Some(counters) = table.get_mut(&keys[0])
            {
                counters.failures.clear();
            }
        }
        self.settled.notify_waiters();
    }

    /// An attempt that ended without an outcome: it only leaves the in-flight count.
    fn release(&self, keys: &[Key; 2]) {
        {
            let mut table = self.lock();
            for key in keys {
                if let Some(counters) = table.get_mut(key) {
                    counters.in_flight = counters.in_flight.saturating_sub(1);
                }
            }
        }
        self.settled.notify_waiters();
    }

    /// Forgets failures that have left the window; run by the background pruning.
    pub fn sweep(&self, now: u64) {
        let window_start = now.saturating_sub(self.window);
        let mut table = self.lock();
        for counters in table.values_mut() {
            counters.forget_before(window_start);
        }
        table.retain(|_, counters| counters.is_active(window_start));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(per_user: u32, ceiling: u32) -> Arc<LoginThrottle> {
        Arc::new(LoginThrottle::new(ThrottleSettings {
            failures_per_window: per_user,
            address_ceiling: ceiling,
            window_secs: 300,
        }))
    }

    const HOME: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)));
    const AWAY: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 7)));

    async fn fail(t: &Arc<LoginThrottle>, name: &str, address: Option<IpAddr>, now: u64) {
        t.begin(name, address, now)
            .await
            .expect("below the limit")
            .failed();
    }

    #[tokio::test]
    async fn the_limit_per_user_and_address_and_its_retry_after() {
        let t = throttle(3, 50);
        for i in 0..3 {
            fail(&t, "alice", HOME, 1000 + i).await;
        }
        assert_eq!(
            t.begin("alice", HOME, 1010).await.map(|_| ()),
            Err(Throttled { retry_after: 290 })
        );
        // Another address is not locked out, and the window slides.
        t.begin("alice", AWAY, 1010)
            .await
            .expect("other address")
            .succeeded();
        t.begin("alice", HOME, 1301)
            .await
            .expect("window passed")
            .succeeded();
    }

    #[tokio::test]
    async fn the_address_ceiling_covers_every_username() {
        let t = throttle(5, 4);
        for name in ["a", "b", "c", "d"] {
            fail(&t, name, HOME, 1000).await;
        }
        assert!(t.begin("e", HOME, 1001).await.is_err());
        assert!(t.begin("e", AWAY, 1001).await.is_ok());
    }

    #[tokio::test]
    async fn successes_are_not_counted() {
        let t = throttle(2, 3);
        for i in 0..10 {
            t.begin("alice", HOME, 1000 + i)
                .await
                .expect("successes never throttle")
                .succeeded();
        }
    }

    #[tokio::test]
    async fn an_attempt_without_an_outcome_is_not_counted() {
        let t = throttle(1, 1);
        for i in 0..5 {
            drop(t.begin("alice", HOME, 1000 + i).await.expect("not counted"));
        }
        assert!(
            t.lock()
                .values()
                .all(|c| c.in_flight == 0 && c.failures.is_empty())
        );
    }

    #[tokio::test]
    async fn attempts_over_the_budget_wait_for_those_in_flight() {
        let t = throttle(2, 50);
        let first = t.begin("alice", HOME, 1000).await.expect("admitted");
        let second = t.begin("alice", HOME, 1000).await.expect("admitted");
        // A third must wait: if both in flight fail, the budget is spent.
        let waiting = tokio::spawn({
            let t = Arc::clone(&t);
            async move { t.begin("alice", HOME, 1000).await.map(Attempt::succeeded) }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        first.failed();
        tokio::task::yield_now().await;
        // One failure and one still in flight: still waiting.
        assert!(!waiting.is_finished());
        second.succeeded();
        // The success forgave the failure: the waiting attempt is admitted.
        assert_eq!(waiting.await.expect("task"), Ok(()));
    }

    #[tokio::test]
    async fn waiting_attempts_are_refused_when_those_in_flight_fail() {
        let t = throttle(2, 50);
        let first = t.begin("alice", HOME, 1000).await.expect("admitted");
        let second = t.begin("alice", HOME, 1000).await.expect("admitted");
        let waiting = tokio::spawn({
            let t = Arc::clone(&t);
            async move { t.begin("alice", HOME, 1000).await.map(|_| ()) }
        });
        tokio::task::yield_now().await;
        first.failed();
        second.failed();
        assert_eq!(
            waiting.await.expect("task"),
            Err(Throttled { retry_after: 300 })
        );
    }

    #[tokio::test]
    async fn a_full_table_forgets_the_least_recently_failed_and_stays_bounded() {
        let t = throttle(1, 1_000_000);
        let address = |i: u32| Some(IpAddr::V4(std::net::Ipv4Addr::from(i)));
        // Half the table's worth of addresses, each with two keys, one failure each, over time.
        for i in 0..(MAX_KEYS as u32 / 2 + 10) {
            fail(&t, "alice", address(i), 1000 + u64::from(i / 1000)).await;
        }
        assert!(t.lock().len() <= MAX_KEYS);
        // The most recent failures are still counted...
        let last = MAX_KEYS as u32 / 2 + 9;
        assert!(t.begin("alice", address(last), 1200).await.is_err());
        // ...and the oldest were forgotten.
        assert!(t.begin("alice", address(0), 1200).await.is_ok());
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_prefix() {
        let a: IpAddr = "2001:db8:1:2::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        assert_eq!(address_key(Some(a)), address_key(Some(b)));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().expect("ip");
        assert_eq!(address_key(Some(mapped)), "192.0.2.1");
    }
}
