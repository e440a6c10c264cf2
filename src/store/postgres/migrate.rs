//! The schema on PostgreSQL: created or brought up to date at start, in one transaction, under an
//! advisory lock, so that several instances starting at once apply each step exactly once.

use sqlx::{PgPool, Row};

use crate::store::error::StoreError;
use crate::store::migrations::{MIGRATIONS, current_version};

/// The advisory lock every start takes while it looks at the schema ("jwtapp" + 1).
const SCHEMA_LOCK: i64 = 0x6a77_7461_7070_0001;

/// Applies the steps this database has not had yet.
pub async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(SCHEMA_LOCK)
        .execute(&mut *tx)
        .await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS jwtapp_schema (version INTEGER NOT NULL)")
        .execute(&mut *tx)
        .await?;
    let applied: i64 = match sqlx::query("SELECT version FROM jwtapp_schema")
        .fetch_optional(&mut *tx)
        .await?
    {
        Some(row) => i64::from(row.try_get::<i32, _>(0)?),
        None => {
            sqlx::query("INSERT INTO jwtapp_schema (version) VALUES (0)")
                .execute(&mut *tx)
                .await?;
            0
        }
    };
    let known = current_version();
    let done = usize::try_from(applied).unwrap_or(usize::MAX);
    if done > known {
        return Err(StoreError::SchemaTooNew {
            found: applied,
            known,
        });
    }
    for migration in &MIGRATIONS[done..] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(migration.postgres))
            .execute(&mut *tx)
            .await?;
        log::info!("database schema: applied {}", migration.name);
    }
    if done < known {
        sqlx::query("UPDATE jwtapp_schema SET version = $1")
            .bind(known as i32)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The schema version the database has.
pub async fn version(pool: &PgPool) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT version FROM jwtapp_schema")
        .fetch_one(pool)
        .await?;
    Ok(i64::from(row.try_get::<i32, _>(0)?))
}
