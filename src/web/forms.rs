//! Form bodies of our own pages, checked for CSRF before any field is used.

use rocket::data::{self, Data, FromData};
use rocket::form::FromForm;
use rocket::request::Request;

use super::body::{outcome, parse_form, read_form_text};
use super::cookies::CookiePolicy;
use super::csrf::{Csrf, refused};
use super::error::AppError;
use super::guards::{Authenticated, Via, authenticated};
use super::origin::is_cross_site;
use super::state::managed;

/// The `csrf_token` field of a form body (empty when there is none).
pub fn form_token(body: &str) -> String {
    #[derive(FromForm)]
    struct Token {
        csrf_token: Option<String>,
    }
    parse_form::<Token>(body)
        .ok()
        .and_then(|t| t.csrf_token)
        .unwrap_or_default()
}

/// The check for a form posted by `who`: the session's token, unless the request was
/// authenticated by an `Authorization` header, which no other site can make a browser send.
pub fn check_form(csrf: &Csrf, who: &Authenticated, presented: &str) -> Result<(), AppError> {
    match who.via {
        Via::Bearer => Ok(()),
        Via::Cookies => csrf.check_session(&who.principal.session_id, presented),
    }
}

/// A form posted by a signed-in user from one of our pages. Its `csrf_token` field is checked
/// against the session the request guard authenticated, before any other field is looked at;
/// then the body is parsed into `T`. Requests authenticated by an `Authorization` header need
/// no token.
pub struct SessionForm<T>(pub T);

#[rocket::async_trait]
impl<'r, T> FromData<'r> for SessionForm<T>
where
    T: for<'a> FromForm<'a> + Send + 'static,
{
    type Error = AppError;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let checked = async {
            let body = read_form_text(req, data).await?;
            // The request guard has run (data guards run last), so this is its cached result.
            let who = authenticated(req).await?;
            check_form(managed::<Csrf>(req)?, &who, &form_token(&body))?;
            parse_form(&body)
        };
        outcome(req, checked.await.map(SessionForm))
    }
}

/// The login form: same-origin, with the pre-session token matching the browser's nonce cookie.
pub struct LoginForm<T>(pub T);

#[rocket::async_trait]
impl<'r, T> FromData<'r> for LoginForm<T>
where
    T: for<'a> FromForm<'a> + Send + 'static,
{
    type Error = AppError;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let checked = async {
            if is_cross_site(req) {
                return Err(refused());
            }
            let body = read_form_text(req, data).await?;
            let nonce = managed::<CookiePolicy>(req)?.login_nonce(req.cookies());
            managed::<Csrf>(req)?.check_login(nonce, &form_token(&body))?;
            parse_form(&body)
        };
        outcome(req, checked.await.map(LoginForm))
    }
}
