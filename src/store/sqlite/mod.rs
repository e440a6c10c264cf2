//! [`Store`] on an embedded SQLite file, in WAL mode: readers never wait for the writer, and the
//! CLI (another process) can change users while the server runs.
//!
//! rusqlite is synchronous, so every call runs on Tokio's blocking pool. The SQL lives in
//! [`users`] and [`sessions`], as plain functions of a connection.

mod commits;
mod connection;
mod events;
mod factors;
mod failures;
mod sessions;
mod users;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::migrations::{MIGRATIONS, current_version};
use crate::store::changes::ChangeFeed;
use crate::store::contract::Store;
use crate::store::error::StoreError;
use crate::store::types::{
    Ended, Event, EventFilter, FamilyDecision, NewEvent, NewSession, NewUser, Pruned, SecondFactor,
    Session, SessionLimits, SessionStatus, User, UserStatus,
};
use connection::connect;

/// The database file and its connections.
struct Database {
    /// Every write goes through this one connection (SQLite has one writer at a time anyway).
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    path: PathBuf,
}

/// SQLite behind the [`Store`] trait. Cheap to clone: clones share the connections.
#[derive(Clone)]
pub struct SqliteStore {
    db: Arc<Database>,
}

fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock cannot leave a half-done transaction behind (rusqlite rolls
    // back on drop), so the connection is still fine to use.
    conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    // IMMEDIATE takes the write lock before reading the version, so a server and a CLI opening a
    // new file at the same moment cannot both apply the same step.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let applied: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let known = current_version();
    let done = usize::try_from(applied).unwrap_or(usize::MAX);
    if done > known {
        return Err(StoreError::SchemaTooNew {
            found: applied,
            known,
        });
    }
    for migration in &MIGRATIONS[done..] {
        tx.execute_batch(migration.sqlite)?;
        log::info!("database schema: applied {}", migration.name);
    }
    if done < known {
        tx.pragma_update(None, "user_version", known as i64)?;
    }
    tx.commit()?;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date. Blocking.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDirectory {
                path: dir.to_owned(),
                source,
            })?;
        }
        let mut writer = connect(path)?;
        migrate(&mut writer)?;
        Ok(SqliteStore {
            db: Arc::new(Database {
                writer: Mutex::new(writer),
                reader: Mutex::new(connect(path)?),
                path: path.to_owned(),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.db.path
    }

    /// A feed of commits made by any connection, this process's and other processes' alike,
    /// polled every `every` on a connection of its own (see [`ChangeFeed`]).
    pub fn watch_commits(&self, every: Duration) -> Result<ChangeFeed, StoreError> {
        commits::watch(&self.db.path, every)
    }

    /// Runs `read` on the reading connection, on the blocking pool.
    async fn read<T, F>(&self, read: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || read(&lock(&db.reader))).await?
    }

    /// Runs `write` on the writing connection, on the blocking pool.
    async fn write<T, F>(&self, write: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || write(&mut lock(&db.writer))).await?
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn find_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        let username = username.to_owned();
        self.read(move |conn| users::find(conn, &username)).await
    }

    async fn user_status(&self, username: &str) -> Result<Option<UserStatus>, StoreError> {
        let username = username.to_owned();
        self.read(move |conn| users::status(conn, &username)).await
    }

    async fn find_users_by_canonical(&self, canonical: &str) -> Result<Vec<User>, StoreError> {
        let canonical = canonical.to_owned();
        self.read(move |conn| users::by_canonical(conn, &canonical))
            .await
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        self.read(users::list).await
    }

    async fn count_users(&self) -> Result<u64, StoreError> {
        self.read(users::count).await
    }

    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        self.write(move |conn| users::create(conn, &user)).await
    }

    async fn rename_user(
        &self,
        username: &str,
        new_username: &str,
        new_canonical: &str,
        now: i64,
    ) -> Result<Ended, StoreError> {
        let (old, new, canonical) = (
            username.to_owned(),
            new_username.to_owned(),
            new_canonical.to_owned(),
        );
        self.write(move |conn| users::rename(conn, &old, &new, &canonical, now))
            .await
    }

    async fn refresh_canonical(
        &self,
        canonical: for<'a> fn(&'a str) -> String,
    ) -> Result<u64, StoreError> {
        self.write(move |conn| users::refresh_canonical(conn, canonical))
            .await
    }

    async fn canonical_clashes(&self) -> Result<Vec<Vec<String>>, StoreError> {
        self.read(users::clashes).await
    }

    async fn mark_demo(&self, username: &str) -> Result<(), StoreError> {
        let username = username.to_owned();
        self.write(move |conn| users::mark_demo(conn, &username))
            .await
    }

    async fn set_password_hash(
        &self,
        username: &str,
        hash: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let (username, hash) = (username.to_owned(), hash.to_owned());
        self.write(move |conn| users::set_password_hash(conn, &username, &hash, now))
            .await
    }

    async fn change_password(
        &self,
        username: &str,
        hash: &str,
        keep: Option<&str>,
        now: i64,
    ) -> Result<Ended, StoreError> {
        let (username, hash) = (username.to_owned(), hash.to_owned());
        let keep = keep.map(str::to_owned);
        self.write(move |conn| users::change_password(conn, &username, &hash, keep.as_deref(), now))
            .await
    }

    async fn set_enabled(
        &self,
        username: &str,
        enabled: bool,
        now: i64,
    ) -> Result<Ended, StoreError> {
        let username = username.to_owned();
        self.write(move |conn| users::set_enabled(conn, &username, enabled, now))
            .await
    }

    async fn set_admin(&self, username: &str, is_admin: bool, now: i64) -> Result<(), StoreError> {
        let username = username.to_owned();
        self.write(move |conn| users::set_admin(conn, &username, is_admin, now))
            .await
    }

    async fn delete_user(&self, username: &str) -> Result<Ended, StoreError> {
        let username = username.to_owned();
        self.write(move |conn| users::delete(conn, &username)).await
    }

    async fn create_session(
        &self,
        session: NewSession,
        limits: SessionLimits,
    ) -> Result<Ended, StoreError> {
        self.write(move |conn| sessions::create(conn, &session, limits))
            .await
    }

    async fn find_session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| Ok(sessions::find(conn, &id)?)).await
    }

    async fn session_status(&self, id: &str) -> Result<Option<SessionStatus>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| sessions::status(conn, &id)).await
    }

    async fn active_sessions(
        &self,
        user_id: i64,
        now: i64,
        idle_secs: i64,
        limit: u32,
    ) -> Result<Vec<Session>, StoreError> {
        self.read(move |conn| sessions::active(conn, user_id, now, idle_secs, limit))
            .await
    }

    async fn active_session_counts(
        &self,
        now: i64,
        idle_secs: i64,
    ) -> Result<HashMap<i64, u64>, StoreError> {
        self.read(move |conn| sessions::active_counts(conn, now, idle_secs))
            .await
    }

    async fn enforce_session_cap(
        &self,
        limits: SessionLimits,
        now: i64,
    ) -> Result<Ended, StoreError> {
        self.write(move |conn| sessions::enforce_cap(conn, limits, now))
            .await
    }

    async fn revoke_session(
        &self,
        id: &str,
        now: i64,
        reason: &'static str,
    ) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(move |conn| sessions::revoke(conn, &id, now, reason))
            .await
    }

    async fn revoke_user_sessions(
        &self,
        user_id: i64,
        keep: Option<&str>,
        now: i64,
        reason: &'static str,
    ) -> Result<Ended, StoreError> {
        let keep = keep.map(str::to_owned);
        self.write(move |conn| {
            Ok(sessions::revoke_all_of(
                conn,
                user_id,
                keep.as_deref(),
                now,
                reason,
            )?)
        })
        .await
    }

    async fn update_family(
        &self,
        id: &str,
        now: i64,
        decide: FamilyDecision,
    ) -> Result<Option<Session>, StoreError> {
        let id = id.to_owned();
        self.write(move |conn| sessions::update_family(conn, &id, now, decide))
            .await
    }

    async fn prune_sessions(
        &self,
        now: i64,
        idle_before: i64,
        revoked_before: i64,
    ) -> Result<Pruned, StoreError> {
        let db = Arc::clone(&self.db);
        // Batch by batch, each its own statement, so requests waiting for the writer get in
        // between.
        tokio::task::spawn_blocking(move || {
            sessions::prune(|| lock(&db.writer), now, idle_before, revoked_before)
        })
        .await?
    }

    async fn recent_failures(
        &self,
        keys: &[String],
        since: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let keys = keys.to_vec();
        self.read(move |conn| failures::recent(conn, &keys, since))
            .await
    }

    async fn record_failure(&self, keys: &[String], at: i64) -> Result<(), StoreError> {
        let keys = keys.to_vec();
        self.write(move |conn| failures::record(conn, &keys, at))
            .await
    }

    async fn forgive_failures(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.write(move |conn| failures::forgive(conn, &key)).await
    }

    async fn prune_failures(&self, before: i64) -> Result<u64, StoreError> {
        self.write(move |conn| failures::prune(conn, before)).await
    }

    async fn set_auth_time(&self, session_id: &str, auth_time: i64) -> Result<bool, StoreError> {
        let id = session_id.to_owned();
        self.write(move |conn| sessions::set_auth_time(conn, &id, auth_time))
            .await
    }

    async fn second_factor(&self, user_id: i64) -> Result<SecondFactor, StoreError> {
        self.read(move |conn| factors::read(conn, user_id)).await
    }

    async fn set_pending_totp(
        &self,
        user_id: i64,
        sealed: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let sealed = sealed.to_owned();
        self.write(move |conn| factors::set_pending(conn, user_id, &sealed, now))
            .await
    }

    async fn enable_totp(
        &self,
        user_id: i64,
        sealed: &str,
        step: i64,
        recovery_hashes: Vec<String>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let sealed = sealed.to_owned();
        self.write(move |conn| factors::enable(conn, user_id, &sealed, step, &recovery_hashes, now))
            .await
    }

    async fn disable_totp(
        &self,
        user_id: i64,
        end_sessions: bool,
        now: i64,
    ) -> Result<(bool, Ended), StoreError> {
        self.write(move |conn| factors::disable(conn, user_id, end_sessions, now))
            .await
    }

    async fn use_totp_step(&self, user_id: i64, step: i64) -> Result<bool, StoreError> {
        self.write(move |conn| factors::use_step(conn, user_id, step))
            .await
    }

    async fn use_recovery_code(
        &self,
        user_id: i64,
        hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let hash = hash.to_owned();
        self.write(move |conn| factors::use_recovery_code(conn, user_id, &hash, now))
            .await
    }

    async fn replace_recovery_codes(
        &self,
        user_id: i64,
        hashes: Vec<String>,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| factors::replace_recovery_codes(conn, user_id, &hashes))
            .await
    }

    async fn use_token_once(&self, id: &str, expires_at: i64) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(move |conn| factors::use_once(conn, &id, expires_at))
            .await
    }

    async fn token_used(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| factors::is_used(conn, &id)).await
    }

    async fn prune_used_tokens(&self, before: i64) -> Result<u64, StoreError> {
        self.write(move |conn| factors::prune_used(conn, before))
            .await
    }

    async fn record_events(&self, events: Vec<NewEvent>) -> Result<(), StoreError> {
        self.write(move |conn| events::record(conn, &events)).await
    }

    async fn events(&self, filter: EventFilter) -> Result<Vec<Event>, StoreError> {
        self.read(move |conn| events::read(conn, &filter)).await
    }

    async fn prune_events(&self, before: i64) -> Result<u64, StoreError> {
        self.write(move |conn| events::prune(conn, before)).await
    }

    async fn schema_version(&self) -> Result<i64, StoreError> {
        self.read(|conn| Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?))
            .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let path = self.db.path.clone();
        tokio::task::spawn_blocking(move || ping(&path)).await?
    }
}

/// A connection of its own, opened without creating anything: the answer then comes from the
/// file as it is now (there, readable, a database, our schema), not from connections that were
/// opened at start and would keep working on a deleted file. Read-only: a probe must never
/// write, not even the recovery of a WAL that does not belong to the file it finds.
fn ping(path: &Path) -> Result<(), StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(1))?;
    let found: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let expected = current_version();
    if found != expected as i64 {
        return Err(StoreError::SchemaMismatch { found, expected });
    }
    conn.query_row("SELECT COUNT(*) FROM sqlite_schema", [], |_| Ok(()))?;
    Ok(())
}
