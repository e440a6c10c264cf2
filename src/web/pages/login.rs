//! The login page: a form whose pre-session CSRF token is bound to a nonce cookie.

use askama::Template;
use rocket::form::FromForm;
use rocket::http::{CookieJar, Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::Redirect;
use rocket::{Responder, State, get, post};

use super::error::PageResult;
use super::layout::{Layout, Page, render, throttled_message};
use super::next::local_path;
use crate::auth::{Auth, AuthError, ClientInfo, Login, LoginStep};
use crate::web::cookies::CookiePolicy;
use crate::web::csrf::Csrf;
use crate::web::error::AppError;
use crate::web::failure::fail;
use crate::web::forms::LoginForm;
use crate::web::state::managed;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    layout: Layout,
    username: &'a str,
    next: &'a str,
    csrf_token: String,
    error: Option<&'a str>,
}

/// The second step of a login with a second factor: the code. It holds no session: only the
/// step token, which completes this one login and expires in minutes.
#[derive(Template)]
#[template(path = "login_code.html")]
struct CodePage<'a> {
    layout: Layout,
    step_token: &'a str,
    next: &'a str,
    csrf_token: String,
    error: Option<&'a str>,
}

/// The only message a failed login shows: it does not say which part was wrong.
const LOGIN_FAILED: &str = "Invalid username or password.";
/// A wrong code, or one used already.
const CODE_FAILED: &str = "That code is not correct, or was used already. Try the next one.";
/// A step token that expired, was used, or was altered.
const STEP_EXPIRED: &str = "That sign-in took too long or was completed already. Sign in again.";

/// The browser's cookie jar, with the cookie policy and CSRF keys that the login and logout pages
/// work with.
pub struct CookieAccess<'r> {
    pub jar: &'r CookieJar<'r>,
    pub policy: &'r CookiePolicy,
    pub csrf: &'r Csrf,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CookieAccess<'r> {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AppError> {
        match (managed::<CookiePolicy>(req), managed::<Csrf>(req)) {
            (Ok(policy), Ok(csrf)) => Outcome::Success(CookieAccess {
                jar: req.cookies(),
                policy,
                csrf,
            }),
            (Err(e), _) | (_, Err(e)) => fail(req, e),
        }
    }
}

impl CookieAccess<'_> {
    /// The login form with `status`, the typed username, a local `next` and an error message.
    /// Its pre-session token is bound to the browser's nonce cookie, made when it has none.
    fn login_form(
        &self,
        status: Status,
        username: &str,
        next: Option<&str>,
        error: Option<&str>,
    ) -> Result<Page, AppError> {
        let nonce = match self.policy.login_nonce(self.jar) {
            Some(nonce) if Csrf::is_nonce(nonce) => nonce.to_owned(),
            _ => {
                let nonce = Csrf::new_nonce();
                self.policy.set_login_nonce(self.jar, &nonce);
                nonce
            }
        };
        render(
            status,
            &LoginPage {
                layout: Layout::anonymous(),
                username,
                next: next.and_then(local_path).unwrap_or(""),
                csrf_token: self.csrf.login_token(&nonce),
                error,
            },
        )
    }

    /// The code form of a login's second step, with the same pre-session token as the login
    /// form.
    fn code_form(
        &self,
        status: Status,
        step_token: &str,
        next: Option<&str>,
        error: Option<&str>,
    ) -> Result<Page, AppError> {
        let nonce = self.policy.login_nonce(self.jar).unwrap_or_default();
        render(
            status,
            &CodePage {
                layout: Layout::anonymous(),
                step_token,
                next: next.and_then(local_path).unwrap_or(""),
                csrf_token: self.csrf.login_token(nonce),
                error,
            },
        )
    }

    /// Sets the cookies of a new login. They replace whatever the browser had, so nothing
    /// planted before the login is ever adopted.
    fn start_session(&self, login: &Login) {
        let csrf_token = self.csrf.session_token(&login.principal.session_id);
        self.policy
            .set_session(self.jar, &login.access, &login.refresh, &csrf_token);
    }

    /// Deletes every cookie a login set.
    pub fn clear_session(&self) {
        self.policy.clear_session(self.jar);
    }
}

