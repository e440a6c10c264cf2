//! The original example's protected resources: a value to read and to double.

use rocket::serde::json::Json;
use rocket::{get, post};

use super::error::{ApiError, ApiResult};
use super::responses::{
    BadRequest, Forbidden, PayloadTooLarge, Unauthorized, Unavailable, Unprocessable,
    UnsupportedMediaType,
};
use crate::sample::{Sample, SampleRequest};
use crate::web::body::JsonBody;
use crate::web::error::AppError;
use crate::web::guards::{AdminUser, AuthUser};

fn double(body: JsonBody<SampleRequest>) -> ApiResult<Json<Sample>> {
    Sample::doubled(&body.0)
        .map(Json)
        .map_err(|e| ApiError(AppError::Unprocessable(e.to_string())))
}

/// The example value
///
/// `{"example": 123}`, for any signed-in user.
#[utoipa::path(
    context_path = "/api",
    tag = "samples",
    responses(
        (status = 200, description = "The example value", body = Sample),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAccess" = []), ("sessionCookie" = [])),
)]
#[get("/user-sample")]
pub fn user_sample(_user: AuthUser) -> Json<Sample> {
    Json(Sample::default_value())
}

/// Double a value
///
/// `{"example": 2n}` for `{"example": n}`, exactly (21 → 42, 1.5 → 3.0). A value that is not a
/// number, or whose double a 64-bit float cannot hold, is 422.
#[utoipa::path(
    context_path = "/api",
    tag = "samples",
    request_body(content = SampleRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The value doubled", body = Sample,
         example = json!({"example": 42})),
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
#[post("/user-sample", data = "<body>")]
pub fn user_sample_double(
    _user: AuthUser,
    body: JsonBody<SampleRequest>,
) -> ApiResult<Json<Sample>> {
    double(body)
}

/// The example value, for administrators
///
/// As `GET /api/user-sample`; a signed-in user who is not an administrator gets 403.
#[utoipa::path(
    context_path = "/api",
    tag = "samples",
    responses(
        (status = 200, description = "The example value", body = Sample),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAccess" = []), ("sessionCookie" = [])),
)]
#[get("/admin-sample")]
pub fn admin_sample(_admin: AdminUser) -> Json<Sample> {
    Json(Sample::default_value())
}

/// Double a value, for administrators
///
/// As `POST /api/user-sample`; a signed-in user who is not an administrator gets 403.
#[utoipa::path(
    context_path = "/api",
    tag = "samples",
    request_body(content = SampleRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The value doubled", body = Sample,
         example = json!({"example": 42})),
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
#[post("/admin-sample", data = "<body>")]
pub fn admin_sample_double(
    _admin: AdminUser,
    body: JsonBody<SampleRequest>,
) -> ApiResult<Json<Sample>> {
    double(body)
}
