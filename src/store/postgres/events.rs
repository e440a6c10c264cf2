//! The `security_events` table on PostgreSQL: the audit trail.

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use crate::store::error::StoreError;
use crate::store::types::{Event, EventFilter, NewEvent};

fn from_row(row: &PgRow) -> Result<Event, sqlx::Error> {
    Ok(Event {
        id: row.try_get(0)?,
        event: NewEvent {
            at: row.try_get(1)?,
            kind: row.try_get(2)?,
            user_id: row.try_get(3)?,
            username: row.try_get(4)?,
            session_id: row.try_get(5)?,
            address: row.try_get(6)?,
            user_agent: row.try_get(7)?,
            actor: row.try_get(8)?,
            detail: row.try_get(9)?,
        },
    })
}

pub async fn record(pool: &PgPool, events: &[NewEvent]) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for e in events {
        sqlx::query(
            "INSERT INTO security_events (at, kind, user_id, username, session_id, address, \
             user_agent, actor, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(e.at)
        .bind(&e.kind)
        .bind(e.user_id)
        .bind(&e.username)
        .bind(&e.session_id)
        .bind(&e.address)
        .bind(&e.user_agent)
        .bind(&e.actor)
        .bind(&e.detail)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn read(pool: &PgPool, filter: &EventFilter) -> Result<Vec<Event>, StoreError> {
    let either = filter.user_id.is_some() || filter.username.is_some();
    let rows = sqlx::query(
        "SELECT id, at, kind, user_id, username, session_id, address, user_agent, actor, detail \
         FROM security_events \
         WHERE (NOT $1 OR user_id = $2 OR username = $3) AND ($4::TEXT IS NULL OR kind = $4) \
         ORDER BY id DESC LIMIT $5",
    )
    .bind(either)
    .bind(filter.user_id)
    .bind(&filter.username)
    .bind(&filter.kind)
    .bind(i64::from(filter.limit))
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

pub async fn prune(pool: &PgPool, before: i64) -> Result<u64, StoreError> {
    Ok(sqlx::query("DELETE FROM security_events WHERE at < $1")
        .bind(before)
        .execute(pool)
        .await?
        .rows_affected())
}
