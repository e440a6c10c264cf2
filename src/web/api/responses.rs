//! The error answers every operation shares, as reusable response components: each is the
//! `{statusCode, name, description}` body ([`ErrorBody`](crate::web::error::ErrorBody), the
//! schema `Error`) with the headers its status carries.

use serde_json::json;
use utoipa::ToResponse;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Ref, RefOr};

/// A header a response carries.
enum Carries {
    WwwAuthenticate,
    RetryAfter,
}

fn error_response(
    status: u16,
    name: &str,
    description: &str,
    example: &str,
    headers: &[Carries],
) -> Response {
    let body = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Error")))
        .example(Some(json!({
            "statusCode": status,
            "name": name,
            "description": example,
        })))
        .build();
    let mut response = ResponseBuilder::new()
        .description(description)
        .content("application/json", body);
    for header in headers {
        response = match header {
            Carries::WwwAuthenticate => response.header(
                "WWW-Authenticate",
                HeaderBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .description(Some("`Bearer`: the scheme the API expects"))
                    .build(),
            ),
            Carries::RetryAfter => response.header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(0)),
                    ))
                    .description(Some("Seconds to wait before trying again"))
                    .build(),
            ),
        };
    }
    response.build()
}

/// Declares a response component: its name in the document, and how it is built.
macro_rules! error_responses {
    ($($name:ident = ($status:literal, $reason:literal, $description:literal, $example:literal, [$($header:ident),*]);)*) => {
        $(
            #[doc = $description]
            pub struct $name;

            impl<'r> ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<Response>) {
                    (
                        stringify!($name),
                        RefOr::T(error_response(
                            $status,
                            $reason,
                            $description,
                            $example,
                            &[$(Carries::$header),*],
                        )),
                    )
                }
            }
        )*
    };
}

error_responses! {
    BadRequest = (400, "Bad Request",
        "The request could not be understood: a body that is not JSON, a query value out of range",
        "the request body is not valid JSON: expected value at line 1 column 1", []);
    Unauthorized = (401, "Unauthorized",
        "No usable credential: none sent, malformed, expired, forged, of the wrong type, or its session has ended. With `mfaRequired: true`: the account has a second factor and the code is missing or wrong. With `freshRequired: true`: the password must be entered again first (`POST /api/auth/reauth`)",
        "the session has ended; log in again", [WwwAuthenticate]);
    Forbidden = (403, "Forbidden",
        "The caller may not do this: the account is disabled or deleted, administrator rights are missing, or a cookie-authenticated write lacks its CSRF token or comes from another site",
        "administrator rights are required", []);
    NotFound = (404, "Not Found",
        "No such resource among the caller's",
        "no such session among yours (it may have ended already)", []);
    PayloadTooLarge = (413, "Payload Too Large",
        "The body is larger than `limits.json` (64 KiB by default)",
        "the request body is larger than the limit of 64KiB", []);
    UnsupportedMediaType = (415, "Unsupported Media Type",
        "A body was sent without `Content-Type: application/json`",
        "the request body must be JSON, sent with Content-Type: application/json", []);
    Unprocessable = (422, "Unprocessable Entity",
        "Valid JSON of the wrong shape, or a value the rules refuse",
        "missing field `password` at line 1 column 20", []);
    TooManyRequests = (429, "Too Many Requests",
        "Too many failed attempts for this username and address, or this address: wait `Retry-After` seconds",
        "too many failed logins; try again in 300 seconds", [RetryAfter]);
    Unavailable = (503, "Service Unavailable",
        "The database cannot be reached: try again after `Retry-After` seconds",
        "the database is not available; try again in a moment", [RetryAfter]);
}
