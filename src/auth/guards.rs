//! Request guards: the route guard and `auth_required` of the original example, as types.
//!
//! A handler that takes [`AuthUser`] runs only for a caller with a valid access token, a live
//! login and an enabled account; [`AdminUser`] adds the admin flag; [`RefreshToken`] accepts
//! only a refresh token of a live login. All of them hand the token to [`Auth`], the one place
//! that verifies it.
//!
//! The same guards serve the API and the pages. A request authenticates with an
//! `Authorization: Bearer` header or, when it has none, with the session cookies; an access
//! cookie that is missing, expired or about to expire is reissued from the refresh cookie
//! within the request. Cookie-authenticated unsafe requests are CSRF-checked here as well.

use rocket::request::{FromRequest, Outcome, Request};

use super::tokens::MAX_TOKEN_LEN;
use super::{Auth, AuthError, ClientInfo, Principal, RefreshSession, Refreshed};
use crate::cookies::{CookiePolicy, SessionCookies};
use crate::csrf;
use crate::error::{AppError, managed};

/// True when `value` names the Bearer scheme (in any case), whatever follows: `Bearer`,
/// `bearer <token>`, `Bearer\t<token>`. Such a header is the request's credential, good or bad.
fn is_bearer(value: &str) -> bool {
    let scheme = value.split([' ', '\t']).next().unwrap_or_default();
    scheme.eq_ignore_ascii_case("bearer")
}

/// True when the request carries an `Authorization` header with the Bearer scheme. Such a header
/// wins over cookies, and a malformed one is a 401, never a fall-through to the cookies: any
/// other scheme (say, Basic from a proxy in front) is not ours to judge.
fn has_bearer_header(req: &Request<'_>) -> bool {
    req.headers().get("Authorization").any(is_bearer)
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

/// The credential a request offers. The header wins: a client that sends a Bearer header means
/// it, whatever cookies its browser holds. An `Authorization` header of another scheme (Basic
/// from a proxy in front) leaves the cookies in charge, unless there are none.
enum Credential<'r> {
    Header,
    Cookies(SessionCookies<'r>),
}

fn credential<'r>(req: &'r Request<'_>, policy: &CookiePolicy) -> Credential<'r> {
    if has_bearer_header(req) {
        return Credential::Header;
    }
    let cookies = policy.session(req.cookies());
    if cookies.is_empty() && req.headers().contains("Authorization") {
        Credential::Header
    } else {
        Credential::Cookies(cookies)
    }
}

/// What authenticating one request found, computed once and kept in the request's cache so that
/// every guard, the form guards and the error responses see the same answer.
struct Resolution {
    result: Result<Authenticated, AppError>,
    /// The tokens minted from the refresh cookie, if this request reissued them. Kept apart
    /// from `result`: a CSRF refusal after a reissue still hands the browser its new cookies
    /// (the old refresh cookie has been rotated away).
    reissued: Option<Refreshed>,
}

async fn resolve(req: &Request<'_>) -> Resolution {
    let mut reissued = None;
    let result = authenticate(req, &mut reissued).await;
    Resolution { result, reissued }
}

async fn authenticate(
    req: &Request<'_>,
    reissued: &mut Option<Refreshed>,
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
    let session = auth
        .authenticate_cookies(cookies.access, cookies.refresh)
        .await?;
    if let Some(tokens) = &session.reissued {
        policy.set_refreshed(req.cookies(), tokens);
    }
    *reissued = session.reissued;
    csrf::check_cookie_request(req, &session.principal.session_id)?;
    Ok(Authenticated {
        principal: session.principal,
        via: Via::Cookies,
    })
}

/// Authenticates the request (once; later calls get the cached answer).
pub async fn authenticated(req: &Request<'_>) -> Result<Authenticated, AppError> {
    req.local_cache_async(resolve(req)).await.result.clone()
}

/// The cached resolution, for the error response at the end of a request. A request no guard
/// authenticated gets an empty one.
fn resolution<'r>(req: &'r Request<'_>) -> &'r Resolution {
    req.local_cache(|| Resolution {
        result: Err(AppError::Unauthorized("not authenticated".into())),
        reissued: None,
    })
}

/// The user this request authenticated as, if any (an error page still shows the navigation).
pub fn signed_in_user(req: &Request<'_>) -> Option<Principal> {
    resolution(req)
        .result
        .as_ref()
        .ok()
        .map(|who| who.principal.clone())
}

/// Puts the session cookies of an error response right. Rocket drops cookies set before a
/// failure, so cookies this request reissued are set again; cookies that no longer
/// authenticate anyone are deleted, so the browser stops sending them.
pub fn settle_cookies(req: &Request<'_>, error: &AppError) {
    let Ok(policy) = managed::<CookiePolicy>(req) else {
        return;
    };
    if let Some(tokens) = &resolution(req).reissued {
        policy.set_refreshed(req.cookies(), tokens);
    }
    let sent_cookies = matches!(credential(req, policy), Credential::Cookies(c) if !c.is_empty());
    if error.is_sign_in_failure() && sent_cookies {
        policy.clear_session(req.cookies());
    }
}

/// A signed-in user with a live login and an enabled account.
#[derive(Debug, Clone)]
pub struct AuthUser(pub Principal);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AuthUser {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AppError> {
        match authenticated(req).await {
            Ok(who) => Outcome::Success(AuthUser(who.principal)),
            Err(error) => error.fail(req),
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Authenticated {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AppError> {
        match authenticated(req).await {
            Ok(who) => Outcome::Success(who),
            Err(error) => error.fail(req),
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
        match authenticated(req).await {
            Ok(who) if who.principal.is_admin => Outcome::Success(AdminUser(who.principal)),
            Ok(_) => AppError::from(AuthError::NotAdmin).fail(req),
            Err(error) => error.fail(req),
        }
    }
}

/// A refresh token whose login and user are still live (the same checks as [`AuthUser`]), from
/// the `Authorization` header or, failing that, the refresh cookie (then CSRF-checked).
#[derive(Debug, Clone)]
pub struct RefreshToken {
    pub session: RefreshSession,
    pub via: Via,
}

async fn refresh_token(req: &Request<'_>) -> Result<RefreshToken, AppError> {
    let auth = managed::<Auth>(req)?;
    match credential(req, managed::<CookiePolicy>(req)?) {
        Credential::Header => Ok(RefreshToken {
            session: auth.authenticate_refresh(bearer_token(req)?).await?,
            via: Via::Bearer,
        }),
        Credential::Cookies(cookies) => {
            let refresh = cookies.refresh.ok_or(AuthError::MissingToken(
                "an Authorization: Bearer refresh token or the refresh cookie is required",
            ))?;
            let session = auth.authenticate_refresh(refresh).await?;
            csrf::check_cookie_request(req, &session.principal.session_id)?;
            Ok(RefreshToken {
                session,
                via: Via::Cookies,
            })
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for RefreshToken {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AppError> {
        match refresh_token(req).await {
            Ok(token) => Outcome::Success(token),
            Err(e) => e.fail(req),
        }
    }
}

/// Longest user agent kept with a session.
const MAX_USER_AGENT: usize = 256;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientInfo {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let user_agent = req.headers().get_one("User-Agent").map(|ua| {
            let mut end = ua.len().min(MAX_USER_AGENT);
            while !ua.is_char_boundary(end) {
                end -= 1;
            }
            ua[..end].to_owned()
        });
        Outcome::Success(ClientInfo {
            user_agent,
            ip: req.client_ip(),
        })
    }
}
