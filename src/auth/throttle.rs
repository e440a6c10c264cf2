//! Throttling of failed logins, in memory (per process).
//!
//! Two limits, each over a sliding window of `login_window_secs`:
//! - failures per username and address (`login_failures_per_window`): guessing one account's
//!   password from one place is slow, and nobody elsewhere is locked out of it;
//! - failures per address alone (`login_address_ceiling`): one place cannot spread its guesses
//!   over many usernames either.
//!
//! A username is counted whether or not it exists, so a 429 reveals nothing about accounts.
//! An attempt is counted *before* the password is checked and forgiven when it succeeds: many
//! concurrent guesses cannot all slip in under the limit, and successful logins cost nothing.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};

use crate::config::AuthConfig;

/// Keys tracked at most (a few tens of MiB). Past this, keys whose failures have all left the
/// window are forgotten, and if that is not enough, the tenth least recently failed: memory stays
/// bounded and the keys of recent failures, an attacker's included, keep being counted.
const MAX_KEYS: usize = 200_000;
/// Characters of a username that make up its key: longer names cannot inflate memory.
const MAX_KEY_CHARS: usize = 128;

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

/// An attempt that passed the limits and was counted as a failure until it reports success.
#[must_use = "call LoginThrottle::succeeded when the login works"]
#[derive(Debug)]
pub struct Attempt {
    keys: (Key, Key),
    at: u64,
}

pub struct LoginThrottle {
    failures_per_window: usize,
    address_ceiling: usize,
    window: u64,
    failures: Mutex<HashMap<Key, VecDeque<u64>>>,
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

/// Usernames are counted case-insensitively, so `Admin` and `admin` share a budget.
fn username_key(username: &str) -> String {
    username
        .chars()
        .take(MAX_KEY_CHARS)
        .flat_map(char::to_lowercase)
        .collect()
}

/// Frees room in a full table: first every key whose failures have left the window, then, if
/// the table is still nearly full, the tenth of the keys whose last failure is oldest.
fn make_room(failures: &mut HashMap<Key, VecDeque<u64>>, window_start: u64) {
    failures.retain(|_, times| times.back().is_some_and(|&t| t > window_start));
    if failures.len() + 2 <= MAX_KEYS {
        return;
    }
    let mut last_failures: Vec<u64> = failures
        .values()
        .filter_map(|times| times.back().copied())
        .collect();
    let cut = last_failures.len() / 10;
    let (_, &mut oldest_kept, _) = last_failures.select_nth_unstable(cut);
    failures.retain(|_, times| times.back().is_some_and(|&t| t >= oldest_kept));
    log::warn!(
        "login throttling tracks {MAX_KEYS} keys: forgot the least recently failed to make room \
         (failed logins from many addresses at once?)"
    );
}

impl LoginThrottle {
    pub fn new(config: &AuthConfig) -> LoginThrottle {
        LoginThrottle {
            failures_per_window: config.login_failures_per_window as usize,
            address_ceiling: config.login_address_ceiling as usize,
            window: config.login_window_secs,
            failures: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Key, VecDeque<u64>>> {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts an attempt for `username` from `address`, or refuses it when either limit is
    /// reached. A refused attempt is not counted.
    pub fn begin(
        &self,
        username: &str,
        address: Option<IpAddr>,
        now: u64,
    ) -> Result<Attempt, Throttled> {
        let address = address_key(address);
        let user_key = Key::UserAtAddress(username_key(username), address.clone());
        let address_key = Key::Address(address);
        let mut failures = self.lock();
        let window_start = now.saturating_sub(self.window);
        let mut retry_after = 0;
        for (key, limit) in [
            (&user_key, self.failures_per_window),
            (&address_key, self.address_ceiling),
        ] {
            if let Some(times) = failures.get_mut(key) {
                while times.front().is_some_and(|&t| t <= window_start) {
                    times.pop_front();
                }
                if times.len() >= limit
                    && let Some(&oldest) = times.get(times.len() - limit)
                {
                    // The attempt becomes possible when enough failures have left the window.
                    retry_after = retry_after.max((oldest + self.window).saturating_sub(now));
                }
            }
        }
        if retry_after > 0 {
            return Err(Throttled { retry_after });
        }
        if failures.len() + 2 > MAX_KEYS {
            make_room(&mut failures, window_start);
        }
        for key in [&user_key, &address_key] {
            failures.entry(key.clone()).or_default().push_back(now);
        }
        Ok(Attempt {
            keys: (user_key, address_key),
            at: now,
        })
    }

    /// The attempt logged in: it is not a failure, and the username's earlier failures from
    /// this address are forgiven.
    pub fn succeeded(&self, attempt: Attempt) {
        let (user_key, address_key) = attempt.keys;
        let mut failures = self.lock();
        failures.remove(&user_key);
        if let Some(times) = failures.get_mut(&address_key) {
            if let Some(position) = times.iter().rposition(|&t| t == attempt.at) {
                times.remove(position);
            }
            if times.is_empty() {
                failures.remove(&address_key);
            }
        }
    }

    /// Forgets failures that have left the window; run by the background pruning.
    pub fn sweep(&self, now: u64) {
        let window_start = now.saturating_sub(self.window);
        self.lock()
            .retain(|_, times| times.back().is_some_and(|&t| t > window_start));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(per_user: u32, ceiling: u32) -> LoginThrottle {
        LoginThrottle::new(&AuthConfig {
            login_failures_per_window: per_user,
            login_address_ceiling: ceiling,
            login_window_secs: 300,
            ..AuthConfig::default()
        })
    }

    const HOME: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)));
    const AWAY: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 7)));

    #[test]
    fn the_limit_per_user_and_address_and_its_retry_after() {
        let t = throttle(3, 50);
        for i in 0..3 {
            let _failed = t.begin("alice", HOME, 1000 + i).expect("below the limit");
        }
        assert_eq!(
            t.begin("ALICE", HOME, 1010).map(|_| ()),
            Err(Throttled { retry_after: 290 })
        );
        // Another address is not locked out, and the window slides.
        t.succeeded(t.begin("alice", AWAY, 1010).expect("other address"));
        t.succeeded(t.begin("alice", HOME, 1301).expect("window passed"));
    }

    #[test]
    fn the_address_ceiling_covers_every_username() {
        let t = throttle(5, 4);
        for name in ["a", "b", "c", "d"] {
            let _failed = t.begin(name, HOME, 1000).expect("below the ceiling");
        }
        assert!(t.begin("e", HOME, 1001).is_err());
        assert!(t.begin("e", AWAY, 1001).is_ok());
    }

    #[test]
    fn successes_are_not_counted() {
        let t = throttle(2, 3);
        for i in 0..10 {
            t.succeeded(
                t.begin("alice", HOME, 1000 + i)
                    .expect("successes never throttle"),
            );
        }
    }

    #[test]
    fn a_full_table_forgets_the_least_recently_failed_and_stays_bounded() {
        let t = throttle(1, 1_000_000);
        let address = |i: u32| Some(IpAddr::V4(std::net::Ipv4Addr::from(i)));
        // Half the table's worth of addresses, each with two keys, one failure each, over time.
        for i in 0..(MAX_KEYS as u32 / 2 + 10) {
            let _failed = t.begin("alice", address(i), 1000 + u64::from(i / 1000));
        }
        assert!(t.lock().len() <= MAX_KEYS);
        // The most recent failures are still counted...
        let last = MAX_KEYS as u32 / 2 + 9;
        assert!(t.begin("alice", address(last), 1200).is_err());
        // ...and the oldest were forgotten.
        assert!(t.begin("alice", address(0), 1200).is_ok());
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
