//! What every page shares: the layout (who is signed in, their CSRF token for scripts), the page
//! guards that build it, and rendering.

use askama::Template;
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::content::RawHtml;

use crate::auth::Principal;
use crate::web::csrf::Csrf;
use crate::web::error::AppError;
use crate::web::failure::fail;
use crate::web::guards::{AdminUser, AuthUser};
use crate::web::state::managed;

/// A rendered page and its status.
pub type Page = (Status, RawHtml<String>);

/// What the shared layout (`base.html`) shows: who is signed in, and their CSRF token for scripts.
pub struct Layout {
    pub user: Option<Principal>,
    pub csrf_token: Option<String>,
}

impl Layout {
    /// The stylesheet's fingerprinted URL (the same for the life of the binary).
    pub fn stylesheet(&self) -> &'static str {
        static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        URL.get_or_init(|| crate::web::assets::url("style.css"))
    }

    pub fn anonymous() -> Layout {
        Layout {
            user: None,
            csrf_token: None,
        }
    }

    pub fn for_user(principal: Principal, csrf: &Csrf) -> Layout {
        Layout {
            csrf_token: Some(csrf.session_token(&principal.session_id)),
            user: Some(principal),
        }
    }
}

/// A signed-in user looking at a page, with what the layout needs.
pub struct Viewer {
    pub principal: Principal,
    pub layout: Layout,
}

/// The page guards: the guard `G` decides who may see the page, then the layout is built for them.
async fn viewer<'r, G>(
    req: &'r Request<'_>,
    principal: impl FnOnce(G) -> Principal,
) -> Outcome<Viewer, AppError>
where
    G: FromRequest<'r, Error = AppError>,
{
    let principal = match G::from_request(req).await {
        Outcome::Success(guard) => principal(guard),
        Outcome::Error(e) => return Outcome::Error(e),
        Outcome::Forward(status) => return Outcome::Forward(status),
    };
    match managed::<Csrf>(req) {
        Ok(csrf) => Outcome::Success(Viewer {
            layout: Layout::for_user(principal.clone(), csrf),
            principal,
        }),
        Err(e) => fail(req, e),
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Viewer {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AppError> {
        viewer(req, |AuthUser(principal)| principal).await
    }
}

/// A signed-in administrator looking at a page.
pub struct AdminViewer(pub Viewer);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AdminViewer {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AppError> {
        viewer(req, |AdminUser(principal)| principal)
            .await
            .map(AdminViewer)
    }
}

/// Renders a template with `status`.
pub fn render(status: Status, page: &impl Template) -> Result<Page, AppError> {
    page.render()
        .map(|html| (status, RawHtml(html)))
        .map_err(|e| AppError::Template(std::sync::Arc::new(e)))
}

/// What a throttled form says: when to try again, in words.
pub fn throttled_message(retry_after: u64) -> String {
    let wait = if retry_after > 90 {
        format!("{} minutes", retry_after.div_ceil(60))
    } else {
        format!("{retry_after} seconds")
    };
    format!("Too many failed attempts. Try again in {wait}.")
}

/// A message as a sentence: "The current password is not correct."
pub fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut sentence: String = chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !sentence.ends_with('.') {
        sentence.push('.');
    }
    sentence
}

/// A time for people (`2026-11-29 03:04`, UTC), or a dash when there is none.
pub fn minutes_or_dash(unix: Option<i64>) -> String {
    unix.map_or_else(|| "–".to_owned(), crate::auth::minutes)
}
