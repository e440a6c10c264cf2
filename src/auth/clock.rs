//! Time, as the application owns it. Everything in `auth` that depends on the time (token
//! lifetimes, idle sessions, grace windows, throttling windows, cookie lifetimes) asks a
//! [`Clock`], so tests can move time instead of sleeping through it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Seconds since the Unix epoch.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> u64;
}

/// The system's clock: what production runs on.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs())
    }
}

/// A clock that stands still until told to move: for tests. Clones share the time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock showing the system's time now.
    pub fn new() -> ManualClock {
        ManualClock::at(SystemClock.now())
    }

    pub fn at(now: u64) -> ManualClock {
        ManualClock {
            now: Arc::new(AtomicU64::new(now)),
        }
    }

    /// Moves the time forward by `secs` seconds.
    pub fn advance(&self, secs: u64) {
        self.now.fetch_add(secs, Ordering::AcqRel);
    }

    pub fn set(&self, now: u64) {
        self.now.store(now, Ordering::Release);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.now.load(Ordering::Acquire)
    }
}
