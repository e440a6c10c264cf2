//! [`CachingStore`] over a store that counts what reaches it: what is answered from memory, what
//! each write makes it forget, and what the change feed makes stale.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use jwtapp::metrics::Metrics;
use jwtapp::store::{
    CachingStore, Change, ChangeFeed, Ended, Event, EventFilter, FamilyDecision, FamilyUpdate,
    NewEvent, NewSession, NewUser, Pruned, SecondFactor, Session, SessionLimits, SessionStatus,
    SqliteStore, Store, StoreError, User, UserStatus, reason,
};
use rocket::tokio::sync::oneshot;
use tempfile::TempDir;

use super::{new_session, new_user, temp_db};

const LIMITS: SessionLimits = SessionLimits {
    max_per_user: 50,
    idle_secs: 3600,
};

/// A status read held between reading and answering, until the test lets it go.
struct Hold {
    /// Told once the read has its answer from the database.
    read: oneshot::Sender<()>,
    /// The answer goes back once this is told (or dropped).
    release: oneshot::Receiver<()>,
}

/// A [`Store`] that counts the status reads reaching it, in front of a real SQLite database, and
/// can hold the next user status read after it read (a slow database).
struct Counting {
    inner: SqliteStore,
    user_reads: AtomicUsize,
    session_reads: AtomicUsize,
    hold: Mutex<Option<Hold>>,
}

impl Counting {
    fn user_reads(&self) -> usize {
        self.user_reads.load(Ordering::SeqCst)
    }

    fn session_reads(&self) -> usize {
        self.session_reads.load(Ordering::SeqCst)
    }

    /// Holds the next user status read once it has its answer: returns the signal that it has
    /// read, and the sender that lets it answer.
    fn hold_next_user_read(&self) -> (oneshot::Receiver<()>, oneshot::Sender<()>) {
        let (read, has_read) = oneshot::channel();
        let (release, released) = oneshot::channel();
        *self.hold.lock().unwrap() = Some(Hold {
            read,
            release: released,
        });
        (has_read, release)
    }
}

/// A cache over a counting store over a fresh database with users alice and bob, each with one
/// session (`a1`, `b1`), and the feed the cache trusts.
struct Fixture {
    cache: Arc<CachingStore>,
    counting: Arc<Counting>,
    feed: ChangeFeed,
    /// The same database, bypassing the cache: another process.
    elsewhere: SqliteStore,
    _dir: TempDir,
}

async fn fixture() -> Fixture {
    let (dir, path) = temp_db();
    let sqlite = SqliteStore::open(&path).expect("open");
    let alice = sqlite.create_user(new_user("alice")).await.unwrap();
    let bob = sqlite.create_user(new_user("bob")).await.unwrap();
    for (id, user) in [("a1", &alice), ("b1", &bob)] {
        sqlite
            .create_session(new_session(id, user.id, 100), LIMITS)
            .await
            .unwrap();
    }
    let counting = Arc::new(Counting {
        inner: sqlite,
        user_reads: AtomicUsize::new(0),
        session_reads: AtomicUsize::new(0),
        hold: Mutex::new(None),
    });
    let feed = ChangeFeed::manual();
    let cache = CachingStore::new(counting.clone(), feed.clone(), Metrics::new());
    Fixture {
        cache,
        counting,
        feed,
        elsewhere: SqliteStore::open(&path).expect("another connection"),
        _dir: dir,
    }
}

impl Fixture {
    /// Reads both users' and both sessions' statuses through the cache.
    async fn read_all(&self) -> [bool; 4] {
        let user = |s: Option<UserStatus>| s.is_some_and(|s| s.enabled && !s.is_admin);
        let session = |s: Option<SessionStatus>| s.is_some_and(|s| !s.revoked);
        [
            user(self.cache.user_status("alice").await.unwrap()),
            user(self.cache.user_status("bob").await.unwrap()),
            session(self.cache.session_status("a1").await.unwrap()),
            session(self.cache.session_status("b1").await.unwrap()),
        ]
    }

    /// Status reads that reached the database: (users, sessions).
    fn reads(&self) -> (usize, usize) {
        (self.counting.user_reads(), self.counting.session_reads())
    }
}

