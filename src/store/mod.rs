//! The database behind one narrow interface, [`Store`].
//!
//! The rest of the application sees users and sessions only through this trait, so a PostgreSQL
//! backend (for several instances behind a load balancer) is one more implementation of it.
//! Methods are blocking: callers run them on a blocking thread (`spawn_blocking`).

mod sqlite;
mod wal_index;

pub use sqlite::SqliteStore;

/// A user account as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    /// The spelling the administrator chose, shown everywhere and carried as the tokens' `sub`.
    pub username: String,
    /// The form accounts are told apart by (see `auth::usernames`); unique among users.
    pub canonical: String,
    pub password_hash: String,
    pub enabled: bool,
    pub is_admin: bool,
    /// Made by `demo_users`, with a published password: only the debug profile lets it log in.
    pub is_demo: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What creating a user records.
#[derive(Clone)]
pub struct NewUser {
    pub username: String,
    pub canonical: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub is_demo: bool,
    pub now: i64,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("is_admin", &self.is_admin)
            .field("is_demo", &self.is_demo)
            .finish_non_exhaustive()
    }
}

// Hashes stay out of logs and panics.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("canonical", &self.canonical)
            .field("password_hash", &"[redacted]")
            .field("enabled", &self.enabled)
            .field("is_admin", &self.is_admin)
            .field("is_demo", &self.is_demo)
            .finish()
    }
}

/// One login, which is also one refresh-token family: all tokens minted from it carry its `id`
/// as their `sid` claim, so revoking the row ends all of them at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub user_id: i64,
    pub created_at: i64,
    /// The family's absolute end; rotation never moves it.
    pub expires_at: i64,
    /// The last login or refresh; the family ends after `refresh_idle_secs` without one.
    pub last_used_at: i64,
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<String>,
    pub user_agent: Option<String>,
    pub address: Option<String>,
    /// The `jti` of the family's live refresh token (`None` for a session of an older jwtapp).
    pub refresh_jti: Option<String>,
    /// When the live refresh token was minted: its `iat`, and the start of the grace window in
    /// which its parent is still honoured.
    pub refresh_issued_at: i64,
    /// The `jti` of the refresh token the live one replaced.
    pub previous_jti: Option<String>,
}

impl Session {
    /// True while tokens of this family may be used: not revoked, not past its absolute end,
    /// and used within the last `idle_secs`.
    pub fn is_live(&self, now: i64, idle_secs: i64) -> bool {
        self.revoked_at.is_none()
            && self.expires_at > now
            && self.last_used_at.saturating_add(idle_secs) > now
    }
}

/// What a new login records.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: String,
    pub user_id: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub user_agent: Option<String>,
    pub address: Option<String>,
    /// The `jti` of the refresh token the login hands out.
    pub refresh_jti: String,
}

/// The change a refresh makes to its family, decided by the caller from the row as it is
/// inside the write transaction (see [`Store::update_family`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FamilyUpdate {
    /// A new live refresh token `jti` replaces `previous`, minted now; the family was used now.
    Rotate { previous: String, jti: String },
    /// The family was used now; its tokens stay as they are.
    Touch,
    /// End the family, recording why.
    Revoke { reason: &'static str },
    /// Nothing to write.
    Keep,
}

/// Why a family was revoked, as recorded in `revoked_reason`.
pub mod reason {
    pub const LOGOUT: &str = "logout";
    pub const REUSE: &str = "refresh token reuse";
    pub const USER: &str = "revoked by its user";
    pub const PASSWORD: &str = "password changed";
    pub const ADMIN: &str = "ended by an administrator";
    pub const DISABLED: &str = "account disabled";
    pub const RENAMED: &str = "account renamed";
    pub const SESSION_CAP: &str = "session limit reached: least recently used";
}

/// How many rows [`Store::prune_sessions`] removed, for the log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub sessions: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The canonical form of the name is taken: `existing` is the user who has it.
    #[error(
        "a user named {existing:?} already exists: usernames that differ only in letter case or \
         in look-alike characters are one account"
    )]
    UsernameTaken { existing: String },
    #[error("no user named {0:?}")]
    NoSuchUser(String),
    #[error("database error: {0}")]
    Database(String),
}

