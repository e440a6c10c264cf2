//! The audit trail over the API: a user's own events, and every user's for administrators.

use rocket::serde::json::Json;
use rocket::{State, get};

use super::error::ApiResult;
use super::responses::{BadRequest, Forbidden, Unauthorized, Unavailable};
use crate::auth::{Auth, EventQuery};
use crate::web::events::{self, EventKindName, EventView, LimitParam};
use crate::web::guards::{AdminUser, AuthUser};

/// My security events
///
/// The caller's own security events, newest first: logins (failed ones against their account
/// included), logouts, sessions ended, password changes, what administrators did to the account.
#[utoipa::path(
    context_path = "/api",
    tag = "events",
    params(
        ("limit" = inline(Option<LimitParam>), Query,
         description = "How many, newest first: 50 by default; more than 500 gets 500"),
    ),
    responses(
        (status = 200, description = "The caller's events", body = Vec<EventView>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAccess" = []), ("sessionCookie" = [])),
)]
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

/// Every user's security events
///
/// Every user's events, newest first, for administrators; each filter is optional.
#[utoipa::path(
    context_path = "/api",
    tag = "events",
    params(
        ("user" = Option<String>, Query, max_length = 256,
         description = "The account of this name (its events under earlier names too), and \
                        anything recorded under exactly this name (failed logins, a deleted \
                        account)"),
        ("kind" = Option<EventKindName>, Query, description = "Only events of this kind"),
        ("limit" = inline(Option<LimitParam>), Query,
         description = "How many, newest first: 50 by default; more than 500 gets 500"),
    ),
    responses(
        (status = 200, description = "The events", body = Vec<EventView>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAccess" = []), ("sessionCookie" = [])),
)]
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
