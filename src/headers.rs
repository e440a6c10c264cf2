//! Headers on every `/api` response (errors included): CORS for the configured origins, and
//! no caching; and on every page: a Content-Security-Policy and no caching.
//! `X-Content-Type-Options`, `Referrer-Policy` and `X-Frame-Options` come from Rocket's Shield,
//! on every response.

use std::collections::BTreeSet;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Response, Route, options, routes};

use crate::error::{AppError, methods_for_path};

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
    pub fn new(origins: impl IntoIterator<Item = String>) -> Cors {
        Cors {
            origins: origins.into_iter().collect(),
        }
    }

    /// True when `origin` is one of the configured origins.
    pub fn allows(&self, origin: &str) -> bool {
        self.origins.contains(origin)
    }

    /// The request's `Origin` when it is one we grant.
    fn granted_origin<'r>(&self, req: &'r Request<'_>) -> Option<&'r str> {
        req.headers()
            .get_one("Origin")
            .filter(|origin| self.origins.contains(*origin))
    }
}

/// True for requests under `/api`. Decided on the decoded, non-empty segments, as Rocket routes
/// them: `//api/x` and `/%61pi/x` reach the API routes, so they must count as API requests too.
pub fn is_api(req: &Request<'_>) -> bool {
    req.uri().path().segments().next() == Some("api")
}

/// Adds the API headers to every response under `/api`.
pub struct ApiHeaders;

#[rocket::async_trait]
impl Fairing for ApiHeaders {
    fn info(&self) -> Info {
        Info {
            name: "API headers (CORS, no caching)",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        if !is_api(req) {
            return;
        }
        res.set_raw_header("Cache-Control", "no-cache, no-store, must-revalidate");
        res.adjoin_raw_header("Vary", "Origin");
        let granted = req
            .rocket()
            .state::<Cors>()
            .and_then(|cors| cors.granted_origin(req));
        if let Some(origin) = granted {
            res.set_raw_header("Access-Control-Allow-Origin", origin.to_owned());
            res.set_raw_header("Access-Control-Allow-Credentials", "true");
        }
    }
}

/// The Content-Security-Policy of every page: our own files only, no inline script or style,
/// forms post only to us, and no framing (clickjacking).
pub const PAGE_CSP: &str = "default-src 'self'; base-uri 'none'; object-src 'none'; \
                            form-action 'self'; frame-ancestors 'none'";

/// Headers on every response outside `/api`: the CSP, and no caching of pages (they show who is
/// signed in and carry CSRF tokens). Static files set their own long-lived `Cache-Control`.
/// `X-Content-Type-Options`, `Referrer-Policy` and `X-Frame-Options` come from Rocket's Shield.
pub struct PageHeaders;

#[rocket::async_trait]
impl Fairing for PageHeaders {
    fn info(&self) -> Info {
        Info {
            name: "Page headers (CSP, no caching)",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        if is_api(req) {
            return;
        }
        res.set_raw_header("Content-Security-Policy", PAGE_CSP);
        if !res.headers().contains("Cache-Control") {
            res.set_raw_header("Cache-Control", "no-store");
        }
    }
}

/// `Strict-Transport-Security` on every response when the site is served over HTTPS
/// (`cookie_secure`) and `hsts_max_age_secs` is not 0: browsers then refuse plain HTTP to this
/// host for that long. Managed by Rocket; the header value, or `None` to send none.
#[derive(Debug, Clone)]
pub struct Hsts(pub Option<String>);

impl Hsts {
    pub fn new(cookie_secure: bool, max_age_secs: u64) -> Hsts {
        Hsts((cookie_secure && max_age_secs > 0).then(|| format!("max-age={max_age_secs}")))
    }
}

/// Adds [`Hsts`] to every response, pages, API and errors alike.
pub struct HstsHeader;

#[rocket::async_trait]
impl Fairing for HstsHeader {
    fn info(&self) -> Info {
        Info {
            name: "Strict-Transport-Security",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        if let Some(Hsts(Some(value))) = req.rocket().state::<Hsts>() {
            res.set_raw_header("Strict-Transport-Security", value.clone());
        }
    }
}

/// A CORS preflight for a path that exists, from a granted origin (or with no origin at all).
pub struct Preflight;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Preflight {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AppError> {
        if methods_for_path(req).is_empty() {
            return AppError::NotFound("The requested resource was not found".into()).fail(req);
        }
        let cors = req.rocket().state::<Cors>();
        let origin = req.headers().get_one("Origin");
        if origin.is_some() && cors.and_then(|c| c.granted_origin(req)).is_none() {
            return AppError::Forbidden("this origin may not call the API".into()).fail(req);
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
