//! The `login_failures` table on PostgreSQL: failed logins, counted across instances.

use sqlx::{PgPool, Row};

use crate::store::error::StoreError;

pub async fn recent(
    pool: &PgPool,
    keys: &[String],
    since: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT key, at FROM login_failures WHERE key = ANY($1) AND at >= $2 ORDER BY at",
    )
    .bind(keys)
    .bind(since)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()?)
}

pub async fn record(pool: &PgPool, keys: &[String], at: i64) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO login_failures (key, at) SELECT unnest($1::TEXT[]), $2")
        .bind(keys)
        .bind(at)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn forgive(pool: &PgPool, key: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM login_failures WHERE key = $1")
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn prune(pool: &PgPool, before: i64) -> Result<u64, StoreError> {
    Ok(sqlx::query("DELETE FROM login_failures WHERE at < $1")
        .bind(before)
        .execute(pool)
        .await?
        .rows_affected())
}
