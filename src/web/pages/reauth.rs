//! Entering the password again (`/reauth`): the page sensitive actions send the browser to when
//! the password was entered too long ago, and back to where it came from.

use askama::Template;
use rocket::form::FromForm;
use rocket::http::{Header, Status};
use rocket::response::Redirect;
use rocket::{Responder, State, get, post};

use super::error::PageResult;
use super::layout::{Layout, Page, Viewer, render, throttled_message};
use super::login::CookieAccess;
use super::next::local_path;
use crate::auth::{Auth, AuthError, ClientInfo};
use crate::web::forms::SessionForm;

#[derive(Template)]
#[template(path = "reauth.html")]
struct ReauthPage<'a> {
    layout: &'a Layout,
    next: &'a str,
    /// The account has a second factor: ask for a code too.
    with_code: bool,
    error: Option<&'a str>,
}

fn page(
    viewer: &Viewer,
    status: Status,
    next: Option<&str>,
    with_code: bool,
    error: Option<&str>,
) -> PageResult {
    Ok(render(
        status,
        &ReauthPage {
            layout: &viewer.layout,
            next: next.and_then(local_path).unwrap_or("/"),
            with_code,
            error,
        },
    )?)
}

async fn has_second_factor(auth: &Auth, viewer: &Viewer) -> Result<bool, AuthError> {
    Ok(auth
        .totp_status(&viewer.principal)
        .await?
        .enabled_at
        .is_some())
}

#[get("/reauth?<next>")]
pub async fn reauth_page(viewer: Viewer, next: Option<&str>, auth: &State<Auth>) -> PageResult {
    let with_code = has_second_factor(auth, &viewer).await?;
    page(&viewer, Status::Ok, next, with_code, None)
}

#[derive(FromForm)]
pub struct ReauthFields {
    password: String,
    code: Option<String>,
    next: Option<String>,
}

#[derive(Responder)]
pub enum ReauthAnswer {
    Done(Redirect),
    Form(Page),
    Throttled(Page, Header<'static>),
}

/// The password (and code) again: a fresh access cookie, and back to `next`.
#[post("/reauth", data = "<form>")]
pub async fn reauth_submit(
    viewer: Viewer,
    form: SessionForm<ReauthFields>,
    client: ClientInfo,
    cookies: CookieAccess<'_>,
    auth: &State<Auth>,
) -> PageResult<ReauthAnswer> {
    let ReauthFields {
        password,
        code,
        next,
    } = form.0;
    let next = next.as_deref();
    let code = code.as_deref().filter(|c| !c.trim().is_empty());
    let with_code = has_second_factor(auth, &viewer).await?;
    let again = |status, error: &str| page(&viewer, status, next, with_code, Some(error));
    match auth
        .reauth(&viewer.principal, password, code, &client)
        .await
    {
        Ok(access) => {
            cookies.policy.set_access(cookies.jar, &access);
            let target = next.and_then(local_path).unwrap_or("/");
            Ok(ReauthAnswer::Done(Redirect::to(target.to_owned())))
        }
        Err(AuthError::WrongPassword) => Ok(ReauthAnswer::Form(again(
            Status::Forbidden,
            "The password is not correct.",
        )?)),
        Err(AuthError::MfaRequired) => Ok(ReauthAnswer::Form(again(
            Status::Unauthorized,
            "Enter the code from your authenticator app, or a recovery code.",
        )?)),
        Err(AuthError::WrongCode) => Ok(ReauthAnswer::Form(again(
            Status::Unauthorized,
            "That code is not correct, or was used already.",
        )?)),
        Err(AuthError::Throttled { retry_after }) => Ok(ReauthAnswer::Throttled(
            again(Status::TooManyRequests, &throttled_message(retry_after))?,
            Header::new("Retry-After", retry_after.to_string()),
        )),
        Err(e) => Err(e.into()),
    }
}
