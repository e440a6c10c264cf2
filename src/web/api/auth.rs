//! The original example's endpoints: log in, who am I, refresh, log out.

use rocket::http::CookieJar;
use rocket::serde::json::Json;
use rocket::{State, get, post};
use serde::{Deserialize, Serialize};

use super::error::ApiResult;
use crate::auth::{Auth, ClientInfo};
use crate::web::body::{JsonBody, NoBody};
use crate::web::cookies::CookiePolicy;
use crate::web::guards::{AuthUser, RefreshCaller, Via};
use crate::web::origin::BrowserLogin;

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

/// What a login hands out.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenPair {
    access_token: String,
    refresh_token: String,
}

// A browser may only post here from this site or an allowed origin (`cors_origins`): a page
// elsewhere could otherwise spend its visitors' login budget (see `BrowserLogin`).
#[post("/auth/login", data = "<credentials>")]
pub async fn login(
    _origin: BrowserLogin,
    credentials: JsonBody<Credentials>,
    auth: &State<Auth>,
    client: ClientInfo,
) -> ApiResult<Json<TokenPair>> {
    let Credentials { username, password } = credentials.0;
    let login = auth.login(&username, password, client).await?;
    Ok(Json(TokenPair {
        access_token: login.access.token,
        refresh_token: login.refresh.token,
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    username: String,
    enabled: bool,
    is_admin: bool,
}

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
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshResponse {
    access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

// The Angular client posts `{}`; the body carries nothing. A same-origin script may use the
// refresh cookie instead (with `X-CSRF-Token`): then both cookies are renewed (the cookie flow
// always rotates) and the refresh token stays out of the body.
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

#[derive(Serialize)]
pub struct LoggedOut {
    message: &'static str,
}

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
