//! Everything that touches Rocket: request guards, cookies, CSRF, origins, headers and CORS,
//! bodies, static files, error answers and catchers, and the routes of the JSON API
//! ([`api`], under `/api`) and of the pages ([`pages`]).
//!
//! Handlers are a few lines: they take typed guards and bodies, call the auth service, and
//! return a typed response. Errors become responses in one place per front end ([`error`] for
//! JSON, the pages' own for HTML) without side effects.

mod api;
mod assets;
mod body;
mod catchers;
mod cookies;
mod cors;
mod csrf;
mod error;
mod error_log;
mod events;
mod failure;
mod forms;
mod guards;
mod headers;
mod health;
mod method_override;
mod metrics;
mod origin;
mod pages;
mod routing;
mod state;
mod well_known;

use std::sync::Arc;

use rocket::fairing::AdHoc;
use rocket::http::SameSite;
use rocket::shield::{Frame, Referrer, Shield};
use rocket::{Build, Rocket};
use secrecy::{SecretSlice, SecretString};

use crate::auth::{Auth, Clock};
use cookies::CookiePolicy;
use cors::Cors;
use csrf::Csrf;
use headers::{ApiHeaders, Hsts, HstsHeader, PageHeaders};
use origin::Site;
use well_known::Jwks;

/// The web layer's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `Secure` cookies with the `__Host-` prefix, and HSTS.
    pub cookie_secure: bool,
    pub cookie_same_site: SameSite,
    /// The origin browsers see the site at, if configured.
    pub public_origin: Option<String>,
    /// Browser origins allowed to call the API.
    pub cors_origins: Vec<String>,
    /// `Strict-Transport-Security: max-age` with `cookie_secure`; 0 sends none.
    pub hsts_max_age_secs: u64,
    /// The token `GET /metrics` requires; without one there is no such route.
    pub metrics_token: Option<SecretString>,
}

/// A piece of the web layer's state that cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("the CSRF key cannot be derived from auth.secret")]
    CsrfKey(#[source] hmac::digest::InvalidLength),
    #[error("the JWK Set cannot be serialized")]
    Jwks(#[source] serde_json::Error),
    #[error(transparent)]
    Docs(#[from] api::DocsError),
}

/// The application's routes, catchers and fairings. The state they need comes from [`manage`],
/// once the settings are read and the database is open.
pub fn build(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket
        .attach(metrics::HttpMetrics)
        .attach(method_override::MethodOverride)
        .attach(ApiHeaders)
        .attach(PageHeaders)
        .attach(HstsHeader)
        .attach(error_log::ErrorLog)
        // nosniff (Shield's default), no framing, and no full URLs leaking to other sites.
        .attach(
            Shield::default()
                .enable(Frame::Deny)
                .enable(Referrer::SameOrigin),
        )
        .attach(AdHoc::on_liftoff("jwtapp housekeeping", |rocket| {
            Box::pin(async move {
                if let Some(auth) = rocket.state::<Auth>() {
                    tokio::spawn(auth.housekeeping().run());
                }
            })
        }))
        .mount("/", pages::routes())
        .mount("/", health::routes())
        .mount("/", assets::routes())
        .mount("/", well_known::routes())
        .mount("/", rocket::routes![metrics::metrics])
        .mount("/api", api::routes())
        .mount("/api", cors::routes())
        .register("/api", catchers::api())
        .register("/", catchers::pages())
}

/// The state the routes need: the auth service, and what the settings make.
pub struct Services {
    auth: Auth,
    csrf: Csrf,
    jwks: Jwks,
    cors: Cors,
    cookies: CookiePolicy,
    site: Site,
    hsts: Hsts,
    metrics: metrics::MetricsAccess,
    docs: api::ApiDocs,
}

impl Services {
    pub fn new(
        auth: Auth,
        settings: &Settings,
        csrf_secret: &SecretSlice<u8>,
        clock: Arc<dyn Clock>,
    ) -> Result<Services, WebError> {
        let cookies = CookiePolicy::new(settings.cookie_secure, settings.cookie_same_site, clock);
        let document = api::document(api::CookieNames {
            refresh: cookies.refresh_name(),
        })
        .map_err(api::DocsError::Json)?;
        Ok(Services {
            docs: api::ApiDocs::new(&document)?,
            csrf: Csrf::new(csrf_secret).map_err(WebError::CsrfKey)?,
            jwks: Jwks::new(auth.keys().jwks()).map_err(WebError::Jwks)?,
            auth,
            cors: Cors::new(settings.cors_origins.clone()),
            cookies,
            site: Site::new(settings.public_origin.as_deref(), settings.cookie_secure),
            hsts: Hsts::new(settings.cookie_secure, settings.hsts_max_age_secs),
            metrics: metrics::MetricsAccess::new(settings.metrics_token.as_ref()),
        })
    }

    /// Hands the state to Rocket.
    pub fn manage(self, rocket: Rocket<Build>) -> Rocket<Build> {
        rocket
            .manage(self.auth)
            .manage(self.csrf)
            .manage(self.jwks)
            .manage(self.cors)
            .manage(self.cookies)
            .manage(self.site)
            .manage(self.hsts)
            .manage(self.metrics)
            .manage(self.docs)
    }
}
