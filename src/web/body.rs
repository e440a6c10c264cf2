//! Request bodies with precise errors (415, 413, 400, 422) reported through [`AppError`]:
//! [`JsonBody`] (where `rocket::serde::json::Json` ignores the media type), [`NoBody`] for the
//! calls whose body carries nothing, and [`FormBody`] (where `rocket::form::Form` forwards a
//! wrong media type to a 404).

use rocket::data::{self, Data, FromData, Limits};
use rocket::form::{Form, FromForm};
use rocket::http::RawStr;
use rocket::request::Request;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use super::error::AppError;
use super::failure::{Failure, record};
use super::guards::after_guards;

/// A body parsed from JSON into `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// A JSON body must say so. A body without `Content-Type` is what a page on any site can make a
/// browser send with no CORS preflight (`fetch(url, {mode: "no-cors", body: blob})`), so it is
/// refused rather than guessed at.
fn is_json(req: &Request<'_>) -> bool {
    req.content_type().is_some_and(|ct| {
        ct.is_json() || (ct.top() == "application" && ct.sub().as_str().ends_with("+json"))
    })
}

fn not_json() -> AppError {
    AppError::UnsupportedMediaType(
        "the request body must be JSON, sent with Content-Type: application/json".into(),
    )
}

async fn parse<T: DeserializeOwned>(req: &Request<'_>, data: Data<'_>) -> Result<T, AppError> {
    if !is_json(req) {
        return Err(not_json());
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

/// A data guard's outcome for a parsed body; a failure is recorded for the catcher, which then
/// reports the exact reason.
pub fn outcome<'r, T>(
    req: &Request<'_>,
    parsed: Result<T, AppError>,
) -> data::Outcome<'r, T, AppError> {
    match parsed {
        Ok(value) => data::Outcome::Success(value),
        Err(error) => {
            let (cookies, viewer) = after_guards(req, &error);
            let failure = Failure {
                error: error.clone(),
                cookies,
                viewer,
            };
            data::Outcome::Error((record(req, failure), error))
        }
    }
}

#[rocket::async_trait]
impl<'r, T: DeserializeOwned> FromData<'r> for JsonBody<T> {
    type Error = AppError;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        outcome(req, parse(req, data).await.map(JsonBody))
    }
}

/// The body of a call that needs none (`/api/auth/refresh`, `/api/auth/logout`): empty, or JSON
/// that is ignored (the original Angular client posts `{}`). Anything else is refused like any
/// JSON body: 415 without a JSON `Content-Type`, 413 over `limits.json`, 400 when it is not JSON.
#[derive(Debug)]
pub struct NoBody;

async fn check_ignored(req: &Request<'_>, data: Data<'_>) -> Result<NoBody, AppError> {
    let limit = req.limits().get("json").unwrap_or(Limits::JSON);
    let bytes =
        data.open(limit).into_bytes().await.map_err(|e| {
            AppError::BadRequest(format!("the request body could not be read: {e}"))
        })?;
    if bytes.is_empty() {
        return Ok(NoBody);
    }
    if !is_json(req) {
        return Err(not_json());
    }
    if !bytes.is_complete() {
        return Err(AppError::PayloadTooLarge(format!(
            "the request body is larger than the limit of {limit}"
        )));
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(&bytes)
        .map_err(|e| AppError::BadRequest(format!("the request body is not valid JSON: {e}")))?;
    Ok(NoBody)
}

#[rocket::async_trait]
impl<'r> FromData<'r> for NoBody {
    type Error = AppError;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        outcome(req, check_ignored(req, data).await)
    }
}

/// Reads an `application/x-www-form-urlencoded` body, with the same precise errors as the JSON
/// bodies: 415 for another media type, 413 over `limits.form`, 400 for a body that is not UTF-8.
pub async fn read_form_text(req: &Request<'_>, data: Data<'_>) -> Result<String, AppError> {
    if !req.content_type().is_some_and(|ct| ct.is_form()) {
        return Err(AppError::UnsupportedMediaType(
            "the form must be sent as application/x-www-form-urlencoded".into(),
        ));
    }
    let limit = req.limits().get("form").unwrap_or(Limits::FORM);
    let body = data
        .open(limit)
        .into_string()
        .await
        .map_err(|_| AppError::BadRequest("the form could not be read as UTF-8 text".into()))?;
    if !body.is_complete() {
        return Err(AppError::PayloadTooLarge(format!(
            "the form is larger than the limit of {limit}"
        )));
    }
    Ok(body.into_inner())
}

/// Parses a form body into `T`: 422 for missing or malformed fields. Fields `T` does not
/// name are ignored.
pub fn parse_form<T>(body: &str) -> Result<T, AppError>
where
    T: for<'a> FromForm<'a> + 'static,
{
    Form::<T>::parse_encoded(RawStr::new(body)).map_err(|errors| {
        let fields: Vec<String> = errors
            .iter()
            .filter_map(|e| e.name.as_ref().map(|n| n.to_string()))
            .collect();
        AppError::Unprocessable(if fields.is_empty() {
            "the form is malformed".into()
        } else {
            format!(
                "the form has a missing or invalid field: {}",
                fields.join(", ")
            )
        })
    })
}

/// A form body parsed into `T`, without any CSRF check (see
/// [`SessionForm`](super::forms::SessionForm) for forms of signed-in users).
#[derive(Debug)]
pub struct FormBody<T>(pub T);

#[rocket::async_trait]
impl<'r, T> FromData<'r> for FormBody<T>
where
    T: for<'a> FromForm<'a> + Send + 'static,
{
    type Error = AppError;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let parsed = match read_form_text(req, data).await {
            Ok(body) => parse_form(&body),
            Err(e) => Err(e),
        };
        outcome(req, parsed.map(FormBody))
    }
}
