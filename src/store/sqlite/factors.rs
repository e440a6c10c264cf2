//! The second factor (the TOTP columns of `users`, and `recovery_codes`) and single-use tokens
//! (`used_tokens`).

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::sessions::revoke_all_of;
use crate::store::error::StoreError;
use crate::store::types::{Ended, SecondFactor, reason};

pub fn read(conn: &Connection, user_id: i64) -> Result<SecondFactor, StoreError> {
    let found = conn
        .prepare_cached(
            "SELECT totp_secret, totp_pending, totp_enabled_at, totp_last_step, \
             (SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL) \
             FROM users WHERE id = ?1",
        )?
        .query_row([user_id], |row| {
            Ok(SecondFactor {
                secret: row.get(0)?,
                pending: row.get(1)?,
                enabled_at: row.get(2)?,
                last_step: row.get(3)?,
                recovery_codes_left: row.get(4)?,
            })
        })
        .optional()?;
    Ok(found.unwrap_or_default())
}

pub fn set_pending(
    conn: &Connection,
    user_id: i64,
    sealed: &str,
    now: i64,
) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached("UPDATE users SET totp_pending = ?1, updated_at = ?2 WHERE id = ?3")?
        .execute(params![sealed, now, user_id])?;
    if changed == 0 {
        return Err(StoreError::NoSuchUser(format!("#{user_id}")));
    }
    Ok(())
}

pub fn enable(
    conn: &mut Connection,
    user_id: i64,
    sealed: &str,
    step: i64,
    hashes: &[String],
    now: i64,
) -> Result<bool, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let changed = tx
        .prepare_cached(
            "UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, \
             totp_enabled_at = ?1, totp_last_step = ?2, updated_at = ?1 \
             WHERE id = ?3 AND totp_pending = ?4 AND totp_secret IS NULL",
        )?
        .execute(params![now, step, user_id, sealed])?;
    if changed == 0 {
        return Ok(false);
    }
    replace_codes(&tx, user_id, hashes)?;
    tx.commit()?;
    Ok(true)
}

pub fn disable(
    conn: &mut Connection,
    user_id: i64,
    end_sessions: bool,
    now: i64,
) -> Result<(bool, Ended), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let changed = tx
        .prepare_cached(
            "UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_enabled_at = NULL, \
             updated_at = ?1 WHERE id = ?2 AND totp_secret IS NOT NULL",
        )?
        .execute(params![now, user_id])?;
    tx.prepare_cached("DELETE FROM recovery_codes WHERE user_id = ?1")?
        .execute([user_id])?;
    let ended = if end_sessions && changed > 0 {
        revoke_all_of(&tx, user_id, None, now, reason::SECOND_FACTOR_RESET)?
    } else {
        Vec::new()
    };
    tx.commit()?;
    Ok((changed > 0, ended))
}

pub fn use_step(conn: &Connection, user_id: i64, step: i64) -> Result<bool, StoreError> {
    // One statement: two instances checking the same code cannot both accept it.
    let changed = conn
        .prepare_cached(
            "UPDATE users SET totp_last_step = ?1 WHERE id = ?2 AND totp_secret IS NOT NULL \
             AND (totp_last_step IS NULL OR totp_last_step < ?1)",
        )?
        .execute(params![step, user_id])?;
    Ok(changed > 0)
}

pub fn use_recovery_code(
    conn: &Connection,
    user_id: i64,
    hash: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE recovery_codes SET used_at = ?1 \
             WHERE user_id = ?2 AND code_hash = ?3 AND used_at IS NULL",
        )?
        .execute(params![now, user_id, hash])?;
    Ok(changed > 0)
}

pub fn replace_recovery_codes(
    conn: &mut Connection,
    user_id: i64,
    hashes: &[String],
) -> Result<bool, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let on: bool = tx
        .prepare_cached("SELECT totp_secret IS NOT NULL FROM users WHERE id = ?1")?
        .query_row([user_id], |row| row.get(0))
        .optional()?
        .unwrap_or(false);
    if !on {
        return Ok(false);
    }
    replace_codes(&tx, user_id, hashes)?;
    tx.commit()?;
    Ok(true)
}

fn replace_codes(conn: &Connection, user_id: i64, hashes: &[String]) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM recovery_codes WHERE user_id = ?1")?
        .execute([user_id])?;
    let mut insert =
        conn.prepare_cached("INSERT INTO recovery_codes (user_id, code_hash) VALUES (?1, ?2)")?;
    for hash in hashes {
        insert.execute(params![user_id, hash])?;
    }
    Ok(())
}

pub fn use_once(conn: &Connection, id: &str, expires_at: i64) -> Result<bool, StoreError> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO used_tokens (id, expires_at) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![id, expires_at])?;
    Ok(inserted > 0)
}

pub fn is_used(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    let found = conn
        .prepare_cached("SELECT 1 FROM used_tokens WHERE id = ?1")?
        .query_row([id], |_| Ok(()))
        .optional()?;
    Ok(found.is_some())
}

pub fn prune_used(conn: &Connection, before: i64) -> Result<u64, StoreError> {
    let deleted = conn
        .prepare_cached("DELETE FROM used_tokens WHERE expires_at < ?1")?
        .execute([before])?;
    Ok(deleted as u64)
}
