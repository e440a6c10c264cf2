//! [`Store`] on PostgreSQL, for several instances sharing one database.
//!
//! The SQL lives in [`users`], [`sessions`] and [`failures`]. Every write that changes what a
//! request checks (a user's status, a session's) notifies the other instances in its own
//! transaction ([`notify`]); [`listener`] hears theirs.

mod events;
mod factors;
mod failures;
mod listener;
mod migrate;
mod notify;
mod sessions;
mod users;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

use crate::store::changes::ChangeFeed;
use crate::store::contract::Store;
use crate::store::error::StoreError;
use crate::store::types::{
    Ended, Event, EventFilter, FamilyDecision, NewEvent, NewSession, NewUser, Pruned, SecondFactor,
    Session, SessionLimits, SessionStatus, User, UserStatus,
};

/// How long a request waits for a connection from the pool before the database counts as
/// unavailable (503): never a hang.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// The longest any statement may run.
const STATEMENT_TIMEOUT_MS: u32 = 5000;

/// PostgreSQL behind the [`Store`] trait. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    url: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/dbname`) with a pool
    /// of at most `max_connections`, and brings its schema up to date (safely when several
    /// instances start at once).
    pub async fn open(url: &str, max_connections: u32) -> Result<PgStore, StoreError> {
        let options: PgConnectOptions = url
            .parse::<PgConnectOptions>()
            .map_err(|_| StoreError::BadUrl)?
            .options([("statement_timeout", STATEMENT_TIMEOUT_MS.to_string())])
            .disable_statement_logging();
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        migrate::migrate(&pool).await?;
        Ok(PgStore {
            pool,
            url: url.to_owned(),
        })
    }

    /// A feed of what other instances and processes change, heard through `LISTEN` (see
    /// [`listener`]). Connects once before returning.
    pub async fn watch_commits(&self) -> Result<ChangeFeed, StoreError> {
        let feed = ChangeFeed::manual();
        listener::start(&self.url, &self.pool, &feed).await?;
        Ok(feed)
    }
}

