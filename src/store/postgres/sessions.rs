//! The `sessions` table on PostgreSQL: logins, which are also refresh-token families.

use std::collections::HashMap;

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};

use super::notify;
use crate::store::error::StoreError;
use crate::store::types::{
    Ended, FamilyDecision, FamilyUpdate, NewSession, Pruned, Session, SessionLimits, SessionStatus,
    reason,
};

/// Rows deleted per statement when pruning, so no lock is held for long.
const PRUNE_BATCH: i64 = 1000;

const COLUMNS: &str = "id, user_id, created_at, expires_at, last_used_at, revoked_at, \
     revoked_reason, user_agent, address, refresh_jti, refresh_issued_at, previous_jti, auth_time";

fn from_row(row: &PgRow) -> Result<Session, sqlx::Error> {
    let created_at: i64 = row.try_get(2)?;
    Ok(Session {
        id: row.try_get(0)?,
        user_id: row.try_get(1)?,
        created_at,
        expires_at: row.try_get(3)?,
        last_used_at: row.try_get::<Option<i64>, _>(4)?.unwrap_or(created_at),
        revoked_at: row.try_get(5)?,
        revoked_reason: row.try_get(6)?,
        user_agent: row.try_get(7)?,
        address: row.try_get(8)?,
        refresh_jti: row.try_get(9)?,
        refresh_issued_at: row.try_get::<Option<i64>, _>(10)?.unwrap_or(created_at),
        previous_jti: row.try_get(11)?,
        auth_time: row.try_get::<Option<i64>, _>(12)?.unwrap_or(created_at),
    })
}

fn ids(rows: &[PgRow]) -> Result<Ended, sqlx::Error> {
    rows.iter().map(|row| row.try_get(0)).collect()
}

pub async fn find(pool: &PgPool, id: &str) -> Result<Option<Session>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM sessions WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

pub async fn status(pool: &PgPool, id: &str) -> Result<Option<SessionStatus>, StoreError> {
    let row = sqlx::query(
        "SELECT user_id, expires_at, COALESCE(last_used_at, created_at), revoked_at \
         FROM sessions WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(SessionStatus {
        user_id: row.try_get(0)?,
        expires_at: row.try_get(1)?,
        last_used_at: row.try_get(2)?,
        revoked: row.try_get::<Option<i64>, _>(3)?.is_some(),
    }))
}

/// The ids of every session of a user.
pub async fn session_ids_of(conn: &mut PgConnection, user_id: i64) -> Result<Ended, StoreError> {
    let rows = sqlx::query("SELECT id FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .fetch_all(conn)
        .await?;
    Ok(ids(&rows)?)
}

/// Revokes every unrevoked session of a user but `keep`, inside the caller's transaction;
/// returns their ids.
pub async fn revoke_all_of(
    conn: &mut PgConnection,
    user_id: i64,
    keep: Option<&str>,
    now: i64,
    why: &str,
) -> Result<Ended, StoreError> {
    let rows = sqlx::query(
        "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 \
         WHERE user_id = $3 AND revoked_at IS NULL AND id IS DISTINCT FROM $4 RETURNING id",
    )
    .bind(now)
    .bind(why)
    .bind(user_id)
    .bind(keep)
    .fetch_all(conn)
    .await?;
    Ok(ids(&rows)?)
}

pub async fn create(
    pool: &PgPool,
    s: &NewSession,
    limits: SessionLimits,
) -> Result<Ended, StoreError> {
    let mut tx = pool.begin().await?;
    // One login of a user at a time: the order number and the cap see every other login.
    sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
        .bind(s.user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, expires_at, last_used_at, user_agent, \
         address, refresh_jti, refresh_issued_at, auth_time, seq) \
         VALUES ($1, $2, $3, $4, $3, $5, $6, $7, $3, $8, \
         (SELECT COALESCE(MAX(seq), 0) + 1 FROM sessions WHERE user_id = $2))",
    )
    .bind(&s.id)
    .bind(s.user_id)
    .bind(s.created_at)
    .bind(s.expires_at)
    .bind(&s.user_agent)
    .bind(&s.address)
    .bind(&s.refresh_jti)
    .bind(s.auth_time)
    .execute(&mut *tx)
    .await?;
    // Everything past the newest `max_per_user` active sessions (the new one is the newest).
    let rows = sqlx::query(
        "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 WHERE id IN ( \
         SELECT id FROM sessions WHERE user_id = $3 AND revoked_at IS NULL \
         AND expires_at > $1 AND last_used_at > $4 \
         ORDER BY id = $5 DESC, last_used_at DESC, seq DESC OFFSET $6) RETURNING id",
    )
    .bind(s.created_at)
    .bind(reason::SESSION_CAP)
    .bind(s.user_id)
    .bind(s.created_at.saturating_sub(limits.idle_secs))
    .bind(&s.id)
    .bind(i64::from(limits.max_per_user))
    .fetch_all(&mut *tx)
    .await?;
    let mut ended = ids(&rows)?;
    ended.push(s.id.clone());
    notify::send(&mut tx, &[], &ended).await?;
    ended.pop();
    tx.commit().await?;
    Ok(ended)
}