#[rocket::async_test]
async fn repeated_status_reads_reach_the_store_once() {
    let f = fixture().await;

    for _ in 0..5 {
        assert_eq!(f.read_all().await, [true; 4]);
    }
    // An unknown user or session is remembered as unknown, too.
    for _ in 0..3 {
        assert_eq!(f.cache.user_status("nobody").await.unwrap(), None);
        assert_eq!(f.cache.session_status("nothing").await.unwrap(), None);
    }

    assert_eq!(f.reads(), (3, 3));
}

#[rocket::async_test]
async fn peek_answers_from_memory_only_when_both_are_cached() {
    let f = fixture().await;
    assert_eq!(f.cache.peek("alice", "a1"), None, "nothing cached yet");

    f.cache.user_status("alice").await.unwrap();
    assert_eq!(
        f.cache.peek("alice", "a1"),
        None,
        "the session is not cached"
    );
    f.cache.session_status("a1").await.unwrap();
    let reads = f.reads();

    let (user, session) = f.cache.peek("alice", "a1").expect("both cached");
    assert!(user.is_some_and(|u| u.enabled));
    assert!(session.is_some_and(|s| !s.revoked));
    assert_eq!(
        f.cache.peek("alice", "b1").map(|_| ()),
        None,
        "b1 is not cached"
    );
    assert_eq!(f.reads(), reads, "peeking reads nothing");
}

#[rocket::async_test]
async fn a_write_through_the_cache_forgets_exactly_what_it_changed() {
    let f = fixture().await;
    f.read_all().await;
    assert_eq!(f.reads(), (2, 2));

    // A user's flag: that user's status is read again, nothing else.
    f.cache.set_admin("alice", true, 200).await.unwrap();
    let alice = f.cache.user_status("alice").await.unwrap().unwrap();
    assert!(alice.is_admin, "the new value, at once");
    assert_eq!(f.read_all().await, [false, true, true, true]);
    assert_eq!(f.reads(), (3, 2));

    // A session: that session, nothing else.
    f.cache
        .revoke_session("b1", 200, reason::LOGOUT)
        .await
        .unwrap();
    assert_eq!(f.read_all().await, [false, true, true, false]);
    assert_eq!(f.reads(), (3, 3));

    // Disabling: the user and the sessions it ended.
    let ended = f.cache.set_enabled("bob", false, 210).await.unwrap();
    assert_eq!(ended, Vec::<String>::new(), "b1 had ended already");
    f.cache.set_admin("alice", false, 210).await.unwrap();
    let ended = f.cache.set_enabled("alice", false, 220).await.unwrap();
    assert_eq!(ended, ["a1"]);
    assert_eq!(f.read_all().await, [false, false, false, false]);
    assert_eq!(f.reads(), (5, 4));

    // A new login of bob's: its own status only (it may have been cached as unknown).
    assert_eq!(f.cache.session_status("b2").await.unwrap(), None);
    let bob = f.cache.find_user("bob").await.unwrap().unwrap();
    f.cache
        .create_session(new_session("b2", bob.id, 230), LIMITS)
        .await
        .unwrap();
    assert!(f.cache.session_status("b2").await.unwrap().is_some());
    f.read_all().await;
    assert_eq!(f.reads(), (5, 6));
}

#[rocket::async_test]
async fn a_refresh_and_a_deletion_forget_what_they_changed() {
    let f = fixture().await;
    f.read_all().await;

    f.cache
        .update_family("a1", 300, Box::new(|_| FamilyUpdate::Touch))
        .await
        .unwrap();
    let a1 = f.cache.session_status("a1").await.unwrap().unwrap();
    assert_eq!(a1.last_used_at, 300, "the refresh is seen at once");
    assert_eq!(f.reads(), (2, 3));

    let ended = f.cache.delete_user("bob").await.unwrap();
    assert_eq!(ended, ["b1"]);
    assert_eq!(f.cache.user_status("bob").await.unwrap(), None);
    assert_eq!(f.cache.session_status("b1").await.unwrap(), None);
    assert_eq!(f.read_all().await, [true, false, true, false]);
    assert_eq!(f.reads(), (3, 4));
}

