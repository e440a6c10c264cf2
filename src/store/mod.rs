//! The database behind one narrow interface, [`Store`].
//!
//! The rest of the application sees users and sessions only through this trait, so a PostgreSQL
//! backend (for several instances behind a load balancer) is one more implementation of it.
//! Methods are blocking: callers run them on a blocking thread (`spawn_blocking`).

mod sqlite;

pub use sqlite::SqliteStore;

/// A user account as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub enabled: bool,
    pub is_admin: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

// Hashes stay out of logs and panics.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"[redacted]")
            .field("enabled", &self.enabled)
            .field("is_admin", &self.is_admin)
            .finish()
    }
}

/// One login: all tokens minted from it carry its `id` as their `sid` claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub user_id: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub user_agent: Option<String>,
    pub address: Option<String>,
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
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a user named {0:?} already exists")]
    UsernameTaken(String),
    #[error("no user named {0:?}")]
    NoSuchUser(String),
    #[error("database error: {0}")]
    Database(String),
}

/// Everything jwtapp asks of its database.
pub trait Store: Send + Sync + 'static {
    fn find_user(&self, username: &str) -> Result<Option<User>, StoreError>;
    fn list_users(&self) -> Result<Vec<User>, StoreError>;
    fn count_users(&self) -> Result<u64, StoreError>;
    fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        is_admin: bool,
        now: i64,
    ) -> Result<User, StoreError>;
    fn set_password_hash(&self, username: &str, hash: &str, now: i64) -> Result<(), StoreError>;
    fn set_enabled(&self, username: &str, enabled: bool, now: i64) -> Result<(), StoreError>;
    fn set_admin(&self, username: &str, is_admin: bool, now: i64) -> Result<(), StoreError>;
    /// Deletes the user and, with them, their sessions.
    fn delete_user(&self, username: &str) -> Result<(), StoreError>;

    fn create_session(&self, session: &NewSession) -> Result<(), StoreError>;
    fn find_session(&self, id: &str) -> Result<Option<Session>, StoreError>;
    /// Marks the session revoked; returns false when it was missing or already revoked.
    fn revoke_session(&self, id: &str, now: i64) -> Result<bool, StoreError>;

    /// A value that changes whenever anyone (this process or another, such as the CLI) has
    /// committed a change since the last call. Cheap: callers may ask on every request.
    fn change_marker(&self) -> Result<i64, StoreError>;
    /// Answers when the database is reachable.
    fn ping(&self) -> Result<(), StoreError>;
}
