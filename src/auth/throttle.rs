//! Throttling of failed logins.
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
//! The failures themselves are kept in the database (the store's `login_failures`), so every
//! process and every instance counts the same ones. What this module keeps in memory is the
//! attempts whose password is still being checked, *in flight*. An attempt is admitted only
//! when the failures counted plus the attempts in flight stay under each limit; one that is over
//! only because of attempts in flight waits for their outcome. So a burst of guesses evaluates
//! exactly as many passwords as the budget has left and gets 429 for the rest, while a burst of
//! correct logins all succeed: each success frees its place without counting. (Attempts in
//! flight are known to their own process only: a burst spread over several instances at once can
//! evaluate up to one budget per instance before the failures are counted.)

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

/// Characters of a username that make up its key: longer names cannot inflate the table.
const MAX_KEY_CHARS: usize = 128;
/// Longest an attempt waits for the outcome of attempts in flight before it is refused. Those
/// finish within one password check each, so only a server drowning in logins ever gets here.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// The limits, each over a sliding window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Failed logins allowed per username and address within the window.
    pub failures_per_window: u32,
    /// Failed logins allowed per address (all usernames) within the window.
    pub address_ceiling: u32,
    pub window_secs: u64,
}

/// A login refused before its password was looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// Seconds until an attempt can succeed again (the `Retry-After` value), at least 1.
    pub retry_after: u64,
}

/// Why an attempt was not admitted.
#[derive(Debug)]
pub enum Refusal<E> {
    Throttled(Throttled),
    /// The failures could not be read.
    Unreadable(E),
}

/// The two keys an attempt is counted under: the username at the address, and the address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Keys {
    pub user: String,
    pub address: String,
}

impl Keys {
    /// The keys of an attempt for the canonical username `canonical` from `address`. IPv6
    /// clients usually hold a whole /64, so the prefix is what identifies them; a request without
    /// a peer address shares one key.
    pub fn new(canonical: &str, address: Option<IpAddr>) -> Keys {
        let address = match address {
            Some(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
            Some(IpAddr::V6(v6)) => v6.to_canonical().to_string(),
            Some(ip) => ip.to_string(),
            None => "unknown".into(),
        };
        let user: String = canonical.chars().take(MAX_KEY_CHARS).collect();
        Keys {
            user: format!("user:{user}@{address}"),
            address: format!("address:{address}"),
        }
    }

    /// Both keys, as the store counts them.
    pub fn both(&self) -> [String; 2] {
        [self.user.clone(), self.address.clone()]
    }
}

/// An admitted attempt, in flight until it is dropped: drop it once its outcome is written to
/// the store (a failure recorded, or the username's failures forgiven).
#[derive(Debug)]
pub struct Attempt {
    throttle: Arc<LoginThrottle>,
    keys: Keys,
    pub at: u64,
}

impl Attempt {
    pub fn keys(&self) -> &Keys {
        &self.keys
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        self.throttle.release(&self.keys);
    }
}

/// The verdict on an attempt, given the failures counted and the attempts in flight.
enum Admission {
    Admit,
    /// Over a limit on failures alone.
    Refuse(Throttled),
    /// Over a limit only counting attempts in flight: wait for their outcome.
    Wait,
}

pub struct LoginThrottle {
    settings: ThrottleSettings,
    /// Attempts in flight, per key.
    in_flight: Mutex<HashMap<String, usize>>,
    /// Attempts ended so far, moved under the `in_flight` lock. An attempt that ended between
    /// another's read of the failures and its look at the table would be counted by neither
    /// (its failure was not in the read, and it is no longer in flight): a look that sees this
    /// move reads the failures again.
    ended: AtomicU64,
    /// Woken whenever an attempt in flight ends.
    settled: Notify,
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginThrottle")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl LoginThrottle {
    pub fn new(settings: ThrottleSettings) -> LoginThrottle {
        LoginThrottle {
            settings,
            in_flight: Mutex::default(),
            ended: AtomicU64::new(0),
            settled: Notify::new(),
        }
    }

