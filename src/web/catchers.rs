//! The catchers: what a request gets when no handler answered it (a guard or a body failed, or
//! nothing matched). Registered per prefix: JSON under `/api`, pages everywhere else.

use rocket::catcher::{BoxFuture, Catcher};
use rocket::http::Status;
use rocket::request::Request;

use super::cookies::CookiePolicy;
use super::error::{AppError, json_response};
use super::failure::{ErrorCookies, Failure, recorded};
use super::pages::error_page;
use super::routing::methods_for_path;
use super::state::managed;

/// The failure to report: the one a guard recorded, or one made from the status (a 404 for a
/// path that exists under another method is a 405).
fn failure_for(status: Status, req: &Request<'_>) -> Failure {
    if let Some(failure) = recorded(req) {
        return failure.clone();
    }
    let error = match status {
        Status::NotFound => {
            let methods = methods_for_path(req);
            if !methods.is_empty() && !methods.contains(&req.method()) {
                AppError::MethodNotAllowed(methods)
            } else {
                AppError::from_status(status)
            }
        }
        _ => AppError::from_status(status),
    };
    Failure {
        error,
        cookies: ErrorCookies::default(),
        viewer: None,
    }
}

/// Sets and clears the session cookies as the failed guard decided. Rocket drops every cookie
/// set before a failure, so cookies this request reissued are set again.
fn settle_cookies(req: &Request<'_>, cookies: &ErrorCookies) {
    let Ok(policy) = managed::<CookiePolicy>(req) else {
        return;
    };
    if let Some(tokens) = &cookies.reissued {
        policy.set_reissued(req.cookies(), tokens);
    }
    if cookies.clear_session {
        policy.clear_session(req.cookies());
    }
}

fn api_catcher<'r>(status: Status, req: &'r Request<'_>) -> BoxFuture<'r> {
    let failure = failure_for(status, req);
    settle_cookies(req, &failure.cookies);
    Box::pin(async move { json_response(&failure.error.problem()) })
}

fn page_catcher<'r>(status: Status, req: &'r Request<'_>) -> BoxFuture<'r> {
    let failure = failure_for(status, req);
    settle_cookies(req, &failure.cookies);
    Box::pin(async move { error_page(&failure.error.problem(), failure.viewer, req) })
}

/// The catcher under `/api`: `{"statusCode", "name", "description"}` for every status.
pub fn api() -> Vec<Catcher> {
    vec![Catcher::new(None, api_catcher)]
}

/// The catcher for everything else: an error page, or the login page for a page that needs a
/// signed-in user.
pub fn pages() -> Vec<Catcher> {
    vec![Catcher::new(None, page_catcher)]
}
