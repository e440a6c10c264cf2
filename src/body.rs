//! [`JsonBody`]: a JSON request body with precise errors (415, 413, 400, 422) reported through
//! [`AppError`], where `rocket::serde::json::Json` ignores the media type.

use rocket::data::{self, Data, FromData, Limits};
use rocket::request::Request;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::error::AppError;

/// A body parsed from JSON into `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

fn is_json(req: &Request<'_>) -> bool {
    // No Content-Type at all is taken as JSON (scripts often omit it); a different one is refused.
    match req.content_type() {
        None => true,
        Some(ct) => {
            ct.is_json() || (ct.top() == "application" && ct.sub().as_str().ends_with("+json"))
        }
    }
}

async fn parse<T: DeserializeOwned>(req: &Request<'_>, data: Data<'_>) -> Result<T, AppError> {
    if !is_json(req) {
        return Err(AppError::UnsupportedMediaType(
            "the request body must be JSON (Content-Type: application/json)".into(),
        ));
    }
    let limit = req.limits().get("json").unwrap_or(Limits::JSON);
    let bytes =
        data.open(limit).into_bytes().await.map_err(|e| {
            AppError::BadRequest(format!("the request body could not be read: {e}"))
        })?;
    if !bytes.is_complete() {
        return Err(AppError::PayloadTooLarge(format!(
            "the request body is larger than the limit of {limit}"
        )));
    }
    let value = serde_json::from_slice(&bytes).map_err(|e| match e.classify() {
        Category::Data => AppError::Unprocessable(e.to_string()),
        _ => AppError::BadRequest(format!("the request body is not valid JSON: {e}")),
    })?;
    // serde also fills a struct from an array (`["user", "pw"]`); our bodies are objects only.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(AppError::Unprocessable(
            "the request body must be a JSON object".into(),
        ));
    }
    Ok(value)
}

#[rocket::async_trait]
impl<'r, T: DeserializeOwned> FromData<'r> for JsonBody<T> {
    type Error = AppError;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        match parse(req, data).await {
            Ok(value) => data::Outcome::Success(JsonBody(value)),
            Err(error) => data::Outcome::Error((error.remember(req), error)),
        }
    }
}
