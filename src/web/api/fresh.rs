//! Entering the password again: a fresh access token for the caller's session, for the
//! sensitive actions that need one.

use rocket::serde::json::Json;
use rocket::{State, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiResult;
use super::responses::{
    BadRequest, Forbidden, PayloadTooLarge, TooManyRequests, Unauthorized, Unavailable,
    Unprocessable, UnsupportedMediaType,
};
use crate::auth::{Auth, ClientInfo};
use crate::web::body::JsonBody;
use crate::web::cookies::CookiePolicy;
use crate::web::guards::{Authenticated, Via};

/// The password again, and a code when the account has a second factor.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"password": "user"}))]
pub struct Reauth {
    password: String,
    /// The 6-digit code from the authenticator app, or a recovery code: required when the
    /// account has a second factor.
    #[serde(default)]
    #[schema(required = false)]
    code: Option<String>,
}

impl std::fmt::Debug for Reauth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reauth([redacted])")
    }
}

/// A fresh access token.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"accessToken": "eyJ..."}))]
pub struct Fresh {
    access_token: String,
}

/// Enter the password again
///
/// For the sensitive actions (password change, ending all sessions, the second factor, new
/// recovery codes), which answer 401 with `freshRequired` when the password was entered more
/// than `fresh_secs` (5 minutes) ago: a fresh access token for the same session. A wrong
/// password is 403; with a second factor, no code or a wrong one is 401 with `mfaRequired`.
/// Throttled like logins.
#[utoipa::path(
    context_path = "/api",
    tag = "auth",
    request_body(content = Reauth, content_type = "application/json"),
    responses(
        (status = 200, description = "A fresh access token for the same session", body = Fresh),
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
#[post("/auth/reauth", data = "<body>")]
pub async fn reauth(
    who: Authenticated,
    body: JsonBody<Reauth>,
    client: ClientInfo,
    auth: &State<Auth>,
    jar: &rocket::http::CookieJar<'_>,
    cookies: &State<CookiePolicy>,
) -> ApiResult<Json<Fresh>> {
    let Reauth { password, code } = body.0;
    let access = auth
        .reauth(&who.principal, password, code.as_deref(), &client)
        .await?;
    if who.via == Via::Cookies {
        cookies.set_access(jar, &access);
    }
    Ok(Json(Fresh {
        access_token: access.token,
    }))
}
