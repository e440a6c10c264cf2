//! The audit trail as pages: a user's "Recent activity", and every user's events for
//! administrators, filterable.

use askama::Template;
use rocket::http::Status;
use rocket::{State, get};

use super::error::PageResult;
use super::layout::{AdminViewer, Layout, Viewer, render};
use crate::auth::{Auth, EventKind, EventQuery, MAX_EVENT_LIMIT};
use crate::web::error::AppError;
use crate::web::events::{self, EventRow};

/// A field of a GET form: the form sends every field, empty when unused.
fn given(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

#[derive(Template)]
#[template(path = "activity.html")]
struct ActivityPage<'a> {
    layout: &'a Layout,
    events: Vec<EventRow>,
}

/// The signed-in user's own events, newest first: sign-ins, failed attempts against their
/// account, sessions ended, password changes and what administrators did to their account.
#[get("/activity?<limit>")]
pub async fn activity_page(viewer: Viewer, limit: Option<&str>, auth: &State<Auth>) -> PageResult {
    let limit = events::limit(given(limit))?;
    let found = auth.own_events(&viewer.principal, limit).await?;
    Ok(render(
        Status::Ok,
        &ActivityPage {
            layout: &viewer.layout,
            events: found.into_iter().map(EventRow::from).collect(),
        },
    )?)
}

#[derive(Template)]
#[template(path = "events.html")]
struct EventsPage<'a> {
    layout: &'a Layout,
    events: Vec<EventRow>,
    /// The filter as asked, to fill the form in again.
    user: &'a str,
    kind: &'a str,
    limit: u32,
    max_limit: u32,
    kinds: Vec<&'static str>,
    error: Option<String>,
}

/// Every user's events, newest first, filtered by user, kind and number.
#[get("/admin/events?<user>&<kind>&<limit>")]
pub async fn events_page(
    admin: AdminViewer,
    user: Option<&str>,
    kind: Option<&str>,
    limit: Option<&str>,
    auth: &State<Auth>,
) -> PageResult {
    let mut page = EventsPage {
        layout: &admin.0.layout,
        events: Vec::new(),
        user: user.unwrap_or_default(),
        kind: kind.unwrap_or_default(),
        limit: crate::auth::DEFAULT_EVENT_LIMIT,
        max_limit: MAX_EVENT_LIMIT,
        kinds: EventKind::ALL.iter().map(|k| k.as_str()).collect(),
        error: None,
    };
    let query = (|| {
        Ok::<_, AppError>(EventQuery {
            user: events::user(user)?,
            kind: events::kind(given(kind))?,
            limit: events::limit(given(limit))?,
        })
    })();
    let query = match query {
        Ok(query) => query,
        // The form again, with what is wrong with it.
        Err(e) => {
            page.error = Some(e.problem().description);
            return Ok(render(Status::BadRequest, &page)?);
        }
    };
    page.limit = query.limit;
    page.events = auth
        .all_events(query)
        .await?
        .into_iter()
        .map(EventRow::from)
        .collect();
    Ok(render(Status::Ok, &page)?)
}
