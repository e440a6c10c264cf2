//! Waiting for what a test does not control: another process's commit reaching a running app
//! (through the change feed, polled in real time), and the system clock of the real-time tests.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jwtapp::{Clock, SystemClock};

use super::Reply;

/// The change feed's poll interval in the test apps (`change_poll_ms`, default 100).
const CHANGE_POLL: Duration = Duration::from_millis(100);

/// How long after another process committed a change a running app may still answer as before:
/// one poll of the change feed, plus a margin for the poll itself, the request, and a machine
/// busy with the rest of the suite.
///
/// Measured with the whole suite running on two shared cores (90 changes made by another
/// connection, each polled for every millisecond): seen after 87 to 109 ms, so one poll plus at
/// most 9 ms. The margin leaves almost three times the worst case.
pub const CHANGE_BOUND: Duration = CHANGE_POLL.saturating_add(MARGIN);
const MARGIN: Duration = Duration::from_millis(200);

/// Repeats `request` until `seen` holds of its reply, and returns that reply; fails once
/// [`CHANGE_BOUND`] has passed since `committed` (when the other process's change was
/// committed, at the latest) and the app still answers as before.
pub async fn within_change_bound(
    committed: Instant,
    what: &str,
    mut request: impl AsyncFnMut() -> Reply,
    seen: impl Fn(&Reply) -> bool,
) -> Reply {
    loop {
        let reply = request().await;
        if seen(&reply) {
            return reply;
        }
        let waited = committed.elapsed();
        assert!(
            waited <= CHANGE_BOUND,
            "{what}: not seen {waited:?} after the commit (bound {CHANGE_BOUND:?}); the app \
             still answers {}: {}",
            reply.status,
            reply.body
        );
        rocket::tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Sleeps until the system clock (as jwtapp reads it: whole seconds) shows `second` or later.
pub async fn sleep_until_second(second: u64) {
    let target = UNIX_EPOCH + Duration::from_secs(second);
    loop {
        match target.duration_since(SystemTime::now()) {
            Ok(left) => rocket::tokio::time::sleep(left + Duration::from_millis(5)).await,
            Err(_) if SystemClock.now() >= second => return,
            Err(_) => rocket::tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}
