//! The change feed: how a cache learns that the database changed under it.
//!
//! Writes made by this process invalidate what they change in the cache at once (see
//! [`CachingStore`](super::CachingStore)). Other processes (the CLI, a second server, another
//! instance) commit behind its back; whatever watches for their commits reports here:
//!
//! - [`ChangeFeed::publish`] names what changed (users, sessions): PostgreSQL's notifications
//!   do, and the cache forgets exactly those entries;
//! - [`ChangeFeed::advance`] says "anything may have changed": SQLite's `PRAGMA data_version`
//!   poller does, and so does a notification listener that was reconnected and may have missed
//!   some. Cached entries remember the version they were read under, so an advance makes all of
//!   them stale at once;
//! - [`ChangeFeed::mark_unknown`] says "changes may be going unseen right now": the cache
//!   answers nothing from memory until the next advance.
//!
//! Requests read the feed with one atomic load.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};

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

/// Rows another process or instance changed, as it named them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    /// Users, by username.
    pub users: Vec<String>,
    /// Sessions, by id.
    pub sessions: Vec<String>,
}

/// Whoever keeps copies of rows and must forget the changed ones.
pub trait ChangeSink: Send + Sync {
    fn changed(&self, change: &Change);
}

struct Shared {
    state: AtomicU64,
    sink: RwLock<Option<Weak<dyn ChangeSink>>>,
}

/// A version that moves whenever the database may have changed in a way this process did not
/// see itself, and a channel for changes named row by row. Cheap to clone; clones share it.
#[derive(Clone)]
pub struct ChangeFeed {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ChangeFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeFeed")
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl ChangeFeed {
    /// A feed that moves only when told to: for a process that is the database's only writer,
    /// and for tests.
    pub fn manual() -> ChangeFeed {
        ChangeFeed {
            shared: Arc::new(Shared {
                state: AtomicU64::new(0),
                sink: RwLock::new(None),
            }),
        }
    }

    /// The state now: one atomic load.
    pub fn state(&self) -> FeedState {
        let state = self.shared.state.load(Ordering::Acquire);
        if state & UNKNOWN != 0 {
            FeedState::Unknown
        } else {
            FeedState::Current(state)
        }
    }

    /// Anything may have changed (or the feed works again after missing changes): every entry
    /// read before now is stale.
    pub fn advance(&self) {
        // One atomic step: two advances at once both count, and a concurrent mark is either
        // before this (and cleared by it) or after (and kept), never lost half-way.
        let _ = self
            .shared
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |state| {
                Some(((state & !UNKNOWN) + 1) & !UNKNOWN)
            });
    }

    /// Changes may be going unseen: trust nothing until [`ChangeFeed::advance`].
    pub fn mark_unknown(&self) {
        self.shared.state.fetch_or(UNKNOWN, Ordering::AcqRel);
    }

    /// These rows changed: the subscriber forgets them.
    pub fn publish(&self, change: &Change) {
        let sink = self
            .shared
            .sink
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
            .and_then(Weak::upgrade);
        if let Some(sink) = sink {
            sink.changed(change);
        }
    }

    /// Sends named changes to `sink` from now on (there is one subscriber: the cache).
    pub fn subscribe(&self, sink: Weak<dyn ChangeSink>) {
        *self
            .shared
            .sink
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(sink);
    }

    /// A handle that does not keep the feed alive: whoever moves the feed from a thread or
    /// task of its own (a poller, a listener) holds this, and stops when the last real clone
    /// is gone.
    pub fn downgrade(&self) -> WeakFeed {
        WeakFeed {
            shared: Arc::downgrade(&self.shared),
        }
    }
}

/// A [`ChangeFeed`] that may have been dropped.
#[derive(Clone)]
pub struct WeakFeed {
    shared: Weak<Shared>,
}

impl WeakFeed {
    /// The feed, while anyone still holds it.
    pub fn upgrade(&self) -> Option<ChangeFeed> {
        self.shared.upgrade().map(|shared| ChangeFeed { shared })
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

    #[test]
    fn named_changes_reach_the_subscriber_while_it_lives() {
        struct Recorder(std::sync::Mutex<Vec<Change>>);
        impl ChangeSink for Recorder {
            fn changed(&self, change: &Change) {
                self.0
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(change.clone());
            }
        }
        let feed = ChangeFeed::manual();
        let recorder = Arc::new(Recorder(Default::default()));
        let sink: Arc<dyn ChangeSink> = recorder.clone();
        feed.subscribe(Arc::downgrade(&sink));
        let change = Change {
            users: vec!["alice".into()],
            sessions: vec!["s1".into()],
        };
        feed.publish(&change);
        assert_eq!(
            recorder.0.lock().unwrap_or_else(|p| p.into_inner()).len(),
            1
        );
        drop(sink);
        drop(recorder);
        feed.publish(&change);
    }
}
