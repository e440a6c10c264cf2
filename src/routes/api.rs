//! The JSON API, compatible with the original Flask example's Angular client.

use rocket::http::CookieJar;
use rocket::serde::json::Json;
use rocket::{Route, State, get, post, routes};
use serde::{Deserialize, Serialize};

use crate::auth::guards::{AdminUser, AuthUser, RefreshToken, Via};
use crate::auth::{Auth, ClientInfo, TokenPair};
use crate::body::JsonBody;
use crate::cookies::CookiePolicy;
use crate::error::AppError;
use crate::sample::{Sample, SampleRequest};

/// Everything mounted under `/api`.
pub fn routes() -> Vec<Route> {
    routes![
        login,
        info,
        refresh,
        logout,
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

#[post("/auth/login", data = "<credentials>")]
async fn login(
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessToken {
    access_token: String,
}

// The Angular client posts `{}`; the body carries nothing, so it is not read. A same-origin
// script may use the refresh cookie instead (with `X-CSRF-Token`); its access cookie is renewed too.
#[post("/auth/refresh")]
async fn refresh(
    token: RefreshToken,
    auth: &State<Auth>,
    jar: &CookieJar<'_>,
    cookies: &State<CookiePolicy>,
) -> Result<Json<AccessToken>, AppError> {
    let access = auth.refresh(&token.session)?;
    if token.via == Via::Cookies {
        cookies.set_access(jar, &access);
    }
    Ok(Json(AccessToken {
        access_token: access.token,
    }))
}

#[derive(Serialize)]
pub struct LoggedOut {
    message: &'static str,
}

#[post("/auth/logout")]
async fn logout(
    token: RefreshToken,
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
