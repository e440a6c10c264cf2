//! One error type for the whole application, and the catchers that turn any failure into a
//! response: JSON (`{"statusCode", "name", "description"}`) under `/api`, an HTML page elsewhere
//! (and, for a page that needs a signed-in user, a redirect to the login page).

use std::io::Cursor;

use rocket::catcher::{BoxFuture, Catcher};
use rocket::http::{ContentType, Header, Method, Status};
use rocket::request::{Outcome, Request};
use rocket::response::{self, Responder, Response};
use serde::Serialize;

use crate::auth::{AuthError, guards};
use crate::headers::is_api;

/// Everything a request can fail with. Each variant knows its HTTP status.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// 400: the body is not valid JSON (or not UTF-8).
    #[error("{0}")]
    BadRequest(String),
    /// 401, with `WWW-Authenticate: Bearer`: no usable credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 403: the credentials are fine but the account is disabled or deleted. Pages treat it as
    /// "signed out" and send the browser to the login page.
    #[error("{0}")]
    AccountUnavailable(String),
    /// 403: a cookie-authenticated write without proof that it came from our own pages.
    #[error("{0}")]
    CsrfRejected(String),
    /// 404
    #[error("{0}")]
    NotFound(String),
    /// 405, with `Allow`.
    #[error("the method is not allowed for this resource")]
    MethodNotAllowed(Vec<Method>),
    /// 413: the body is over the configured limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 429, with `Retry-After`: too many failed logins.
    #[error("{message}")]
    TooManyRequests { retry_after: u64, message: String },
    /// 415: a JSON route got another media type.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: valid JSON of the wrong shape, or a value that cannot be processed.
    #[error("{0}")]
    Unprocessable(String),
    /// Any other status Rocket itself reported (a 4xx without a more specific variant above).
    #[error("{}", .0.reason().unwrap_or("The request failed"))]
    Other(Status),
    /// 500: logged with its cause; the client sees a generic message.
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    pub fn status(&self) -> Status {
        match self {
            AppError::BadRequest(_) => Status::BadRequest,
            AppError::Unauthorized(_) => Status::Unauthorized,
            AppError::Forbidden(_)
            | AppError::AccountUnavailable(_)
            | AppError::CsrfRejected(_) => Status::Forbidden,
            AppError::NotFound(_) => Status::NotFound,
            AppError::MethodNotAllowed(_) => Status::MethodNotAllowed,
            AppError::PayloadTooLarge(_) => Status::PayloadTooLarge,
            AppError::UnsupportedMediaType(_) => Status::UnsupportedMediaType,
            AppError::Unprocessable(_) => Status::UnprocessableEntity,
            AppError::TooManyRequests { .. } => Status::TooManyRequests,
            AppError::Other(status) => *status,
            AppError::Internal(_) => Status::InternalServerError,
        }
    }

    /// The text the client may see. Internal causes are never shown.
    pub fn description(&self) -> String {
        match self {
            AppError::Internal(_) => "An unknown error has occurred".into(),
            other => other.to_string(),
        }
    }

    /// True when the caller is not (or no longer) signed in: pages answer with the login page.
    pub fn is_sign_in_failure(&self) -> bool {
        matches!(
            self,
            AppError::Unauthorized(_) | AppError::AccountUnavailable(_)
        )
    }

    /// The error Rocket reports when no handler or guard said more than a status.
    pub fn from_status(status: Status) -> AppError {
        let text = |s: &str| s.to_owned();
        match status.code {
            400 => AppError::BadRequest(text("The request could not be understood")),
            401 => AppError::Unauthorized(text("Authentication is required")),
            403 => AppError::Forbidden(text("Access to the requested resource is denied")),
            404 => AppError::NotFound(text("The requested resource was not found")),
            413 => AppError::PayloadTooLarge(text("The request body is too large")),
            415 => AppError::UnsupportedMediaType(text("The request body must be JSON")),
            422 => AppError::Unprocessable(text("The request body has the wrong shape")),
            _ if status.class() == rocket::http::StatusClass::ClientError => {
                AppError::Other(status)
            }
            _ => AppError::Internal(format!("unhandled status {status}")),
        }
    }

    /// Keeps this error for the catcher that will answer the request, and returns its status.
    /// Rocket hands catchers only a status; this is how they learn the reason.
    pub fn remember(&self, req: &Request<'_>) -> Status {
        req.local_cache(|| GuardFailure(Some(self.clone())));
        self.status()
    }

    /// Fails a request guard with this error.
    pub fn fail<T>(self, req: &Request<'_>) -> Outcome<T, AppError> {
        Outcome::Error((self.remember(req), self))
    }
}

impl From<AuthError> for AppError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Token(_)
            | AuthError::MissingToken(_)
            | AuthError::SessionEnded
            | AuthError::RefreshReused
            | AuthError::InvalidCredentials => AppError::Unauthorized(e.to_string()),
            AuthError::UserUnavailable => AppError::AccountUnavailable(e.to_string()),
            AuthError::NotAdmin | AuthError::WrongPassword => AppError::Forbidden(e.to_string()),
            AuthError::Throttled { retry_after } => AppError::TooManyRequests {
                retry_after,
                message: e.to_string(),
            },
            AuthError::Refused(reason) => AppError::Unprocessable(reason),
            AuthError::NotFound(what) => AppError::NotFound(what),
            AuthError::Internal(cause) => AppError::Internal(cause),
        }
    }
}

