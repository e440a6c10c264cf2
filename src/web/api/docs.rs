//! The API's documentation: the OpenAPI document, and its reference page.

use rocket::http::{ContentType, Header};
use rocket::{Responder, State, get};

use super::reference::ApiDocs;
use crate::web::headers::PAGE_CSP;

/// The OpenAPI document
///
/// This API described in OpenAPI 3.1: what `/api/docs` shows, for client generators and tools.
#[utoipa::path(
    context_path = "/api",
    tag = "documentation",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json",
               body = Object)),
    security(()),
)]
#[get("/openapi.json")]
pub fn openapi_json(docs: &State<ApiDocs>) -> (ContentType, String) {
    (ContentType::JSON, docs.json.clone())
}

/// A page, with the policy every page has (this one is under `/api`, where the page headers
/// are not added).
#[derive(Responder)]
#[response(content_type = "html")]
pub struct ReferenceHtml {
    html: String,
    csp: Header<'static>,
}

/// The API reference
///
/// This document as a page to read: every endpoint with its parameters, bodies, statuses and
/// examples.
#[utoipa::path(
    context_path = "/api",
    tag = "documentation",
    responses((status = 200, description = "The reference page", content_type = "text/html",
               body = String)),
    security(()),
)]
#[get("/docs")]
pub fn reference(docs: &State<ApiDocs>) -> ReferenceHtml {
    ReferenceHtml {
        html: docs.html.clone(),
        csp: Header::new("Content-Security-Policy", PAGE_CSP),
    }
}