pub async fn enforce_cap(
    pool: &PgPool,
    limits: SessionLimits,
    now: i64,
) -> Result<Ended, StoreError> {
    let mut tx = pool.begin().await?;
    let rows = sqlx::query(
        "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 WHERE id IN ( \
         SELECT id FROM (SELECT id, ROW_NUMBER() OVER ( \
         PARTITION BY user_id ORDER BY last_used_at DESC, seq DESC) AS place \
         FROM sessions WHERE revoked_at IS NULL AND expires_at > $1 AND last_used_at > $3) \
         AS ranked WHERE place > $4) RETURNING id",
    )
    .bind(now)
    .bind(reason::SESSION_CAP)
    .bind(now.saturating_sub(limits.idle_secs))
    .bind(i64::from(limits.max_per_user))
    .fetch_all(&mut *tx)
    .await?;
    let ended = ids(&rows)?;
    notify::send(&mut tx, &[], &ended).await?;
    tx.commit().await?;
    Ok(ended)
}

pub async fn active(
    pool: &PgPool,
    user_id: i64,
    now: i64,
    idle_secs: i64,
    limit: u32,
) -> Result<Vec<Session>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM sessions \
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND last_used_at > $3 \
         ORDER BY last_used_at DESC, seq DESC LIMIT $4"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .bind(now)
        .bind(now.saturating_sub(idle_secs))
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

pub async fn active_counts(
    pool: &PgPool,
    now: i64,
    idle_secs: i64,
) -> Result<HashMap<i64, u64>, StoreError> {
    let rows = sqlx::query(
        "SELECT user_id, COUNT(*) FROM sessions WHERE revoked_at IS NULL \
         AND expires_at > $1 AND COALESCE(last_used_at, created_at) > $2 GROUP BY user_id",
    )
    .bind(now)
    .bind(now.saturating_sub(idle_secs))
    .fetch_all(pool)
    .await?;
    let mut counts = HashMap::new();
    for row in rows {
        counts.insert(row.try_get(0)?, row.try_get::<i64, _>(1)?.max(0) as u64);
    }
    Ok(counts)
}

pub async fn revoke(
    pool: &PgPool,
    id: &str,
    now: i64,
    reason: &'static str,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let changed = sqlx::query(
        "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 \
         WHERE id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(reason)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    notify::send(&mut tx, &[], &[id.to_owned()]).await?;
    tx.commit().await?;
    Ok(changed > 0)
}

pub async fn revoke_user(
    pool: &PgPool,
    user_id: i64,
    keep: Option<&str>,
    now: i64,
    reason: &'static str,
) -> Result<Ended, StoreError> {
    let mut tx = pool.begin().await?;
    let ended = revoke_all_of(&mut tx, user_id, keep, now, reason).await?;
    notify::send(&mut tx, &[], &ended).await?;
    tx.commit().await?;
    Ok(ended)
}

pub async fn update_family(
    pool: &PgPool,
    id: &str,
    now: i64,
    decide: FamilyDecision,
) -> Result<Option<Session>, StoreError> {
    let mut tx = pool.begin().await?;
    // FOR UPDATE: a refresh of the same family on any instance waits for this one to commit,
    // and then decides on the row as this one left it.
    let sql = format!("SELECT {COLUMNS} FROM sessions WHERE id = $1 FOR UPDATE");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(mut session) = row.as_ref().map(from_row).transpose()? else {
        return Ok(None);
    };
    let update = decide(&session);
    match update {
        FamilyUpdate::Rotate { previous, jti } => {
            sqlx::query(
                "UPDATE sessions SET previous_jti = $1, refresh_jti = $2, \
                 refresh_issued_at = $3, last_used_at = $3 WHERE id = $4",
            )
            .bind(&previous)
            .bind(&jti)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            session.previous_jti = Some(previous);
            session.refresh_jti = Some(jti);
            session.refresh_issued_at = now;
            session.last_used_at = now;
        }
        FamilyUpdate::Touch => {
            sqlx::query("UPDATE sessions SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            session.last_used_at = now;
        }
        FamilyUpdate::Revoke { reason } => {
            sqlx::query(
                "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 \
                 WHERE id = $3 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(reason)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            session.revoked_at.get_or_insert(now);
            session
                .revoked_reason
                .get_or_insert_with(|| reason.to_owned());
        }
        FamilyUpdate::Keep => {
            tx.commit().await?;
            return Ok(Some(session));
        }
    }
    // Use moves `last_used_at` (the idle timeout), reuse revokes: other instances forget it.
    notify::send(&mut tx, &[], &[id.to_owned()]).await?;
    tx.commit().await?;
    Ok(Some(session))
}

pub async fn prune(
    pool: &PgPool,
    now: i64,
    idle_before: i64,
    revoked_before: i64,
) -> Result<Pruned, StoreError> {
    let mut pruned = Pruned::default();
    loop {
        let deleted = sqlx::query(
            "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions \
             WHERE expires_at <= $1 OR last_used_at < $2 OR revoked_at < $3 LIMIT $4 \
             FOR UPDATE SKIP LOCKED)",
        )
        .bind(now)
        .bind(idle_before)
        .bind(revoked_before)
        .bind(PRUNE_BATCH)
        .execute(pool)
        .await?
        .rows_affected();
        pruned.sessions += deleted;
        if (deleted as i64) < PRUNE_BATCH {
            return Ok(pruned);
        }
    }
}

pub async fn set_auth_time(pool: &PgPool, id: &str, auth_time: i64) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE sessions SET auth_time = $1 WHERE id = $2")
        .bind(auth_time)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}
