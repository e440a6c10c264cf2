//! Opening a connection to the SQLite file.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use crate::store::error::StoreError;

/// A connection with the settings every connection of jwtapp uses.
pub fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}
