//! The `users` table.

use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, TransactionBehavior, params};

use super::sessions::{revoke_all_of, session_ids_of};
use crate::store::error::StoreError;
use crate::store::types::{Ended, NewUser, User, UserStatus, reason};

const COLUMNS: &str = "id, username, canonical, password_hash, enabled, is_admin, is_demo, \
     created_at, updated_at, totp_secret IS NOT NULL";

fn from_row(row: &Row<'_>) -> rusqlite::Result<User> {
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
        has_totp: row.get(9)?,
    })
}

/// A unique constraint that fired on `username` is a taken name, like a taken canonical form.
fn taken(error: rusqlite::Error, username: &str) -> StoreError {
    match error {
        rusqlite::Error::SqliteFailure(e, _) if e.code == ErrorCode::ConstraintViolation => {
            StoreError::UsernameTaken {
                existing: username.to_owned(),
            }
        }
        other => other.into(),
    }
}

fn id_of(conn: &Connection, username: &str) -> Result<i64, StoreError> {
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

pub fn find(conn: &Connection, username: &str) -> Result<Option<User>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE username = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([username], from_row)
        .optional()?)
}

pub fn status(conn: &Connection, username: &str) -> Result<Option<UserStatus>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT id, enabled, is_admin, is_demo FROM users WHERE username = ?1")?
        .query_row([username], |row| {
            Ok(UserStatus {
                id: row.get(0)?,
                enabled: row.get(1)?,
                is_admin: row.get(2)?,
                is_demo: row.get(3)?,
            })
        })
        .optional()?)
}

pub fn by_canonical(conn: &Connection, canonical: &str) -> Result<Vec<User>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE canonical = ?1 ORDER BY id");
    let users = conn
        .prepare_cached(&sql)?
        .query_map([canonical], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(users)
}

pub fn list(conn: &Connection) -> Result<Vec<User>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users ORDER BY username");
    let users = conn
        .prepare_cached(&sql)?
        .query_map([], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(users)
}

pub fn count(conn: &Connection) -> Result<u64, StoreError> {
    let count: i64 = conn.query_row("SELECT COUNT(*) FROM users", [], |row| row.get(0))?;
    Ok(count.max(0) as u64)
}

pub fn create(conn: &mut Connection, user: &NewUser) -> Result<User, StoreError> {
    // IMMEDIATE: no other writer, in any process, can add the same canonical form between the
    // check and the insert.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    refuse_taken(&tx, &user.canonical, None)?;
    tx.execute(
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
    )
    .map_err(|e| taken(e, &user.username))?;
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
        has_totp: false,
        created_at: user.now,
        updated_at: user.now,
    })
}

pub fn rename(
    conn: &mut Connection,
    username: &str,
    new_username: &str,
    new_canonical: &str,
    now: i64,
) -> Result<Ended, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let user_id = id_of(&tx, username)?;
    refuse_taken(&tx, new_canonical, Some(user_id))?;
    tx.execute(
        "UPDATE users SET username = ?1, canonical = ?2, updated_at = ?3 WHERE id = ?4",
        params![new_username, new_canonical, now, user_id],
    )
    .map_err(|e| taken(e, new_username))?;
    let ended = revoke_all_of(&tx, user_id, None, now, reason::RENAMED)?;
    tx.commit()?;
    Ok(ended)
}

pub fn refresh_canonical(
    conn: &mut Connection,
    canonical: for<'a> fn(&'a str) -> String,
) -> Result<u64, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let stale: Vec<(i64, String)> = tx
        .prepare("SELECT id, username, canonical FROM users")?
        .query_map([], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Option<String>>(2)?,
            ))
        })?
        .filter_map(|row| match row {
            Ok((id, username, stored)) => {
                let form = canonical(&username);
                (stored.as_deref() != Some(form.as_str())).then(|| Ok((id, form)))
            }
            Err(e) => Some(Err(e)),
        })
        .collect::<Result<_, _>>()?;
    for (id, form) in &stale {
        tx.execute(
            "UPDATE users SET canonical = ?1 WHERE id = ?2",
            params![form, id],
        )?;
    }
    tx.commit()?;
    Ok(stale.len() as u64)
}

pub fn clashes(conn: &Connection) -> Result<Vec<Vec<String>>, StoreError> {
    let rows = conn
        .prepare(
            "SELECT canonical, username FROM users WHERE canonical IN \
             (SELECT canonical FROM users GROUP BY canonical HAVING COUNT(*) > 1) \
             ORDER BY canonical, id",
        )?
        .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get(1)?)))?
        .collect::<Result<Vec<(String, String)>, _>>()?;
    Ok(group_clashes(rows))
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

pub fn mark_demo(conn: &mut Connection, username: &str) -> Result<(), StoreError> {
    let changed = conn.execute(
        "UPDATE users SET is_demo = 1 WHERE username = ?1",
        [username],
    )?;
    if changed == 0 {
        return Err(StoreError::NoSuchUser(username.to_owned()));
    }
    Ok(())
}

pub fn set_password_hash(
    conn: &mut Connection,
    username: &str,
    hash: &str,
    now: i64,
) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached("UPDATE users SET password_hash = ?1, updated_at = ?2 WHERE username = ?3")?
        .execute(params![hash, now, username])?;
    if changed == 0 {
        return Err(StoreError::NoSuchUser(username.to_owned()));
    }
    Ok(())
}

pub fn change_password(
    conn: &mut Connection,
    username: &str,
    hash: &str,
    keep: Option<&str>,
    now: i64,
) -> Result<Ended, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let user_id = id_of(&tx, username)?;
    tx.execute(
        "UPDATE users SET password_hash = ?1, is_demo = 0, updated_at = ?2 WHERE id = ?3",
        params![hash, now, user_id],
    )?;
    let ended = revoke_all_of(&tx, user_id, keep, now, reason::PASSWORD)?;
    tx.commit()?;
    Ok(ended)
}

pub fn set_enabled(
    conn: &mut Connection,
    username: &str,
    enabled: bool,
    now: i64,
) -> Result<Ended, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let user_id = id_of(&tx, username)?;
    tx.execute(
        "UPDATE users SET enabled = ?1, updated_at = ?2 WHERE id = ?3",
        params![enabled, now, user_id],
    )?;
    let ended = if enabled {
        Vec::new()
    } else {
        revoke_all_of(&tx, user_id, None, now, reason::DISABLED)?
    };
    tx.commit()?;
    Ok(ended)
}

pub fn set_admin(
    conn: &mut Connection,
    username: &str,
    is_admin: bool,
    now: i64,
) -> Result<(), StoreError> {
    let changed = conn.execute(
        "UPDATE users SET is_admin = ?1, updated_at = ?2 WHERE username = ?3",
        params![is_admin, now, username],
    )?;
    if changed == 0 {
        return Err(StoreError::NoSuchUser(username.to_owned()));
    }
    Ok(())
}

pub fn delete(conn: &mut Connection, username: &str) -> Result<Ended, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let user_id = id_of(&tx, username)?;
    // The sessions go with the user (ON DELETE CASCADE); their ids are what caches must forget.
    let ended = session_ids_of(&tx, user_id)?;
    tx.execute("DELETE FROM users WHERE id = ?1", [user_id])?;
    tx.commit()?;
    Ok(ended)
}
