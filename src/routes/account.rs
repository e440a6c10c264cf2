//! A signed-in user's own account pages: their sessions (logins) and their password.

use askama::Template;
use rocket::form::FromForm;
use rocket::http::{Header, Status};
use rocket::response::Redirect;
use rocket::{Responder, Route, State, get, post, routes};

use super::pages::{Browser, Layout, Page, Viewer, render, throttled_message};
use crate::auth::{Auth, AuthError, ClientInfo};
use crate::csrf::SessionForm;
use crate::error::AppError;
use crate::routes::minutes;
use crate::store::Session;

pub fn routes() -> Vec<Route> {
    routes![
        sessions_page,
        end_session,
        end_other_sessions,
        end_all_sessions,
        password_page,
        password_submit
    ]
}

// ----- sessions -----

/// One login as the sessions page lists it.
struct SessionRow {
    id: String,
    created: String,
    last_used: String,
    user_agent: String,
    address: String,
    current: bool,
}

impl SessionRow {
    fn new(session: Session, current_id: &str) -> SessionRow {
        SessionRow {
            current: session.id == current_id,
            created: minutes(session.created_at),
            last_used: minutes(session.last_used_at),
            user_agent: session.user_agent.unwrap_or_else(|| "unknown".into()),
            address: session.address.unwrap_or_else(|| "unknown".into()),
            id: session.id,
        }
    }
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage<'a> {
    layout: &'a Layout,
    sessions: Vec<SessionRow>,
}

#[get("/sessions")]
async fn sessions_page(viewer: Viewer, auth: &State<Auth>) -> Result<Page, AppError> {
    let sessions = auth.sessions(&viewer.principal).await?;
    let current = viewer.principal.session_id.as_str();
    render(
        Status::Ok,
        &SessionsPage {
            layout: &viewer.layout,
            sessions: sessions
                .into_iter()
                .map(|s| SessionRow::new(s, current))
                .collect(),
        },
    )
}

#[derive(FromForm)]
struct SessionFields {
    id: String,
}

/// Ends one session. Ending the one in use is a logout: the cookies go and the login page follows.
#[post("/sessions/end", data = "<form>")]
async fn end_session(
    viewer: Viewer,
    form: SessionForm<SessionFields>,
    browser: Browser<'_>,
    auth: &State<Auth>,
) -> Result<Redirect, AppError> {
    let id = form.0.id;
    auth.end_session(&viewer.principal, &id).await?;
    if id == viewer.principal.session_id {
        browser.end_session();
        return Ok(Redirect::to("/login"));
    }
    Ok(Redirect::to("/sessions"))
}

/// The form of the "log out everywhere" buttons carries only its CSRF token (which
/// [`SessionForm`] has checked before this is parsed).
#[derive(FromForm)]
struct NoFields {
    #[field(name = "csrf_token")]
    _csrf_token: Option<String>,
}

/// "Log out everywhere else".
#[post("/sessions/end-others", data = "<_form>")]
async fn end_other_sessions(
    viewer: Viewer,
    _form: SessionForm<NoFields>,
    auth: &State<Auth>,
) -> Result<Redirect, AppError> {
    auth.end_sessions(&viewer.principal, true).await?;
    Ok(Redirect::to("/sessions"))
}

/// "Log out everywhere", this browser included.
#[post("/sessions/end-all", data = "<_form>")]
async fn end_all_sessions(
    viewer: Viewer,
    _form: SessionForm<NoFields>,
    browser: Browser<'_>,
    auth: &State<Auth>,
) -> Result<Redirect, AppError> {
    auth.end_sessions(&viewer.principal, false).await?;
    browser.end_session();
    Ok(Redirect::to("/login"))
}

// ----- password -----

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage<'a> {
    layout: &'a Layout,
    error: Option<&'a str>,
    done: Option<&'a str>,
}

#[get("/password")]
fn password_page(viewer: Viewer) -> Result<Page, AppError> {
    render(
        Status::Ok,
        &PasswordPage {
            layout: &viewer.layout,
            error: None,
            done: None,
        },
    )
}

#[derive(FromForm)]
struct PasswordFields {
    current_password: String,
    new_password: String,
    repeat_password: String,
}

#[derive(Responder)]
enum PasswordAnswer {
    Page(Page),
    Throttled(Page, Header<'static>),
}

#[post("/password", data = "<form>")]
async fn password_submit(
    viewer: Viewer,
    form: SessionForm<PasswordFields>,
    client: ClientInfo,
    auth: &State<Auth>,
) -> Result<PasswordAnswer, AppError> {
    let fields = form.0;
    let page = |status, error: Option<&str>, done: Option<&str>| {
        render(
            status,
            &PasswordPage {
                layout: &viewer.layout,
                error,
                done,
            },
        )
    };
    if fields.new_password != fields.repeat_password {
        let error = Some("The new password and its repetition differ.");
        return Ok(PasswordAnswer::Page(page(
            Status::UnprocessableEntity,
            error,
            None,
        )?));
    }
    let changed = auth
        .change_password(
            &viewer.principal,
            &fields.current_password,
            &fields.new_password,
            &client,
        )
        .await;
    Ok(match changed {
        Ok(ended) => {
            let done = format!("Your password was changed. {ended} other session(s) ended.");
            PasswordAnswer::Page(page(Status::Ok, None, Some(&done))?)
        }
        Err(AuthError::Throttled { retry_after }) => PasswordAnswer::Throttled(
            page(
                Status::TooManyRequests,
                Some(&throttled_message(retry_after)),
                None,
            )?,
            Header::new("Retry-After", retry_after.to_string()),
        ),
        Err(e @ (AuthError::WrongPassword | AuthError::Refused(_))) => {
            let error = AppError::from(e);
            let message = capitalized(&error.description());
            PasswordAnswer::Page(page(error.status(), Some(&message), None)?)
        }
        Err(e) => return Err(e.into()),
    })
}

/// A message as a sentence: "The current password is not correct."
fn capitalized(message: &str) -> String {
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
