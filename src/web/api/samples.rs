//! The original example's protected resources: a value to read and to double.

use rocket::serde::json::Json;
use rocket::{get, post};

use super::error::{ApiError, ApiResult};
use crate::sample::{Sample, SampleRequest};
use crate::web::body::JsonBody;
use crate::web::error::AppError;
use crate::web::guards::{AdminUser, AuthUser};

fn double(body: JsonBody<SampleRequest>) -> ApiResult<Json<Sample>> {
    Sample::doubled(&body.0)
        .map(Json)
        .map_err(|e| ApiError(AppError::Unprocessable(e.to_string())))
}

#[get("/user-sample")]
pub fn user_sample(_user: AuthUser) -> Json<Sample> {
    Json(Sample::default_value())
}

#[post("/user-sample", data = "<body>")]
pub fn user_sample_double(
    _user: AuthUser,
    body: JsonBody<SampleRequest>,
) -> ApiResult<Json<Sample>> {
    double(body)
}

#[get("/admin-sample")]
pub fn admin_sample(_admin: AdminUser) -> Json<Sample> {
    Json(Sample::default_value())
}

#[post("/admin-sample", data = "<body>")]
pub fn admin_sample_double(
    _admin: AdminUser,
    body: JsonBody<SampleRequest>,
) -> ApiResult<Json<Sample>> {
    double(body)
}
