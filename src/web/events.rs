//! The audit trail as the web shows it: the query parameters of the event lists (checked the
//! same way for the API and the pages) and an event as a row a person or a client reads.

use serde::Serialize;

use crate::auth::{
    DEFAULT_EVENT_LIMIT, EventKind, MAX_EVENT_LIMIT, describe_device, minutes, rfc3339,
};
use crate::store::Event;
use crate::web::error::AppError;

/// `limit`: the default when absent, at most [`MAX_EVENT_LIMIT`] (more is capped), never 0 or
/// anything but a number.
pub fn limit(asked: Option<&str>) -> Result<u32, AppError> {
    let Some(asked) = asked.filter(|value| !value.is_empty()) else {
        return Ok(DEFAULT_EVENT_LIMIT);
    };
    match asked.parse::<u64>() {
        Ok(0) | Err(_) => Err(AppError::BadRequest(format!(
            "limit must be a whole number from 1 to {MAX_EVENT_LIMIT}"
        ))),
        Ok(n) => Ok(n.min(u64::from(MAX_EVENT_LIMIT)) as u32),
    }
}

/// `kind`: one of the documented names, or absent.
pub fn kind(asked: Option<&str>) -> Result<Option<EventKind>, AppError> {
    match asked.filter(|value| !value.is_empty()) {
        None => Ok(None),
        Some(name) => EventKind::parse(name).map(Some).ok_or_else(|| {
            let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
            AppError::BadRequest(format!("kind must be one of {}", known.join(", ")))
        }),
    }
}

/// `user`: a name, or absent. Bounded: no account has a longer name.
pub fn user(asked: Option<&str>) -> Result<Option<String>, AppError> {
    match asked.map(str::trim).filter(|value| !value.is_empty()) {
        None => Ok(None),
        Some(name) if name.chars().count() > 256 => Err(AppError::BadRequest(
            "user is too long to be a username".into(),
        )),
        Some(name) => Ok(Some(name.to_owned())),
    }
}

/// One event as the API answers it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    pub id: i64,
    /// RFC 3339, UTC.
    pub time: String,
    pub kind: String,
    pub username: Option<String>,
    pub address: Option<String>,
    pub user_agent: Option<String>,
    /// The user agent in words: "Chrome 156 on Linux".
    pub device: Option<String>,
    pub actor: Option<String>,
    pub detail: Option<String>,
}

impl From<Event> for EventView {
    fn from(event: Event) -> EventView {
        let e = event.event;
        EventView {
            id: event.id,
            time: rfc3339(e.at),
            device: e.user_agent.as_deref().and_then(describe_device),
            kind: e.kind,
            username: e.username,
            address: e.address,
            user_agent: e.user_agent,
            actor: e.actor,
            detail: e.detail,
        }
    }
}

/// One event as a page shows it: every field readable, nothing left blank.
pub struct EventRow {
    pub time: String,
    pub what: String,
    pub kind: String,
    pub username: String,
    pub address: String,
    pub device: String,
    pub actor: String,
    pub detail: String,
    /// A failure or a suspected theft: the page marks it.
    pub alarming: bool,
}

impl From<Event> for EventRow {
    fn from(event: Event) -> EventRow {
        let e = event.event;
        let known = EventKind::parse(&e.kind);
        let dash = || "–".to_owned();
        EventRow {
            time: minutes(e.at),
            what: known.map_or_else(|| e.kind.clone(), |kind| kind.words().to_owned()),
            alarming: matches!(
                known,
                Some(
                    EventKind::LoginFailed
                        | EventKind::LoginThrottled
                        | EventKind::RefreshReuseDetected
                )
            ),
            kind: e.kind,
            username: e.username.unwrap_or_else(dash),
            address: e.address.unwrap_or_else(dash),
            device: e
                .user_agent
                .as_deref()
                .and_then(describe_device)
                .or(e.user_agent)
                .unwrap_or_else(dash),
            actor: e.actor.unwrap_or_else(dash),
            detail: e.detail.unwrap_or_default(),
        }
    }
}
