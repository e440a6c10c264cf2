//! Two-step sign-in on the pages (`/account/2fa`): set it up with a QR code rendered here as
//! SVG (no script), confirm it with a first code, see how many recovery codes are left, make
//! new ones, turn it off. The page itself needs a recent password, like every action on it.

use askama::Template;
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use rocket::form::FromForm;
use rocket::http::{Header, Status};
use rocket::{Responder, State, get, post};

use super::error::PageResult;
use super::layout::{Layout, Page, Viewer, minutes_or_dash, render, throttled_message};
use crate::auth::{Auth, AuthError, ClientInfo, TotpSetup, TotpStatus};
use crate::web::forms::SessionForm;

#[derive(Template)]
#[template(path = "two_factor.html")]
struct TwoFactorPage<'a> {
    layout: &'a Layout,
    status: TotpStatus,
    enabled_at: String,
    /// A setup waiting for its first code: the secret as text, and its QR code.
    setup: Option<SetupView>,
    /// Recovery codes just made: shown this once.
    recovery_codes: Vec<String>,
    error: Option<&'a str>,
    done: Option<&'a str>,
}

struct SetupView {
    secret: String,
    uri: String,
    /// Inline SVG, made here from the URI: trusted markup.
    qr_svg: String,
}

/// The URI as an SVG QR code, without the XML prolog (it goes inside the page).
fn qr_svg(uri: &str) -> String {
    let Ok(code) = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M) else {
        return String::new();
    };
    let svg = code
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build();
    match svg.split_once("?>") {
        Some((_, body)) => body.trim().to_owned(),
        None => svg,
    }
}

impl SetupView {
    fn new(setup: TotpSetup) -> SetupView {
        SetupView {
            qr_svg: qr_svg(&setup.uri),
            secret: setup.secret,
            uri: setup.uri,
        }
    }
}

/// What the page shows besides the state: a message, codes just made.
#[derive(Default)]
struct Shown<'a> {
    recovery_codes: Vec<String>,
    error: Option<&'a str>,
    done: Option<&'a str>,
}

async fn show(viewer: &Viewer, auth: &Auth, status: Status, shown: Shown<'_>) -> PageResult {
    let state = auth.totp_status(&viewer.principal).await?;
    let setup = auth
        .totp_pending(&viewer.principal)
        .await?
        .map(SetupView::new);
    Ok(render(
        status,
        &TwoFactorPage {
            layout: &viewer.layout,
            enabled_at: minutes_or_dash(state.enabled_at),
            status: state,
            setup,
            recovery_codes: shown.recovery_codes,
            error: shown.error,
            done: shown.done,
        },
    )?)
}

#[get("/account/2fa")]
pub async fn page(viewer: Viewer, auth: &State<Auth>) -> PageResult {
    auth.require_fresh(&viewer.principal)?;
    show(&viewer, auth, Status::Ok, Shown::default()).await
}

/// The form of a button: its CSRF token only (checked by [`SessionForm`]).
#[derive(FromForm)]
pub struct NoFields {
    #[field(name = "csrf_token")]
    _csrf_token: Option<String>,
}

/// A new secret, waiting for its first code (setting up again replaces it).
#[post("/account/2fa/setup", data = "<_form>")]
pub async fn setup(viewer: Viewer, _form: SessionForm<NoFields>, auth: &State<Auth>) -> PageResult {
    match auth.totp_setup(&viewer.principal).await {
        Ok(_) => show(&viewer, auth, Status::Ok, Shown::default()).await,
        Err(AuthError::NotAllowed(why)) => {
            let shown = Shown {
                error: Some(why),
                ..Shown::default()
            };
            show(&viewer, auth, Status::UnprocessableEntity, shown).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(FromForm)]
pub struct CodeFields {
    code: String,
}

#[derive(Responder)]
pub enum Answer {
    Page(Page),
    Throttled(Page, Header<'static>),
}

/// The first code from the app turns the factor on; the recovery codes are shown once.
#[post("/account/2fa/enable", data = "<form>")]
pub async fn enable(
    viewer: Viewer,
    form: SessionForm<CodeFields>,
    client: ClientInfo,
    auth: &State<Auth>,
) -> PageResult<Answer> {
    let done = auth
        .totp_enable(&viewer.principal, &form.0.code, &client)
        .await;
    answer(&viewer, auth, done, "Two-step sign-in is on.").await
}

#[derive(FromForm)]
pub struct PasswordFields {
    password: String,
}

/// Turns the factor off, with the password.
#[post("/account/2fa/disable", data = "<form>")]
pub async fn disable(
    viewer: Viewer,
    form: SessionForm<PasswordFields>,
    client: ClientInfo,
    auth: &State<Auth>,
) -> PageResult<Answer> {
    let done = auth
        .totp_disable(&viewer.principal, form.0.password, &client)
        .await
        .map(|()| Vec::new());
    answer(&viewer, auth, done, "Two-step sign-in is off.").await
}

/// New recovery codes in place of the old ones, shown once.
#[post("/account/2fa/recovery-codes", data = "<_form>")]
pub async fn recovery_codes(
    viewer: Viewer,
    _form: SessionForm<NoFields>,
    client: ClientInfo,
    auth: &State<Auth>,
) -> PageResult<Answer> {
    let done = auth
        .replace_recovery_codes(&viewer.principal, &client)
        .await;
    answer(
        &viewer,
        auth,
        done,
        "New recovery codes: the old ones no longer work.",
    )
    .await
}

/// The page after an action: what was done (with any codes made), or why not.
async fn answer(
    viewer: &Viewer,
    auth: &Auth,
    done: Result<Vec<String>, AuthError>,
    message: &str,
) -> PageResult<Answer> {
    let (status, shown) = match done {
        Ok(recovery_codes) => (
            Status::Ok,
            Shown {
                recovery_codes,
                done: Some(message),
                error: None,
            },
        ),
        Err(AuthError::Throttled { retry_after }) => {
            let message = throttled_message(retry_after);
            let shown = Shown {
                error: Some(&message),
                ..Shown::default()
            };
            let page = show(viewer, auth, Status::TooManyRequests, shown).await?;
            return Ok(Answer::Throttled(
                page,
                Header::new("Retry-After", retry_after.to_string()),
            ));
        }
        Err(e @ (AuthError::WrongCode | AuthError::WrongPassword | AuthError::NotAllowed(_))) => {
            let error = match e {
                AuthError::WrongCode => "That code is not correct. Try the one the app shows now.",
                AuthError::WrongPassword => "The password is not correct.",
                AuthError::NotAllowed(why) => why,
                _ => "Refused.",
            };
            let status = match e {
                AuthError::WrongCode => Status::Unauthorized,
                AuthError::WrongPassword => Status::Forbidden,
                _ => Status::UnprocessableEntity,
            };
            let shown = Shown {
                error: Some(error),
                ..Shown::default()
            };
            (status, shown)
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Answer::Page(show(viewer, auth, status, shown).await?))
}