/// Everything jwtapp asks of its database.
pub trait Store: Send + Sync + 'static {
    /// The user with exactly this spelling (what tokens carry).
    fn find_user(&self, username: &str) -> Result<Option<User>, StoreError>;
    /// Every user whose canonical form is `canonical`: one, none, or (in a database from before
    /// canonical forms were unique) several.
    fn find_users_by_canonical(&self, canonical: &str) -> Result<Vec<User>, StoreError>;
    fn list_users(&self) -> Result<Vec<User>, StoreError>;
    fn count_users(&self) -> Result<u64, StoreError>;
    /// Creates a user, refusing (`UsernameTaken`) when a user of the same canonical form exists;
    /// the check and the insert are one transaction.
    fn create_user(&self, user: &NewUser) -> Result<User, StoreError>;
    /// Gives `username` a new spelling, refusing (`UsernameTaken`) when another user has its
    /// canonical form. Ends the user's sessions (their tokens name the old spelling). Returns
    /// the sessions ended.
    fn rename_user(
        &self,
        username: &str,
        new_username: &str,
        new_canonical: &str,
        now: i64,
    ) -> Result<u64, StoreError>;
    /// Fills in the canonical form of users that have none (rows of an older jwtapp), computed
    /// by `canonical`. Returns how many rows it filled.
    fn fill_canonical(&self, canonical: &dyn Fn(&str) -> String) -> Result<u64, StoreError>;
    /// Groups of usernames that share one canonical form (none in a healthy database).
    fn canonical_clashes(&self) -> Result<Vec<Vec<String>>, StoreError>;
    /// Marks a user as a demo account (see [`User::is_demo`]).
    fn mark_demo(&self, username: &str) -> Result<(), StoreError>;
    /// Replaces the password hash (nothing else: a rehash on login keeps every session).
    fn set_password_hash(&self, username: &str, hash: &str, now: i64) -> Result<(), StoreError>;
    /// A password change: the new hash and, in the same transaction, the end of every session
    /// of the user but `keep` (the one making the change, if any). A demo account whose
    /// password is changed is a demo account no more. Returns the sessions ended.
    fn change_password(
        &self,
        username: &str,
        hash: &str,
        keep: Option<&str>,
        now: i64,
    ) -> Result<u64, StoreError>;
    /// Enables or disables a user. Disabling also ends all of their sessions, so enabling the
    /// account later does not bring old (possibly stolen) tokens back.
    fn set_enabled(&self, username: &str, enabled: bool, now: i64) -> Result<(), StoreError>;
    fn set_admin(&self, username: &str, is_admin: bool, now: i64) -> Result<(), StoreError>;
    /// Deletes the user and, with them, their sessions.
    fn delete_user(&self, username: &str) -> Result<(), StoreError>;

    /// Records a new login. In the same transaction, the user's live sessions beyond
    /// `max_live` (the least recently used first) are revoked; returns how many.
    fn create_session(
        &self,
        session: &NewSession,
        max_live: u32,
        idle_secs: i64,
    ) -> Result<u64, StoreError>;
    fn find_session(&self, id: &str) -> Result<Option<Session>, StoreError>;
    /// The sessions of `user_id` that are live at `now` (see [`Session::is_live`]), most
    /// recently used first, at most `limit` of them.
    fn live_sessions(
        &self,
        user_id: i64,
        now: i64,
        idle_secs: i64,
        limit: u32,
    ) -> Result<Vec<Session>, StoreError>;
    /// How many live sessions each user has (users without any are absent).
    fn live_session_counts(
        &self,
        now: i64,
        idle_secs: i64,
    ) -> Result<std::collections::HashMap<i64, u64>, StoreError>;
    /// Marks the session revoked; returns false when it was missing or already revoked.
    fn revoke_session(&self, id: &str, now: i64, reason: &'static str) -> Result<bool, StoreError>;
    /// Revokes every unrevoked session of `user_id` except `keep`; returns how many.
    fn revoke_user_sessions(
        &self,
        user_id: i64,
        keep: Option<&str>,
        now: i64,
        reason: &'static str,
    ) -> Result<u64, StoreError>;
    /// The refresh step, atomically: reads session `id` inside a write transaction, lets
    /// `decide` choose the change, applies it and returns the row as it is afterwards (`None`
    /// when there is no such session). Two concurrent refreshes of one family are serialized
    /// here, so they can never both rotate it.
    fn update_family(
        &self,
        id: &str,
        now: i64,
        decide: &mut dyn FnMut(&Session) -> FamilyUpdate,
    ) -> Result<Option<Session>, StoreError>;
    /// Deletes sessions that can never be used again: past their absolute end, idle since
    /// before `idle_before`, or revoked before `revoked_before`.
    fn prune_sessions(
        &self,
        now: i64,
        idle_before: i64,
        revoked_before: i64,
    ) -> Result<Pruned, StoreError>;

    /// A value that changes whenever anyone (this process or another, such as the CLI) has
    /// committed a change since the last call. Cheap: callers may ask on every request.
    fn change_marker(&self) -> Result<i64, StoreError>;
    /// Answers when the database is reachable.
    fn ping(&self) -> Result<(), StoreError>;
}
