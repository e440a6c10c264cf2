//! The `users` table on PostgreSQL.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};

use super::notify;
use super::sessions::{revoke_all_of, session_ids_of};
use crate::store::error::StoreError;
use crate::store::types::{Ended, NewUser, User, UserStatus, reason};

/// The advisory lock of every write that gives a user a name ("jwtapp" + 2): the check that a
/// canonical form is free and the write that takes it are one step, whichever instance makes it.
const USERNAMES_LOCK: i64 = 0x6a77_7461_7070_0002;

const COLUMNS: &str = "id, username, canonical, password_hash, enabled, is_admin, is_demo, \
     created_at, updated_at, totp_secret IS NOT NULL";

fn from_row(row: &PgRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get(0)?,
        username: row.try_get(1)?,
        canonical: row.try_get::<Option<String>, _>(2)?.unwrap_or_default(),
        password_hash: row.try_get(3)?,
        enabled: row.try_get(4)?,
        is_admin: row.try_get(5)?,
        is_demo: row.try_get(6)?,
        created_at: row.try_get(7)?,
        updated_at: row.try_get(8)?,
        has_totp: row.try_get(9)?,
    })
}

/// A unique constraint that fired on `username` is a taken name, like a taken canonical form.
fn taken(error: sqlx::Error, username: &str) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::UsernameTaken {
            existing: username.to_owned(),
        },
        _ => error.into(),
    }
}

async fn id_of(conn: &mut PgConnection, username: &str) -> Result<i64, StoreError> {
    sqlx::query("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(conn)
        .await?
        .map(|row| row.try_get(0))
        .transpose()?
        .ok_or_else(|| StoreError::NoSuchUser(username.to_owned()))
}

async fn refuse_taken(
    conn: &mut PgConnection,
    canonical: &str,
    except: Option<i64>,
) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(USERNAMES_LOCK)
        .execute(&mut *conn)
        .await?;
    let existing = sqlx::query(
        "SELECT username FROM users WHERE canonical = $1 AND id IS DISTINCT FROM $2 \
         ORDER BY id LIMIT 1",
    )
    .bind(canonical)
    .bind(except)
    .fetch_optional(&mut *conn)
    .await?;
    match existing {
        Some(row) => Err(StoreError::UsernameTaken {
            existing: row.try_get(0)?,
        }),
        None => Ok(()),
    }
}

pub async fn find(pool: &PgPool, username: &str) -> Result<Option<User>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE username = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(username)
        .fetch_optional(pool)
        .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

pub async fn status(pool: &PgPool, username: &str) -> Result<Option<UserStatus>, StoreError> {
    let row = sqlx::query("SELECT id, enabled, is_admin, is_demo FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(pool)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(UserStatus {
        id: row.try_get(0)?,
        enabled: row.try_get(1)?,
        is_admin: row.try_get(2)?,
        is_demo: row.try_get(3)?,
    }))
}

pub async fn by_canonical(pool: &PgPool, canonical: &str) -> Result<Vec<User>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE canonical = $1 ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(canonical)
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

pub async fn list(pool: &PgPool) -> Result<Vec<User>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users ORDER BY username");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

pub async fn count(pool: &PgPool) -> Result<u64, StoreError> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(pool)
        .await?;
    Ok(count.max(0) as u64)
}

pub async fn create(pool: &PgPool, user: &NewUser) -> Result<User, StoreError> {
    let mut tx = pool.begin().await?;
    refuse_taken(&mut tx, &user.canonical, None).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (username, canonical, password_hash, enabled, is_admin, is_demo, \
         created_at, updated_at) VALUES ($1, $2, $3, TRUE, $4, $5, $6, $6) RETURNING id",
    )
    .bind(&user.username)
    .bind(&user.canonical)
    .bind(&user.password_hash)
    .bind(user.is_admin)
    .bind(user.is_demo)
    .bind(user.now)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| taken(e, &user.username))?;
    // Instances that cached "no such user" forget it.
    notify::send(&mut tx, &[&user.username], &[]).await?;
    tx.commit().await?;
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

pub async fn rename(
    pool: &PgPool,
    username: &str,
    new_username: &str,
    new_canonical: &str,
    now: i64,
) -> Result<Ended, StoreError> {
    let mut tx = pool.begin().await?;
    let user_id = id_of(&mut tx, username).await?;
    refuse_taken(&mut tx, new_canonical, Some(user_id)).await?;
    sqlx::query("UPDATE users SET username = $1, canonical = $2, updated_at = $3 WHERE id = $4")
        .bind(new_username)
        .bind(new_canonical)
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .map_err(|e| taken(e, new_username))?;
    let ended = revoke_all_of(&mut tx, user_id, None, now, reason::RENAMED).await?;
    notify::send(&mut tx, &[username, new_username], &ended).await?;
    tx.commit().await?;
    Ok(ended)
}

