//! Server-rendered pages (Askama templates under `templates/`).

use askama::Template;
use rocket::http::Status;
use rocket::response::content::RawHtml;
use rocket::{Route, get, routes};

use crate::error::AppError;

/// Everything mounted at `/`.
pub fn routes() -> Vec<Route> {
    routes![index]
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    code: u16,
    name: &'a str,
    description: String,
}

/// Renders a template, turning a template failure into a logged 500.
fn render(page: &impl Template) -> Result<RawHtml<String>, AppError> {
    page.render()
        .map(RawHtml)
        .map_err(|e| AppError::Internal(format!("template failed: {e}")))
}

#[get("/")]
fn index() -> Result<RawHtml<String>, AppError> {
    render(&IndexPage)
}

/// The HTML page for an error, with its status.
pub fn error_page(error: &AppError) -> (Status, RawHtml<String>) {
    let status = error.status();
    if let AppError::Internal(cause) = error {
        log::error!("internal error: {cause}");
    }
    let page = ErrorPage {
        code: status.code,
        name: status.reason().unwrap_or("Error"),
        description: error.description(),
    };
    // The error page has no inputs that can fail to render; fall back to plain text regardless.
    let html = page
        .render()
        .unwrap_or_else(|_| format!("<!DOCTYPE html><title>{0}</title><h1>{0}</h1>", status.code));
    (status, RawHtml(html))
}
