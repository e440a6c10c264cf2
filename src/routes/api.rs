//! The JSON API, compatible with the original Flask example's Angular client.

use rocket::http::CookieJar;
use rocket::serde::json::Json;
use rocket::{Route, State, delete, get, post, routes};
use serde::{Deserialize, Serialize};

use crate::auth::guards::{AdminUser, AuthUser, Authenticated, RefreshToken, Via};
use crate::auth::{Auth, ClientInfo, TokenPair};
use crate::body::{JsonBody, NoBody};
use crate::cookies::CookiePolicy;
use crate::csrf::BrowserLogin;
use crate::error::AppError;
use crate::sample::{Sample, SampleRequest};
use crate::store::Session;

/// Everything mounted under `/api`.
pub fn routes() -> Vec<Route> {
    routes![
        login,
        info,
        refresh,
        logout,
        sessions,
        end_session,
        end_other_sessions,
        end_all_sessions,
        change_password,
        user_sample,
        user_sample_double,
        admin_sample,
        admin_sample_double
    ]
}

#[derive(Deserialize)]
pub struct Credentials {
    username: String,
    password: String,
}

// Passwords stay out of logs.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

// A browser may only post here from this site or an allowed origin (`cors_origins`): a page
// elsewhere could otherwise spend its visitors' login budget (see `csrf::BrowserLogin`).
#[post("/auth/login", data = "<credentials>")]
async fn login(
    _origin: BrowserLogin,
    credentials: JsonBody<Credentials>,
    auth: &State<Auth>,
    client: ClientInfo,
) -> Result<Json<TokenPair>, AppError> {
    let Credentials { username, password } = credentials.0;
    let login = auth.login(username, password, client).await?;
    Ok(Json(login.token_pair()))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    username: String,
    enabled: bool,
    is_admin: bool,
}

#[get("/auth/info")]
fn info(user: AuthUser) -> Json<UserInfo> {
    let AuthUser(principal) = user;
    Json(UserInfo {
        username: principal.username,
        enabled: principal.enabled,
        is_admin: principal.is_admin,
    })
}

/// The refresh answer: `{"accessToken"}` as the original client expects, plus
/// `"refreshToken"` when Bearer refresh tokens rotate (`api_refresh_rotation`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshedTokens {
    access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

// The Angular client posts `{}`; the body carries nothing. A same-origin script may use the
// refresh cookie instead (with `X-CSRF-Token`): then both cookies are renewed (the cookie flow
// always rotates) and the refresh token stays out of the body.
#[post("/auth/refresh", data = "<_body>")]
async fn refresh(
    token: RefreshToken,
    _body: NoBody,
    auth: &State<Auth>,
    jar: &CookieJar<'_>,
    cookies: &State<CookiePolicy>,
) -> Result<Json<RefreshedTokens>, AppError> {
    let by_cookie = token.via == Via::Cookies;
    let tokens = auth
        .refresh(&token.session, by_cookie || auth.api_rotation())
        .await?;
    if by_cookie {
        cookies.set_refreshed(jar, &tokens);
    }
    Ok(Json(RefreshedTokens {
        access_token: tokens.access.token,
        refresh_token: tokens.refresh.filter(|_| !by_cookie).map(|r| r.token),
    }))
}

#[derive(Serialize)]
pub struct LoggedOut {
    message: &'static str,
}

#[post("/auth/logout", data = "<_body>")]
async fn logout(
    token: RefreshToken,
    _body: NoBody,
    auth: &State<Auth>,
    jar: &CookieJar<'_>,
    cookies: &State<CookiePolicy>,
) -> Result<Json<LoggedOut>, AppError> {
    auth.logout(&token.session.principal).await?;
    if token.via == Via::Cookies {
        cookies.clear_session(jar);
    }
    Ok(Json(LoggedOut {
        message: "Logged out",
    }))
}

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
    address: Option<String>,
    /// The login this request was made with.
    current: bool,
}

impl SessionView {
    pub fn new(session: Session, current_id: &str) -> SessionView {
        SessionView {
            current: session.id == current_id,
            created_at: crate::routes::rfc3339(session.created_at),
            last_used_at: crate::routes::rfc3339(session.last_used_at),
            expires_at: crate::routes::rfc3339(session.expires_at),
            id: session.id,
            user_agent: session.user_agent,
            address: session.address,
        }
    }
}

#[get("/auth/sessions")]
async fn sessions(user: AuthUser, auth: &State<Auth>) -> Result<Json<Vec<SessionView>>, AppError> {
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
async fn end_session(
    id: &str,
    who: Authenticated,
    auth: &State<Auth>,
    jar: &CookieJar<'_>,
    cookies: &State<CookiePolicy>,
) -> Result<Json<Ended>, AppError> {
    auth.end_session(&who.principal, id).await?;
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
#[post("/auth/sessions/end-others")]
async fn end_other_sessions(user: AuthUser, auth: &State<Auth>) -> Result<Json<Ended>, AppError> {
    let ended = auth.end_sessions(&user.0, true).await?;
    Ok(Json(Ended {
        message: format!("Ended {ended} other session(s)"),
        ended,
    }))
}

/// "Log out everywhere", this login included.
#[post("/auth/sessions/end-all")]
async fn end_all_sessions(
    who: Authenticated,
    auth: &State<Auth>,
    jar: &CookieJar<'_>,
    cookies: &State<CookiePolicy>,
) -> Result<Json<Ended>, AppError> {
    let ended = auth.end_sessions(&who.principal, false).await?;
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
async fn change_password(
    user: AuthUser,
    body: JsonBody<PasswordChange>,
    client: ClientInfo,
    auth: &State<Auth>,
) -> Result<Json<Ended>, AppError> {
    let PasswordChange {
        current_password,
        new_password,
    } = body.0;
    let ended = auth
        .change_password(&user.0, &current_password, &new_password, &client)
        .await?;
    Ok(Json(Ended {
        message: format!("Password changed; {ended} other session(s) ended"),
        ended,
    }))
}

fn double(body: JsonBody<SampleRequest>) -> Result<Json<Sample>, AppError> {
    Sample::doubled(&body.0)
        .map(Json)
        .map_err(|e| AppError::Unprocessable(e.to_string()))
}

#[get("/user-sample")]
fn user_sample(_user: AuthUser) -> Json<Sample> {
    Json(Sample::default_value())
}

#[post("/user-sample", data = "<body>")]
fn user_sample_double(
    _user: AuthUser,
    body: JsonBody<SampleRequest>,
) -> Result<Json<Sample>, AppError> {
    double(body)
}

#[get("/admin-sample")]
fn admin_sample(_admin: AdminUser) -> Json<Sample> {
    Json(Sample::default_value())
}

#[post("/admin-sample", data = "<body>")]
fn admin_sample_double(
    _admin: AdminUser,
    body: JsonBody<SampleRequest>,
) -> Result<Json<Sample>, AppError> {
    double(body)
}
