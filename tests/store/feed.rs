//! The change feed: a version that moves when the database may have changed behind the cache's
//! back, read with one atomic load.

use std::time::{Duration, Instant};

use jwtapp::store::{ChangeFeed, FeedState, SqliteStore, Store};

use super::{new_user, temp_db};

/// How often the feeds of these tests poll.
const POLL: Duration = Duration::from_millis(10);

/// Waits until `feed` has moved on from `before`; how long that took. Fails after two seconds.
pub(super) async fn wait_for_move(feed: &ChangeFeed, before: FeedState) -> Duration {
    let start = Instant::now();
    while feed.state() == before {
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "the feed did not move from {before:?}"
        );
        rocket::tokio::time::sleep(Duration::from_millis(2)).await;
    }
    start.elapsed()
}

#[test]
fn a_manual_feed_moves_when_told_and_its_clones_share_the_state() {
    let feed = ChangeFeed::manual();
    let clone = feed.clone();
    assert_eq!(feed.state(), FeedState::Current(0));

    clone.advance();
    assert_eq!(feed.state(), FeedState::Current(1));
    feed.mark_unknown();
    assert_eq!(clone.state(), FeedState::Unknown);
    feed.mark_unknown();
    assert_eq!(clone.state(), FeedState::Unknown, "unknown is unknown");
    // Working again, at a version no entry was read under.
    clone.advance();
    assert_eq!(feed.state(), FeedState::Current(2));
}

#[rocket::async_test]
async fn a_commit_of_another_connection_moves_the_feed() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).expect("open");
    let feed = store.watch_commits(POLL).expect("watch");
    // The CLI in another process: a connection of its own.
    let other = SqliteStore::open(&path).expect("another connection");
    let before = feed.state();
    assert!(matches!(before, FeedState::Current(_)), "{before:?}");
    // Nothing committed: the version stands, poll after poll.
    rocket::tokio::time::sleep(POLL * 10).await;
    assert_eq!(feed.state(), before);

    other.create_user(new_user("bob")).await.expect("commit");
    let took = wait_for_move(&feed, before).await;

    let after = feed.state();
    assert!(
        matches!((before, after), (FeedState::Current(a), FeedState::Current(b)) if b > a),
        "{before:?} then {after:?}"
    );
    assert!(took < Duration::from_secs(1), "{took:?}");
    rocket::tokio::time::sleep(POLL * 5).await;
    assert_eq!(feed.state(), after, "one commit, one move");
}

#[rocket::async_test]
async fn the_stores_own_commits_move_the_feed_too() {
    // The feed cannot tell whose commit it saw; the cache forgets its own writes anyway.
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).expect("open");
    let feed = store.watch_commits(POLL).expect("watch");
    let before = feed.state();

    store.create_user(new_user("carol")).await.expect("commit");

    wait_for_move(&feed, before).await;
}

#[rocket::async_test]
async fn reads_do_not_move_the_feed() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).expect("open");
    store.create_user(new_user("dave")).await.expect("commit");
    let feed = store.watch_commits(POLL).expect("watch");
    let before = feed.state();

    let other = SqliteStore::open(&path).expect("another connection");
    for _ in 0..5 {
        other.find_user("dave").await.expect("read");
        other.user_status("dave").await.expect("read");
        store.count_users().await.expect("read");
    }
    rocket::tokio::time::sleep(POLL * 10).await;

    assert_eq!(feed.state(), before);
}