pub async fn refresh_canonical(
    pool: &PgPool,
    canonical: for<'a> fn(&'a str) -> String,
) -> Result<u64, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(USERNAMES_LOCK)
        .execute(&mut *tx)
        .await?;
    let rows = sqlx::query("SELECT id, username, canonical FROM users")
        .fetch_all(&mut *tx)
        .await?;
    let mut changed = 0;
    for row in rows {
        let (id, username, stored): (i64, String, Option<String>) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        let form = canonical(&username);
        if stored.as_deref() != Some(form.as_str()) {
            sqlx::query("UPDATE users SET canonical = $1 WHERE id = $2")
                .bind(form)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            changed += 1;
        }
    }
    tx.commit().await?;
    Ok(changed)
}

pub async fn clashes(pool: &PgPool) -> Result<Vec<Vec<String>>, StoreError> {
    let rows = sqlx::query(
        "SELECT array_agg(username ORDER BY id) FROM users WHERE canonical IS NOT NULL \
         GROUP BY canonical HAVING COUNT(*) > 1 ORDER BY canonical",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| row.try_get::<Vec<String>, _>(0))
        .collect::<Result<_, _>>()?)
}

pub async fn mark_demo(pool: &PgPool, username: &str) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let changed = sqlx::query("UPDATE users SET is_demo = TRUE WHERE username = $1")
        .bind(username)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(StoreError::NoSuchUser(username.to_owned()));
    }
    notify::send(&mut tx, &[username], &[]).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn set_password_hash(
    pool: &PgPool,
    username: &str,
    hash: &str,
    now: i64,
) -> Result<(), StoreError> {
    let changed =
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE username = $3")
            .bind(hash)
            .bind(now)
            .bind(username)
            .execute(pool)
            .await?
            .rows_affected();
    if changed == 0 {
        return Err(StoreError::NoSuchUser(username.to_owned()));
    }
    Ok(())
}

pub async fn change_password(
    pool: &PgPool,
    username: &str,
    hash: &str,
    keep: Option<&str>,
    now: i64,
) -> Result<Ended, StoreError> {
    let mut tx = pool.begin().await?;
    let user_id = id_of(&mut tx, username).await?;
    sqlx::query(
        "UPDATE users SET password_hash = $1, is_demo = FALSE, updated_at = $2 WHERE id = $3",
    )
    .bind(hash)
    .bind(now)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    let ended = revoke_all_of(&mut tx, user_id, keep, now, reason::PASSWORD).await?;
    notify::send(&mut tx, &[username], &ended).await?;
    tx.commit().await?;
    Ok(ended)
}

pub async fn set_enabled(
    pool: &PgPool,
    username: &str,
    enabled: bool,
    now: i64,
) -> Result<Ended, StoreError> {
    let mut tx = pool.begin().await?;
    let user_id = id_of(&mut tx, username).await?;
    sqlx::query("UPDATE users SET enabled = $1, updated_at = $2 WHERE id = $3")
        .bind(enabled)
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    let ended = if enabled {
        Vec::new()
    } else {
        revoke_all_of(&mut tx, user_id, None, now, reason::DISABLED).await?
    };
    notify::send(&mut tx, &[username], &ended).await?;
    tx.commit().await?;
    Ok(ended)
}

pub async fn set_admin(
    pool: &PgPool,
    username: &str,
    is_admin: bool,
    now: i64,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let changed =
        sqlx::query("UPDATE users SET is_admin = $1, updated_at = $2 WHERE username = $3")
            .bind(is_admin)
            .bind(now)
            .bind(username)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if changed == 0 {
        return Err(StoreError::NoSuchUser(username.to_owned()));
    }
    notify::send(&mut tx, &[username], &[]).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn delete(pool: &PgPool, username: &str) -> Result<Ended, StoreError> {
    let mut tx = pool.begin().await?;
    let user_id = id_of(&mut tx, username).await?;
    // The sessions go with the user (ON DELETE CASCADE); their ids are what caches must forget.
    let ended = session_ids_of(&mut tx, user_id).await?;
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    notify::send(&mut tx, &[username], &ended).await?;
    tx.commit().await?;
    Ok(ended)
}
