//! Watching a SQLite file for commits of other connections: a thread asks, every
//! `change_poll_ms`, whether anything was committed since it last looked (`PRAGMA data_version`,
//! on a connection of its own), and moves the [`ChangeFeed`] when so. A user disabled from the
//! CLI is therefore refused within about `change_poll_ms`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

use super::connection::connect;
use crate::store::changes::{ChangeFeed, FeedState, WeakFeed};
use crate::store::error::StoreError;

/// Starts the thread that polls the SQLite file at `path` every `every`; returns its feed. The
/// thread ends when the last clone of the feed is dropped.
pub fn watch(path: &Path, every: Duration) -> Result<ChangeFeed, StoreError> {
    let feed = ChangeFeed::manual();
    let mut poller = Poller {
        path: path.to_owned(),
        conn: Some(connect(path)?),
        last: None,
    };
    poller.poll()?;
    let weak = feed.downgrade();
    std::thread::Builder::new()
        .name("jwtapp-commits".into())
        .spawn(move || poller.run(weak, every))
        .map_err(StoreError::Spawn)?;
    Ok(feed)
}

/// The polling side of a SQLite feed.
struct Poller {
    path: PathBuf,
    /// `None` after a failure: reopened on the next poll.
    conn: Option<Connection>,
    last: Option<i64>,
}

impl Poller {
    fn run(mut self, weak: WeakFeed, every: Duration) {
        loop {
            std::thread::sleep(every);
            let Some(feed) = weak.upgrade() else {
                return;
            };
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
            None => self.conn.insert(connect(&self.path)?),
        };
        let version: i64 = conn.query_row("PRAGMA data_version", [], |row| row.get(0))?;
        let changed = self.last != Some(version);
        self.last = Some(version);
        Ok(changed)
    }
}
