//! Server-rendered pages (Askama templates under `templates/`): the whole application of the
//! original example for browsers without a JavaScript framework.
//!
//! A page behind [`Viewer`] or [`AdminViewer`] never renders without a live session: the guard
//! fails, and [`error_response`] answers `303 See Other` to `/login?next=<the page>`.

use askama::Template;
use rocket::form::FromForm;
use rocket::http::{CookieJar, Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::content::RawHtml;
use rocket::response::{self, Redirect, Responder};
use rocket::{Route, State, get, post, routes};

use crate::auth::guards::{AdminUser, AuthUser, Authenticated};
use crate::auth::{Auth, AuthError, ClientInfo, Login, Principal};
use crate::body::FormBody;
use crate::cookies::CookiePolicy;
use crate::csrf::{self, Csrf, LoginForm, RequestSite, SessionForm};
use crate::error::{AppError, managed};
use crate::sample::{DEFAULT_EXAMPLE, SampleError, double_text};

/// Everything mounted at `/`.
pub fn routes() -> Vec<Route> {
    routes![
        login_page,
        login_submit,
        home,
        user_content,
        user_content_submit,
        admin_content,
        admin_content_submit,
        denied,
        logout_page,
        logout_submit,
    ]
}

/// A rendered page and its status.
pub(crate) type Page = (Status, RawHtml<String>);

/// What the shared layout (`base.html`) shows: who is signed in, and their CSRF token for scripts.
pub struct Layout {
    pub(crate) user: Option<Principal>,
    pub(crate) csrf_token: Option<String>,
}

impl Layout {
    /// The stylesheet's fingerprinted URL (the same for the life of the binary).
    pub fn stylesheet(&self) -> &'static str {
        static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        URL.get_or_init(|| crate::assets::url("style.css"))
    }

    fn anonymous() -> Layout {
        Layout {
            user: None,
            csrf_token: None,
        }
    }

    fn for_user(principal: Principal, csrf: &Csrf) -> Layout {
        Layout {
            csrf_token: Some(csrf.session_token(&principal.session_id)),
            user: Some(principal),
        }
    }
}

/// A signed-in user looking at a page, with what the layout needs.
pub struct Viewer {
    pub(crate) principal: Principal,
    pub(crate) layout: Layout,
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
        Err(e) => e.fail(req),
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
pub struct AdminViewer(pub(crate) Viewer);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AdminViewer {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AppError> {
        viewer(req, |AdminUser(principal)| principal)
            .await
            .map(AdminViewer)
    }
}

/// Renders a template with `status`, turning a template failure into a logged 500.
pub(crate) fn render(status: Status, page: &impl Template) -> Result<Page, AppError> {
    page.render()
        .map(|html| (status, RawHtml(html)))
        .map_err(|e| AppError::Internal(format!("template failed: {e}")))
}

// ----- login -----

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    layout: Layout,
    username: &'a str,
    next: &'a str,
    csrf_token: String,
    error: Option<&'a str>,
}

/// The only message a failed login shows: it does not say which part was wrong.
const LOGIN_FAILED: &str = "Invalid username or password.";

/// Longest `next` accepted; anything longer is not one of our pages.
const MAX_NEXT_LEN: usize = 2048;

/// `next` when it is a path on this site, so a login link cannot send the user elsewhere: it
/// must start with a single `/` (`//host` and `/\host` are other sites to a browser) and be a
/// well-formed URI path and query (RFC 3986 characters only, `%` only as an escape), so the
/// redirect to it is exactly what was asked for.
pub fn local_path(next: &str) -> Option<&str> {
    let bytes = next.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, &b)| match b {
        b'%' => {
            bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
        }
        _ => b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?".contains(&b),
    });
    let local = well_formed
        && next.starts_with('/')
        && !next.starts_with("//")
        && next.len() <= MAX_NEXT_LEN;
    local.then_some(next)
}

/// `/login?next=<path>`, for a page that needs a signed-in user.
fn login_location(next: &str) -> String {
    if local_path(next).is_none() {
        return "/login".into();
    }
    let mut location = String::from("/login?next=");
    for byte in next.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            location.push(byte as char);
        } else {
            location.push_str(&format!("%{byte:02X}"));
        }
    }
    location
}

/// The browser's side of a page request: its cookie jar, with the cookie policy and CSRF keys
/// that the login and logout pages work with.
pub(crate) struct Browser<'r> {
    jar: &'r CookieJar<'r>,
    policy: &'r CookiePolicy,
    csrf: &'r Csrf,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Browser<'r> {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AppError> {
        match (managed::<CookiePolicy>(req), managed::<Csrf>(req)) {
            (Ok(policy), Ok(csrf)) => Outcome::Success(Browser {
                jar: req.cookies(),
                policy,
                csrf,
            }),
            (Err(e), _) | (_, Err(e)) => e.fail(req),
        }
    }
}

