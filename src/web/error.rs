//! Everything a request can fail with ([`AppError`]), and what the client is told about it
//! ([`Problem`]): the same for the JSON answer under `/api` and the HTML answer elsewhere.
//! Turning an error into a problem is a pure function; causes stay in the error, for the log.

use std::io::Cursor;
use std::sync::Arc;

use rocket::http::{ContentType, Header, Method, Status};
use rocket::response::{self, Response};
use serde::Serialize;

use crate::auth::AuthError;

/// Everything a request can fail with.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// 400: a body that is not valid JSON (or not UTF-8), a refused `_method`.
    #[error("{0}")]
    BadRequest(String),
    /// 403: not allowed, for a reason that is not about who the caller is (a foreign origin).
    #[error("{0}")]
    Forbidden(String),
    /// 403: a cookie-authenticated write without proof that it came from our own pages.
    #[error("{0}")]
    Csrf(&'static str),
    /// 404
    #[error("{0}")]
    NotFound(String),
    /// 405, with `Allow`.
    #[error("the method is not allowed for this resource")]
    MethodNotAllowed(Vec<Method>),
    /// 413: the body is over the configured limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415: a JSON route got another media type.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: valid JSON of the wrong shape, or a value that cannot be processed.
    #[error("{0}")]
    Unprocessable(String),
    /// Any other client error Rocket itself reported.
    #[error("{}", .0.reason().unwrap_or("The request failed"))]
    Status(Status),
    /// 500: the application was built without a piece of state it needs.
    #[error("{0} is not managed")]
    Unmanaged(&'static str),
    /// 500: a template failed to render.
    #[error("a page could not be rendered")]
    Template(#[source] Arc<askama::Error>),
}

/// How the HTML side shows a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// The caller is not (or no longer) signed in: pages answer with the login page.
    SignIn,
    /// Signed in, but not allowed: pages answer with the access-denied page.
    Denied,
    /// Signed in, but the password must be entered again first: pages answer with `/reauth`.
    Reauth,
    Other,
}

/// What the client is told: the status, a description that reveals no internals, and the
/// headers the status calls for.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: Status,
    pub description: String,
    pub kind: ProblemKind,
    /// `Retry-After`, in seconds (429).
    pub retry_after: Option<u64>,
    /// `Allow` (405).
    pub allow: Vec<Method>,
    /// The answer's `mfaRequired`: a code is due (a login or a re-entry with a second factor).
    pub mfa_required: bool,
    /// The answer's `freshRequired`: the password must be entered again first.
    pub fresh_required: bool,
}

impl Problem {
    fn new(status: Status, description: impl Into<String>, kind: ProblemKind) -> Problem {
        Problem {
            status,
            description: description.into(),
            kind,
            retry_after: None,
            allow: Vec::new(),
            mfa_required: false,
            fresh_required: false,
        }
    }
}

/// What a client sees of a failure on our side.
const INTERNAL: &str = "An unknown error has occurred";