#[rocket::async_test]
async fn a_change_elsewhere_is_answered_from_memory_until_the_feed_moves() {
    let f = fixture().await;
    f.read_all().await;

    // Another process disables alice: this cache cannot know until the feed says so.
    f.elsewhere.set_enabled("alice", false, 400).await.unwrap();
    assert_eq!(f.read_all().await, [true; 4], "stale, as documented");
    assert!(f.cache.peek("alice", "a1").is_some());
    assert_eq!(f.reads(), (2, 2));

    f.feed.advance();

    // Every entry is stale: the next peek answers nothing, each status is read once more.
    assert_eq!(f.cache.peek("bob", "b1").map(|_| ()), None);
    assert_eq!(f.read_all().await, [false, true, false, true]);
    assert_eq!(f.read_all().await, [false, true, false, true]);
    assert_eq!(f.reads(), (4, 4));
    assert!(f.cache.peek("bob", "b1").is_some(), "current again");
}

#[rocket::async_test]
async fn a_published_change_forgets_exactly_the_rows_it_names() {
    let f = fixture().await;
    f.read_all().await;
    f.elsewhere.set_admin("bob", true, 500).await.unwrap();
    f.elsewhere
        .revoke_session("a1", 500, reason::LOGOUT)
        .await
        .unwrap();

    f.feed.publish(&Change {
        users: vec!["bob".into()],
        sessions: vec!["a1".into()],
    });

    assert_eq!(f.read_all().await, [true, false, false, true]);
    assert_eq!(f.reads(), (3, 3));
    assert!(
        f.cache.peek("alice", "b1").is_some(),
        "the others stay current"
    );
}

#[rocket::async_test]
async fn an_unknown_feed_answers_nothing_from_memory() {
    let f = fixture().await;
    f.read_all().await;
    assert_eq!(f.reads(), (2, 2));

    f.feed.mark_unknown();

    assert_eq!(f.cache.peek("alice", "a1").map(|_| ()), None);
    f.elsewhere.set_enabled("bob", false, 600).await.unwrap();
    assert_eq!(f.read_all().await, [true, false, true, false]);
    assert_eq!(f.read_all().await, [true, false, true, false]);
    assert_eq!(f.reads(), (6, 6), "every read reaches the store");

    // Working again: reads are kept once more.
    f.feed.advance();
    f.read_all().await;
    f.read_all().await;
    assert_eq!(f.reads(), (8, 8));
    assert!(f.cache.peek("alice", "a1").is_some());
}

/// A read that misses, reads the old row, and answers only after a write of this process
/// invalidated that row must not leave its (stale) answer in the cache.
#[rocket::async_test]
async fn a_write_racing_a_read_through_miss_never_leaves_a_stale_entry() {
    let f = fixture().await;
    let (has_read, release) = f.counting.hold_next_user_read();
    let cache = f.cache.clone();
    let racing = rocket::tokio::spawn(async move { cache.user_status("alice").await });
    has_read.await.expect("the read reached the database");

    // While the read is out with the old row, the write commits and invalidates.
    f.cache.set_enabled("alice", false, 700).await.unwrap();
    release.send(()).expect("the read waits");
    let raced = racing.await.expect("the read").unwrap().unwrap();

    assert!(raced.enabled, "the racing read answers what it read");
    let now = f.cache.user_status("alice").await.unwrap().unwrap();
    assert!(!now.enabled, "and was not kept");
    assert_eq!(f.counting.user_reads(), 2);
    f.cache.user_status("alice").await.unwrap();
    assert_eq!(f.counting.user_reads(), 2, "the fresh answer is kept");
}