/// State the application manages. Missing state is a bug in how the application was built,
/// reported as a 500 rather than a panic.
pub fn managed<'r, T: Send + Sync + 'static>(req: &'r Request<'_>) -> Result<&'r T, AppError> {
    req.rocket()
        .state::<T>()
        .ok_or_else(|| AppError::Internal(format!("{} is not managed", std::any::type_name::<T>())))
}

/// The failure a guard reported, kept in the request's local cache for the catcher.
struct GuardFailure(Option<AppError>);

/// The error a guard remembered for this request, if any.
fn remembered(req: &Request<'_>) -> Option<AppError> {
    req.local_cache(|| GuardFailure(None)).0.clone()
}

/// The JSON error body of the original example.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody<'a> {
    status_code: u16,
    name: &'a str,
    description: String,
}

impl AppError {
    /// The JSON error response of the API.
    fn json_response(&self) -> response::Result<'static> {
        let status = self.status();
        let body = ErrorBody {
            status_code: status.code,
            name: status.reason().unwrap_or("Error"),
            description: self.description(),
        };
        let json = serde_json::to_string(&body).map_err(|_| Status::InternalServerError)?;
        let mut response = Response::build();
        response
            .status(status)
            .header(ContentType::JSON)
            .sized_body(json.len(), Cursor::new(json));
        if let AppError::Unauthorized(_) = self {
            response.header(Header::new("WWW-Authenticate", "Bearer"));
        }
        Ok(response.finalize())
    }
}

/// JSON under `/api`, an HTML page (or the login redirect) everywhere else.
impl<'r> Responder<'r, 'static> for AppError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        if let AppError::Internal(cause) = &self {
            log::error!("internal error: {cause}");
        }
        guards::settle_cookies(req, &self);
        let user = guards::signed_in_user(req);
        let mut response = if is_api(req) {
            self.json_response()?
        } else {
            crate::routes::pages::error_response(&self, user, req)?
        };
        match &self {
            AppError::MethodNotAllowed(methods) => {
                let allow: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
                response.set_header(Header::new("Allow", allow.join(", ")));
            }
            AppError::TooManyRequests { retry_after, .. } => {
                response.set_header(Header::new("Retry-After", retry_after.to_string()));
            }
            _ => {}
        }
        Ok(response)
    }
}

/// Methods that have a route for this path (used for 405 and preflight answers).
pub fn methods_for_path(req: &Request<'_>) -> Vec<Method> {
    let segments: Vec<&str> = req.uri().path().segments().collect();
    let mut methods: Vec<Method> = req
        .rocket()
        .routes()
        .filter(|route| {
            route.method != Method::Options && path_matches(route.uri.path(), &segments)
        })
        .map(|route| route.method)
        .collect();
    methods.sort_by_key(|m| m.as_str());
    methods.dedup();
    methods
}

/// Whether a route's path pattern (`/api/auth/sessions/<id>`) matches a request's decoded path
/// segments, the way Rocket's router does: `<name>` takes one non-empty segment, `<name..>` the
/// rest, anything else must be equal.
fn path_matches(pattern: &str, segments: &[&str]) -> bool {
    let mut parts = pattern.split('/').filter(|part| !part.is_empty());
    let mut segments = segments.iter();
    loop {
        match (parts.next(), segments.next()) {
            (None, None) => return true,
            (Some(part), _) if part.starts_with('<') && part.ends_with("..>") => return true,
            (Some(part), Some(segment)) if part.starts_with('<') && part.ends_with('>') => {
                if segment.is_empty() {
                    return false;
                }
            }
            (Some(part), Some(segment)) if part == *segment => {}
            _ => return false,
        }
    }
}

/// Which error a failed request should report.
fn error_for(status: Status, req: &Request<'_>) -> AppError {
    if let Some(error) = remembered(req) {
        return error;
    }
    // Rocket answers 404 when no route matched the method; if the path exists, it is a 405.
    if status == Status::NotFound {
        let methods = methods_for_path(req);
        if !methods.is_empty() && !methods.contains(&req.method()) {
            return AppError::MethodNotAllowed(methods);
        }
    }
    AppError::from_status(status)
}

fn catcher<'r>(status: Status, req: &'r Request<'_>) -> BoxFuture<'r> {
    let error = error_for(status, req);
    Box::pin(async move { error.respond_to(req) })
}

/// One default catcher for every status and path: the response is JSON under `/api` and a page
/// elsewhere, as for errors that handlers return.
pub fn catchers() -> Vec<Catcher> {
    vec![Catcher::new(None, catcher)]
}

#[cfg(test)]
mod tests {
    use super::path_matches;

    #[test]
    fn route_patterns_match_like_the_router() {
        assert!(path_matches(
            "/api/auth/sessions/<id>",
            &["api", "auth", "sessions", "abc"]
        ));
        assert!(!path_matches(
            "/api/auth/sessions/<id>",
            &["api", "auth", "sessions"]
        ));
        assert!(!path_matches(
            "/api/auth/sessions/<id>",
            &["api", "auth", "sessions", "a", "b"]
        ));
        assert!(path_matches("/api/auth/login", &["api", "auth", "login"]));
        assert!(!path_matches("/api/auth/login", &["api", "auth", "logout"]));
        assert!(path_matches("/static/<path..>", &["static", "a", "b.css"]));
        assert!(path_matches("/", &[]));
    }
}
