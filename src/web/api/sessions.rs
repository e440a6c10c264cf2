//! The caller's own logins and password.

use rocket::http::CookieJar;
use rocket::serde::json::Json;
use rocket::{State, delete, get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiResult;
use super::responses::{
    BadRequest, Forbidden, NotFound, PayloadTooLarge, TooManyRequests, Unauthorized, Unavailable,
    Unprocessable, UnsupportedMediaType,
};
use crate::auth::{Auth, ClientInfo, describe_device, rfc3339};
use crate::store::Session;
use crate::web::body::{JsonBody, NoBody};
use crate::web::cookies::CookiePolicy;
use crate::web::guards::{AuthUser, Authenticated, Via};

/// One of the caller's logins, as `GET /api/auth/sessions` lists it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "id": "35QMAVEwlF55ApuggUt0lQ",
    "createdAt": "2026-12-02T14:15:18Z",
    "lastUsedAt": "2026-12-02T14:20:03Z",
    "expiresAt": "2027-01-01T14:15:18Z",
    "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
    "device": "Chrome 156 on Linux",
    "address": "203.0.113.9",
    "current": true
}))]
pub struct SessionView {
    id: String,
    /// RFC 3339, UTC.
    created_at: String,
    last_used_at: String,
    expires_at: String,
    user_agent: Option<String>,
    /// The user agent in words: "Chrome 156 on Linux".
    device: Option<String>,
    address: Option<String>,
    /// The login this request was made with.
    current: bool,
}

impl SessionView {
    fn new(session: Session, current_id: &str) -> SessionView {
        SessionView {
            current: session.id == current_id,
            created_at: rfc3339(session.created_at),
            last_used_at: rfc3339(session.last_used_at),
            expires_at: rfc3339(session.expires_at),
            id: session.id,
            device: session.user_agent.as_deref().and_then(describe_device),
            user_agent: session.user_agent,
            address: session.address,
        }
    }
}

/// My sessions
///
/// The caller's active logins, most recently used first.
#[utoipa::path(
    context_path = "/api",
    tag = "sessions",
    responses(
        (status = 200, description = "The caller's active logins", body = Vec<SessionView>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAccess" = []), ("sessionCookie" = [])),
)]
#[get("/auth/sessions")]
pub async fn sessions(user: AuthUser, auth: &State<Auth>) -> ApiResult<Json<Vec<SessionView>>> {
    let AuthUser(principal) = user;
    let sessions = auth.sessions(&principal).await?;
    Ok(Json(
        sessions
            .into_iter()
            .map(|s| SessionView::new(s, &principal.session_id))
            .collect(),
    ))
}

/// What ending sessions did.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"message": "Ended 2 other session(s)", "ended": 2}))]
pub struct Ended {
    message: String,
    /// How many sessions ended.
    ended: u64,
}

/// End a session
///
/// Ends one of the caller's logins: its tokens stop working. Ending the one making the request
/// is a logout.
#[utoipa::path(
    context_path = "/api",
    tag = "sessions",
    params(("id" = String, Path, description = "A session id, from `GET /api/auth/sessions`")),
    responses(
        (status = 200, description = "The session ended", body = Ended,
         example = json!({"message": "Session ended", "ended": 1})),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAccess" = []), ("sessionCookie" = [], "csrfToken" = [])),
)]
#[delete("/auth/sessions/<id>")]
pub async fn end_session(
    id: &str,
    who: Authenticated,
    client: ClientInfo,
    auth: &State<Auth>,
    jar: &CookieJar<'_>,
    cookies: &State<CookiePolicy>,
) -> ApiResult<Json<Ended>> {
    auth.end_session(&who.principal, id, &client).await?;
    // Ending the login this browser uses is a logout: its cookies go too.
    if id == who.principal.session_id && who.via == Via::Cookies {
        cookies.clear_session(jar);
    }
    Ok(Json(Ended {
        message: "Session ended".into(),
        ended: 1,
    }))
}

/// Log out everywhere else
///
/// Ends every login of the caller but the one making the request. The body is empty or any
/// JSON (ignored).
#[utoipa::path(
    context_path = "/api",
    tag = "sessions",
    request_body(content = Option<serde_json::Value>, content_type = "application/json"),
    responses(
        (status = 200, description = "The other sessions ended", body = Ended),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAccess" = []), ("sessionCookie" = [], "csrfToken" = [])),
)]
#[post("/auth/sessions/end-others", data = "<_body>")]
pub async fn end_other_sessions(
    user: AuthUser,
    _body: NoBody,
    client: ClientInfo,
    auth: &State<Auth>,
) -> ApiResult<Json<Ended>> {
    let ended = auth.end_sessions(&user.0, true, &client).await?;
    Ok(Json(Ended {
        message: format!("Ended {ended} other session(s)"),
        ended,
    }))
}

/// Log out everywhere
///
/// Ends every login of the caller, the one making the request included. The body is empty or
/// any JSON (ignored).
#[utoipa::path(
    context_path = "/api",
    tag = "sessions",
    request_body(content = Option<serde_json::Value>, content_type = "application/json"),
    responses(
        (status = 200, description = "Every session ended", body = Ended,
         example = json!({"message": "Ended 3 session(s), this one included", "ended": 3})),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAccess" = []), ("sessionCookie" = [], "csrfToken" = [])),
)]
#[post("/auth/sessions/end-all", data = "<_body>")]
pub async fn end_all_sessions(
    who: Authenticated,
    _body: NoBody,
    client: ClientInfo,
    auth: &State<Auth>,
    jar: &CookieJar<'_>,
    cookies: &State<CookiePolicy>,
) -> ApiResult<Json<Ended>> {
    let ended = auth.end_sessions(&who.principal, false, &client).await?;
    if who.via == Via::Cookies {
        cookies.clear_session(jar);
    }
    Ok(Json(Ended {
        message: format!("Ended {ended} session(s), this one included"),
        ended,
    }))
}

/// The current password, and the new one.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"currentPassword": "user", "newPassword": "a much longer password"}))]
pub struct PasswordChange {
    current_password: String,
    /// 8 characters at least, 1024 bytes of UTF-8 at most (256 characters always fit).
    #[schema(min_length = 8, max_length = 256)]
    new_password: String,
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordChange([redacted])")
    }
}

/// Change my password
///
/// Changes the caller's password after checking the current one; every other login of theirs
/// ends. Wrong guesses of the current password are throttled like logins. The new password has
/// 8 characters at least and 1024 bytes (UTF-8) at most.
#[utoipa::path(
    context_path = "/api",
    tag = "sessions",
    request_body(content = PasswordChange, content_type = "application/json"),
    responses(
        (status = 200, description = "The password changed", body = Ended,
         example = json!({"message": "Password changed; 1 other session(s) ended", "ended": 1})),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAccess" = []), ("sessionCookie" = [], "csrfToken" = [])),
)]
#[post("/auth/password", data = "<body>")]
pub async fn change_password(
    user: AuthUser,
    body: JsonBody<PasswordChange>,
    client: ClientInfo,
    auth: &State<Auth>,
) -> ApiResult<Json<Ended>> {
    let PasswordChange {
        current_password,
        new_password,
    } = body.0;
    let ended = auth
        .change_password(&user.0, current_password, &new_password, &client)
        .await?;
    Ok(Json(Ended {
        message: format!("Password changed; {ended} other session(s) ended"),
        ended,
    }))
}
