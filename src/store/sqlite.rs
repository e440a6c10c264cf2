//! [`Store`] on an embedded SQLite file.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{
    Connection, ErrorCode, OpenFlags, OptionalExtension, Row, TransactionBehavior, params,
};

use super::wal_index::WalIndex;
use super::{FamilyUpdate, NewSession, NewUser, Pruned, Session, Store, StoreError, User, reason};

/// Schema steps, applied in order; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_initial.sql"),
    include_str!("../../migrations/0002_refresh_rotation.sql"),
    include_str!("../../migrations/0003_hardening.sql"),
];

/// Rows deleted per statement when pruning, so the write lock is never held for long.
const PRUNE_BATCH: i64 = 1000;

/// SQLite in WAL mode: readers never wait for the writer, and the CLI can change users while the
/// server runs.
pub struct SqliteStore {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    // A connection of its own that only watches for commits by every *other* connection (the
    // server's own and those of other processes alike): through its mapping of the wal-index,
    // or, where that cannot be used, with `PRAGMA data_version`. It never writes.
    watcher: Mutex<Connection>,
    /// The watcher's wal-index header, the fast way to see commits (see [`WalIndex`]); valid as
    /// long as `watcher` is open, which is as long as this store lives.
    wal_index: Option<WalIndex>,
    path: std::path::PathBuf,
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

const USER_COLUMNS: &str =
    "id, username, canonical, password_hash, enabled, is_admin, is_demo, created_at, updated_at";

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        username: row.get(1)?,
        // Filled in at start for rows of an older jwtapp; until then, no login finds them.
        canonical: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
        password_hash: row.get(3)?,
        enabled: row.get(4)?,
        is_admin: row.get(5)?,
        is_demo: row.get(6)?,
        created_at: row.get(7)?,
        updated_at: row.get(8)?,
    })
}

const SESSION_COLUMNS: &str = "id, user_id, created_at, expires_at, last_used_at, revoked_at, \
     revoked_reason, user_agent, address, refresh_jti, refresh_issued_at, previous_jti";

fn session_from_row(row: &Row<'_>) -> rusqlite::Result<Session> {
    let created_at: i64 = row.get(2)?;
    Ok(Session {
        id: row.get(0)?,
        user_id: row.get(1)?,
        created_at,
        expires_at: row.get(3)?,
        last_used_at: row.get::<_, Option<i64>>(4)?.unwrap_or(created_at),
        revoked_at: row.get(5)?,
        revoked_reason: row.get(6)?,
        user_agent: row.get(7)?,
        address: row.get(8)?,
        refresh_jti: row.get(9)?,
        refresh_issued_at: row.get::<_, Option<i64>>(10)?.unwrap_or(created_at),
        previous_jti: row.get(11)?,
    })
}

fn select_session(conn: &Connection, id: &str) -> rusqlite::Result<Option<Session>> {
    conn.prepare_cached(&format!(
        "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1"
    ))?
    .query_row([id], session_from_row)
    .optional()
}

/// Revokes every unrevoked session of a user but `keep`, inside the caller's transaction.
fn revoke_all_of(
    conn: &Connection,
    user_id: i64,
    keep: Option<&str>,
    now: i64,
    why: &str,
) -> rusqlite::Result<u64> {
    let changed = conn
        .prepare_cached(
            "UPDATE sessions SET revoked_at = ?1, revoked_reason = ?2 \
             WHERE user_id = ?3 AND revoked_at IS NULL AND id IS NOT ?4",
        )?
        .execute(params![now, why, user_id, keep])?;
    Ok(changed as u64)
}

fn user_id_of(conn: &Connection, username: &str) -> Result<i64, StoreError> {
    conn.prepare_cached("SELECT id FROM users WHERE username = ?1")?
        .query_row([username], |row| row.get(0))
        .optional()?
        .ok_or_else(|| StoreError::NoSuchUser(username.to_owned()))
}

/// Fails with `UsernameTaken` when a user other than `except` has the canonical form `canonical`.
fn refuse_taken(conn: &Connection, canonical: &str, except: Option<i64>) -> Result<(), StoreError> {
    let existing: Option<String> = conn
        .prepare_cached(
            "SELECT username FROM users WHERE canonical = ?1 AND id IS NOT ?2 ORDER BY id LIMIT 1",
        )?
        .query_row(params![canonical, except], |row| row.get(0))
        .optional()?;
    match existing {
        Some(existing) => Err(StoreError::UsernameTaken { existing }),
        None => Ok(()),
    }
}

