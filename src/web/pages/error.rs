//! The pages' error answer: the login page for a caller who is not signed in, the access-denied
//! page for one without the rights, an error page otherwise. Used by the catcher and by page
//! handlers that fail.

use askama::Template;
use rocket::http::Method;
use rocket::request::Request;
use rocket::response::content::RawHtml;
use rocket::response::{self, Redirect, Responder};

use super::layout::{Layout, Page, render};
use super::next::login_location;
use crate::auth::{AuthError, Principal};
use crate::web::csrf::Csrf;
use crate::web::error::{AppError, Problem, ProblemKind, problem_headers};
use crate::web::failure::note_answered;
use crate::web::guards::signed_in;
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
    if problem.kind == ProblemKind::SignIn {
        let mut next = req.uri().path().to_string();
        if req.method() == Method::Get
            && let Some(query) = req.uri().query()
        {
            next = format!("{next}?{query}");
        }
        return Redirect::to(login_location(&next)).respond_to(req);
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
