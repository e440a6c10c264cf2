//! The pages' error answer: the login page for a caller who is not signed in, the access-denied
//! page for one without the rights, an error page otherwise. Used by the catcher and by page
//! handlers that fail.

use askama::Template;
use rocket::http::Method;
use rocket::request::Request;
use rocket::response::content::RawHtml;
use rocket::response::{self, Redirect, Responder};

use super::layout::{Layout, Page, render};
use super::next::{login_location, reauth_location};
use crate::auth::{AuthError, Principal};
use crate::web::csrf::Csrf;
use crate::web::error::{AppError, Problem, ProblemKind, problem_headers};
use crate::web::failure::note_answered;
use crate::web::guards::signed_in;
use crate::web::routing::methods_for_path;
use crate::web::state::managed;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: &'a Layout,
    code: u16,
    name: &'a str,
    description: &'a str,
}

#[derive(Template)]
#[template(path = "denied.html")]
pub struct DeniedPage<'a> {
    pub layout: &'a Layout,
    pub reason: Option<&'a str>,
}

/// The answer to a failed page request, for `viewer` (when known, the navigation shows).
pub fn error_page(
    problem: &Problem,
    viewer: Option<Principal>,
    req: &Request<'_>,
) -> response::Result<'static> {
    match problem.kind {
        ProblemKind::SignIn => {
            return Redirect::to(login_location(&this_page(req))).respond_to(req);
        }
        ProblemKind::Reauth => {
            return Redirect::to(reauth_location(&this_page(req))).respond_to(req);
        }
        _ => {}
    }
    let layout = match (viewer, managed::<Csrf>(req)) {
        (Some(principal), Ok(csrf)) => Layout::for_user(principal, csrf),
        _ => Layout::anonymous(),
    };
    let status = problem.status;
    let page = match problem.kind {
        ProblemKind::Denied => render(
            status,
            &DeniedPage {
                layout: &layout,
                reason: Some(&problem.description),
            },
        ),
        _ => render(
            status,
            &ErrorPage {
                layout: &layout,
                code: status.code,
                name: status.reason().unwrap_or("Error"),
                description: &problem.description,
            },
        ),
    };
    // A template failure here cannot go through the error page again; fall back to plain text.
    let page = page.unwrap_or_else(|_| {
        (
            status,
            RawHtml(format!(
                "<!DOCTYPE html><title>{0}</title><h1>{0}</h1>",
                status.code
            )),
        )
    });
    let mut response = page.respond_to(req)?;
    for header in problem_headers(problem) {
        // Pages do not challenge for a Bearer token.
        if header.name() != "WWW-Authenticate" {
            response.set_header(header);
        }
    }
    Ok(response)
}

/// The page to come back to after signing in (or entering the password again): this one, with
/// its query, for a GET; for a form's POST, the page at the same path, or else the one above
/// it (`/sessions/end-all` → `/sessions`), since a redirect back is always a GET.
fn this_page(req: &Request<'_>) -> String {
    let path = req.uri().path().to_string();
    if req.method() == Method::Get {
        return match req.uri().query() {
            Some(query) => format!("{path}?{query}"),
            None => path,
        };
    }
    if methods_for_path(req).contains(&Method::Get) {
        return path;
    }
    match path.rsplit_once('/') {
        Some((parent, _)) if !parent.is_empty() => parent.to_owned(),
        _ => "/".to_owned(),
    }
}

/// What a page handler returns.
pub type PageResult<T = Page> = Result<T, PageError>;

/// An error a page handler answers with.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl From<AppError> for PageError {
    fn from(error: AppError) -> Self {
        PageError(error)
    }
}

impl From<AuthError> for PageError {
    fn from(error: AuthError) -> Self {
        PageError(error.into())
    }
}

impl<'r> Responder<'r, 'static> for PageError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        // For the error log, which writes down causes; the page shows none.
        note_answered(req, &self.0);
        error_page(&self.0.problem(), signed_in(req), req)
    }
}
