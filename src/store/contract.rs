//! The [`Store`] trait: everything jwtapp asks of its database.

use std::collections::HashMap;

use async_trait::async_trait;

use super::error::StoreError;
use super::types::{
    Ended, Event, EventFilter, FamilyDecision, NewEvent, NewSession, NewUser, Pruned, SecondFactor,
    Session, SessionLimits, SessionStatus, User, UserStatus,
};

/// Everything jwtapp asks of its database. Every write is one transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // ----- users -----

    /// The user with exactly this spelling (what tokens carry).
    async fn find_user(&self, username: &str) -> Result<Option<User>, StoreError>;
    /// What requests need to know of the user with exactly this spelling.
    async fn user_status(&self, username: &str) -> Result<Option<UserStatus>, StoreError>;
    /// Every user whose canonical form is `canonical`: one, none, or (in a database from before
    /// canonical forms were unique) several.
    async fn find_users_by_canonical(&self, canonical: &str) -> Result<Vec<User>, StoreError>;
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;
    async fn count_users(&self) -> Result<u64, StoreError>;
    /// Creates a user, refusing (`UsernameTaken`) when a user of the same canonical form exists.
    async fn create_user(&self, user: NewUser) -> Result<User, StoreError>;
    /// Gives `username` a new spelling, refusing (`UsernameTaken`) when another user has its
    /// canonical form, and ends the user's sessions (their tokens name the old spelling).
    async fn rename_user(
        &self,
        username: &str,
        new_username: &str,
        new_canonical: &str,
        now: i64,
    ) -> Result<Ended, StoreError>;
    /// Recomputes every user's canonical form with `canonical` and stores those that differ
    /// (rows of an older jwtapp have none; a value edited by hand, or made with an older Unicode
    /// table, would be stale). Returns how many changed.
    async fn refresh_canonical(
        &self,
        canonical: for<'a> fn(&'a str) -> String,
    ) -> Result<u64, StoreError>;
    /// Groups of usernames that share one canonical form (none in a healthy database).
    async fn canonical_clashes(&self) -> Result<Vec<Vec<String>>, StoreError>;
    /// Marks a user as a demo account.
    async fn mark_demo(&self, username: &str) -> Result<(), StoreError>;
    /// Replaces the password hash and nothing else (a rehash at login keeps every session).
    async fn set_password_hash(
        &self,
        username: &str,
        hash: &str,
        now: i64,
    ) -> Result<(), StoreError>;
    /// A password change: the new hash and the end of every session of the user but `keep`.
    /// A demo account whose password is changed is a demo account no more.
    async fn change_password(
        &self,
        username: &str,
        hash: &str,
        keep: Option<&str>,
        now: i64,
    ) -> Result<Ended, StoreError>;
    /// Enables or disables a user. Disabling also ends all of their sessions, so enabling the
    /// account later does not bring old (possibly stolen) tokens back.
    async fn set_enabled(
        &self,
        username: &str,
        enabled: bool,
        now: i64,
    ) -> Result<Ended, StoreError>;
    async fn set_admin(&self, username: &str, is_admin: bool, now: i64) -> Result<(), StoreError>;
    /// Deletes the user and, with them, their sessions.
    async fn delete_user(&self, username: &str) -> Result<Ended, StoreError>;

    // ----- sessions -----

    /// Records a new login, and ends the user's least recently used active sessions beyond
    /// `limits.max_per_user`.
    async fn create_session(
        &self,
        session: NewSession,
        limits: SessionLimits,
    ) -> Result<Ended, StoreError>;
    async fn find_session(&self, id: &str) -> Result<Option<Session>, StoreError>;
    /// What requests need to know of a session.
    async fn session_status(&self, id: &str) -> Result<Option<SessionStatus>, StoreError>;
    /// The user's active sessions, most recently used first, at most `limit` of them.
    async fn active_sessions(
        &self,
        user_id: i64,
        now: i64,
        idle_secs: i64,
        limit: u32,
    ) -> Result<Vec<Session>, StoreError>;
    /// How many active sessions each user has (users without any are absent).
    async fn active_session_counts(
        &self,
        now: i64,
        idle_secs: i64,
    ) -> Result<HashMap<i64, u64>, StoreError>;
    /// Ends, for every user, the least recently used active sessions beyond
    /// `limits.max_per_user` (after the cap was lowered).
    async fn enforce_session_cap(
        &self,
        limits: SessionLimits,
        now: i64,
    ) -> Result<Ended, StoreError>;
    /// Marks the session revoked; false when it was missing or already revoked.
    async fn revoke_session(
        &self,
        id: &str,
        now: i64,
        reason: &'static str,
    ) -> Result<bool, StoreError>;
    /// Revokes every unrevoked session of `user_id` except `keep`.
    async fn revoke_user_sessions(
        &self,
        user_id: i64,
        keep: Option<&str>,
        now: i64,
        reason: &'static str,
    ) -> Result<Ended, StoreError>;
    /// The refresh step, atomically: reads session `id` in a write transaction, lets `decide`
    /// choose the change, applies it and returns the row as it is afterwards (`None` when there
    /// is no such session). Two refreshes of one family are serialized here, whichever process
    /// or instance they come from, so they can never both rotate it.
    async fn update_family(
        &self,
        id: &str,
        now: i64,
        decide: FamilyDecision,
    ) -> Result<Option<Session>, StoreError>;
    /// Deletes sessions that can never be used again: past their absolute end, idle since
    /// before `idle_before`, or revoked before `revoked_before`. Idempotent.
    async fn prune_sessions(
        &self,
        now: i64,
        idle_before: i64,
        revoked_before: i64,
    ) -> Result<Pruned, StoreError>;

    /// Records that the user entered their password again in this session: the `auth_time` of
    /// the tokens it mints from now on. False when there is no such session.
    async fn set_auth_time(&self, session_id: &str, auth_time: i64) -> Result<bool, StoreError>;

    // ----- the second factor -----

    /// The user's second factor (all `None` and zero without one).
    async fn second_factor(&self, user_id: i64) -> Result<SecondFactor, StoreError>;
    /// Keeps a new secret until a code confirms it (replacing any earlier unconfirmed one).
    async fn set_pending_totp(
        &self,
        user_id: i64,
        sealed: &str,
        now: i64,
    ) -> Result<(), StoreError>;
    /// Turns the second factor on with the pending secret `sealed` (confirmed by a code of
    /// `step`), with these recovery code hashes. False when the pending secret is no longer
    /// `sealed` (another setup replaced it) or the factor is on already.
    async fn enable_totp(
        &self,
        user_id: i64,
        sealed: &str,
        step: i64,
        recovery_hashes: Vec<String>,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Turns the second factor off: the secrets and recovery codes go. With `end_sessions`, every
    /// session of the user ends too (an administrator's reset). False when it was not on.
    async fn disable_totp(
        &self,
        user_id: i64,
        end_sessions: bool,
        now: i64,
    ) -> Result<(bool, Ended), StoreError>;
    /// Accepts a code of `step` once: records it as the last step used and answers true, unless
    /// a code of this step or a later one was accepted already (a replay).
    async fn use_totp_step(&self, user_id: i64, step: i64) -> Result<bool, StoreError>;
    /// Uses the recovery code of this hash: true once, false when it is not one of the user's
    /// unused codes.
    async fn use_recovery_code(
        &self,
        user_id: i64,
        hash: &str,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Replaces every recovery code of a user whose second factor is on. False when it is off.
    async fn replace_recovery_codes(
        &self,
        user_id: i64,
        hashes: Vec<String>,
    ) -> Result<bool, StoreError>;

    // ----- single-use tokens -----

    /// Marks the token `id` used: true the first time, false ever after (until it expired and
    /// was pruned).
    async fn use_token_once(&self, id: &str, expires_at: i64) -> Result<bool, StoreError>;
    /// Whether the token `id` was used already (and not yet pruned): a read, for a check made
    /// before anything else of the request is spent.
    async fn token_used(&self, id: &str) -> Result<bool, StoreError>;
    /// Forgets used tokens that expired before `before`. Idempotent.
    async fn prune_used_tokens(&self, before: i64) -> Result<u64, StoreError>;

    // ----- failed logins (throttling) -----

    /// The failures recorded under each of `keys` at or after `since`, oldest first.
    async fn recent_failures(
        &self,
        keys: &[String],
        since: i64,
    ) -> Result<Vec<(String, i64)>, StoreError>;
    /// Records one failure at `at` under each of `keys`.
    async fn record_failure(&self, keys: &[String], at: i64) -> Result<(), StoreError>;
    /// Forgets every failure under `key`.
    async fn forgive_failures(&self, key: &str) -> Result<(), StoreError>;
    /// Deletes failures recorded before `before`. Idempotent.
    async fn prune_failures(&self, before: i64) -> Result<u64, StoreError>;

    // ----- the security audit trail -----

    /// Records events, in one transaction.
    async fn record_events(&self, events: Vec<NewEvent>) -> Result<(), StoreError>;
    /// Events matching `filter`, newest first, at most `filter.limit`. With both `user_id` and
    /// `username`, an event matching either is read.
    async fn events(&self, filter: EventFilter) -> Result<Vec<Event>, StoreError>;
    /// Deletes events recorded before `before`. Idempotent.
    async fn prune_events(&self, before: i64) -> Result<u64, StoreError>;

    /// The schema version the database has (this build's, once opened).
    async fn schema_version(&self) -> Result<i64, StoreError>;
    /// Answers when the database is reachable and has this build's schema.
    async fn ping(&self) -> Result<(), StoreError>;
}
