//! Logging out from a page: a confirmation, then the login ends on the server and its cookies go.

use askama::Template;
use rocket::form::FromForm;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{State, get, post};

use super::error::PageResult;
use super::layout::{Layout, Viewer, render};
use super::login::CookieAccess;
use crate::auth::{Auth, AuthError, ClientInfo};
use crate::web::body::FormBody;
use crate::web::csrf::refused;
use crate::web::error::AppError;
use crate::web::forms::check_form;
use crate::web::guards::Authenticated;
use crate::web::origin::RequestSite;

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage<'a> {
    layout: &'a Layout,
}

#[get("/logout")]
pub fn logout_page(viewer: Viewer) -> PageResult {
    Ok(render(
        Status::Ok,
        &LogoutPage {
            layout: &viewer.layout,
        },
    )?)
}

#[derive(FromForm)]
pub struct LogoutFields {
    csrf_token: Option<String>,
}

/// Ends the login (server side, like the API's logout) and deletes every cookie login set.
/// Works for anyone with cookies: stale cookies of an ended session are simply deleted.
#[post("/logout", data = "<form>")]
pub async fn logout_submit(
    who: Result<Authenticated, AppError>,
    form: Option<FormBody<LogoutFields>>,
    site: RequestSite,
    cookies: CookieAccess<'_>,
    client: ClientInfo,
    auth: &State<Auth>,
) -> PageResult<Redirect> {
    match who {
        Ok(who) => {
            let token = form.and_then(|form| form.0.csrf_token).unwrap_or_default();
            check_form(cookies.csrf, &who, &token)?;
            match auth.logout(&who.principal, &client).await {
                Ok(()) | Err(AuthError::SessionEnded) => {}
                Err(e) => return Err(e.into()),
            }
        }
        // A forged request changes nothing, and a failure on our side is not hidden.
        Err(e @ AppError::Csrf(_)) => return Err(e.into()),
        Err(e) if e.status().code >= 500 => return Err(e.into()),
        // Another site may not even delete cookies (a cross-site top-level POST may set them).
        Err(_) if site.cross_site => return Err(refused().into()),
        // No active login behind these cookies: nothing to revoke, only cookies to delete.
        Err(_) => {}
    }
    cookies.clear_session();
    Ok(Redirect::to("/login"))
}