    /// The window's length, in seconds.
    pub fn window(&self) -> u64 {
        self.settings.window_secs
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, usize>> {
        self.in_flight
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Admits an attempt under `keys` at `now`, or refuses it when either limit is reached by
    /// the failures counted: `read` reads them from the store (every failure of the keys inside
    /// the window, oldest first). When a limit is reached only by counting attempts still in
    /// flight, waits for their outcome and reads again. A refused attempt is not counted.
    pub async fn begin<F, Fut, E>(
        self: &Arc<Self>,
        keys: Keys,
        now: u64,
        mut read: F,
    ) -> Result<Attempt, Refusal<E>>
    where
        F: FnMut(i64) -> Fut,
        Fut: Future<Output = Result<Vec<(String, i64)>, E>>,
    {
        let since = now.saturating_sub(self.settings.window_secs) as i64 + 1;
        let deadline = tokio::time::Instant::now() + MAX_WAIT;
        loop {
            let ended = self.ended.load(Ordering::Acquire);
            let failures = read(since).await.map_err(Refusal::Unreadable)?;
            // Registered before the in-flight table is unlocked, so an outcome reported in
            // between is not missed.
            let settled = self.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            {
                let mut in_flight = self.lock();
                // Attempts that ended while the failures were read: their failures may be in
                // neither the read nor the table. Near a limit, they are counted as if still in
                // flight, so the verdict waits for a fresh read.
                let unseen = self.ended.load(Ordering::Acquire).wrapping_sub(ended) as usize;
                match self.admission(&in_flight, &keys, &failures, now, unseen) {
                    Admission::Refuse(throttled) => return Err(Refusal::Throttled(throttled)),
                    Admission::Admit => {
                        for key in [&keys.user, &keys.address] {
                            *in_flight.entry(key.clone()).or_default() += 1;
                        }
                        return Ok(Attempt {
                            throttle: Arc::clone(self),
                            keys,
                            at: now,
                        });
                    }
                    Admission::Wait if unseen > 0 => {
                        // The outcome is in the store by now: read again at once.
                        if tokio::time::Instant::now() >= deadline {
                            return Err(Refusal::Throttled(Throttled { retry_after: 1 }));
                        }
                        continue;
                    }
                    Admission::Wait => {}
                }
            }
            if tokio::time::timeout_at(deadline, settled).await.is_err() {
                return Err(Refusal::Throttled(Throttled { retry_after: 1 }));
            }
        }
    }

    fn admission(
        &self,
        in_flight: &HashMap<String, usize>,
        keys: &Keys,
        failures: &[(String, i64)],
        now: u64,
        unseen: usize,
    ) -> Admission {
        let limits = [
            (&keys.user, self.settings.failures_per_window as usize),
            (&keys.address, self.settings.address_ceiling as usize),
        ];
        let mut retry_after = 0;
        let mut wait = false;
        for (key, limit) in limits {
            let mut times: Vec<u64> = failures
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, at)| (*at).max(0) as u64)
                .collect();
            times.sort_unstable();
            let counted = times.len();
            if counted >= limit {
                // The attempt becomes possible when enough failures have left the window.
                if let Some(&oldest) = times.get(counted - limit) {
                    let free_at = oldest + self.settings.window_secs;
                    retry_after = retry_after.max(free_at.saturating_sub(now).max(1));
                }
            } else if counted + in_flight.get(key).copied().unwrap_or(0) + unseen >= limit {
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

    /// An attempt ended: it leaves the in-flight count, and whoever waits on it looks again.
    fn release(&self, keys: &Keys) {
        {
            let mut in_flight = self.lock();
            for key in [&keys.user, &keys.address] {
                if let Some(count) = in_flight.get_mut(key) {
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        in_flight.remove(key);
                    }
                }
            }
            self.ended.fetch_add(1, Ordering::AcqRel);
        }
        self.settled.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The failures as a store would keep them, for the tests.
    #[derive(Default, Clone)]
    struct Failures(Arc<Mutex<Vec<(String, i64)>>>);

    /// What reading them gives.
    type Read = std::future::Ready<Result<Vec<(String, i64)>, ()>>;

    impl Failures {
        fn read(&self) -> impl FnMut(i64) -> Read {
            let failures = self.clone();
            move |since| {
                let all = failures.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
                std::future::ready(Ok(all.into_iter().filter(|(_, at)| *at >= since).collect()))
            }
        }

        fn fail(&self, attempt: Attempt) {
            let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
            for key in attempt.keys().both() {
                all.push((key, attempt.at as i64));
            }
        }

        fn succeed(&self, attempt: Attempt) {
            let user = attempt.keys().user.clone();
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|(key, _)| *key != user);
        }
    }

    fn throttle(per_user: u32, ceiling: u32) -> Arc<LoginThrottle> {
        Arc::new(LoginThrottle::new(ThrottleSettings {
            failures_per_window: per_user,
            address_ceiling: ceiling,
            window_secs: 300,
        }))
    }

    const HOME: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)));
    const AWAY: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 7)));

    async fn begin(
        t: &Arc<LoginThrottle>,
        failures: &Failures,
        name: &str,
        address: Option<IpAddr>,
        now: u64,
    ) -> Result<Attempt, Throttled> {
        match t
            .begin(Keys::new(name, address), now, failures.read())
            .await
        {
            Ok(attempt) => Ok(attempt),
            Err(Refusal::Throttled(throttled)) => Err(throttled),
            Err(Refusal::Unreadable(())) => panic!("the test store cannot fail"),
        }
    }

    #[tokio::test]
    async fn the_limit_per_user_and_address_and_its_retry_after() {
        let (t, f) = (throttle(3, 50), Failures::default());
        for i in 0..3 {
            f.fail(begin(&t, &f, "alice", HOME, 1000 + i).await.expect("below"));
        }
        assert_eq!(
            begin(&t, &f, "alice", HOME, 1010).await.map(drop),
            Err(Throttled { retry_after: 290 })
        );
        // Another address is not locked out, and the window slides.
        f.succeed(begin(&t, &f, "alice", AWAY, 1010).await.expect("elsewhere"));
        f.succeed(
            begin(&t, &f, "alice", HOME, 1301)
                .await
                .expect("window passed"),
        );
    }

    #[tokio::test]
    async fn the_address_ceiling_covers_every_username() {
        let (t, f) = (throttle(5, 4), Failures::default());
        for name in ["a", "b", "c", "d"] {
            f.fail(begin(&t, &f, name, HOME, 1000).await.expect("below"));
        }
        assert!(begin(&t, &f, "e", HOME, 1001).await.is_err());
        assert!(begin(&t, &f, "e", AWAY, 1001).await.is_ok());
    }

    #[tokio::test]
    async fn successes_are_not_counted() {
        let (t, f) = (throttle(2, 3), Failures::default());
        for i in 0..10 {
            f.succeed(
                begin(&t, &f, "alice", HOME, 1000 + i)
                    .await
                    .expect("never throttled"),
            );
        }
    }

    #[tokio::test]
    async fn attempts_over_the_budget_wait_for_those_in_flight() {
        let (t, f) = (throttle(2, 50), Failures::default());
        let first = begin(&t, &f, "alice", HOME, 1000).await.expect("admitted");
        let second = begin(&t, &f, "alice", HOME, 1000).await.expect("admitted");
        // A third must wait: if both in flight fail, the budget is spent.
        let waiting = tokio::spawn({
            let (t, f) = (Arc::clone(&t), f.clone());
            async move { begin(&t, &f, "alice", HOME, 1000).await.map(drop) }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        f.fail(first);
        tokio::task::yield_now().await;
        // One failure and one still in flight: still waiting.
        assert!(!waiting.is_finished());
        f.succeed(second);
        // The success forgave the failure: the waiting attempt is admitted.
        assert_eq!(waiting.await.expect("task"), Ok(()));
    }

    #[tokio::test]
    async fn waiting_attempts_are_refused_when_those_in_flight_fail() {
        let (t, f) = (throttle(2, 50), Failures::default());
        let first = begin(&t, &f, "alice", HOME, 1000).await.expect("admitted");
        let second = begin(&t, &f, "alice", HOME, 1000).await.expect("admitted");
        let waiting = tokio::spawn({
            let (t, f) = (Arc::clone(&t), f.clone());
            async move { begin(&t, &f, "alice", HOME, 1000).await.map(drop) }
        });
        tokio::task::yield_now().await;
        f.fail(first);
        f.fail(second);
        assert_eq!(
            waiting.await.expect("task"),
            Err(Throttled { retry_after: 300 })
        );
    }

    #[tokio::test]
    async fn an_attempt_without_an_outcome_is_not_counted() {
        let (t, f) = (throttle(1, 1), Failures::default());
        for i in 0..5 {
            drop(
                begin(&t, &f, "alice", HOME, 1000 + i)
                    .await
                    .expect("not counted"),
            );
        }
        assert!(t.lock().is_empty());
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_prefix() {
        let a: IpAddr = "2001:db8:1:2::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        assert_eq!(Keys::new("x", Some(a)), Keys::new("x", Some(b)));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().expect("ip");
        assert_eq!(Keys::new("x", Some(mapped)).address, "address:192.0.2.1");
    }
}
