//! The change feed: how a cache learns that the database changed under it.
//!
//! Writes made by this process invalidate what they change in the cache at once (see
//! [`CachingStore`](super::CachingStore)). Other processes (the CLI, a second server on the same
//! file) commit behind its back; whatever watches for their commits (for SQLite, the poller in
//! `sqlite::commits`) moves the feed's version. Cached entries remember the version they were
//! read under, so a move makes all of them stale at once. Requests read the feed with one
//! atomic load.
//!
//! When the watcher cannot tell (its poll failed), the feed's state is [`FeedState::Unknown`]:
//! the cache then answers nothing from memory until the feed works again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

/// The top bit of the state: the feed cannot vouch for anything right now.
const UNKNOWN: u64 = 1 << 63;

/// What the feed says, read with one atomic load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedState {
    /// Nothing unseen was committed since the feed reached this version.
    Current(u64),
    /// Commits may have been missed: trust no cached entry.
    Unknown,
}

/// A version that moves whenever the database may have changed in a way this process did not
/// see itself. Cheap to clone; clones share the state.
#[derive(Debug, Clone)]
pub struct ChangeFeed {
    state: Arc<AtomicU64>,
}

impl ChangeFeed {
    /// A feed that moves only when told to ([`ChangeFeed::advance`]): for a process that is the
    /// database's only writer, and for tests.
    pub fn manual() -> ChangeFeed {
        ChangeFeed {
            state: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The state now: one atomic load.
    pub fn state(&self) -> FeedState {
        let state = self.state.load(Ordering::Acquire);
        if state & UNKNOWN != 0 {
            FeedState::Unknown
        } else {
            FeedState::Current(state)
        }
    }

    /// Something changed (or the feed works again after missing changes): every entry read
    /// before now is stale.
    pub fn advance(&self) {
        let state = self.state.load(Ordering::Acquire);
        self.state
            .store(((state & !UNKNOWN) + 1) & !UNKNOWN, Ordering::Release);
    }

    /// Changes may be going unseen: trust nothing until [`ChangeFeed::advance`].
    pub fn mark_unknown(&self) {
        self.state.fetch_or(UNKNOWN, Ordering::AcqRel);
    }

    /// A handle that does not keep the feed alive: whoever moves the feed from a thread of its
    /// own (a poller, a listener) holds this, and stops when the last real clone is gone.
    pub fn downgrade(&self) -> WeakFeed {
        WeakFeed {
            state: Arc::downgrade(&self.state),
        }
    }
}

/// A [`ChangeFeed`] that may have been dropped.
#[derive(Debug, Clone)]
pub struct WeakFeed {
    state: Weak<AtomicU64>,
}

impl WeakFeed {
    /// The feed, while anyone still holds it.
    pub fn upgrade(&self) -> Option<ChangeFeed> {
        self.state.upgrade().map(|state| ChangeFeed { state })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_moves_and_can_be_unknown() {
        let feed = ChangeFeed::manual();
        assert_eq!(feed.state(), FeedState::Current(0));
        feed.advance();
        assert_eq!(feed.state(), FeedState::Current(1));
        feed.mark_unknown();
        assert_eq!(feed.state(), FeedState::Unknown);
        feed.advance();
        assert_eq!(feed.state(), FeedState::Current(2));
    }
}
