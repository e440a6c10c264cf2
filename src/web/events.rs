//! The audit trail as the web shows it: the query parameters of the event lists (checked the
//! same way for the API and the pages) and an event as a row a person or a client reads.

use serde::Serialize;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::auth::{
    DEFAULT_EVENT_LIMIT, EventKind, MAX_EVENT_LIMIT, describe_device, minutes, rfc3339,
};
use crate::store::Event;
use crate::web::error::AppError;

/// `limit`: the default when absent; a whole number of at least 1, of which more than
/// [`MAX_EVENT_LIMIT`] gets that many (so any number of digits is understood).
pub fn limit(asked: Option<&str>) -> Result<u32, AppError> {
    let Some(asked) = asked else {
        return Ok(DEFAULT_EVENT_LIMIT);
    };
    let bad = || {
        AppError::BadRequest(format!(
            "limit must be a whole number from 1 to {MAX_EVENT_LIMIT}"
        ))
    };
    if asked.is_empty() || !asked.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match asked.trim_start_matches('0') {
        "" => Err(bad()),
        digits if digits.len() > 3 => Ok(MAX_EVENT_LIMIT),
        digits => Ok(digits
            .parse::<u32>()
            .map_err(|_| bad())?
            .min(MAX_EVENT_LIMIT)),
    }
}

/// `kind`: one of the documented names, or absent.
pub fn kind(asked: Option<&str>) -> Result<Option<EventKind>, AppError> {
    match asked {
        None => Ok(None),
        Some(name) => EventKind::parse(name).map(Some).ok_or_else(|| {
            let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
            AppError::BadRequest(format!("kind must be one of {}", known.join(", ")))
        }),
    }
}

/// `user`: a name (at most 256 characters: no account has a longer one), or absent. An empty
/// one is no filter.
pub fn user(asked: Option<&str>) -> Result<Option<String>, AppError> {
    match asked {
        Some(name) if name.chars().count() > 256 => Err(AppError::BadRequest(
            "user is too long to be a username".into(),
        )),
        Some(name) if !name.trim().is_empty() => Ok(Some(name.trim().to_owned())),
        _ => Ok(None),
    }
}

/// The `limit` parameter's schema: a whole number of at least 1, any size (more than the most
/// gets the most).
pub struct LimitParam;

impl PartialSchema for LimitParam {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .into()
    }
}

impl ToSchema for LimitParam {}

/// The name of an event kind, as the `kind` filter takes it: the schema lists every kind
/// [`EventKind::ALL`] knows, so the document cannot fall behind the code.
pub struct EventKindName;

impl PartialSchema for EventKindName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(EventKind::ALL.iter().map(|kind| kind.as_str())))
            .description(Some("The kind of a security event (see the README's list)"))
            .into()
    }
}

impl ToSchema for EventKindName {}

/// One security event.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "id": 42,
    "time": "2026-12-02T14:15:18Z",
    "kind": "login_failed",
    "username": "user",
    "address": "203.0.113.9",
    "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
    "device": "Chrome 156 on Linux",
    "actor": null,
    "detail": "wrong password"
}))]
pub struct EventView {
    pub id: i64,
    /// When, RFC 3339, UTC.
    pub time: String,
    /// What happened: `login_succeeded`, `login_failed`, ... (stable snake_case names; later
    /// versions may add kinds).
    pub kind: String,
    /// The account's name at the time, or the name as typed for a failed login.
    pub username: Option<String>,
    /// The client's address.
    pub address: Option<String>,
    pub user_agent: Option<String>,
    /// The user agent in words: "Chrome 156 on Linux".
    pub device: Option<String>,
    /// Who did it: the user, `administrator NAME`, `command line`, or `jwtapp`.
    pub actor: Option<String>,
    /// A short detail: why a login failed, how many sessions ended.
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
                        | EventKind::MfaFailed
                        | EventKind::ReauthFailed
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
