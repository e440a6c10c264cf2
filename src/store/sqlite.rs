//! [`Store`] on an embedded SQLite file.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, TransactionBehavior, params};

use super::{NewSession, Session, Store, StoreError, User};

/// Schema steps, applied in order; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &[include_str!("../../migrations/0001_initial.sql")];

/// SQLite in WAL mode: readers never wait for the writer, and the CLI can change users while the
/// server runs.
pub struct SqliteStore {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    // A connection of its own, used only for `PRAGMA data_version`, which reports commits made
    // by every *other* connection: the server's own and those of other processes alike.
    watcher: Mutex<Connection>,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock cannot leave a half-done transaction behind (rusqlite rolls
    // back on drop), so the connection is still fine to use.
    conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)
        .map_err(|e| StoreError::Database(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    // IMMEDIATE takes the write lock before reading the version, so a server and a CLI opening a
    // new file at the same moment cannot both apply the same step.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let applied: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let applied = usize::try_from(applied).unwrap_or(usize::MAX);
    if applied > MIGRATIONS.len() {
        return Err(StoreError::Database(format!(
            "the database schema is version {applied}, newer than this jwtapp knows ({}); upgrade jwtapp",
            MIGRATIONS.len()
        )));
    }
    if applied < MIGRATIONS.len() {
        for sql in &MIGRATIONS[applied..] {
            tx.execute_batch(sql)?;
        }
        tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
    }
    tx.commit()?;
    Ok(())
}

const USER_COLUMNS: &str = "id, username, password_hash, enabled, is_admin, created_at, updated_at";

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        username: row.get(1)?,
        password_hash: row.get(2)?,
        enabled: row.get(3)?,
        is_admin: row.get(4)?,
        created_at: row.get(5)?,
        updated_at: row.get(6)?,
    })
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Database(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let mut writer = open(path)?;
        migrate(&mut writer)?;
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            reader: Mutex::new(open(path)?),
            watcher: Mutex::new(open(path)?),
        })
    }

    /// Runs `change` on the writer and fails with `NoSuchUser` when it touched no row.
    fn update_user(
        &self,
        username: &str,
        sql: &str,
        value: &dyn rusqlite::ToSql,
        now: i64,
    ) -> Result<(), StoreError> {
        let changed = lock(&self.writer)
            .prepare_cached(sql)?
            .execute(params![value, now, username])?;
        if changed == 0 {
            return Err(StoreError::NoSuchUser(username.to_owned()));
        }
        Ok(())
    }
}

impl Store for SqliteStore {
    fn find_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        let conn = lock(&self.reader);
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = ?1"
        ))?;
        Ok(stmt.query_row([username], user_from_row).optional()?)
    }

    fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let conn = lock(&self.reader);
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY username"
        ))?;
        let users = stmt
            .query_map([], user_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(users)
    }

    fn count_users(&self) -> Result<u64, StoreError> {
        let conn = lock(&self.reader);
        let count: i64 = conn.query_row("SELECT COUNT(*) FROM users", [], |row| row.get(0))?;
        Ok(count.max(0) as u64)
    }

    fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        is_admin: bool,
        now: i64,
    ) -> Result<User, StoreError> {
        let conn = lock(&self.writer);
        let inserted = conn.execute(
            "INSERT INTO users (username, password_hash, enabled, is_admin, created_at, updated_at) \
             VALUES (?1, ?2, 1, ?3, ?4, ?4)",
            params![username, password_hash, is_admin, now],
        );
        match inserted {
            Ok(_) => Ok(User {
                id: conn.last_insert_rowid(),
                username: username.to_owned(),
                password_hash: password_hash.to_owned(),
                enabled: true,
                is_admin,
                created_at: now,
                updated_at: now,
            }),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == ErrorCode::ConstraintViolation =>
            {
                Err(StoreError::UsernameTaken(username.to_owned()))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn set_password_hash(&self, username: &str, hash: &str, now: i64) -> Result<(), StoreError> {
        self.update_user(
            username,
            "UPDATE users SET password_hash = ?1, updated_at = ?2 WHERE username = ?3",
            &hash,
            now,
        )
    }

    fn set_enabled(&self, username: &str, enabled: bool, now: i64) -> Result<(), StoreError> {
        self.update_user(
            username,
            "UPDATE users SET enabled = ?1, updated_at = ?2 WHERE username = ?3",
            &enabled,
            now,
        )
    }

    fn set_admin(&self, username: &str, is_admin: bool, now: i64) -> Result<(), StoreError> {
        self.update_user(
            username,
            "UPDATE users SET is_admin = ?1, updated_at = ?2 WHERE username = ?3",
            &is_admin,
            now,
        )
    }

    fn delete_user(&self, username: &str) -> Result<(), StoreError> {
        let changed =
            lock(&self.writer).execute("DELETE FROM users WHERE username = ?1", [username])?;
        if changed == 0 {
            return Err(StoreError::NoSuchUser(username.to_owned()));
        }
        Ok(())
    }

    fn create_session(&self, s: &NewSession) -> Result<(), StoreError> {
        lock(&self.writer)
            .prepare_cached(
                "INSERT INTO sessions (id, user_id, created_at, expires_at, user_agent, address) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                s.id,
                s.user_id,
                s.created_at,
                s.expires_at,
                s.user_agent,
                s.address
            ])?;
        Ok(())
    }

    fn find_session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let conn = lock(&self.reader);
        let mut stmt = conn.prepare_cached(
            "SELECT id, user_id, created_at, expires_at, revoked_at, user_agent, address \
             FROM sessions WHERE id = ?1",
        )?;
        let session = stmt
            .query_row([id], |row| {
                Ok(Session {
                    id: row.get(0)?,
                    user_id: row.get(1)?,
                    created_at: row.get(2)?,
                    expires_at: row.get(3)?,
                    revoked_at: row.get(4)?,
                    user_agent: row.get(5)?,
                    address: row.get(6)?,
                })
            })
            .optional()?;
        Ok(session)
    }

    fn revoke_session(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let changed = lock(&self.writer)
            .prepare_cached(
                "UPDATE sessions SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            )?
            .execute(params![now, id])?;
        Ok(changed > 0)
    }

    fn change_marker(&self) -> Result<i64, StoreError> {
        let conn = lock(&self.watcher);
        let mut stmt = conn.prepare_cached("PRAGMA data_version")?;
        Ok(stmt.query_row([], |row| row.get(0))?)
    }

    fn ping(&self) -> Result<(), StoreError> {
        let conn = lock(&self.reader);
        conn.query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }
}
