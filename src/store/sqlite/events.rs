//! The `security_events` table: the audit trail.

use rusqlite::{Connection, Row, TransactionBehavior, params};

use crate::store::error::StoreError;
use crate::store::types::{Event, EventFilter, NewEvent};

const COLUMNS: &str =
    "id, at, kind, user_id, username, session_id, address, user_agent, actor, detail";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Event> {
    Ok(Event {
        id: row.get(0)?,
        event: NewEvent {
            at: row.get(1)?,
            kind: row.get(2)?,
            user_id: row.get(3)?,
            username: row.get(4)?,
            session_id: row.get(5)?,
            address: row.get(6)?,
            user_agent: row.get(7)?,
            actor: row.get(8)?,
            detail: row.get(9)?,
        },
    })
}

pub fn record(conn: &mut Connection, events: &[NewEvent]) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO security_events (at, kind, user_id, username, session_id, address, \
             user_agent, actor, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for e in events {
            insert.execute(params![
                e.at,
                e.kind,
                e.user_id,
                e.username,
                e.session_id,
                e.address,
                e.user_agent,
                e.actor,
                e.detail
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub fn read(conn: &Connection, filter: &EventFilter) -> Result<Vec<Event>, StoreError> {
    let either = filter.user_id.is_some() || filter.username.is_some();
    let sql = format!(
        "SELECT {COLUMNS} FROM security_events \
         WHERE (?1 = 0 OR user_id = ?2 OR username = ?3) AND (?4 IS NULL OR kind = ?4) \
         ORDER BY id DESC LIMIT ?5"
    );
    let events = conn
        .prepare_cached(&sql)?
        .query_map(
            params![
                either,
                filter.user_id,
                filter.username,
                filter.kind,
                filter.limit
            ],
            from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(events)
}

pub fn prune(conn: &mut Connection, before: i64) -> Result<u64, StoreError> {
    let deleted = conn
        .prepare_cached("DELETE FROM security_events WHERE at < ?1")?
        .execute([before])?;
    Ok(deleted as u64)
}
