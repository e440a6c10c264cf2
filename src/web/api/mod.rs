//! The JSON API under `/api`, compatible with the original Flask example's Angular client.

mod auth;
mod docs;
mod document;
mod error;
mod events;
mod fresh;
mod reference;
mod responses;
mod samples;
mod second_factor;
mod sessions;

pub use document::{CookieNames, document};
pub use reference::{ApiDocs, DocsError};

use rocket::{Route, routes};

/// Everything mounted under `/api` (the CORS preflight route is mounted next to it).
pub fn routes() -> Vec<Route> {
    routes![
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
    ]
}
