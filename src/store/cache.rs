//! [`CachingStore`]: the store every request goes through, with the few facts that every
//! authenticated request needs (is the user enabled, an admin; is the session active) kept in
//! memory in front of another store, the way tower-sessions' `CachingSessionStore` wraps one.
//!
//! Correctness rule: a change committed through this store is seen by the next request; one
//! committed elsewhere (another process, another instance), as soon as the [`ChangeFeed`] hears
//! of it. Writes made through this store invalidate exactly what they changed, at once. Commits
//! made elsewhere move the feed; an entry read under an older version of the feed is stale. While the feed cannot vouch for anything, nothing is answered
//! from memory.
//!
//! Two races are closed here. An entry read from the database just before a write of this
//! process must not be put back after the write invalidated it: every invalidation moves a
//! write epoch, and a read that saw the epoch move while it was out is not kept. And the
//! version an entry is tagged with is the feed's version from *before* the read, so a commit
//! elsewhere during the read makes the entry stale, never current.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use quick_cache::sync::Cache;

use super::changes::{Change, ChangeFeed, ChangeSink, FeedState};
use super::contract::Store;
use super::error::StoreError;
use super::types::{
    Ended, Event, EventFilter, FamilyDecision, NewEvent, NewSession, NewUser, Pruned, SecondFactor,
    Session, SessionLimits, SessionStatus, User, UserStatus,
};
use crate::metrics::Metrics;

/// Entries kept per kind (users, sessions): a few MiB at most. The least recently used beyond it
/// are evicted.
const CAPACITY: usize = 100_000;

/// A cached answer, with the feed version it was read under.
#[derive(Debug, Clone, Copy)]
struct Entry<T> {
    value: T,
    version: u64,
}

/// A [`Store`] that answers [`Store::user_status`] and [`Store::session_status`] from memory.
pub struct CachingStore {
    inner: Arc<dyn Store>,
    feed: ChangeFeed,
    users: Cache<String, Entry<Option<UserStatus>>>,
    sessions: Cache<String, Entry<Option<SessionStatus>>>,
    /// Moves with every invalidation by this process.
    writes: AtomicU64,
    /// Held while an invalidation or the insert of a fresh read is under way, so the two never
    /// interleave (see the module documentation). Never held on a cache hit.
    settle: Mutex<()>,
    /// Counts every status lookup as a hit or a miss.
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for CachingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachingStore")
            .field("users", &self.users.len())
            .field("sessions", &self.sessions.len())
            .field("feed", &self.feed.state())
            .finish_non_exhaustive()
    }
}

