//! The change feed: how a cache learns that the database changed under it.
//!
//! Writes made by this process invalidate what they change in the cache at once (see
//! [`CachingStore`](super::CachingStore)). Other processes (the CLI, a second server on the same
//! file) commit behind its back. For SQLite a background thread asks, every `change_poll_ms`,
//! whether anything was committed since it last looked (`PRAGMA data_version`, on a connection of
//! its own), and if so moves the feed's version. Cached entries remember the version they were
//! read under, so a move makes all of them stale at once. Requests read the feed with one atomic
//! load. A user disabled from the CLI is therefore refused within about `change_poll_ms`.
//!
//! When the feed cannot tell (the poll failed), its state is [`FeedState::Unknown`]: the cache
//! then answers nothing from memory until the feed works again.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use rusqlite::Connection;

use super::StoreError;

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

    /// Starts the thread that polls `PRAGMA data_version` of the SQLite file at `path` every
    /// `every`. The thread ends when the last clone of the feed is dropped.
    pub(super) fn poll_sqlite(path: &Path, every: Duration) -> Result<ChangeFeed, StoreError> {
        let feed = ChangeFeed::manual();
        let mut poller = Poller {
            path: path.to_owned(),
            conn: Some(super::sqlite::connect(path)?),
            last: None,
        };
        poller.poll()?;
        let state = Arc::downgrade(&feed.state);
        std::thread::Builder::new()
            .name("jwtapp-commits".into())
            .spawn(move || poller.run(state, every))
            .map_err(StoreError::Spawn)?;
        Ok(feed)
    }
}

/// The polling side of a SQLite feed.
struct Poller {
    path: PathBuf,
    /// `None` after a failure: reopened on the next poll.
    conn: Option<Connection>,
    last: Option<i64>,
}

impl Poller {
    fn run(mut self, state: Weak<AtomicU64>, every: Duration) {
        loop {
            std::thread::sleep(every);
            let Some(state) = state.upgrade() else {
                return;
            };
            let feed = ChangeFeed { state };
            match self.poll() {
                Ok(true) => feed.advance(),
                Ok(false) => {}
                Err(e) => {
                    if feed.state() != FeedState::Unknown {
                        log::warn!(
                            "cannot see other processes' commits to {} ({e}): every request reads \
                             the database until this works again",
                            self.path.display()
                        );
                    }
                    feed.mark_unknown();
                    self.conn = None;
                    self.last = None;
                }
            }
        }
    }

    /// Whether anything was committed since the last poll (true after a recovery, too).
    fn poll(&mut self) -> Result<bool, StoreError> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => self.conn.insert(super::sqlite::connect(&self.path)?),
        };
        let version: i64 = conn.query_row("PRAGMA data_version", [], |row| row.get(0))?;
        let changed = self.last != Some(version);
        self.last = Some(version);
        Ok(changed)
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