impl AppError {
    /// What the client is told about this error.
    pub fn problem(&self) -> Problem {
        use ProblemKind::{Denied, Other, SignIn};
        let text = self.to_string();
        match self {
            AppError::Auth(error) => match error {
                AuthError::Token(_)
                | AuthError::MissingToken(_)
                | AuthError::SessionEnded
                | AuthError::RefreshReused
                | AuthError::InvalidCredentials => Problem::new(Status::Unauthorized, text, SignIn),
                AuthError::MfaRequired | AuthError::WrongCode => Problem {
                    mfa_required: true,
                    ..Problem::new(Status::Unauthorized, text, Other)
                },
                AuthError::FreshLoginRequired => Problem {
                    fresh_required: true,
                    ..Problem::new(Status::Unauthorized, text, ProblemKind::Reauth)
                },
                AuthError::UserUnavailable => Problem::new(Status::Forbidden, text, SignIn),
                AuthError::NotAdmin => Problem::new(Status::Forbidden, text, Denied),
                AuthError::WrongPassword => Problem::new(Status::Forbidden, text, Other),
                AuthError::Throttled { retry_after } => Problem {
                    retry_after: Some(*retry_after),
                    ..Problem::new(Status::TooManyRequests, text, Other)
                },
                AuthError::Password(_)
                | AuthError::Username(_)
                | AuthError::UsernameTaken { .. }
                | AuthError::NotAllowed(_) => {
                    Problem::new(Status::UnprocessableEntity, text, Other)
                }
                AuthError::NotFound(_) => Problem::new(Status::NotFound, text, Other),
                AuthError::Unavailable(_) => Problem {
                    retry_after: Some(1),
                    ..Problem::new(Status::ServiceUnavailable, text, Other)
                },
                AuthError::Storage(_) | AuthError::Signing(_) | AuthError::Unsealable(_) => {
                    Problem::new(Status::InternalServerError, INTERNAL, Other)
                }
            },
            AppError::BadRequest(_) => Problem::new(Status::BadRequest, text, Other),
            AppError::Forbidden(_) => Problem::new(Status::Forbidden, text, Denied),
            AppError::Csrf(_) => Problem::new(Status::Forbidden, text, Other),
            AppError::NotFound(_) => Problem::new(Status::NotFound, text, Other),
            AppError::MethodNotAllowed(methods) => Problem {
                allow: methods.clone(),
                ..Problem::new(Status::MethodNotAllowed, text, Other)
            },
            AppError::PayloadTooLarge(_) => Problem::new(Status::PayloadTooLarge, text, Other),
            AppError::UnsupportedMediaType(_) => {
                Problem::new(Status::UnsupportedMediaType, text, Other)
            }
            AppError::Unprocessable(_) => Problem::new(Status::UnprocessableEntity, text, Other),
            AppError::Status(status) => Problem::new(*status, text, Other),
            AppError::Unmanaged(_) | AppError::Template(_) => {
                Problem::new(Status::InternalServerError, INTERNAL, Other)
            }
        }
    }

    /// The status of this error.
    pub fn status(&self) -> Status {
        self.problem().status
    }

    /// The error Rocket reports when no guard or handler said more than a status.
    pub fn from_status(status: Status) -> AppError {
        let text = |s: &str| s.to_owned();
        match status.code {
            400 => AppError::BadRequest(text("The request could not be understood")),
            401 => AppError::Auth(AuthError::MissingToken("Authentication is required")),
            403 => AppError::Forbidden(text("Access to the requested resource is denied")),
            404 => AppError::NotFound(text("The requested resource was not found")),
            413 => AppError::PayloadTooLarge(text("The request body is too large")),
            415 => AppError::UnsupportedMediaType(text("The request body must be JSON")),
            422 => AppError::Unprocessable(text("The request body has the wrong shape")),
            _ => AppError::Status(status),
        }
    }
}

/// The JSON error body of the original example, on every error under `/api`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Error)]
pub struct ErrorBody<'a> {
    /// The HTTP status again.
    status_code: u16,
    /// The status's reason phrase: `Unauthorized`.
    name: &'a str,
    /// What went wrong, for people; never an internal detail.
    description: &'a str,
    /// Present (true) when a second-factor code is due: send the login (or re-entry) again
    /// with `code`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[schema(required = false)]
    mfa_required: bool,
    /// Present (true) when the action needs a recent password: `POST /api/auth/reauth`, then
    /// try again with the new access token.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[schema(required = false)]
    fresh_required: bool,
}

/// The headers a problem's status calls for: `WWW-Authenticate` (401), `Retry-After` (429),
/// `Allow` (405).
pub fn problem_headers(problem: &Problem) -> Vec<Header<'static>> {
    let mut headers = Vec::new();
    if problem.status == Status::Unauthorized {
        headers.push(Header::new("WWW-Authenticate", "Bearer"));
    }
    if let Some(retry_after) = problem.retry_after {
        headers.push(Header::new("Retry-After", retry_after.to_string()));
    }
    if !problem.allow.is_empty() {
        let allow: Vec<&str> = problem.allow.iter().map(|m| m.as_str()).collect();
        headers.push(Header::new("Allow", allow.join(", ")));
    }
    headers
}

/// The API's answer to a problem: `{"statusCode", "name", "description"}`.
pub fn json_response(problem: &Problem) -> response::Result<'static> {
    let body = ErrorBody {
        status_code: problem.status.code,
        name: problem.status.reason().unwrap_or("Error"),
        description: &problem.description,
        mfa_required: problem.mfa_required,
        fresh_required: problem.fresh_required,
    };
    let json = serde_json::to_string(&body).map_err(|_| Status::InternalServerError)?;
    let mut response = Response::build();
    response
        .status(problem.status)
        .header(ContentType::JSON)
        .sized_body(json.len(), Cursor::new(json));
    for header in problem_headers(problem) {
        response.header(header);
    }
    Ok(response.finalize())
}
