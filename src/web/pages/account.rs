//! A signed-in user's own account pages: their sessions (logins) and their password.

use askama::Template;
use rocket::form::FromForm;
use rocket::http::{Header, Status};
use rocket::response::Redirect;
use rocket::{Responder, State, get, post};

use super::error::PageResult;
use super::layout::{Layout, Page, Viewer, render, sentence, throttled_message};
use super::login::CookieAccess;
use crate::auth::{Auth, AuthError, ClientInfo, describe_device, minutes};
use crate::store::Session;
use crate::web::error::AppError;
use crate::web::forms::SessionForm;

// ----- sessions -----

/// One login as the sessions page lists it.
struct SessionRow {
    id: String,
    created: String,
    last_used: String,
    /// The browser and system in words ("Chrome 156 on Linux"), else the user agent itself.
    device: String,
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
            device: session
                .user_agent
                .as_deref()
                .and_then(describe_device)
                .or_else(|| session.user_agent.clone())
                .unwrap_or_else(|| "unknown".into()),
            user_agent: session.user_agent.unwrap_or_default(),
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
pub async fn sessions_page(viewer: Viewer, auth: &State<Auth>) -> PageResult {
    let sessions = auth.sessions(&viewer.principal).await?;
    let current = viewer.principal.session_id.as_str();
    Ok(render(
        Status::Ok,
        &SessionsPage {
            layout: &viewer.layout,
            sessions: sessions
                .into_iter()
                .map(|s| SessionRow::new(s, current))
                .collect(),
        },
    )?)
}

#[derive(FromForm)]
pub struct SessionFields {
    id: String,
}

/// Ends one session. Ending the one in use is a logout: the cookies go and the login page follows.
#[post("/sessions/end", data = "<form>")]
pub async fn end_session(
    viewer: Viewer,
    form: SessionForm<SessionFields>,
    cookies: CookieAccess<'_>,
    client: ClientInfo,
    auth: &State<Auth>,
) -> PageResult<Redirect> {
    let id = form.0.id;
    auth.end_session(&viewer.principal, &id, &client).await?;
    if id == viewer.principal.session_id {
        cookies.clear_session();
        return Ok(Redirect::to("/login"));
    }
    Ok(Redirect::to("/sessions"))
}

/// The form of the "log out everywhere" buttons carries only its CSRF token (which
/// [`SessionForm`] has checked before this is parsed).
#[derive(FromForm)]
pub struct NoFields {
    #[field(name = "csrf_token")]
    _csrf_token: Option<String>,
}

/// "Log out everywhere else".
#[post("/sessions/end-others", data = "<_form>")]
pub async fn end_other_sessions(
    viewer: Viewer,
    _form: SessionForm<NoFields>,
    client: ClientInfo,
    auth: &State<Auth>,
) -> PageResult<Redirect> {
    auth.end_sessions(&viewer.principal, true, &client).await?;
    Ok(Redirect::to("/sessions"))
}

/// "Log out everywhere", this browser included.
#[post("/sessions/end-all", data = "<_form>")]
pub async fn end_all_sessions(
    viewer: Viewer,
    _form: SessionForm<NoFields>,
    cookies: CookieAccess<'_>,
    client: ClientInfo,
    auth: &State<Auth>,
) -> PageResult<Redirect> {
    auth.end_sessions(&viewer.principal, false, &client).await?;
    cookies.clear_session();
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

/// The form, once the password was entered recently (else `/reauth` first, and back here).
#[get("/password")]
pub fn password_page(viewer: Viewer, auth: &State<Auth>) -> PageResult {
    auth.require_fresh(&viewer.principal)?;
    Ok(render(
        Status::Ok,
        &PasswordPage {
            layout: &viewer.layout,
            error: None,
            done: None,
        },
    )?)
}

#[derive(FromForm)]
pub struct PasswordFields {
    current_password: String,
    new_password: String,
    repeat_password: String,
}

#[derive(Responder)]
pub enum PasswordAnswer {
    Page(Page),
    Throttled(Page, Header<'static>),
}

#[post("/password", data = "<form>")]
pub async fn password_submit(
    viewer: Viewer,
    form: SessionForm<PasswordFields>,
    client: ClientInfo,
    auth: &State<Auth>,
) -> PageResult<PasswordAnswer> {
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
            fields.current_password,
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
        Err(e @ (AuthError::WrongPassword | AuthError::Password(_))) => {
            let problem = AppError::from(e).problem();
            let message = sentence(&problem.description);
            PasswordAnswer::Page(page(problem.status, Some(&message), None)?)
        }
        Err(e) => return Err(e.into()),
    })
}
