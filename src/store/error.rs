//! What can go wrong in the store, with the cause kept.

use std::path::PathBuf;

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
    #[error("SQLite")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot start the thread that watches for commits")]
    Spawn(#[source] std::io::Error),
    /// A blocking database task panicked or was cancelled.
    #[error("a database task failed")]
    Task(#[from] tokio::task::JoinError),
}
