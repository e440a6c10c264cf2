//! The original example's endpoints: log in, who am I, refresh, log out.

use rocket::http::CookieJar;
use rocket::serde::json::Json;
use rocket::{State, get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiResult;
use super::responses::{
    BadRequest, Forbidden, PayloadTooLarge, TooManyRequests, Unauthorized, Unavailable,
    Unprocessable, UnsupportedMediaType,
};
use crate::auth::{Auth, ClientInfo};
use crate::web::body::{JsonBody, NoBody};
use crate::web::cookies::CookiePolicy;
use crate::web::guards::{AuthUser, RefreshCaller, Via};
use crate::web::origin::BrowserLogin;

/// A username and its password.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"username": "user", "password": "user"}))]
pub struct Credentials {
    username: String,
    password: String,
    /// For an account with a second factor: the 6-digit code from the authenticator app, or a
    /// recovery code. Without it, such an account's login is 401 with `mfaRequired`.
    #[serde(default)]
    #[schema(required = false)]
    code: Option<String>,
}

// Passwords stay out of logs.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// What a login hands out: an access token (15 minutes by default) and a refresh token (the
/// login itself, 30 days by default).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"accessToken": "eyJ...", "refreshToken": "eyJ..."}))]
pub struct TokenPair {
    access_token: String,
    refresh_token: String,
}

// A browser may only post here from this site or an allowed origin (`cors_origins`): a page
// elsewhere could otherwise spend its visitors' login budget (see `BrowserLogin`).
/// Log in
///
/// Checks the credentials and starts a login (a session): an access token for the API and a
/// refresh token to get new access tokens and to log out. Unknown user, wrong password and
/// disabled account are the same 401. Too many failures for this username and address, or this
/// address, are 429 before any password check.
#[utoipa::path(
    context_path = "/api",
    tag = "auth",
    request_body(content = Credentials, content_type = "application/json"),
    responses(
        (status = 200, description = "Logged in", body = TokenPair, links(
            ("info" = (operation_id = "info",
                parameters(("header.Authorization" = "Bearer {$response.body#/accessToken}")),
                description = "Who logged in, with the access token")),
            ("refresh" = (operation_id = "refresh",
                parameters(("header.Authorization" = "Bearer {$response.body#/refreshToken}")),
                description = "A new access token, with the refresh token")),
            ("logout" = (operation_id = "logout",
                parameters(("header.Authorization" = "Bearer {$response.body#/refreshToken}")),
                description = "End this login, with the refresh token")),
        )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
        (status = 503, response = Unavailable),
    ),
    security(()),
)]
#[post("/auth/login", data = "<credentials>")]
pub async fn login(
    _origin: BrowserLogin,
    credentials: JsonBody<Credentials>,
    auth: &State<Auth>,
    client: ClientInfo,
) -> ApiResult<Json<TokenPair>> {
    let Credentials {
        username,
        password,
        code,
    } = credentials.0;
    let login = auth
        .login(&username, password, code.as_deref(), client)
        .await?;
    Ok(Json(TokenPair {
        access_token: login.access.token,
        refresh_token: login.refresh.token,
    }))
}

/// The signed-in user.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"username": "user", "enabled": true, "isAdmin": false}))]
pub struct UserInfo {
    username: String,
    enabled: bool,
    is_admin: bool,
}

/// Who am I
///
/// The user the access token (or the session cookie) belongs to.
#[utoipa::path(
    context_path = "/api",
    tag = "auth",
    responses(
        (status = 200, description = "The caller", body = UserInfo),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAccess" = []), ("sessionCookie" = [])),
)]
#[get("/auth/info")]
pub fn info(user: AuthUser) -> Json<UserInfo> {
    let AuthUser(principal) = user;
    Json(UserInfo {
        username: principal.username,
        enabled: principal.enabled,
        is_admin: principal.is_admin,
    })
}

/// The refresh answer: `{"accessToken"}` as the original client expects, plus `"refreshToken"`
/// when Bearer refresh tokens rotate (`api_refresh_rotation`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"accessToken": "eyJ..."}))]
pub struct RefreshResponse {
    access_token: String,
    /// Only with `api_refresh_rotation = true`: the next refresh token (the one sent is spent).
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

// The Angular client posts `{}`; the body carries nothing. A same-origin script may use the
// refresh cookie instead (with `X-CSRF-Token`): then both cookies are renewed (the cookie flow
// always rotates) and the refresh token stays out of the body.
/// Refresh
///
/// A new access token for the login the refresh token belongs to. The body is empty or any JSON
/// (ignored; the original Angular client posts `{}`). With the refresh cookie and `X-CSRF-Token`
/// instead of a Bearer token, both cookies are renewed.
#[utoipa::path(
    context_path = "/api",
    tag = "auth",
    request_body(content = Option<serde_json::Value>, content_type = "application/json"),
    responses(
        (status = 200, description = "A new access token", body = RefreshResponse, links(
            ("logout" = (operation_id = "logout",
                parameters(("header.Authorization" = "$request.header.Authorization")),
                description = "End the login, with the same refresh token")),
        )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = Unavailable),
    ),
    security(("bearerRefresh" = []), ("sessionCookie" = [], "csrfToken" = [])),
)]
#[post("/auth/refresh", data = "<_body>")]
pub async fn refresh(
    caller: RefreshCaller,
    _body: NoBody,
    client: ClientInfo,
    auth: &State<Auth>,
    jar: &CookieJar<'_>,
    cookies: &State<CookiePolicy>,
) -> ApiResult<Json<RefreshResponse>> {
    let by_cookie = caller.via == Via::Cookies;
    let tokens = auth
        .refresh(&caller.grant, by_cookie || auth.api_rotation(), &client)
        .await?;
    if by_cookie {
        cookies.set_reissued(jar, &tokens);
    }
    Ok(Json(RefreshResponse {
        access_token: tokens.access.token,
        refresh_token: tokens.refresh.filter(|_| !by_cookie).map(|r| r.token),
    }))
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"message": "Logged out"}))]
pub struct LoggedOut {
    message: &'static str,
}

/// Log out
///
/// Ends the login the refresh token belongs to: it and every access token of that login stop
/// working at once. The body is empty or any JSON (ignored).
#[utoipa::path(
    context_path = "/api",
    tag = "auth",
    request_body(content = Option<serde_json::Value>, content_type = "application/json"),
    responses(
        (status = 200, description = "Logged out", body = LoggedOut),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = Unavailable),
    ),
    security(("bearerRefresh" = []), ("sessionCookie" = [], "csrfToken" = [])),
)]
#[post("/auth/logout", data = "<_body>")]
pub async fn logout(
    caller: RefreshCaller,
    _body: NoBody,
    client: ClientInfo,
    auth: &State<Auth>,
    jar: &CookieJar<'_>,
    cookies: &State<CookiePolicy>,
) -> ApiResult<Json<LoggedOut>> {
    auth.logout(&caller.grant.principal, &client).await?;
    if caller.via == Via::Cookies {
        cookies.clear_session(jar);
    }
    Ok(Json(LoggedOut {
        message: "Logged out",
    }))
}
