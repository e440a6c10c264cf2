//! The caller's second factor over the API: its state, setting it up, turning it on and off,
//! new recovery codes.

use rocket::serde::json::Json;
use rocket::{State, get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiResult;
use super::responses::{
    BadRequest, Forbidden, PayloadTooLarge, TooManyRequests, Unauthorized, Unavailable,
    Unprocessable, UnsupportedMediaType,
};
use crate::auth::{Auth, ClientInfo, rfc3339};
use crate::web::body::{JsonBody, NoBody};
use crate::web::guards::AuthUser;

/// The caller's second factor.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"enabled": true, "enabledAt": "2026-12-02T14:15:18Z", "pending": false, "recoveryCodesLeft": 9}))]
pub struct TotpState {
    enabled: bool,
    /// When it was turned on (RFC 3339, UTC).
    enabled_at: Option<String>,
    /// A secret was set up and waits for its first code.
    pending: bool,
    recovery_codes_left: u32,
}

/// Two-step sign-in
///
/// Whether the caller's second factor is on, and how many recovery codes are left.
#[utoipa::path(
    context_path = "/api",
    tag = "second factor",
    responses(
        (status = 200, description = "The caller's second factor", body = TotpState),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAccess" = []), ("sessionCookie" = [])),
)]
#[get("/auth/totp")]
pub async fn state(user: AuthUser, auth: &State<Auth>) -> ApiResult<Json<TotpState>> {
    let status = auth.totp_status(&user.0).await?;
    Ok(Json(TotpState {
        enabled: status.enabled_at.is_some(),
        enabled_at: status.enabled_at.map(rfc3339),
        pending: status.pending,
        recovery_codes_left: status.recovery_codes_left,
    }))
}

/// A new secret for the authenticator app.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    "otpauthUri": "otpauth://totp/jwtapp:user?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=jwtapp"
}))]
pub struct Setup {
    /// Base32, for typing into the app.
    secret: String,
    /// For a QR code.
    otpauth_uri: String,
}

/// Set up two-step sign-in
///
/// A new TOTP secret (SHA-1, 6 digits, 30 s), kept until `POST /api/auth/totp/enable` confirms
/// it with a code; setting up again replaces it. 422 while the second factor is on. The body
/// is empty or any JSON (ignored).
#[utoipa::path(
    context_path = "/api",
    tag = "second factor",
    request_body(content = Option<serde_json::Value>, content_type = "application/json"),
    responses(
        (status = 200, description = "The secret to put in the app", body = Setup),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAccess" = []), ("sessionCookie" = [], "csrfToken" = [])),
)]
#[post("/auth/totp/setup", data = "<_body>")]
pub async fn setup(user: AuthUser, _body: NoBody, auth: &State<Auth>) -> ApiResult<Json<Setup>> {
    let setup = auth.totp_setup(&user.0).await?;
    Ok(Json(Setup {
        secret: setup.secret,
        otpauth_uri: setup.uri,
    }))
}

/// A code from the app.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"code": "123456"}))]
pub struct Code {
    /// The 6 digits the app shows now.
    code: String,
}

/// The recovery codes, shown this once.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"recoveryCodes": ["abcde-fghjk", "mnpqr-stuvw"]}))]
pub struct RecoveryCodes {
    /// Ten single-use codes, each usable instead of a code from the app. Keep them safe: they
    /// are not shown again.
    recovery_codes: Vec<String>,
}

/// Turn two-step sign-in on
///
/// Confirms the secret of the setup with a code from the app and turns the second factor on:
/// from now on a login needs a code too. Needs a fresh login (401 with `freshRequired`). A
/// wrong code is 401 with `mfaRequired`, throttled like a wrong password; no setup is 422.
#[utoipa::path(
    context_path = "/api",
    tag = "second factor",
    request_body(content = Code, content_type = "application/json"),
    responses(
        (status = 200, description = "On; the recovery codes", body = RecoveryCodes),
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
#[post("/auth/totp/enable", data = "<body>")]
pub async fn enable(
    user: AuthUser,
    body: JsonBody<Code>,
    client: ClientInfo,
    auth: &State<Auth>,
) -> ApiResult<Json<RecoveryCodes>> {
    let recovery_codes = auth.totp_enable(&user.0, &body.0.code, &client).await?;
    Ok(Json(RecoveryCodes { recovery_codes }))
}

/// The password, to turn the second factor off.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"password": "user"}))]
pub struct Password {
    password: String,
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// What was done.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"message": "Two-step sign-in is off"}))]
pub struct Done {
    message: &'static str,
}

/// Turn two-step sign-in off
///
/// With the password (403 when wrong, throttled like logins) and a fresh login (401 with
/// `freshRequired`). The secret and the recovery codes are deleted. 422 when it is not on.
#[utoipa::path(
    context_path = "/api",
    tag = "second factor",
    request_body(content = Password, content_type = "application/json"),
    responses(
        (status = 200, description = "Off", body = Done),
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
#[post("/auth/totp/disable", data = "<body>")]
pub async fn disable(
    user: AuthUser,
    body: JsonBody<Password>,
    client: ClientInfo,
    auth: &State<Auth>,
) -> ApiResult<Json<Done>> {
    auth.totp_disable(&user.0, body.0.password, &client).await?;
    Ok(Json(Done {
        message: "Two-step sign-in is off",
    }))
}

/// New recovery codes
///
/// Ten new recovery codes in place of the old ones, which stop working. Needs a fresh login
/// (401 with `freshRequired`); 422 when the second factor is not on. The body is empty or any
/// JSON (ignored).
#[utoipa::path(
    context_path = "/api",
    tag = "second factor",
    request_body(content = Option<serde_json::Value>, content_type = "application/json"),
    responses(
        (status = 200, description = "The new codes", body = RecoveryCodes),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAccess" = []), ("sessionCookie" = [], "csrfToken" = [])),
)]
#[post("/auth/recovery-codes", data = "<_body>")]
pub async fn recovery_codes(
    user: AuthUser,
    _body: NoBody,
    client: ClientInfo,
    auth: &State<Auth>,
) -> ApiResult<Json<RecoveryCodes>> {
    let recovery_codes = auth.replace_recovery_codes(&user.0, &client).await?;
    Ok(Json(RecoveryCodes { recovery_codes }))
}