#[get("/login?<next>")]
pub fn login_page(next: Option<&str>, cookies: CookieAccess<'_>) -> PageResult {
    Ok(cookies.login_form(Status::Ok, "", next, None)?)
}

#[derive(FromForm)]
pub struct LoginFields {
    username: String,
    password: String,
    next: Option<String>,
}

/// What a login form submission gets.
#[derive(Responder)]
pub enum LoginAnswer {
    /// Signed in: on to `next`.
    SignedIn(Redirect),
    /// The form again, with a message.
    Form(Page),
    /// Too many failed attempts: the form with `Retry-After`.
    Throttled(Page, Header<'static>),
}

// `next` comes as a form field (the login page's hidden input) or, from other forms, in the query.
#[post("/login?<next>", data = "<form>")]
pub async fn login_submit(
    next: Option<&str>,
    form: LoginForm<LoginFields>,
    client: ClientInfo,
    cookies: CookieAccess<'_>,
    auth: &State<Auth>,
) -> PageResult<LoginAnswer> {
    let LoginFields {
        username,
        password,
        next: next_field,
    } = form.0;
    let next = next_field.or_else(|| next.map(str::to_owned));
    match auth.begin_login(&username, password, client).await {
        Ok(LoginStep::Done(login)) => Ok(signed_in(&cookies, &login, next.as_deref())),
        Ok(LoginStep::Code { step_token }) => Ok(LoginAnswer::Form(cookies.code_form(
            Status::Ok,
            &step_token.token,
            next.as_deref(),
            None,
        )?)),
        Err(AuthError::InvalidCredentials) => Ok(LoginAnswer::Form(cookies.login_form(
            Status::Unauthorized,
            &username,
            next.as_deref(),
            Some(LOGIN_FAILED),
        )?)),
        Err(AuthError::Throttled { retry_after }) => Ok(LoginAnswer::Throttled(
            cookies.login_form(
                Status::TooManyRequests,
                &username,
                next.as_deref(),
                Some(&throttled_message(retry_after)),
            )?,
            Header::new("Retry-After", retry_after.to_string()),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Signed in: the cookies, then on to `next` (a local path) or home.
fn signed_in(cookies: &CookieAccess<'_>, login: &Login, next: Option<&str>) -> LoginAnswer {
    cookies.start_session(login);
    let target = next.and_then(local_path).unwrap_or("/");
    LoginAnswer::SignedIn(Redirect::to(target.to_owned()))
}

#[derive(FromForm)]
pub struct CodeFields {
    step: String,
    code: String,
    next: Option<String>,
}

/// The second step: the code (from the app, or a recovery code) with the step token.
#[post("/login/code", data = "<form>")]
pub async fn code_submit(
    form: LoginForm<CodeFields>,
    client: ClientInfo,
    cookies: CookieAccess<'_>,
    auth: &State<Auth>,
) -> PageResult<LoginAnswer> {
    let CodeFields { step, code, next } = form.0;
    let next = next.as_deref();
    match auth.finish_login(&step, &code, client).await {
        Ok(login) => Ok(signed_in(&cookies, &login, next)),
        Err(AuthError::WrongCode) => Ok(LoginAnswer::Form(cookies.code_form(
            Status::Unauthorized,
            &step,
            next,
            Some(CODE_FAILED),
        )?)),
        Err(AuthError::Throttled { retry_after }) => Ok(LoginAnswer::Throttled(
            cookies.code_form(
                Status::TooManyRequests,
                &step,
                next,
                Some(&throttled_message(retry_after)),
            )?,
            Header::new("Retry-After", retry_after.to_string()),
        )),
        Err(AuthError::Token(_) | AuthError::InvalidCredentials) => Ok(LoginAnswer::Form(
            cookies.login_form(Status::Unauthorized, "", next, Some(STEP_EXPIRED))?,
        )),
        Err(e) => Err(e.into()),
    }
}