#[async_trait]
impl Store for PgStore {
    async fn find_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        users::find(&self.pool, username).await
    }

    async fn user_status(&self, username: &str) -> Result<Option<UserStatus>, StoreError> {
        users::status(&self.pool, username).await
    }

    async fn find_users_by_canonical(&self, canonical: &str) -> Result<Vec<User>, StoreError> {
        users::by_canonical(&self.pool, canonical).await
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        users::list(&self.pool).await
    }

    async fn count_users(&self) -> Result<u64, StoreError> {
        users::count(&self.pool).await
    }

    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        users::create(&self.pool, &user).await
    }

    async fn rename_user(
        &self,
        username: &str,
        new_username: &str,
        new_canonical: &str,
        now: i64,
    ) -> Result<Ended, StoreError> {
        users::rename(&self.pool, username, new_username, new_canonical, now).await
    }

    async fn refresh_canonical(
        &self,
        canonical: for<'a> fn(&'a str) -> String,
    ) -> Result<u64, StoreError> {
        users::refresh_canonical(&self.pool, canonical).await
    }

    async fn canonical_clashes(&self) -> Result<Vec<Vec<String>>, StoreError> {
        users::clashes(&self.pool).await
    }

    async fn mark_demo(&self, username: &str) -> Result<(), StoreError> {
        users::mark_demo(&self.pool, username).await
    }

    async fn set_password_hash(
        &self,
        username: &str,
        hash: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        users::set_password_hash(&self.pool, username, hash, now).await
    }

    async fn change_password(
        &self,
        username: &str,
        hash: &str,
        keep: Option<&str>,
        now: i64,
    ) -> Result<Ended, StoreError> {
        users::change_password(&self.pool, username, hash, keep, now).await
    }

    async fn set_enabled(
        &self,
        username: &str,
        enabled: bool,
        now: i64,
    ) -> Result<Ended, StoreError> {
        users::set_enabled(&self.pool, username, enabled, now).await
    }

    async fn set_admin(&self, username: &str, is_admin: bool, now: i64) -> Result<(), StoreError> {
        users::set_admin(&self.pool, username, is_admin, now).await
    }

    async fn delete_user(&self, username: &str) -> Result<Ended, StoreError> {
        users::delete(&self.pool, username).await
    }

    async fn create_session(
        &self,
        session: NewSession,
        limits: SessionLimits,
    ) -> Result<Ended, StoreError> {
        sessions::create(&self.pool, &session, limits).await
    }

    async fn find_session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        sessions::find(&self.pool, id).await
    }

    async fn session_status(&self, id: &str) -> Result<Option<SessionStatus>, StoreError> {
        sessions::status(&self.pool, id).await
    }

    async fn active_sessions(
        &self,
        user_id: i64,
        now: i64,
        idle_secs: i64,
        limit: u32,
    ) -> Result<Vec<Session>, StoreError> {
        sessions::active(&self.pool, user_id, now, idle_secs, limit).await
    }

    async fn active_session_counts(
        &self,
        now: i64,
        idle_secs: i64,
    ) -> Result<HashMap<i64, u64>, StoreError> {
        sessions::active_counts(&self.pool, now, idle_secs).await
    }

    async fn enforce_session_cap(
        &self,
        limits: SessionLimits,
        now: i64,
    ) -> Result<Ended, StoreError> {
        sessions::enforce_cap(&self.pool, limits, now).await
    }

    async fn revoke_session(
        &self,
        id: &str,
        now: i64,
        reason: &'static str,
    ) -> Result<bool, StoreError> {
        sessions::revoke(&self.pool, id, now, reason).await
    }

    async fn revoke_user_sessions(
        &self,
        user_id: i64,
        keep: Option<&str>,
        now: i64,
        reason: &'static str,
    ) -> Result<Ended, StoreError> {
        sessions::revoke_user(&self.pool, user_id, keep, now, reason).await
    }

    async fn update_family(
        &self,
        id: &str,
        now: i64,
        decide: FamilyDecision,
    ) -> Result<Option<Session>, StoreError> {
        sessions::update_family(&self.pool, id, now, decide).await
    }

    async fn prune_sessions(
        &self,
        now: i64,
        idle_before: i64,
        revoked_before: i64,
    ) -> Result<Pruned, StoreError> {
        sessions::prune(&self.pool, now, idle_before, revoked_before).await
    }

    async fn recent_failures(
        &self,
        keys: &[String],
        since: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        failures::recent(&self.pool, keys, since).await
    }

    async fn record_failure(&self, keys: &[String], at: i64) -> Result<(), StoreError> {
        failures::record(&self.pool, keys, at).await
    }

    async fn forgive_failures(&self, key: &str) -> Result<(), StoreError> {
        failures::forgive(&self.pool, key).await
    }

    async fn prune_failures(&self, before: i64) -> Result<u64, StoreError> {
        failures::prune(&self.pool, before).await
    }

    async fn set_auth_time(&self, session_id: &str, auth_time: i64) -> Result<bool, StoreError> {
        sessions::set_auth_time(&self.pool, session_id, auth_time).await
    }

    async fn second_factor(&self, user_id: i64) -> Result<SecondFactor, StoreError> {
        factors::read(&self.pool, user_id).await
    }

    async fn set_pending_totp(
        &self,
        user_id: i64,
        sealed: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        factors::set_pending(&self.pool, user_id, sealed, now).await
    }

    async fn enable_totp(
        &self,
        user_id: i64,
        sealed: &str,
        step: i64,
        recovery_hashes: Vec<String>,
        now: i64,
    ) -> Result<bool, StoreError> {
        factors::enable(&self.pool, user_id, sealed, step, &recovery_hashes, now).await
    }

    async fn disable_totp(
        &self,
        user_id: i64,
        end_sessions: bool,
        now: i64,
    ) -> Result<(bool, Ended), StoreError> {
        factors::disable(&self.pool, user_id, end_sessions, now).await
    }

    async fn use_totp_step(&self, user_id: i64, step: i64) -> Result<bool, StoreError> {
        factors::use_step(&self.pool, user_id, step).await
    }

    async fn use_recovery_code(
        &self,
        user_id: i64,
        hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        factors::use_recovery_code(&self.pool, user_id, hash, now).await
    }

    async fn replace_recovery_codes(
        &self,
        user_id: i64,
        hashes: Vec<String>,
    ) -> Result<bool, StoreError> {
        factors::replace_recovery_codes(&self.pool, user_id, &hashes).await
    }

    async fn use_token_once(&self, id: &str, expires_at: i64) -> Result<bool, StoreError> {
        factors::use_once(&self.pool, id, expires_at).await
    }

    async fn token_used(&self, id: &str) -> Result<bool, StoreError> {
        factors::is_used(&self.pool, id).await
    }

    async fn prune_used_tokens(&self, before: i64) -> Result<u64, StoreError> {
        factors::prune_used(&self.pool, before).await
    }

    async fn record_events(&self, events: Vec<NewEvent>) -> Result<(), StoreError> {
        events::record(&self.pool, &events).await
    }

    async fn events(&self, filter: EventFilter) -> Result<Vec<Event>, StoreError> {
        events::read(&self.pool, &filter).await
    }

    async fn prune_events(&self, before: i64) -> Result<u64, StoreError> {
        events::prune(&self.pool, before).await
    }

    async fn schema_version(&self) -> Result<i64, StoreError> {
        migrate::version(&self.pool).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let found = migrate::version(&self.pool).await?;
        let expected = crate::store::migrations::current_version();
        if found != expected as i64 {
            return Err(StoreError::SchemaMismatch { found, expected });
        }
        Ok(())
    }
}
