//! jwtapp: JSON Web Token authentication for Rocket, done right.
//!
//! Three layers, each a folder, each importing only from the layers below it:
//!
//! - `web`: everything that touches Rocket (guards, cookies, CSRF, headers, bodies, catchers,
//!   the JSON API and the pages);
//! - [`auth`]: the domain, with no Rocket types: tokens and keys, passwords, login and
//!   throttling, refresh and rotation, sessions, accounts;
//! - [`store`]: the database behind the `Store` trait, and the cache in front of it.
//!
//! On top, `config` reads the settings and hands each layer its own, `startup` puts the layers
//! together, and `cli` is the command line. [`rocket`] builds the whole application from a
//! [`Figment`], so the binary, the integration tests and the benchmarks run the same thing.

#![forbid(unsafe_code)]

pub mod auth;
mod cli;
mod config;
mod error_chain;
pub mod logging;
pub mod metrics;
mod sample;
mod startup;
pub mod store;
mod web;

use std::sync::Arc;

use rocket::fairing::AdHoc;
use rocket::figment::Figment;
use rocket::{Build, Rocket};

pub use auth::{Clock, ManualClock, SystemClock};
pub use cli::{Cli, CliError, Command, UserCommand, run as run_command};
pub use config::{ConfigError, check_rocket_settings};

/// The application, configured by `figment` (normally `rocket::Config::figment()`: `Rocket.toml`
/// and `ROCKET_*` variables), on the system's clock. Settings are checked when it ignites; a bad
/// one stops the launch with one line naming it.
pub fn rocket(figment: Figment) -> Rocket<Build> {
    rocket_with_clock(figment, Arc::new(SystemClock))
}

/// The application, telling time by `clock` (tests move a [`ManualClock`]).
pub fn rocket_with_clock(figment: Figment, clock: Arc<dyn Clock>) -> Rocket<Build> {
    let rocket = web::build(rocket::custom(config::with_jwtapp_defaults(figment)));
    rocket.attach(AdHoc::try_on_ignite("jwtapp", move |rocket| async move {
        let services = match startup::serve(rocket.figment(), Arc::clone(&clock)).await {
            Ok((auth, settings, secret)) => web::Services::new(auth, &settings, &secret, clock)
                .map_err(startup::StartError::from),
            Err(e) => Err(e),
        };
        match services {
            Ok(services) => Ok(services.manage(rocket)),
            Err(e) => {
                log::error!("jwtapp cannot start: {}", error_chain::chain(&e));
                Err(rocket)
            }
        }
    }))
}
