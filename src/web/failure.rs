//! The verdict of a guard that failed, kept for the catcher that answers the request: Rocket
//! hands catchers only a status, and drops every cookie set before the failure. The guard that
//! failed decides what the answer carries; the catcher only renders it.

use std::sync::OnceLock;

use rocket::http::Status;
use rocket::request::{Outcome, Request};

use super::error::AppError;
use crate::auth::{Principal, Reissued};

/// What the session cookies of an error response need, as the failed guard decided.
#[derive(Debug, Clone, Default)]
pub struct ErrorCookies {
    /// Tokens this request minted from the refresh cookie before it failed (say, a CSRF
    /// refusal after a reissue): set again, since the old refresh cookie has been rotated away.
    pub reissued: Option<Reissued>,
    /// The cookies sent no longer sign anyone in: delete them, so the browser stops sending them.
    pub clear_session: bool,
}

/// A failed guard's verdict.
#[derive(Debug, Clone)]
pub struct Failure {
    pub error: AppError,
    pub cookies: ErrorCookies,
    /// The signed-in user, when the guard knew them (an error page still shows the navigation).
    pub viewer: Option<Principal>,
}

/// The first failure recorded for a request. (A cell rather than the cached value itself:
/// asking before anything failed must not stop a later failure from being recorded.)
struct Recorded(OnceLock<Failure>);

fn cell<'r>(req: &'r Request<'_>) -> &'r OnceLock<Failure> {
    &req.local_cache(|| Recorded(OnceLock::new())).0
}

/// Keeps `failure` for the catcher (the first one recorded wins) and returns its status.
pub fn record(req: &Request<'_>, failure: Failure) -> Status {
    let status = failure.error.status();
    let _ = cell(req).set(failure);
    status
}

/// The failure recorded for this request, if any.
pub fn recorded<'r>(req: &'r Request<'_>) -> Option<&'r Failure> {
    cell(req).get()
}

/// Fails a guard with `error` (no cookies to settle, no known viewer).
pub fn fail<T>(req: &Request<'_>, error: AppError) -> Outcome<T, AppError> {
    let status = record(
        req,
        Failure {
            error: error.clone(),
            cookies: ErrorCookies::default(),
            viewer: None,
        },
    );
    Outcome::Error((status, error))
}

/// An error a handler returned, kept so the error log can write down its cause.
struct Answered(OnceLock<AppError>);

fn answered<'r>(req: &'r Request<'_>) -> &'r OnceLock<AppError> {
    &req.local_cache(|| Answered(OnceLock::new())).0
}

/// Notes an error a handler answered with (for the error log; nothing else reads it).
pub fn note_answered(req: &Request<'_>, error: &AppError) {
    let _ = answered(req).set(error.clone());
}

/// The error this request ended with: a guard's, or a handler's.
pub fn final_error<'r>(req: &'r Request<'_>) -> Option<&'r AppError> {
    recorded(req)
        .map(|failure| &failure.error)
        .or_else(|| answered(req).get())
}
