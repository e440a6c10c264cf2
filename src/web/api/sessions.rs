//! The caller's own logins and password.

use rocket::http::CookieJar;
use rocket::serde::json::Json;
use rocket::{State, delete, get, post};
use serde::{Deserialize, Serialize};

use super::error::ApiResult;
use crate::auth::{Auth, ClientInfo, describe_device, rfc3339};
use crate::store::Session;
use crate::web::body::{JsonBody, NoBody};
use crate::web::cookies::CookiePolicy;
use crate::web::guards::{AuthUser, Authenticated, Via};

/// One of the caller's logins, as `GET /api/auth/sessions` lists it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
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

#[derive(Serialize)]
pub struct Ended {
    message: String,
    /// How many sessions ended.
    ended: u64,
}

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

/// "Log out everywhere else": every login of the caller but this one.
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

/// "Log out everywhere", this login included.
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordChange([redacted])")
    }
}

/// Changes the caller's password; every other session of theirs ends.
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
