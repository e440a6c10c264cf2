//! What can go wrong in the store, with the cause kept.

use std::path::PathBuf;

use rusqlite::ErrorCode;

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
    #[error(
        "the database schema is version {found}, newer than this jwtapp knows ({known}); upgrade jwtapp"
    )]
    SchemaTooNew { found: i64, known: usize },
    #[error("the database schema is version {found}, expected {expected}")]
    SchemaMismatch { found: i64, expected: usize },
    #[error("cannot create {path}")]
    CreateDirectory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The database cannot be reached or is not serving now (down, restarting, out of
    /// connections, locked for too long): worth trying again shortly.
    #[error("the database is not available")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("SQLite")]
    Sqlite(#[source] rusqlite::Error),
    #[error("PostgreSQL")]
    Postgres(#[source] sqlx::Error),
    #[error("a change notification could not be sent")]
    Notification(#[source] serde_json::Error),
    /// A `postgres://` setting that is not a connection URL (the text is not repeated: it may
    /// hold a password).
    #[error("not a valid PostgreSQL connection URL (postgres://user:password@host:port/dbname)")]
    BadUrl,
    #[error("cannot start the thread that watches for commits")]
    Spawn(#[source] std::io::Error),
    /// A blocking database task panicked or was cancelled.
    #[error("a database task failed")]
    Task(#[from] tokio::task::JoinError),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        // Busy past the busy timeout (another process holds the write lock for seconds): the
        // database is there but not serving now.
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                StoreError::Unavailable(Box::new(e))
            }
            _ => StoreError::Sqlite(e),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if is_unavailable(&e) {
            StoreError::Unavailable(Box::new(e))
        } else {
            StoreError::Postgres(e)
        }
    }
}

/// Whether a PostgreSQL error means the database is not reachable or not serving now (as
/// opposed to a query it refused).
fn is_unavailable(e: &sqlx::Error) -> bool {
    use std::io::ErrorKind as K;
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => true,
        sqlx::Error::Io(io) => matches!(
            io.kind(),
            K::ConnectionRefused
                | K::ConnectionReset
                | K::ConnectionAborted
                | K::NotConnected
                | K::BrokenPipe
                | K::UnexpectedEof
                | K::TimedOut
                | K::HostUnreachable
                | K::NetworkUnreachable
        ),
        sqlx::Error::Database(db) => {
            let code = db.code();
            let code = code.as_deref().unwrap_or("");
            // 08: connection exceptions; 57P01-3: shutting down or starting; 53300: too many
            // connections; 57014: the statement timeout.
            code.starts_with("08")
                || matches!(code, "57P01" | "57P02" | "57P03" | "53300" | "57014")
        }
        _ => false,
    }
}
