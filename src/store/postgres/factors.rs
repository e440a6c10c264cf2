//! The second factor and single-use tokens on PostgreSQL (see the SQLite file of the same name).

use sqlx::{PgPool, Row};

use super::notify;
use super::sessions::revoke_all_of;
use crate::store::error::StoreError;
use crate::store::types::{Ended, SecondFactor, reason};

pub async fn read(pool: &PgPool, user_id: i64) -> Result<SecondFactor, StoreError> {
    let row = sqlx::query(
        "SELECT totp_secret, totp_pending, totp_enabled_at, totp_last_step, \
         (SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL) \
         FROM users WHERE id = $1",
    )
    .bind(user_id)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(SecondFactor::default());
    };
    let left: i64 = row.try_get(4)?;
    Ok(SecondFactor {
        secret: row.try_get(0)?,
        pending: row.try_get(1)?,
        enabled_at: row.try_get(2)?,
        last_step: row.try_get(3)?,
        recovery_codes_left: u32::try_from(left).unwrap_or(u32::MAX),
    })
}

pub async fn set_pending(
    pool: &PgPool,
    user_id: i64,
    sealed: &str,
    now: i64,
) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE users SET totp_pending = $1, updated_at = $2 WHERE id = $3")
        .bind(sealed)
        .bind(now)
        .bind(user_id)
        .execute(pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NoSuchUser(format!("#{user_id}")));
    }
    Ok(())
}

pub async fn enable(
    pool: &PgPool,
    user_id: i64,
    sealed: &str,
    step: i64,
    hashes: &[String],
    now: i64,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, \
         totp_enabled_at = $1, totp_last_step = $2, updated_at = $1 \
         WHERE id = $3 AND totp_pending = $4 AND totp_secret IS NULL",
    )
    .bind(now)
    .bind(step)
    .bind(user_id)
    .bind(sealed)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    replace_codes(&mut tx, user_id, hashes).await?;
    tx.commit().await?;
    Ok(true)
}

pub async fn disable(
    pool: &PgPool,
    user_id: i64,
    end_sessions: bool,
    now: i64,
) -> Result<(bool, Ended), StoreError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_enabled_at = NULL, \
         updated_at = $1 WHERE id = $2 AND totp_secret IS NOT NULL",
    )
    .bind(now)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    let was_on = done.rows_affected() > 0;
    let ended = if end_sessions && was_on {
        revoke_all_of(&mut tx, user_id, None, now, reason::SECOND_FACTOR_RESET).await?
    } else {
        Vec::new()
    };
    notify::send(&mut tx, &[], &ended).await?;
    tx.commit().await?;
    Ok((was_on, ended))
}

pub async fn use_step(pool: &PgPool, user_id: i64, step: i64) -> Result<bool, StoreError> {
    // One statement: two instances checking the same code cannot both accept it.
    let done = sqlx::query(
        "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_secret IS NOT NULL \
         AND (totp_last_step IS NULL OR totp_last_step < $1)",
    )
    .bind(step)
    .bind(user_id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn use_recovery_code(
    pool: &PgPool,
    user_id: i64,
    hash: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE recovery_codes SET used_at = $1 \
         WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .bind(hash)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn replace_recovery_codes(
    pool: &PgPool,
    user_id: i64,
    hashes: &[String],
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let on: Option<bool> =
        sqlx::query_scalar("SELECT totp_secret IS NOT NULL FROM users WHERE id = $1 FOR UPDATE")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
    if on != Some(true) {
        return Ok(false);
    }
    replace_codes(&mut tx, user_id, hashes).await?;
    tx.commit().await?;
    Ok(true)
}

async fn replace_codes(
    conn: &mut sqlx::PgConnection,
    user_id: i64,
    hashes: &[String],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    for hash in hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user_id)
            .bind(hash)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn use_once(pool: &PgPool, id: &str, expires_at: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO used_tokens (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(expires_at)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn is_used(pool: &PgPool, id: &str) -> Result<bool, StoreError> {
    let found = sqlx::query("SELECT 1 FROM used_tokens WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(found.is_some())
}

pub async fn prune_used(pool: &PgPool, before: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM used_tokens WHERE expires_at < $1")
        .bind(before)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
