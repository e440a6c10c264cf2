//! Request guards: the route guard and `auth_required` of the original example, as types.
//!
//! A handler that takes [`AuthUser`] runs only for a caller with a valid access token, an active
//! login and an enabled account; [`AdminUser`] adds the admin flag; [`RefreshCaller`] accepts
//! only a refresh token of an active login. All of them hand the token to [`Auth`], the one
//! place that verifies it.
//!
//! The same guards serve the API and the pages. A request authenticates with an
//! `Authorization: Bearer` header or, when it has none, with the session cookies; an access
//! cookie that is missing, expired or about to expire is reissued from the refresh cookie
//! within the request. Cookie-authenticated unsafe requests are CSRF-checked here as well.
//!
//! A guard that fails decides what the error response does with the session cookies (see
//! [`ErrorCookies`]) and records it for the catcher.

use rocket::request::{FromRequest, Outcome, Request};
use tokio::sync::OnceCell;

use super::cookies::{CookiePolicy, SessionCookies};
use super::csrf;
use super::error::{AppError, ProblemKind};
use super::failure::{ErrorCookies, Failure, record};
use super::state::managed;
use crate::auth::{Auth, AuthError, ClientInfo, MAX_TOKEN_LEN, Principal, RefreshGrant, Reissued};

/// True when `value` starts with the Bearer scheme's name (in any case), whatever follows:
/// `Bearer`, `bearer <token>`, `Bearer\t<token>`, `Bearer,<token>`. Such a header is the
/// request's credential, good or bad: a malformed one is refused, never passed over.
fn is_bearer(value: &str) -> bool {
    value
        .trim_start()
        .get(..6)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("bearer"))
}

/// The token of an `Authorization: Bearer <token>` header: the scheme, one space, the token
/// (RFC 6750).
fn bearer_token<'r>(req: &'r Request<'_>) -> Result<&'r str, AuthError> {
    let mut values = req.headers().get("Authorization");
    let value = values.next().ok_or(AuthError::MissingToken(
        "an Authorization: Bearer token is required",
    ))?;
    if values.next().is_some() {
        return Err(AuthError::MissingToken(
            "send exactly one Authorization header",
        ));
    }
    let malformed = AuthError::MissingToken("the Authorization header must be `Bearer <token>`");
    let Some((scheme, token)) = value.split_once(' ') else {
        return Err(malformed);
    };
    let well_formed = scheme.eq_ignore_ascii_case("bearer")
        && !token.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && !token.contains(char::is_whitespace);
    if well_formed {
        Ok(token)
    } else {
        Err(malformed)
    }
}

/// How a caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// An `Authorization: Bearer` header. It wins when cookies come too.
    Bearer,
    /// The session cookies a page login set.
    Cookies,
}

/// A caller who passed every check, and how.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub principal: Principal,
    pub via: Via,
}

/// The credential a request offers. A header of the Bearer scheme wins: a client that sends one
/// means it, whatever cookies its browser holds, and a broken one is refused rather than passed
/// over. An `Authorization` header of another scheme (Basic from a proxy in front) leaves the
/// cookies in charge, unless there are none.
enum Credential<'r> {
    Header,
    Cookies(SessionCookies<'r>),
}

fn credential<'r>(req: &'r Request<'_>, policy: &CookiePolicy) -> Credential<'r> {
    if req.headers().get("Authorization").any(is_bearer) {
        return Credential::Header;
    }
    let cookies = policy.session(req.cookies());
    if cookies.is_empty() && req.headers().contains("Authorization") {
        Credential::Header
    } else {
        Credential::Cookies(cookies)
    }
}

/// What authenticating one request found, computed once per request, so that every guard, the
/// form guards and the error responses see the same answer.
struct Resolution {
    result: Result<Authenticated, AppError>,
    /// The tokens minted from the refresh cookie, if this request reissued them. Kept apart from
    /// `result`: a CSRF refusal after a reissue still hands the browser its new cookies (the old
    /// refresh cookie has been rotated away).
    reissued: Option<Reissued>,
    /// Whether the request offered session cookies.
    sent_cookies: bool,
}

impl Resolution {
    /// What the error response must do with the cookies when a guard fails with `error`.
    fn error_cookies(&self, error: &AppError) -> ErrorCookies {
        ErrorCookies {
            reissued: self.reissued.clone(),
            clear_session: self.sent_cookies && error.problem().kind == ProblemKind::SignIn,
        }
    }

    /// Fails a guard with `error`, recording what the error response needs.
    fn fail<T>(&self, req: &Request<'_>, error: AppError) -> Outcome<T, AppError> {
        let status = record(
            req,
            Failure {
                cookies: self.error_cookies(&error),
                viewer: self.result.as_ref().ok().map(|who| who.principal.clone()),
                error: error.clone(),
            },
        );
        Outcome::Error((status, error))
    }
}

/// The request's resolution, computed on first use.
struct Cached(OnceCell<Resolution>);

fn cell<'r>(req: &'r Request<'_>) -> &'r OnceCell<Resolution> {
    &req.local_cache(|| Cached(OnceCell::new())).0
}

async fn resolution<'r>(req: &'r Request<'_>) -> &'r Resolution {
    cell(req).get_or_init(|| resolve(req)).await
}

async fn resolve(req: &Request<'_>) -> Resolution {
    let mut reissued = None;
    let mut sent_cookies = false;
    let result = authenticate(req, &mut reissued, &mut sent_cookies).await;
    Resolution {
        result,
        reissued,
        sent_cookies,
    }
}

