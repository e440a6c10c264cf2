//! The `sessions` table: logins, which are also refresh-token families.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::store::error::StoreError;
use crate::store::types::{
    Ended, FamilyDecision, FamilyUpdate, NewSession, Pruned, Session, SessionLimits, SessionStatus,
    reason,
};

/// Rows deleted per statement when pruning, so the write lock is never held for long.
const PRUNE_BATCH: i64 = 1000;

const COLUMNS: &str = "id, user_id, created_at, expires_at, last_used_at, revoked_at, \
     revoked_reason, user_agent, address, refresh_jti, refresh_issued_at, previous_jti, auth_time";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Session> {
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
        auth_time: row.get::<_, Option<i64>>(12)?.unwrap_or(created_at),
    })
}

pub fn find(conn: &Connection, id: &str) -> rusqlite::Result<Option<Session>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM sessions WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()
}

pub fn status(conn: &Connection, id: &str) -> Result<Option<SessionStatus>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT user_id, expires_at, COALESCE(last_used_at, created_at), revoked_at \
             FROM sessions WHERE id = ?1",
        )?
        .query_row([id], |row| {
            Ok(SessionStatus {
                user_id: row.get(0)?,
                expires_at: row.get(1)?,
                last_used_at: row.get(2)?,
                revoked: row.get::<_, Option<i64>>(3)?.is_some(),
            })
        })
        .optional()?)
}

/// The ids of every session of a user.
pub fn session_ids_of(conn: &Connection, user_id: i64) -> rusqlite::Result<Ended> {
    conn.prepare_cached("SELECT id FROM sessions WHERE user_id = ?1")?
        .query_map([user_id], |row| row.get(0))?
        .collect()
}

/// Revokes every unrevoked session of a user but `keep`, inside the caller's transaction;
/// returns their ids.
pub fn revoke_all_of(
    conn: &Connection,
    user_id: i64,
    keep: Option<&str>,
    now: i64,
    why: &str,
) -> rusqlite::Result<Ended> {
    conn.prepare_cached(
        "UPDATE sessions SET revoked_at = ?1, revoked_reason = ?2 \
         WHERE user_id = ?3 AND revoked_at IS NULL AND id IS NOT ?4 RETURNING id",
    )?
    .query_map(params![now, why, user_id, keep], |row| row.get(0))?
    .collect()
}

pub fn create(
    conn: &mut Connection,
    s: &NewSession,
    limits: SessionLimits,
) -> Result<Ended, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached(
        "INSERT INTO sessions (id, user_id, created_at, expires_at, last_used_at, user_agent, \
         address, refresh_jti, refresh_issued_at, auth_time, seq) \
         VALUES (?1, ?2, ?3, ?4, ?3, ?5, ?6, ?7, ?3, ?8, \
         (SELECT IFNULL(MAX(seq), 0) + 1 FROM sessions WHERE user_id = ?2))",
    )?
    .execute(params![
        s.id,
        s.user_id,
        s.created_at,
        s.expires_at,
        s.user_agent,
        s.address,
        s.refresh_jti,
        s.auth_time
    ])?;
    // Everything past the newest `max_per_user` active sessions (the new one is the newest).
    // Times are whole seconds: logins of one second are ordered by `seq`.
    let ended: Ended = tx
        .prepare_cached(
            "UPDATE sessions SET revoked_at = ?1, revoked_reason = ?2 WHERE id IN ( \
             SELECT id FROM sessions WHERE user_id = ?3 AND revoked_at IS NULL \
             AND expires_at > ?1 AND last_used_at > ?4 \
             ORDER BY id = ?5 DESC, last_used_at DESC, seq DESC LIMIT -1 OFFSET ?6) RETURNING id",
        )?
        .query_map(
            params![
                s.created_at,
                reason::SESSION_CAP,
                s.user_id,
                s.created_at.saturating_sub(limits.idle_secs),
                s.id,
                limits.max_per_user
            ],
            |row| row.get(0),
        )?
        .collect::<Result<_, _>>()?;
    tx.commit()?;
    Ok(ended)
}

pub fn enforce_cap(
    conn: &mut Connection,
    limits: SessionLimits,
    now: i64,
) -> Result<Ended, StoreError> {
    let ended: Ended = conn
        .prepare(
            "UPDATE sessions SET revoked_at = ?1, revoked_reason = ?2 WHERE id IN ( \
             SELECT id FROM (SELECT id, ROW_NUMBER() OVER ( \
             PARTITION BY user_id ORDER BY last_used_at DESC, seq DESC) AS place \
             FROM sessions WHERE revoked_at IS NULL AND expires_at > ?1 AND last_used_at > ?3) \
             WHERE place > ?4) RETURNING id",
        )?
        .query_map(
            params![
                now,
                reason::SESSION_CAP,
                now.saturating_sub(limits.idle_secs),
                limits.max_per_user
            ],
            |row| row.get(0),
        )?
        .collect::<Result<_, _>>()?;
    Ok(ended)
}

pub fn active(
    conn: &Connection,
    user_id: i64,
    now: i64,
    idle_secs: i64,
    limit: u32,
) -> Result<Vec<Session>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM sessions \
         WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2 AND last_used_at > ?3 \
         ORDER BY last_used_at DESC, seq DESC LIMIT ?4"
    );
    let sessions = conn
        .prepare_cached(&sql)?
        .query_map(
            params![user_id, now, now.saturating_sub(idle_secs), limit],
            from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(sessions)
}

pub fn active_counts(
    conn: &Connection,
    now: i64,
    idle_secs: i64,
) -> Result<HashMap<i64, u64>, StoreError> {
    let counts = conn
        .prepare_cached(
            "SELECT user_id, COUNT(*) FROM sessions WHERE revoked_at IS NULL \
             AND expires_at > ?1 AND COALESCE(last_used_at, created_at) > ?2 GROUP BY user_id",
        )?
        .query_map(params![now, now.saturating_sub(idle_secs)], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?.max(0) as u64))
        })?
        .collect::<Result<_, _>>()?;
    Ok(counts)
}

pub fn revoke(
    conn: &mut Connection,
    id: &str,
    now: i64,
    reason: &'static str,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE sessions SET revoked_at = ?1, revoked_reason = ?2 \
             WHERE id = ?3 AND revoked_at IS NULL",
        )?
        .execute(params![now, reason, id])?;
    Ok(changed > 0)
}

pub fn update_family(
    conn: &mut Connection,
    id: &str,
    now: i64,
    decide: FamilyDecision,
) -> Result<Option<Session>, StoreError> {
    // IMMEDIATE: the write lock is taken before the row is read, so another process (or
    // connection) cannot rotate the family between this read and this write.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(mut session) = find(&tx, id)? else {
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

pub fn set_auth_time(conn: &Connection, id: &str, auth_time: i64) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached("UPDATE sessions SET auth_time = ?1 WHERE id = ?2")?
        .execute(params![auth_time, id])?;
    Ok(changed > 0)
}

/// Deletes ended sessions a batch at a time, taking the writer anew for each batch.
pub fn prune<'c>(
    writer: impl Fn() -> std::sync::MutexGuard<'c, Connection>,
    now: i64,
    idle_before: i64,
    revoked_before: i64,
) -> Result<Pruned, StoreError> {
    let mut pruned = Pruned::default();
    loop {
        let deleted = writer()
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
