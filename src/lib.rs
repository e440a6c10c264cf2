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
pub mod store;

use std::sync::Arc;

use rocket::fairing::AdHoc;
use rocket::figment::Figment;
use rocket::shield::{Frame, Referrer, Shield};
use rocket::{Build, Rocket};

use auth::passwords::Passwords;
use auth::tokens::{TokenKeys, TokenType};
use auth::{Auth, now};
use config::{AuthConfig, secret_advice};
use cookies::CookiePolicy;
use csrf::Csrf;
use headers::{ApiHeaders, Cors, PageHeaders};
use routes::well_known::Jwks;
use store::{SqliteStore, Store};

/// The demo accounts of the original example, created in the debug profile on an empty database.
pub const DEMO_USERS: &[(&str, &str, bool)] = &[("admin", "admin", true), ("user", "user", false)];

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
        .attach(ApiHeaders)
        .attach(PageHeaders)
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

fn is_debug(figment: &Figment) -> bool {
    figment.profile() == rocket::Config::DEBUG_PROFILE
}

/// The services the routes use, managed by Rocket.
struct Services {
    auth: Auth,
    cors: Cors,
    cookies: CookiePolicy,
    csrf: Csrf,
    jwks: Jwks,
}

/// Reads the settings, opens the store and builds the services. Errors are one readable line.
async fn setup(figment: &Figment) -> Result<Services, String> {
    for key in AuthConfig::unknown_keys(figment) {
        log::warn!(
            "Rocket.toml: unknown setting `auth.{key}` is ignored (a typo, or a setting of a newer jwtapp?)"
        );
    }
    let config = AuthConfig::from_figment(figment).map_err(|e| e.to_string())?;
    let debug = is_debug(figment);

    let secret: Vec<u8> = match &config.secret {
        Some(secret) => secret.as_bytes().to_vec(),
        None if debug => {
            log::warn!(
                "auth.secret is not set: using a random signing secret for this run \
                 (debug profile only; tokens do not survive a restart)"
            );
            let mut random = vec![0u8; 32];
            rand::fill(&mut random[..]);
            random
        }
        None => {
            return Err(format!(
                "auth.secret is required outside the debug profile: it {}",
                secret_advice()
            ));
        }
    };
    if config.demo_users && !debug {
        return Err("auth.demo_users may only be enabled in the debug profile".into());
    }

    let keys = TokenKeys::new(&secret, &config).map_err(|e| e.to_string())?;
    // Fail at start, not on the first request, if the JWT crypto backend or the key is unusable.
    let probe = keys
        .mint(
            TokenType::Access,
            "probe",
            "probe",
            "probe",
            now(),
            u64::MAX,
        )
        .map_err(|e| format!("cannot sign tokens: {e}"))?;
    keys.verify(&probe.token, TokenType::Access, now())
        .map_err(|e| format!("cannot verify tokens: {e}"))?;
    log::info!(
        "signing tokens with key {} ({} key(s) verify)",
        keys.active_key_id(),
        keys.key_infos().len()
    );

    let (store, passwords) = {
        let config = config.clone();
        rocket::tokio::task::spawn_blocking(move || open_store(&config))
            .await
            .map_err(|e| format!("start-up task failed: {e}"))??
    };
    let csrf = Csrf::new(&secret).map_err(|e| format!("auth.secret: {e}"))?;
    if config.reissue_threshold() < config.reissue_threshold_secs {
        log::info!(
            "auth.reissue_threshold_secs: using {} s, half the access lifetime",
            config.reissue_threshold()
        );
    }
    let jwks = Jwks::new(keys.jwks());
    Ok(Services {
        auth: Auth::new(keys, passwords, store, &config),
        cors: Cors::new(config.cors_origins.clone()),
        cookies: CookiePolicy::new(&config),
        csrf,
        jwks,
    })
}

/// Opens the database and, where configured, seeds the demo accounts. Blocking.
fn open_store(config: &AuthConfig) -> Result<(Arc<dyn Store>, Passwords), String> {
    let store = SqliteStore::open(&config.database)
        .map_err(|e| format!("auth.database ({}): {e}", config.database.display()))?;
    log::info!(
        "database {}: other processes' changes are seen through the {}",
        config.database.display(),
        store.change_detection()
    );
    let passwords = Passwords::new(config.argon2_params()).map_err(|e| e.to_string())?;
    if config.demo_users && store.count_users().map_err(|e| e.to_string())? == 0 {
        for (username, password, is_admin) in DEMO_USERS {
            let hash = passwords.hash(password).map_err(|e| e.to_string())?;
            store
                .create_user(username, &hash, *is_admin, now() as i64)
                .map_err(|e| e.to_string())?;
        }
        log::warn!(
            "created the demo accounts admin/admin (administrator) and user/user: for trying jwtapp out only"
        );
    }
    Ok((Arc::new(store), passwords))
}
