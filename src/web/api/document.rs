//! The API's OpenAPI 3.1 document, generated from the handlers' own `#[utoipa::path]`
//! annotations (which read the method and path from the Rocket attribute below them), so it
//! cannot drift from the routes; a test checks that every mounted `/api` route is in it.

use serde_json::Value;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::responses::{
    BadRequest, Forbidden, NotFound, PayloadTooLarge, TooManyRequests, Unauthorized, Unavailable,
    Unprocessable, UnsupportedMediaType,
};
use super::{auth, docs, events, fresh, samples, second_factor, sessions};
use crate::web::error::ErrorBody;
use crate::web::events::EventKindName;
use crate::web::well_known;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "jwtapp",
        description = "JSON Web Token authentication: log in for an access token and a refresh \
                       token, call the API with `Authorization: Bearer <access token>`, refresh, \
                       log out. Compatible with the original Flask and Angular example. Errors \
                       are `{\"statusCode\", \"name\", \"description\"}`.",
    ),
    paths(
        auth::login,
        auth::info,
        auth::refresh,
        auth::logout,
        fresh::reauth,
        second_factor::state,
        second_factor::setup,
        second_factor::enable,
        second_factor::disable,
        second_factor::recovery_codes,
        sessions::sessions,
        sessions::end_session,
        sessions::end_other_sessions,
        sessions::end_all_sessions,
        sessions::change_password,
        events::own_events,
        events::all_events,
        samples::user_sample,
        samples::user_sample_double,
        samples::admin_sample,
        samples::admin_sample_double,
        docs::openapi_json,
        docs::reference,
        well_known::jwks,
    ),
    components(
        schemas(ErrorBody, EventKindName),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            PayloadTooLarge,
            UnsupportedMediaType,
            Unprocessable,
            TooManyRequests,
            Unavailable,
        ),
    ),
    tags(
        (name = "auth", description = "Logging in and out, and refreshing the access token"),
        (name = "sessions", description = "The caller's own logins and password"),
        (name = "second factor", description = "Two-step sign-in: TOTP codes and recovery codes"),
        (name = "events", description = "The security audit trail"),
        (name = "samples", description = "The original example's protected resources"),
        (name = "keys", description = "Public keys for other services"),
        (name = "documentation", description = "This document, and its reference page"),
    ),
)]
struct ApiDoc;

/// The names of the session cookies, which depend on `cookie_secure` (the `__Host-` prefix).
pub struct CookieNames<'a> {
    pub refresh: &'a str,
}

/// The security schemes: the two Bearer tokens, and the browser's cookie session with its CSRF
/// header.
struct SecuritySchemes<'a>(CookieNames<'a>);

impl Modify for SecuritySchemes<'_> {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(description))
                    .build(),
            )
        };
        components.add_security_scheme(
            "bearerAccess",
            bearer(
                "An access token from `POST /api/auth/login` (or `/api/auth/refresh`): \
                 `Authorization: Bearer <accessToken>`.",
            ),
        );
        components.add_security_scheme(
            "bearerRefresh",
            bearer(
                "The refresh token from `POST /api/auth/login`: `Authorization: Bearer \
                 <refreshToken>`. Only `/api/auth/refresh` and `/api/auth/logout` take it.",
            ),
        );
        components.add_security_scheme(
            "sessionCookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                self.0.refresh.to_owned(),
                "The browser session the login page sets: HttpOnly access and refresh cookies, \
                 the access cookie reissued from the refresh cookie when it expires. Writes \
                 need `X-CSRF-Token` too."
                    .to_owned(),
            ))),
        );
        components.add_security_scheme(
            "csrfToken",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRF-Token",
                "The session's CSRF token (the `jwtapp_csrf` cookie, or the page's `csrf-token` \
                 meta tag), required with the session cookie on every write.",
            ))),
        );
    }
}

/// The document, for a site whose session cookies have these names.
pub fn document(cookies: CookieNames<'_>) -> Result<Value, serde_json::Error> {
    let mut openapi = ApiDoc::openapi();
    SecuritySchemes(cookies).modify(&mut openapi);
    let mut document = serde_json::to_value(&openapi)?;
    require_headers(&mut document);
    Ok(document)
}

/// Marks the headers every answer of a shared error response carries as required (utoipa's
/// header objects have no `required`), so a client, or a fuzzer, may rely on them.
fn require_headers(document: &mut Value) {
    for (response, header) in [
        ("Unauthorized", "WWW-Authenticate"),
        ("TooManyRequests", "Retry-After"),
        ("Unavailable", "Retry-After"),
    ] {
        let path = format!("/components/responses/{response}/headers/{header}");
        if let Some(Value::Object(header)) = document.pointer_mut(&path) {
            header.insert("required".into(), Value::Bool(true));
        }
    }
}