/// What changed in a write, for invalidation.
enum Changed<'a> {
    User(&'a str),
    Sessions(&'a [String]),
    Session(&'a str),
}

impl CachingStore {
    /// The cache in front of `inner`, listening to `feed` for what other processes change and
    /// counting its hits and misses in `metrics`.
    pub fn new(
        inner: Arc<dyn Store>,
        feed: ChangeFeed,
        metrics: Arc<Metrics>,
    ) -> Arc<CachingStore> {
        let cache = Arc::new(CachingStore {
            inner,
            feed: feed.clone(),
            users: Cache::new(CAPACITY),
            sessions: Cache::new(CAPACITY),
            writes: AtomicU64::new(0),
            settle: Mutex::new(()),
            metrics,
        });
        let sink: Arc<dyn ChangeSink> = cache.clone();
        feed.subscribe(Arc::downgrade(&sink));
        cache
    }

    /// The store behind the cache.
    pub fn inner(&self) -> &Arc<dyn Store> {
        &self.inner
    }

    /// The feed this cache trusts.
    pub fn feed(&self) -> &ChangeFeed {
        &self.feed
    }

    /// The path almost every request takes: the statuses of a user and a session when both are
    /// cached and current, with no await and no database. `None` when either must be read.
    pub fn peek(
        &self,
        username: &str,
        session_id: &str,
    ) -> Option<(Option<UserStatus>, Option<SessionStatus>)> {
        let FeedState::Current(version) = self.feed.state() else {
            return None;
        };
        let user = self.users.get(username).filter(|e| e.version == version)?;
        let session = self
            .sessions
            .get(session_id)
            .filter(|e| e.version == version)?;
        // Two lookups answered; a peek that fails counts in the reads that follow it.
        self.metrics.cache_hits.inc_by(2);
        Some((user.value, session.value))
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        self.settle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Forgets what a write of this process changed.
    fn invalidate(&self, changed: &[Changed<'_>]) {
        let _settling = self.lock();
        self.writes.fetch_add(1, Ordering::AcqRel);
        for change in changed {
            match change {
                Changed::User(username) => {
                    self.users.remove(*username);
                }
                Changed::Sessions(ids) => {
                    for id in ids.iter() {
                        self.sessions.remove(id.as_str());
                    }
                }
                Changed::Session(id) => {
                    self.sessions.remove(*id);
                }
            }
        }
    }

    /// Reads through the cache: a current entry, or the inner store's answer, kept unless a
    /// write of this process or an unknown feed makes it doubtful.
    async fn read_through<T: Copy, F: Future<Output = Result<T, StoreError>>>(
        &self,
        cache: &Cache<String, Entry<T>>,
        key: &str,
        read: impl FnOnce() -> F,
    ) -> Result<T, StoreError> {
        let state = self.feed.state();
        if let FeedState::Current(version) = state
            && let Some(entry) = cache.get(key).filter(|e| e.version == version)
        {
            self.metrics.cache_hits.inc();
            return Ok(entry.value);
        }
        self.metrics.cache_misses.inc();
        let writes = self.writes.load(Ordering::Acquire);
        let value = read().await?;
        if let FeedState::Current(version) = state {
            let _settling = self.lock();
            if self.writes.load(Ordering::Acquire) == writes {
                cache.insert(key.to_owned(), Entry { value, version });
            }
        }
        Ok(value)
    }
}

/// Rows another process or instance changed: forgotten as if this process had changed them.
impl ChangeSink for CachingStore {
    fn changed(&self, change: &Change) {
        let mut changed: Vec<Changed<'_>> = change
            .users
            .iter()
            .map(|name| Changed::User(name.as_str()))
            .collect();
        changed.push(Changed::Sessions(&change.sessions));
        self.invalidate(&changed);
    }
}

#[async_trait]
impl Store for CachingStore {
    async fn find_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.inner.find_user(username).await
    }

    async fn user_status(&self, username: &str) -> Result<Option<UserStatus>, StoreError> {
        self.read_through(&self.users, username, || self.inner.user_status(username))
            .await
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
        let username = user.username.clone();
        let created = self.inner.create_user(user).await;
        // A request may have cached that no such user exists.
        self.invalidate(&[Changed::User(&username)]);
        created
    }

    async fn rename_user(
        &self,
        username: &str,
        new_username: &str,
        new_canonical: &str,
        now: i64,
    ) -> Result<Ended, StoreError> {
        let ended = self
            .inner
            .rename_user(username, new_username, new_canonical, now)
            .await?;
        self.invalidate(&[
            Changed::User(username),
            Changed::User(new_username),
            Changed::Sessions(&ended),
        ]);
        Ok(ended)
    }

    async fn refresh_canonical(
        &self,
        canonical: for<'a> fn(&'a str) -> String,
    ) -> Result<u64, StoreError> {
        // Statuses do not depend on the canonical form.
        self.inner.refresh_canonical(canonical).await
    }

    async fn canonical_clashes(&self) -> Result<Vec<Vec<String>>, StoreError> {
        self.inner.canonical_clashes().await
    }

    async fn mark_demo(&self, username: &str) -> Result<(), StoreError> {
        let marked = self.inner.mark_demo(username).await;
        self.invalidate(&[Changed::User(username)]);
        marked
    }

    async fn set_password_hash(
        &self,
        username: &str,
        hash: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        // Nothing a request checks depends on the hash.
        self.inner.set_password_hash(username, hash, now).await
    }

    async fn change_password(
        &self,
        username: &str,
        hash: &str,
        keep: Option<&str>,
        now: i64,
    ) -> Result<Ended, StoreError> {
        let ended = self
            .inner
            .change_password(username, hash, keep, now)
            .await?;
        self.invalidate(&[Changed::User(username), Changed::Sessions(&ended)]);
        Ok(ended)
    }

    async fn set_enabled(
        &self,
        username: &str,
        enabled: bool,
        now: i64,
    ) -> Result<Ended, StoreError> {
        let ended = self.inner.set_enabled(username, enabled, now).await?;
        self.invalidate(&[Changed::User(username), Changed::Sessions(&ended)]);
        Ok(ended)
    }

    async fn set_admin(&self, username: &str, is_admin: bool, now: i64) -> Result<(), StoreError> {
        let set = self.inner.set_admin(username, is_admin, now).await;
        self.invalidate(&[Changed::User(username)]);
        set
    }

    async fn delete_user(&self, username: &str) -> Result<Ended, StoreError> {
        let ended = self.inner.delete_user(username).await?;
        self.invalidate(&[Changed::User(username), Changed::Sessions(&ended)]);
        Ok(ended)
    }

    async fn create_session(
        &self,
        session: NewSession,
        limits: SessionLimits,
    ) -> Result<Ended, StoreError> {
        let (id, username) = (session.id.clone(), session.username.clone());
        let ended = self.inner.create_session(session, limits).await?;
        // The login read the account from the database: a status cached before it (a user
        // enabled by another process a moment ago) must not refuse its first request.
        self.invalidate(&[
            Changed::User(&username),
            Changed::Session(&id),
            Changed::Sessions(&ended),
        ]);
        Ok(ended)
    }

    async fn find_session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        self.inner.find_session(id).await
    }

    async fn session_status(&self, id: &str) -> Result<Option<SessionStatus>, StoreError> {
        self.read_through(&self.sessions, id, || self.inner.session_status(id))
            .await
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
        let ended = self.inner.enforce_session_cap(limits, now).await?;
        self.invalidate(&[Changed::Sessions(&ended)]);
        Ok(ended)
    }

    async fn revoke_session(
        &self,
        id: &str,
        now: i64,
        reason: &'static str,
    ) -> Result<bool, StoreError> {
        let revoked = self.inner.revoke_session(id, now, reason).await;
        self.invalidate(&[Changed::Session(id)]);
        revoked
    }

    async fn revoke_user_sessions(
        &self,
        user_id: i64,
        keep: Option<&str>,
        now: i64,
        reason: &'static str,
    ) -> Result<Ended, StoreError> {
        let ended = self
            .inner
            .revoke_user_sessions(user_id, keep, now, reason)
            .await?;
        self.invalidate(&[Changed::Sessions(&ended)]);
        Ok(ended)
    }

    async fn update_family(
        &self,
        id: &str,
        now: i64,
        decide: FamilyDecision,
    ) -> Result<Option<Session>, StoreError> {
        let updated = self.inner.update_family(id, now, decide).await;
        // Rotation and use move `last_used_at`; reuse revokes.
        self.invalidate(&[Changed::Session(id)]);
        updated
    }

    async fn prune_sessions(
        &self,
        now: i64,
        idle_before: i64,
        revoked_before: i64,
    ) -> Result<Pruned, StoreError> {
        // Only sessions that can never be used again go; a cached entry of one says as much.
        self.inner
            .prune_sessions(now, idle_before, revoked_before)
            .await
    }

    // Failed logins are counted in the database, never cached: every process counts the same.

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

    // A session's auth_time is not part of its cached status.
    async fn set_auth_time(&self, session_id: &str, auth_time: i64) -> Result<bool, StoreError> {
        self.inner.set_auth_time(session_id, auth_time).await
    }

    // The second factor is never cached: only logins and the account pages read it.
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
        let (was_on, ended) = self.inner.disable_totp(user_id, end_sessions, now).await?;
        self.invalidate(&[Changed::Sessions(&ended)]);
        Ok((was_on, ended))
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

    // The audit trail is never cached.

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