/// `(canonical, username)` rows, sorted by canonical form, as one group of usernames per form.
fn group_clashes(rows: Vec<(String, String)>) -> Vec<Vec<String>> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for (canonical, username) in rows {
        match groups.last_mut() {
            Some((form, names)) if *form == canonical => names.push(username),
            _ => groups.push((canonical, vec![username])),
        }
    }
    groups.into_iter().map(|(_, names)| names).collect()
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
        let watcher = open(path)?;
        // A read through the watcher maps the wal-index and initialises it if needed.
        watcher.query_row("PRAGMA data_version", [], |row| row.get::<_, i64>(0))?;
        // Only a database in WAL mode has a wal-index (asking for one otherwise would make SQLite
        // create shared memory for a database that does not use it).
        let journal_mode: String =
            watcher.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
        let wal_index = if journal_mode.eq_ignore_ascii_case("wal") {
            // SAFETY: `watcher` has read the database, and is kept (open, never replaced) next to
            // the wal-index in this store for the store's whole life.
            unsafe { WalIndex::of(&watcher) }
        } else {
            None
        };
        if wal_index.is_none() {
            log::warn!(
                "{}: the wal-index cannot be mapped; commits are detected with PRAGMA data_version (slower)",
                path.display()
            );
        }
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            reader: Mutex::new(open(path)?),
            watcher: Mutex::new(watcher),
            wal_index,
            path: path.to_owned(),
        })
    }

    /// How commits by other connections are noticed: `"wal-index"` (a memory read) or
    /// `"data_version"` (a query), for the start-up log and the tests.
    pub fn change_detection(&self) -> &'static str {
        if self.wal_index.is_some() {
            "wal-index"
        } else {
            "data_version"
        }
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

    fn find_users_by_canonical(&self, canonical: &str) -> Result<Vec<User>, StoreError> {
        let conn = lock(&self.reader);
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE canonical = ?1 ORDER BY id"
        ))?;
        let users = stmt
            .query_map([canonical], user_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(users)
    }

    fn create_user(&self, user: &NewUser) -> Result<User, StoreError> {
        let mut conn = lock(&self.writer);
        // IMMEDIATE: no other writer, in any process, can add the same canonical form between
        // the check and the insert.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        refuse_taken(&tx, &user.canonical, None)?;
        let inserted = tx.execute(
            "INSERT INTO users (username, canonical, password_hash, enabled, is_admin, is_demo, \
             created_at, updated_at) VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?6)",
            params![
                user.username,
                user.canonical,
                user.password_hash,
                user.is_admin,
                user.is_demo,
                user.now
            ],
        );
        match inserted {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == ErrorCode::ConstraintViolation =>
            {
                return Err(StoreError::UsernameTaken {
                    existing: user.username.clone(),
                });
            }
            Err(e) => return Err(e.into()),
        }
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(User {
            id,
            username: user.username.clone(),
            canonical: user.canonical.clone(),
            password_hash: user.password_hash.clone(),
            enabled: true,
            is_admin: user.is_admin,
            is_demo: user.is_demo,
            created_at: user.now,
            updated_at: user.now,
        })
    }

    fn rename_user(
        &self,
        username: &str,
        new_username: &str,
        new_canonical: &str,
        now: i64,
    ) -> Result<u64, StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let user_id = user_id_of(&tx, username)?;
        refuse_taken(&tx, new_canonical, Some(user_id))?;
        let renamed = tx.execute(
            "UPDATE users SET username = ?1, canonical = ?2, updated_at = ?3 WHERE id = ?4",
            params![new_username, new_canonical, now, user_id],
        );
        match renamed {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == ErrorCode::ConstraintViolation =>
            {
                return Err(StoreError::UsernameTaken {
                    existing: new_username.to_owned(),
                });
            }
            Err(e) => return Err(e.into()),
        }
        let ended = revoke_all_of(&tx, user_id, None, now, reason::RENAMED)?;
        tx.commit()?;
        Ok(ended)
    }

    fn fill_canonical(&self, canonical: &dyn Fn(&str) -> String) -> Result<u64, StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let missing: Vec<(i64, String)> = tx
            .prepare("SELECT id, username FROM users WHERE canonical IS NULL")?
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (id, username) in &missing {
            tx.execute(
                "UPDATE users SET canonical = ?1 WHERE id = ?2",
                params![canonical(username), id],
            )?;
        }
        tx.commit()?;
        Ok(missing.len() as u64)
    }

    fn canonical_clashes(&self) -> Result<Vec<Vec<String>>, StoreError> {
        let conn = lock(&self.reader);
        let mut stmt = conn.prepare(
            "SELECT canonical, username FROM users WHERE canonical IN \
             (SELECT canonical FROM users GROUP BY canonical HAVING COUNT(*) > 1) \
             ORDER BY canonical, id",
        )?;
        let rows = stmt
            .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get(1)?)))?
            .collect::<Result<Vec<(String, String)>, _>>()?;
        Ok(group_clashes(rows))
    }

    fn mark_demo(&self, username: &str) -> Result<(), StoreError> {
        let changed = lock(&self.writer).execute(
            "UPDATE users SET is_demo = 1 WHERE username = ?1",
            [username],
        )?;
        if changed == 0 {
            return Err(StoreError::NoSuchUser(username.to_owned()));
        }
        Ok(())
    }

    fn set_password_hash(&self, username: &str, hash: &str, now: i64) -> Result<(), StoreError> {
        self.update_user(
            username,
            "UPDATE users SET password_hash = ?1, updated_at = ?2 WHERE username = ?3",
            &hash,
            now,
        )
    }

    fn change_password(
        &self,
        username: &str,
        hash: &str,
        keep: Option<&str>,
        now: i64,
    ) -> Result<u64, StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let user_id = user_id_of(&tx, username)?;
        tx.execute(
            "UPDATE users SET password_hash = ?1, is_demo = 0, updated_at = ?2 WHERE id = ?3",
            params![hash, now, user_id],
        )?;
        let ended = revoke_all_of(&tx, user_id, keep, now, reason::PASSWORD)?;
        tx.commit()?;
        Ok(ended)
    }

    fn set_enabled(&self, username: &str, enabled: bool, now: i64) -> Result<(), StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let user_id = user_id_of(&tx, username)?;
        tx.execute(
            "UPDATE users SET enabled = ?1, updated_at = ?2 WHERE id = ?3",
            params![enabled, now, user_id],
        )?;
        if !enabled {
            revoke_all_of(&tx, user_id, None, now, reason::DISABLED)?;
        }
        tx.commit()?;
        Ok(())
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

    fn create_session(
        &self,
        s: &NewSession,
        max_live: u32,
        idle_secs: i64,
    ) -> Result<u64, StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(
            "INSERT INTO sessions (id, user_id, created_at, expires_at, last_used_at, \
             user_agent, address, refresh_jti, refresh_issued_at, seq) \
             VALUES (?1, ?2, ?3, ?4, ?3, ?5, ?6, ?7, ?3, \
             (SELECT IFNULL(MAX(seq), 0) + 1 FROM sessions WHERE user_id = ?2))",
        )?
        .execute(params![
            s.id,
            s.user_id,
            s.created_at,
            s.expires_at,
            s.user_agent,
            s.address,
            s.refresh_jti
        ])?;
        // Everything past the newest `max_live` live sessions (the new one is the newest).
        let capped = tx
            .prepare_cached(
                "UPDATE sessions SET revoked_at = ?1, revoked_reason = ?2 WHERE id IN ( \
                 SELECT id FROM sessions WHERE user_id = ?3 AND revoked_at IS NULL \
                 AND expires_at > ?1 AND last_used_at > ?4 \
                 ORDER BY id = ?5 DESC, last_used_at DESC, seq DESC LIMIT -1 OFFSET ?6)",
            )?
            .execute(params![
                s.created_at,
                reason::SESSION_CAP,
                s.user_id,
                s.created_at.saturating_sub(idle_secs),
                s.id,
                max_live
            ])?;
        tx.commit()?;
        Ok(capped as u64)
    }

    fn find_session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        Ok(select_session(&lock(&self.reader), id)?)
    }

    fn live_sessions(
        &self,
        user_id: i64,
        now: i64,
        idle_secs: i64,
        limit: u32,
    ) -> Result<Vec<Session>, StoreError> {
        let conn = lock(&self.reader);
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions \
             WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2 AND last_used_at > ?3 \
             ORDER BY last_used_at DESC, seq DESC LIMIT ?4"
        ))?;
        let sessions = stmt
            .query_map(
                params![user_id, now, now.saturating_sub(idle_secs), limit],
                session_from_row,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(sessions)
    }

    fn live_session_counts(
        &self,
        now: i64,
        idle_secs: i64,
    ) -> Result<std::collections::HashMap<i64, u64>, StoreError> {
        let conn = lock(&self.reader);
        let mut stmt = conn.prepare_cached(
            "SELECT user_id, COUNT(*) FROM sessions WHERE revoked_at IS NULL \
             AND expires_at > ?1 AND COALESCE(last_used_at, created_at) > ?2 GROUP BY user_id",
        )?;
        let counts = stmt
            .query_map(params![now, now.saturating_sub(idle_secs)], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?.max(0) as u64))
            })?
            .collect::<Result<_, _>>()?;
        Ok(counts)
    }

    fn revoke_session(&self, id: &str, now: i64, reason: &'static str) -> Result<bool, StoreError> {
        let changed = lock(&self.writer)
            .prepare_cached(
                "UPDATE sessions SET revoked_at = ?1, revoked_reason = ?2 \
                 WHERE id = ?3 AND revoked_at IS NULL",
            )?
            .execute(params![now, reason, id])?;
        Ok(changed > 0)
    }

    fn revoke_user_sessions(
        &self,
        user_id: i64,
        keep: Option<&str>,
        now: i64,
        reason: &'static str,
    ) -> Result<u64, StoreError> {
        Ok(revoke_all_of(
            &lock(&self.writer),
            user_id,
            keep,
            now,
            reason,
        )?)
    }

    fn update_family(
        &self,
        id: &str,
        now: i64,
        decide: &mut dyn FnMut(&Session) -> FamilyUpdate,
    ) -> Result<Option<Session>, StoreError> {
        let mut conn = lock(&self.writer);
        // IMMEDIATE: the write lock is taken before the row is read, so another process (or
        // connection) cannot rotate the family between this read and this write.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(mut session) = select_session(&tx, id)? else {
            return Ok(None);
        };
        match decide(&session) {
            FamilyUpdate::Rotate { previous, jti } => {
                tx.prepare_cached(
                    "UPDATE sessions SET previous_jti = ?1, refresh_jti = ?2, \
                     refresh_issued_at = ?3, last_used_at = ?3 WHERE id = ?4",
                )?
                .execute(params![previous, jti, now, id])?;
                session.previous_jti = Some(previous);
                session.refresh_jti = Some(jti);
                session.refresh_issued_at = now;
                session.last_used_at = now;
            }
            FamilyUpdate::Touch => {
                tx.prepare_cached("UPDATE sessions SET last_used_at = ?1 WHERE id = ?2")?
                    .execute(params![now, id])?;
                session.last_used_at = now;
            }
            FamilyUpdate::Revoke { reason } => {
                tx.prepare_cached(
                    "UPDATE sessions SET revoked_at = ?1, revoked_reason = ?2 \
                     WHERE id = ?3 AND revoked_at IS NULL",
                )?
                .execute(params![now, reason, id])?;
                session.revoked_at.get_or_insert(now);
                session
                    .revoked_reason
                    .get_or_insert_with(|| reason.to_owned());
            }
            FamilyUpdate::Keep => {}
        }
        tx.commit()?;
        Ok(Some(session))
    }

    fn prune_sessions(
        &self,
        now: i64,
        idle_before: i64,
        revoked_before: i64,
    ) -> Result<Pruned, StoreError> {
        let mut pruned = Pruned::default();
        loop {
            // One short statement per batch: requests waiting for the writer get in between.
            let deleted = lock(&self.writer)
                .prepare_cached(
                    "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions \
                     WHERE expires_at <= ?1 OR last_used_at < ?2 OR revoked_at < ?3 LIMIT ?4)",
                )?
                .execute(params![now, idle_before, revoked_before, PRUNE_BATCH])?;
            pruned.sessions += deleted as u64;
            if (deleted as i64) < PRUNE_BATCH {
                return Ok(pruned);
            }
        }
    }

    fn change_marker(&self) -> Result<i64, StoreError> {
        if let Some(marker) = self.wal_index.as_ref().and_then(WalIndex::marker) {
            return Ok(marker as i64);
        }
        let conn = lock(&self.watcher);
        let mut stmt = conn.prepare_cached("PRAGMA data_version")?;
        Ok(stmt.query_row([], |row| row.get(0))?)
    }

    fn ping(&self) -> Result<(), StoreError> {
        // A connection of its own, opened without creating anything: the answer then comes from
        // the file as it is now (there, readable, a database, our schema), not from connections
        // that were opened at start and would keep working on a deleted file.
        // Read-only: a probe must never write, not even the recovery of a WAL that does not
        // belong to the file it finds.
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(1))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if version != MIGRATIONS.len() as i64 {
            return Err(StoreError::Database(format!(
                "the database schema is version {version}, expected {}",
                MIGRATIONS.len()
            )));
        }
        conn.query_row("SELECT COUNT(*) FROM sqlite_schema", [], |_| Ok(()))?;
        Ok(())
    }
}
