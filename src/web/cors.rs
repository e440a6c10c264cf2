//! CORS for the API: the configured origins (exact matches) may call it from a browser. One small
//! fairing (in [`headers`](super::headers)) and a preflight route, not `rocket_cors`: its fairing
//! covers every path (403ing same-origin form posts that carry `Origin`), adds `Vary` only to CORS
//! requests and answers preflights for paths that do not exist.

use std::collections::BTreeSet;

use rocket::http::{Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Response, Route, options, routes};

use super::error::AppError;
use super::failure::fail;
use super::routing::methods_for_path;

/// Methods and headers a browser may use cross-origin.
const ALLOW_METHODS: &str = "GET, POST, PUT, DELETE";
const ALLOW_HEADERS: &str = "Content-Type, Authorization, X-CSRF-Token";
/// How long a browser may reuse a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

/// The origins allowed to call the API from a browser: exact matches only.
#[derive(Debug, Clone)]
pub struct Cors {
    origins: BTreeSet<String>,
}

impl Cors {
    /// The configured origins (already validated), compared without regard to case: browsers
    /// send them lower-cased.
    pub fn new(origins: impl IntoIterator<Item = String>) -> Cors {
        Cors {
            origins: origins
                .into_iter()
                .map(|origin| origin.to_ascii_lowercase())
                .collect(),
        }
    }

    /// True when `origin` is one of the configured origins.
    pub fn allows(&self, origin: &str) -> bool {
        self.origins.contains(&origin.to_ascii_lowercase())
    }

    /// The request's `Origin` when it is one we grant (and the only one it sent).
    pub fn granted_origin<'r>(&self, req: &'r Request<'_>) -> Option<&'r str> {
        let mut origins = req.headers().get("Origin");
        let origin = origins.next()?;
        (origins.next().is_none() && self.allows(origin)).then_some(origin)
    }
}

/// A CORS preflight for a path that exists, from a granted origin (or with no origin at all).
pub struct Preflight;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Preflight {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AppError> {
        if methods_for_path(req).is_empty() {
            return fail(
                req,
                AppError::NotFound("The requested resource was not found".into()),
            );
        }
        let cors = req.rocket().state::<Cors>();
        let origin = req.headers().get_one("Origin");
        if origin.is_some() && cors.and_then(|c| c.granted_origin(req)).is_none() {
            return fail(
                req,
                AppError::Forbidden("this origin may not call the API".into()),
            );
        }
        Outcome::Success(Preflight)
    }
}

/// The answer to a granted preflight; the fairing adds the origin grant itself.
pub struct PreflightResponse;

impl<'r> rocket::response::Responder<'r, 'static> for PreflightResponse {
    fn respond_to(self, _: &'r Request<'_>) -> rocket::response::Result<'static> {
        Response::build()
            .status(Status::NoContent)
            .header(Header::new("Access-Control-Allow-Methods", ALLOW_METHODS))
            .header(Header::new("Access-Control-Allow-Headers", ALLOW_HEADERS))
            .header(Header::new("Access-Control-Max-Age", PREFLIGHT_MAX_AGE))
            .ok()
    }
}

#[options("/<_..>")]
fn preflight(_preflight: Preflight) -> PreflightResponse {
    PreflightResponse
}

/// The preflight route, mounted under `/api`.
pub fn routes() -> Vec<Route> {
    routes![preflight]
}
