//! Telling the other instances what a write changed: `NOTIFY` on one channel, sent inside the
//! write's transaction (PostgreSQL delivers it when the transaction commits, and never if it
//! rolls back), naming the users and sessions whose cached state must be forgotten.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use crate::store::changes::Change;
use crate::store::error::StoreError;

/// The channel every instance listens on.
pub const CHANNEL: &str = "jwtapp_changes";

/// Payloads stay well under PostgreSQL's 8000-byte limit; larger changes go in several.
const MAX_PAYLOAD: usize = 6000;

#[derive(Serialize, Deserialize, Default)]
struct Payload {
    #[serde(default, rename = "u")]
    users: Vec<String>,
    #[serde(default, rename = "s")]
    sessions: Vec<String>,
}

/// Sends the notifications for a write that changed `users` and `sessions`, in its transaction.
pub async fn send(
    conn: &mut PgConnection,
    users: &[&str],
    sessions: &[String],
) -> Result<(), StoreError> {
    for payload in payloads(users, sessions)? {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The change as JSON payloads, each under the size limit.
fn payloads(users: &[&str], sessions: &[String]) -> Result<Vec<String>, StoreError> {
    let mut payloads = Vec::new();
    let mut current = Payload {
        users: users.iter().map(|u| (*u).to_owned()).collect(),
        sessions: Vec::new(),
    };
    let mut size = serde_json::to_string(&current)
        .map_err(StoreError::Notification)?
        .len();
    for id in sessions {
        if size + id.len() + 3 > MAX_PAYLOAD && !current.sessions.is_empty() {
            payloads.push(serde_json::to_string(&current).map_err(StoreError::Notification)?);
            current = Payload::default();
            size = 20;
        }
        size += id.len() + 3;
        current.sessions.push(id.clone());
    }
    if !current.users.is_empty() || !current.sessions.is_empty() {
        payloads.push(serde_json::to_string(&current).map_err(StoreError::Notification)?);
    }
    Ok(payloads)
}

/// A notification's payload as the change it names; `None` for one that is not ours.
pub fn parse(payload: &str) -> Option<Change> {
    let payload: Payload = serde_json::from_str(payload).ok()?;
    Some(Change {
        users: payload.users,
        sessions: payload.sessions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_changes_are_split_and_read_back_whole() {
        let sessions: Vec<String> = (0..1000).map(|i| format!("session-{i:016}")).collect();
        let payloads = payloads(&["alice"], &sessions).expect("payloads");
        assert!(payloads.len() > 1);
        let mut seen = Vec::new();
        for payload in &payloads {
            assert!(payload.len() < 8000);
            let change = parse(payload).expect("ours");
            seen.extend(change.sessions);
        }
        assert_eq!(seen, sessions);
        assert_eq!(parse(&payloads[0]).expect("ours").users, ["alice"]);
        assert_eq!(parse("not json"), None);
    }
}