impl Browser<'_> {
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

    /// Sets the cookies of a new login. They replace whatever the browser had, so nothing
    /// planted before the login is ever adopted.
    fn start_session(&self, login: &Login) {
        let csrf_token = self.csrf.session_token(&login.principal.session_id);
        self.policy
            .set_session(self.jar, &login.access, &login.refresh, &csrf_token);
    }

    /// Deletes every cookie a login set.
    pub(crate) fn end_session(&self) {
        self.policy.clear_session(self.jar);
    }
}

#[get("/login?<next>")]
fn login_page(next: Option<&str>, browser: Browser<'_>) -> Result<Page, AppError> {
    browser.login_form(Status::Ok, "", next, None)
}

#[derive(FromForm)]
struct LoginFields {
    username: String,
    password: String,
    next: Option<String>,
}

/// What a login form submission gets.
#[derive(Responder)]
enum LoginAnswer {
    /// Signed in: on to `next`.
    SignedIn(Redirect),
    /// The form again, with a message.
    Form(Page),
    /// Too many failed attempts: the form with `Retry-After`.
    Throttled(Page, Header<'static>),
}

// `next` comes as a form field (the login page's hidden input) or, from other forms, in the query.
#[post("/login?<next>", data = "<form>")]
async fn login_submit(
    next: Option<&str>,
    form: LoginForm<LoginFields>,
    client: ClientInfo,
    browser: Browser<'_>,
    auth: &State<Auth>,
) -> Result<LoginAnswer, AppError> {
    let LoginFields {
        username,
        password,
        next: next_field,
    } = form.0;
    let next = next_field.or_else(|| next.map(str::to_owned));
    match auth.login(username.clone(), password, client).await {
        Ok(login) => {
            browser.start_session(&login);
            let target = next.as_deref().and_then(local_path).unwrap_or("/");
            Ok(LoginAnswer::SignedIn(Redirect::to(target.to_owned())))
        }
        Err(AuthError::InvalidCredentials) => Ok(LoginAnswer::Form(browser.login_form(
            Status::Unauthorized,
            &username,
            next.as_deref(),
            Some(LOGIN_FAILED),
        )?)),
        Err(AuthError::Throttled { retry_after }) => Ok(LoginAnswer::Throttled(
            browser.login_form(
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

/// What a throttled form says: when to try again, in words.
pub(crate) fn throttled_message(retry_after: u64) -> String {
    let wait = if retry_after > 90 {
        format!("{} minutes", retry_after.div_ceil(60))
    } else {
        format!("{retry_after} seconds")
    };
    format!("Too many failed attempts. Try again in {wait}.")
}

// ----- signed-in pages -----

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    layout: &'a Layout,
    principal: &'a Principal,
}

#[get("/")]
fn home(viewer: Viewer) -> Result<Page, AppError> {
    render(
        Status::Ok,
        &HomePage {
            layout: &viewer.layout,
            principal: &viewer.principal,
        },
    )
}

#[derive(Template)]
#[template(path = "content.html")]
struct ContentPage<'a> {
    layout: &'a Layout,
    title: &'a str,
    action: &'a str,
    value: &'a str,
    result: Option<&'a str>,
    error: Option<&'a str>,
}

#[derive(FromForm)]
struct SampleFields {
    example: String,
}

const USER_CONTENT: (&str, &str) = ("User content", "/user-content");
const ADMIN_CONTENT: (&str, &str) = ("Admin content", "/admin-content");

/// The sample form, prefilled with the original's 123.
fn sample_form(viewer: &Viewer, (title, action): (&str, &str)) -> Result<Page, AppError> {
    render(
        Status::Ok,
        &ContentPage {
            layout: &viewer.layout,
            title,
            action,
            value: DEFAULT_EXAMPLE,
            result: None,
            error: None,
        },
    )
}

/// The sample form after a submission: the doubled value, or why it cannot be doubled (422).
fn sample_result(
    viewer: &Viewer,
    (title, action): (&str, &str),
    fields: &SampleFields,
) -> Result<Page, AppError> {
    let entered = fields.example.trim();
    let (status, value, result, error) = match double_text(entered) {
        Ok(doubled) => (Status::Ok, doubled.clone(), Some(doubled), None),
        Err(e) => (
            Status::UnprocessableEntity,
            entered.to_owned(),
            None,
            Some(match e {
                SampleError::NotANumber => "Enter a number, such as 123 or 1.5.",
                SampleError::OutOfRange => {
                    "That number is out of range: the value and its double must fit in a 64-bit \
                     floating-point number, and a value that is not 0 must not round to 0."
                }
            }),
        ),
    };
    render(
        status,
        &ContentPage {
            layout: &viewer.layout,
            title,
            action,
            value: &value,
            result: result.as_deref(),
            error,
        },
    )
}

#[get("/user-content")]
fn user_content(viewer: Viewer) -> Result<Page, AppError> {
    sample_form(&viewer, USER_CONTENT)
}

#[post("/user-content", data = "<form>")]
fn user_content_submit(viewer: Viewer, form: SessionForm<SampleFields>) -> Result<Page, AppError> {
    sample_result(&viewer, USER_CONTENT, &form.0)
}

#[get("/admin-content")]
fn admin_content(admin: AdminViewer) -> Result<Page, AppError> {
    sample_form(&admin.0, ADMIN_CONTENT)
}

#[post("/admin-content", data = "<form>")]
fn admin_content_submit(
    admin: AdminViewer,
    form: SessionForm<SampleFields>,
) -> Result<Page, AppError> {
    sample_result(&admin.0, ADMIN_CONTENT, &form.0)
}

#[derive(Template)]
#[template(path = "denied.html")]
struct DeniedPage<'a> {
    layout: &'a Layout,
    reason: Option<&'a str>,
}

#[get("/denied")]
fn denied(viewer: Viewer) -> Result<Page, AppError> {
    render(
        Status::Forbidden,
        &DeniedPage {
            layout: &viewer.layout,
            reason: None,
        },
    )
}

// ----- logout -----

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage<'a> {
    layout: &'a Layout,
}

#[get("/logout")]
fn logout_page(viewer: Viewer) -> Result<Page, AppError> {
    render(
        Status::Ok,
        &LogoutPage {
            layout: &viewer.layout,
        },
    )
}

#[derive(FromForm)]
struct LogoutFields {
    csrf_token: Option<String>,
}

/// Ends the login (server side, like the API's logout) and deletes every cookie login set.
/// Works for anyone with cookies: stale cookies of an ended session are simply deleted.
#[post("/logout", data = "<form>")]
async fn logout_submit(
    who: Result<Authenticated, AppError>,
    form: Option<FormBody<LogoutFields>>,
    site: RequestSite,
    browser: Browser<'_>,
    auth: &State<Auth>,
) -> Result<Redirect, AppError> {
    match who {
        Ok(who) => {
            let token = form.and_then(|form| form.0.csrf_token).unwrap_or_default();
            browser.csrf.check_form(&who, &token)?;
            match auth.logout(&who.principal).await {
                Ok(()) | Err(AuthError::SessionEnded) => {}
                Err(e) => return Err(e.into()),
            }
        }
        // A forged request changes nothing, and a failure on our side is not hidden.
        Err(e @ (AppError::CsrfRejected(_) | AppError::Internal(_))) => return Err(e),
        // Another site may not even delete cookies (a cross-site top-level POST may set them).
        Err(_) if site.cross_site => return Err(csrf::refused()),
        // No live login behind these cookies: nothing to revoke, only cookies to delete.
        Err(_) => {}
    }
    browser.end_session();
    Ok(Redirect::to("/login"))
}

// ----- errors -----

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: &'a Layout,
    code: u16,
    name: &'a str,
    description: String,
}

/// The response to a failed page request: the login redirect when the caller is not signed
/// in, the access-denied page for a signed-in user without the rights, an error page otherwise.
pub fn error_response(
    error: &AppError,
    user: Option<Principal>,
    req: &Request<'_>,
) -> response::Result<'static> {
    if error.is_sign_in_failure() {
        let mut next = req.uri().path().to_string();
        if req.method() == rocket::http::Method::Get
            && let Some(query) = req.uri().query()
        {
            next = format!("{next}?{query}");
        }
        return Redirect::to(login_location(&next)).respond_to(req);
    }
    let layout = match (user, managed::<Csrf>(req)) {
        (Some(principal), Ok(csrf)) => Layout::for_user(principal, csrf),
        _ => Layout::anonymous(),
    };
    let status = error.status();
    let page = match error {
        AppError::Forbidden(reason) => render(
            status,
            &DeniedPage {
                layout: &layout,
                reason: Some(reason),
            },
        ),
        _ => render(
            status,
            &ErrorPage {
                layout: &layout,
                code: status.code,
                name: status.reason().unwrap_or("Error"),
                description: error.description(),
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
    page.respond_to(req)
}