async fn authenticate(
    req: &Request<'_>,
    reissued: &mut Option<Reissued>,
    sent_cookies: &mut bool,
) -> Result<Authenticated, AppError> {
    let auth = managed::<Auth>(req)?;
    let policy = managed::<CookiePolicy>(req)?;
    let cookies = match credential(req, policy) {
        Credential::Header => {
            let principal = auth.authenticate(bearer_token(req)?).await?;
            return Ok(Authenticated {
                principal,
                via: Via::Bearer,
            });
        }
        Credential::Cookies(cookies) if cookies.is_empty() => {
            return Err(AuthError::MissingToken(
                "sign in first: send an Authorization: Bearer token or the session cookies",
            )
            .into());
        }
        Credential::Cookies(cookies) => cookies,
    };
    *sent_cookies = true;
    let checked = auth
        .authenticate_cookies(cookies.access, cookies.refresh, &client_info(req))
        .await?;
    if let Some(tokens) = &checked.reissued {
        policy.set_reissued(req.cookies(), tokens);
    }
    *reissued = checked.reissued;
    csrf::check_cookie_request(req, &checked.principal.session_id)?;
    Ok(Authenticated {
        principal: checked.principal,
        via: Via::Cookies,
    })
}

/// Authenticates the request (once; later calls get the same answer).
pub async fn authenticated(req: &Request<'_>) -> Result<Authenticated, AppError> {
    resolution(req).await.result.clone()
}

/// The user this request authenticated as, if it was authenticated at all (an error page still
/// shows the navigation).
pub fn signed_in(req: &Request<'_>) -> Option<Principal> {
    let resolution = cell(req).get()?;
    resolution
        .result
        .as_ref()
        .ok()
        .map(|who| who.principal.clone())
}

/// What a failure after the request guards (a body that cannot be parsed, a form without its
/// CSRF token) does with the session cookies: the guards may have reissued them, and the error
/// response must hand the new ones over. Also who was signed in, for the error page.
pub fn after_guards(req: &Request<'_>, error: &AppError) -> (ErrorCookies, Option<Principal>) {
    match cell(req).get() {
        Some(resolution) => (
            resolution.error_cookies(error),
            resolution
                .result
                .as_ref()
                .ok()
                .map(|who| who.principal.clone()),
        ),
        None => (ErrorCookies::default(), None),
    }
}

/// A signed-in user with an active login and an enabled account.
#[derive(Debug, Clone)]
pub struct AuthUser(pub Principal);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AuthUser {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AppError> {
        let resolution = resolution(req).await;
        match &resolution.result {
            Ok(who) => Outcome::Success(AuthUser(who.principal.clone())),
            Err(error) => resolution.fail(req, error.clone()),
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Authenticated {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AppError> {
        let resolution = resolution(req).await;
        match &resolution.result {
            Ok(who) => Outcome::Success(who.clone()),
            Err(error) => resolution.fail(req, error.clone()),
        }
    }
}

/// An [`AuthUser`] with the admin flag.
#[derive(Debug, Clone)]
pub struct AdminUser(pub Principal);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AdminUser {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AppError> {
        let resolution = resolution(req).await;
        match &resolution.result {
            Ok(who) if who.principal.is_admin => Outcome::Success(AdminUser(who.principal.clone())),
            Ok(_) => resolution.fail(req, AuthError::NotAdmin.into()),
            Err(error) => resolution.fail(req, error.clone()),
        }
    }
}

/// A refresh token whose login and user are still usable (the same checks as [`AuthUser`]),
/// from the `Authorization` header or, failing that, the refresh cookie (then CSRF-checked).
#[derive(Debug, Clone)]
pub struct RefreshCaller {
    pub grant: RefreshGrant,
    pub via: Via,
}

async fn refresh_caller(req: &Request<'_>) -> Result<RefreshCaller, AppError> {
    let auth = managed::<Auth>(req)?;
    match credential(req, managed::<CookiePolicy>(req)?) {
        Credential::Header => Ok(RefreshCaller {
            grant: auth.authenticate_refresh(bearer_token(req)?).await?,
            via: Via::Bearer,
        }),
        Credential::Cookies(cookies) => {
            let refresh = cookies.refresh.ok_or(AuthError::MissingToken(
                "an Authorization: Bearer refresh token or the refresh cookie is required",
            ))?;
            let grant = auth.authenticate_refresh(refresh).await?;
            csrf::check_cookie_request(req, &grant.principal.session_id)?;
            Ok(RefreshCaller {
                grant,
                via: Via::Cookies,
            })
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for RefreshCaller {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AppError> {
        match refresh_caller(req).await {
            Ok(caller) => Outcome::Success(caller),
            Err(error) => {
                // Cookies that no longer refresh anything are deleted.
                let sent_cookies = managed::<CookiePolicy>(req).is_ok_and(|policy| {
                    matches!(credential(req, policy), Credential::Cookies(c) if !c.is_empty())
                });
                let cookies = ErrorCookies {
                    reissued: None,
                    clear_session: sent_cookies && error.problem().kind == ProblemKind::SignIn,
                };
                let status = record(
                    req,
                    Failure {
                        error: error.clone(),
                        cookies,
                        viewer: None,
                    },
                );
                Outcome::Error((status, error))
            }
        }
    }
}

/// Longest user agent kept with a session.
const MAX_USER_AGENT: usize = 256;

/// The client's address and user agent, as recorded with a login.
#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientInfo {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(client_info(req))
    }
}

/// The client's address (by `ip_header`, else the socket's peer) and user agent (its first
/// [`MAX_USER_AGENT`] bytes).
pub fn client_info(req: &Request<'_>) -> ClientInfo {
    let user_agent = req.headers().get_one("User-Agent").map(|ua| {
        let mut end = ua.len().min(MAX_USER_AGENT);
        while !ua.is_char_boundary(end) {
            end -= 1;
        }
        ua[..end].to_owned()
    });
    ClientInfo {
        user_agent,
        ip: req.client_ip(),
    }
}
