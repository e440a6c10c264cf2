//! Headers on every `/api` response (errors included): CORS for the configured origins, and
//! no caching; and on every page: a Content-Security-Policy and no caching.
//! `X-Content-Type-Options`, `Referrer-Policy` and `X-Frame-Options` come from Rocket's Shield,
//! on every response.

use rocket::Response;
use rocket::fairing::{Fairing, Info, Kind};
use rocket::request::Request;

use super::cors::Cors;
use super::routing::is_api;

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