/// A read under feed version n that answers after a commit elsewhere moved the feed is kept
/// under n: stale at once, never current.
#[rocket::async_test]
async fn a_commit_elsewhere_during_a_read_makes_its_answer_stale() {
    let f = fixture().await;
    let (has_read, release) = f.counting.hold_next_user_read();
    let cache = f.cache.clone();
    let racing = rocket::tokio::spawn(async move { cache.user_status("alice").await });
    has_read.await.expect("the read reached the database");

    f.elsewhere.set_admin("alice", true, 800).await.unwrap();
    f.feed.advance();
    release.send(()).expect("the read waits");
    let raced = racing.await.expect("the read").unwrap().unwrap();

    assert!(!raced.is_admin, "the racing read answers what it read");
    assert!(
        f.cache
            .user_status("alice")
            .await
            .unwrap()
            .unwrap()
            .is_admin
    );
    assert_eq!(f.counting.user_reads(), 2);
}

// ----- the counting store: every call goes to SQLite, status reads are counted -----

#[async_trait]
impl Store for Counting {
    async fn find_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.inner.find_user(username).await
    }

    async fn user_status(&self, username: &str) -> Result<Option<UserStatus>, StoreError> {
        self.user_reads.fetch_add(1, Ordering::SeqCst);
        let status = self.inner.user_status(username).await;
        let hold = self.hold.lock().unwrap().take();
        if let Some(hold) = hold {
            let _ = hold.read.send(());
            let _ = hold.release.await;
        }
        status
    }

    async fn find_users_by_canonical(&self, canonical: &str) -> Result<Vec<User>, StoreError> {
        self.inner.find_users_by_canonical(canonical).await
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        self.inner.list_users().await
    }

    async fn count_users(&self) -> Result<u64, StoreError> {
        self.inner.count_users().await
    }

    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        self.inner.create_user(user).await
    }

    async fn rename_user(
        &self,
        username: &str,
        new_username: &str,
        new_canonical: &str,
        now: i64,
    ) -> Result<Ended, StoreError> {
        self.inner
            .rename_user(username, new_username, new_canonical, now)
            .await
    }

    async fn refresh_canonical(
        &self,
        canonical: for<'a> fn(&'a str) -> String,
    ) -> Result<u64, StoreError> {
        self.inner.refresh_canonical(canonical).await
    }

    async fn canonical_clashes(&self) -> Result<Vec<Vec<String>>, StoreError> {
        self.inner.canonical_clashes().await
    }

    async fn mark_demo(&self, username: &str) -> Result<(), StoreError> {
        self.inner.mark_demo(username).await
    }

    async fn set_password_hash(
        &self,
        username: &str,
        hash: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.inner.set_password_hash(username, hash, now).await
    }

    async fn change_password(
        &self,
        username: &str,
        hash: &str,
        keep: Option<&str>,
        now: i64,
    ) -> Result<Ended, StoreError> {
        self.inner.change_password(username, hash, keep, now).await
    }

    async fn set_enabled(
        &self,
        username: &str,
        enabled: bool,
        now: i64,
    ) -> Result<Ended, StoreError> {
        self.inner.set_enabled(username, enabled, now).await
    }

    async fn set_admin(&self, username: &str, is_admin: bool, now: i64) -> Result<(), StoreError> {
        self.inner.set_admin(username, is_admin, now).await
    }

    async fn delete_user(&self, username: &str) -> Result<Ended, StoreError> {
        self.inner.delete_user(username).await
    }

    async fn create_session(
        &self,
        session: NewSession,
        limits: SessionLimits,
    ) -> Result<Ended, StoreError> {
        self.inner.create_session(session, limits).await
    }

    async fn find_session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        self.inner.find_session(id).await
    }

    async fn session_status(&self, id: &str) -> Result<Option<SessionStatus>, StoreError> {
        self.session_reads.fetch_add(1, Ordering::SeqCst);
        self.inner.session_status(id).await
    }

    async fn active_sessions(
        &self,
        user_id: i64,
        now: i64,
        idle_secs: i64,
        limit: u32,
    ) -> Result<Vec<Session>, StoreError> {
        self.inner
            .active_sessions(user_id, now, idle_secs, limit)
            .await
    }

    async fn active_session_counts(
        &self,
        now: i64,
        idle_secs: i64,
    ) -> Result<HashMap<i64, u64>, StoreError> {
        self.inner.active_session_counts(now, idle_secs).await
    }

    async fn enforce_session_cap(
        &self,
        limits: SessionLimits,
        now: i64,
    ) -> Result<Ended, StoreError> {
        self.inner.enforce_session_cap(limits, now).await
    }

    async fn revoke_session(
        &self,
        id: &str,
        now: i64,
        reason: &'static str,
    ) -> Result<bool, StoreError> {
        self.inner.revoke_session(id, now, reason).await
    }

    async fn revoke_user_sessions(
        &self,
        user_id: i64,
        keep: Option<&str>,
        now: i64,
        reason: &'static str,
    ) -> Result<Ended, StoreError> {
        self.inner
            .revoke_user_sessions(user_id, keep, now, reason)
            .await
    }

    async fn update_family(
        &self,
        id: &str,
        now: i64,
        decide: FamilyDecision,
    ) -> Result<Option<Session>, StoreError> {
        self.inner.update_family(id, now, decide).await
    }

    async fn prune_sessions(
        &self,
        now: i64,
        idle_before: i64,
        revoked_before: i64,
    ) -> Result<Pruned, StoreError> {
        self.inner
            .prune_sessions(now, idle_before, revoked_before)
            .await
    }

    async fn set_auth_time(&self, session_id: &str, auth_time: i64) -> Result<bool, StoreError> {
        self.inner.set_auth_time(session_id, auth_time).await
    }

    async fn second_factor(&self, user_id: i64) -> Result<SecondFactor, StoreError> {
        self.inner.second_factor(user_id).await
    }

    async fn set_pending_totp(
        &self,
        user_id: i64,
        sealed: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.inner.set_pending_totp(user_id, sealed, now).await
    }

    async fn enable_totp(
        &self,
        user_id: i64,
        sealed: &str,
        step: i64,
        recovery_hashes: Vec<String>,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.inner
            .enable_totp(user_id, sealed, step, recovery_hashes, now)
            .await
    }

    async fn disable_totp(
        &self,
        user_id: i64,
        end_sessions: bool,
        now: i64,
    ) -> Result<(bool, Ended), StoreError> {
        self.inner.disable_totp(user_id, end_sessions, now).await
    }

    async fn use_totp_step(&self, user_id: i64, step: i64) -> Result<bool, StoreError> {
        self.inner.use_totp_step(user_id, step).await
    }

    async fn use_recovery_code(
        &self,
        user_id: i64,
        hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.inner.use_recovery_code(user_id, hash, now).await
    }

    async fn replace_recovery_codes(
        &self,
        user_id: i64,
        hashes: Vec<String>,
    ) -> Result<bool, StoreError> {
        self.inner.replace_recovery_codes(user_id, hashes).await
    }

    async fn use_token_once(&self, id: &str, expires_at: i64) -> Result<bool, StoreError> {
        self.inner.use_token_once(id, expires_at).await
    }

    async fn token_used(&self, id: &str) -> Result<bool, StoreError> {
        self.inner.token_used(id).await
    }

    async fn prune_used_tokens(&self, before: i64) -> Result<u64, StoreError> {
        self.inner.prune_used_tokens(before).await
    }

    async fn recent_failures(
        &self,
        keys: &[String],
        since: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        self.inner.recent_failures(keys, since).await
    }

    async fn record_failure(&self, keys: &[String], at: i64) -> Result<(), StoreError> {
        self.inner.record_failure(keys, at).await
    }

    async fn forgive_failures(&self, key: &str) -> Result<(), StoreError> {
        self.inner.forgive_failures(key).await
    }

    async fn prune_failures(&self, before: i64) -> Result<u64, StoreError> {
        self.inner.prune_failures(before).await
    }

    async fn record_events(&self, events: Vec<NewEvent>) -> Result<(), StoreError> {
        self.inner.record_events(events).await
    }

    async fn events(&self, filter: EventFilter) -> Result<Vec<Event>, StoreError> {
        self.inner.events(filter).await
    }

    async fn prune_events(&self, before: i64) -> Result<u64, StoreError> {
        self.inner.prune_events(before).await
    }

    async fn schema_version(&self) -> Result<i64, StoreError> {
        self.inner.schema_version().await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}
