//! jwtapp: JSON Web Token authentication for Rocket, done right.
//!
//! [`rocket`] builds the whole application from a [`Figment`], so the binary, the integration
//! tests and the benchmarks all run the same thing.

pub mod assets;
pub mod auth;
pub mod body;
pub mod cli;
pub mod config;
pub mod cookies;
pub mod csrf;
pub mod error;
pub mod headers;
pub mod routes;
pub mod sample;
pub mod startup;
pub mod store;

use rocket::fairing::AdHoc;
use rocket::figment::Figment;
use rocket::shield::{Frame, Referrer, Shield};
use rocket::{Build, Rocket};

use auth::Auth;
use cookies::CookiePolicy;
use csrf::{Csrf, MethodOverride, Site};
use headers::{ApiHeaders, Cors, Hsts, HstsHeader, PageHeaders};
use routes::well_known::Jwks;

pub use startup::DEMO_USERS;

/// The application, configured by `figment` (normally `rocket::Config::figment()`: `Rocket.toml`
/// and `ROCKET_*` variables). Settings are checked when it ignites; a bad one stops the launch.
pub fn rocket(figment: Figment) -> Rocket<Build> {
    rocket::custom(with_jwtapp_defaults(figment))
        .attach(AdHoc::try_on_ignite(
            "jwtapp authentication",
            |rocket| async move {
                match setup(rocket.figment()).await {
                    Ok(services) => Ok(rocket
                        .manage(services.auth)
                        .manage(services.cors)
                        .manage(services.cookies)
                        .manage(services.csrf)
                        .manage(services.site)
                        .manage(services.hsts)
                        .manage(services.jwks)),
                    Err(message) => {
                        log::error!("jwtapp cannot start: {message}");
                        Err(rocket)
                    }
                }
            },
        ))
        .attach(AdHoc::on_liftoff("jwtapp pruning", |rocket| {
            Box::pin(async move {
                if let Some(auth) = rocket.state::<Auth>() {
                    rocket::tokio::spawn(auth.pruner().run());
                }
            })
        }))
        .attach(MethodOverride)
        .attach(ApiHeaders)
        .attach(PageHeaders)
        .attach(HstsHeader)
        // nosniff (Shield's default), no framing, and no full URLs leaking to other sites.
        .attach(
            Shield::default()
                .enable(Frame::Deny)
                .enable(Referrer::SameOrigin),
        )
        .mount("/", routes::pages::routes())
        .mount("/", routes::account::routes())
        .mount("/", routes::admin::routes())
        .mount("/", routes::health::routes())
        .mount("/", assets::routes())
        .mount("/", routes::well_known::routes())
        .mount("/api", routes::api::routes())
        .mount("/api", headers::routes())
        .register("/", error::catchers())
}

/// Settings where jwtapp's default differs from Rocket's, applied when nobody set them (they are
/// in Rocket.toml too, but a deployment may run without it, on `ROCKET_*` variables alone):
/// - `ip_header`: Rocket trusts `X-Real-IP`, which lets any client choose the address that login
///   throttling counts it under; jwtapp uses the socket's peer;
/// - `ident`: the `Server` header names no framework;
/// - `limits.json`: 64 KiB, plenty for any body the API accepts (Rocket's is 1 MiB).
fn with_jwtapp_defaults(figment: Figment) -> Figment {
    let defaults: [(&str, rocket::figment::value::Value); 3] = [
        ("ip_header", false.into()),
        ("ident", "jwtapp".into()),
        ("limits.json", "64 KiB".into()),
    ];
    defaults.into_iter().fold(figment, |figment, (key, value)| {
        let set_by_operator = figment
            .find_metadata(key)
            .is_some_and(|source| source.name != "rocket::Config::default()");
        if set_by_operator {
            figment
        } else {
            figment.merge((key, value))
        }
    })
}

/// The services the routes use, managed by Rocket.
struct Services {
    auth: Auth,
    cors: Cors,
    cookies: CookiePolicy,
    csrf: Csrf,
    site: Site,
    hsts: Hsts,
    jwks: Jwks,
}

/// Reads the settings, opens the store and builds the services. Errors are one readable line.
async fn setup(figment: &Figment) -> Result<Services, String> {
    let checked = startup::check(figment)?;
    for warning in &checked.warnings {
        log::warn!("{warning}");
    }
    let keys = &checked.keys;
    log::info!(
        "signing tokens with key {} ({} key(s) verify)",
        keys.active_key_id(),
        keys.key_infos().len()
    );
    let (checked, store, passwords) = rocket::tokio::task::spawn_blocking(move || {
        let (store, passwords, warnings) = startup::open_store(&checked)?;
        for warning in warnings {
            log::warn!("{warning}");
        }
        log::info!(
            "database {}: other processes' changes are seen through the {}",
            checked.config.database.display(),
            store.change_detection()
        );
        if checked.config.demo_users && startup::seed_demo_users(&store, &passwords)? {
            log::warn!(
                "created the demo accounts admin/admin (administrator) and user/user: for trying \
                 jwtapp out only; they cannot log in outside the debug profile"
            );
        }
        Ok::<_, String>((checked, startup::shared(store), passwords))
    })
    .await
    .map_err(|e| format!("start-up task failed: {e}"))??;
    let config = &checked.config;
    let csrf = Csrf::new(&checked.secret).map_err(|e| format!("auth.secret: {e}"))?;
    if config.reissue_threshold() < config.reissue_threshold_secs {
        log::info!(
            "auth.reissue_threshold_secs: using {} s, half the access lifetime",
            config.reissue_threshold()
        );
    }
    let jwks = Jwks::new(checked.keys.jwks());
    Ok(Services {
        cors: Cors::new(config.cors_origins.clone()),
        cookies: CookiePolicy::new(config),
        csrf,
        site: Site::new(config.public_origin.as_deref(), config.cookie_secure),
        hsts: Hsts::new(config.cookie_secure, config.hsts_max_age_secs),
        jwks,
        auth: Auth::new(checked.keys, passwords, store, config, checked.debug),
    })
}
