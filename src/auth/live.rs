//! What the per-request check needs to know about users and logins, cached in memory.
//!
//! Correctness rule: a change committed to the database (a logout, a disabled or deleted user,
//! a demotion) is seen by the next request, even when another process such as the CLI made it.
//! Every check first asks the store for its change marker (on SQLite, the wal-index header,
//! tens of nanoseconds) and drops the whole cache when it moved. A generation counter keeps a
//! lookup that raced with such a drop from putting stale data back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::store::{Session, Store, StoreError, User};

/// Entries kept before the cache starts over; bounds memory whatever the traffic.
const MAX_ENTRIES: usize = 100_000;

/// The parts of a user that authorization depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserStatus {
    pub id: i64,
    pub enabled: bool,
    pub is_admin: bool,
    /// A demo account, usable in the debug profile only.
    pub is_demo: bool,
}

/// The parts of a login that authorization depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionStatus {
    pub user_id: i64,
    pub expires_at: i64,
    pub last_used_at: i64,
    pub revoked: bool,
}

impl From<User> for UserStatus {
    fn from(user: User) -> Self {
        UserStatus {
            id: user.id,
            enabled: user.enabled,
            is_admin: user.is_admin,
            is_demo: user.is_demo,
        }
    }
}

impl From<Session> for SessionStatus {
    fn from(session: Session) -> Self {
        SessionStatus {
            user_id: session.user_id,
            expires_at: session.expires_at,
            last_used_at: session.last_used_at,
            revoked: session.revoked_at.is_some(),
        }
    }
}

/// Keys are usernames and session ids taken from tokens that passed verification, which nobody
/// can choose freely, so a fast hash is enough.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

#[derive(Default)]
struct Entries {
    generation: u64,
    users: FastMap<String, Option<UserStatus>>,
    sessions: FastMap<String, Option<SessionStatus>>,
}

impl Entries {
    fn clear(&mut self) {
        self.users.clear();
        self.sessions.clear();
        self.generation += 1;
    }

    fn make_room(&mut self) {
        if self.users.len() + self.sessions.len() >= MAX_ENTRIES {
            self.clear();
        }
    }
}

/// A read-through cache of [`UserStatus`] and [`SessionStatus`] in front of a [`Store`].
pub struct LiveCache {
    store: Arc<dyn Store>,
    marker: AtomicI64,
    entries: RwLock<Entries>,
}

impl LiveCache {
    pub fn new(store: Arc<dyn Store>) -> LiveCache {
        LiveCache {
            store,
            marker: AtomicI64::new(i64::MIN),
            entries: RwLock::default(),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Entries> {
        self.entries
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Entries> {
        self.entries
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Drops everything cached when the database changed since the last look.
    pub fn sync(&self) -> Result<(), StoreError> {
        let marker = self.store.change_marker()?;
        if self.marker.load(Ordering::Acquire) != marker {
            // Compare again under the lock so that no request reads the old entries once any
            // request has seen the new marker.
            let mut entries = self.write();
            if self.marker.load(Ordering::Acquire) != marker {
                entries.clear();
                self.marker.store(marker, Ordering::Release);
            }
        }
        Ok(())
    }

    /// Forgets everything; called after this process writes, so the effect does not wait for the
    /// next marker check.
    pub fn invalidate(&self) {
        self.write().clear();
    }

    /// A user's and a session's status when both are cached, looked up under one lock: the
    /// path almost every request takes. `None` when either must be read from the store.
    pub fn cached(
        &self,
        username: &str,
        session_id: &str,
    ) -> Option<(Option<UserStatus>, Option<SessionStatus>)> {
        let entries = self.read();
        let user = *entries.users.get(username)?;
        let session = *entries.sessions.get(session_id)?;
        Some((user, session))
    }

    pub async fn user(&self, username: &str) -> Result<Option<UserStatus>, StoreError> {
        let generation = {
            let entries = self.read();
            if let Some(hit) = entries.users.get(username) {
                return Ok(*hit);
            }
            entries.generation
        };
        let store = Arc::clone(&self.store);
        let name = username.to_owned();
        let found = blocking(move || store.find_user(&name))
            .await?
            .map(UserStatus::from);
        let mut entries = self.write();
        if entries.generation == generation {
            entries.make_room();
            entries.users.insert(username.to_owned(), found);
        }
        Ok(found)
    }

    pub async fn session(&self, id: &str) -> Result<Option<SessionStatus>, StoreError> {
        let generation = {
            let entries = self.read();
            if let Some(hit) = entries.sessions.get(id) {
                return Ok(*hit);
            }
            entries.generation
        };
        let store = Arc::clone(&self.store);
        let key = id.to_owned();
        let found = blocking(move || store.find_session(&key))
            .await?
            .map(SessionStatus::from);
        let mut entries = self.write();
        if entries.generation == generation {
            entries.make_room();
            entries.sessions.insert(id.to_owned(), found);
        }
        Ok(found)
    }
}

/// Runs a store call on a blocking thread.
pub async fn blocking<T, F>(work: F) -> Result<T, StoreError>
where
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    rocket::tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Database(format!("store task failed: {e}")))?
}
