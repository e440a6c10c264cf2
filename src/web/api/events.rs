//! The audit trail over the API: a user's own events, and every user's for administrators.

use rocket::serde::json::Json;
use rocket::{State, get};

use super::error::ApiResult;
use crate::auth::{Auth, EventQuery};
use crate::web::events::{self, EventView};
use crate::web::guards::{AdminUser, AuthUser};

/// The caller's own events, newest first: `?limit=N` (default 50, at most 500).
#[get("/auth/events?<limit>")]
pub async fn own_events(
    user: AuthUser,
    limit: Option<&str>,
    auth: &State<Auth>,
) -> ApiResult<Json<Vec<EventView>>> {
    let limit = events::limit(limit)?;
    let found = auth.own_events(&user.0, limit).await?;
    Ok(Json(found.into_iter().map(EventView::from).collect()))
}

/// Every user's events, newest first, filtered by `user`, `kind` and `limit`.
#[get("/admin/events?<user>&<kind>&<limit>")]
pub async fn all_events(
    _admin: AdminUser,
    user: Option<&str>,
    kind: Option<&str>,
    limit: Option<&str>,
    auth: &State<Auth>,
) -> ApiResult<Json<Vec<EventView>>> {
    let query = EventQuery {
        user: events::user(user)?,
        kind: events::kind(kind)?,
        limit: events::limit(limit)?,
    };
    let found = auth.all_events(query).await?;
    Ok(Json(found.into_iter().map(EventView::from).collect()))
}
