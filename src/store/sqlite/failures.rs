//! The `login_failures` table: failed logins, counted across processes.

use rusqlite::{Connection, TransactionBehavior, params};

use crate::store::error::StoreError;

pub fn recent(
    conn: &Connection,
    keys: &[String],
    since: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut statement = conn.prepare_cached(
        "SELECT key, at FROM login_failures WHERE key = ?1 AND at >= ?2 ORDER BY at",
    )?;
    let mut found = Vec::new();
    for key in keys {
        let rows =
            statement.query_map(params![key, since], |row| Ok((row.get(0)?, row.get(1)?)))?;
        for row in rows {
            found.push(row?);
        }
    }
    Ok(found)
}

pub fn record(conn: &mut Connection, keys: &[String], at: i64) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut insert =
            tx.prepare_cached("INSERT INTO login_failures (key, at) VALUES (?1, ?2)")?;
        for key in keys {
            insert.execute(params![key, at])?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub fn forgive(conn: &mut Connection, key: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM login_failures WHERE key = ?1")?
        .execute([key])?;
    Ok(())
}

pub fn prune(conn: &mut Connection, before: i64) -> Result<u64, StoreError> {
    let deleted = conn
        .prepare_cached("DELETE FROM login_failures WHERE at < ?1")?
        .execute([before])?;
    Ok(deleted as u64)
}
