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

use super::tokens::{MAX_TOKEN_LEN, Minted};
use super::{Auth, AuthError, ClientInfo, Principal, RefreshSession};
use crate::cookies::CookiePolicy;
use crate::csrf;
use crate::error::AppError;

/// True when the request carries an `Authorization` header with the Bearer scheme. Such a header
/// wins over cookies; any other scheme (say, Basic from a proxy in front) is not ours to judge.
pub fn has_bearer_header(req: &Request<'_>) -> bool {
    req.headers().get("Authorization").any(|value| {
        value
            .get(..7)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("bearer "))
    })
}

/// The token of an `Authorization: Bearer <token>` header.
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
    let (scheme, token) = value.split_once(' ').ok_or(malformed)?;
    let token = token.trim();
    let well_formed = scheme.eq_ignore_ascii_case("bearer")
        && !token.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'='));
    if !well_formed {
        return Err(AuthError::MissingToken(
            "the Authorization header must be `Bearer <token>`",
        ));
    }
    Ok(token)
}

fn auth_state<'r>(req: &'r Request<'_>) -> Result<&'r Auth, AuthError> {
    req.rocket()
        .state::<Auth>()
        .ok_or_else(|| AuthError::Internal("Auth is not managed".into()))
}

fn cookie_policy<'r>(req: &'r Request<'_>) -> Result<&'r CookiePolicy, AuthError> {
    req.rocket()
        .state::<CookiePolicy>()
        .ok_or_else(|| AuthError::Internal("CookiePolicy is not managed".into()))
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

/// What authenticating one request found, computed once and kept in the request's cache so that
/// every guard, the form guard and the catchers see the same answer.
struct Resolution {
    result: Result<Authenticated, AppError>,
    /// The access token minted from the refresh cookie, if this request reissued it.
    reissued: Option<Minted>,
}

async fn resolve(req: &Request<'_>) -> Resolution {
    let failed = |error: AuthError| Resolution {
        result: Err(error.into()),
        reissued: None,
    };
    let (auth, policy) = match (auth_state(req), cookie_policy(req)) {
        (Ok(auth), Ok(policy)) => (auth, policy),
        (Err(e), _) | (_, Err(e)) => return failed(e),
    };
    // The header wins: a client that sends one means it, whatever cookies its browser holds.
    let cookies = policy.session(req.cookies());
    if has_bearer_header(req) || (cookies.is_empty() && req.headers().contains("Authorization")) {
        let principal = match bearer_token(req) {
            Ok(token) => auth.authenticate(token).await,
            Err(e) => Err(e),
        };
        return match principal {
            Ok(principal) => Resolution {
                result: Ok(Authenticated {
                    principal,
                    via: Via::Bearer,
                }),
                reissued: None,
            },
            Err(e) => failed(e),
        };
    }
    if cookies.is_empty() {
        return failed(AuthError::MissingToken(
            "sign in first: send an Authorization: Bearer token or the session cookies",
        ));
    }
    match auth
        .authenticate_cookies(cookies.access, cookies.refresh)
        .await
    {
        Ok(session) => {
            if let Some(access) = &session.reissued {
                policy.set_access(req.cookies(), access);
            }
            let result = csrf::check_cookie_request(req, &session.principal.session_id).map(|()| {
                Authenticated {
                    principal: session.principal,
                    via: Via::Cookies,
                }
            });
            Resolution {
                result,
                reissued: session.reissued,
            }
        }
        Err(e) => failed(e),
    }
}

/// Authenticates the request (once; later calls get the cached answer).
pub async fn authenticated(req: &Request<'_>) -> Result<Authenticated, AppError> {
    req.local_cache_async(resolve(req)).await.result.clone()
}

/// What the catchers need to finish an error response the guards caused: the signed-in user
/// (for the page's navigation) and the access cookie this request reissued, which Rocket drops
/// from error responses unless it is set again.
pub fn after_failure(req: &Request<'_>) -> Option<Principal> {
    let resolution = req.local_cache(|| Resolution {
        result: Err(AppError::Unauthorized("not authenticated".into())),
        reissued: None,
    });
    if let (Some(access), Ok(policy)) = (&resolution.reissued, cookie_policy(req)) {
        policy.set_access(req.cookies(), access);
    }
    resolution
        .result
        .as_ref()
        .ok()
        .map(|who| who.principal.clone())
}

/// True when the request authenticated (or tried to) with session cookies rather than a header.
pub fn sent_session_cookies(req: &Request<'_>) -> bool {
    !has_bearer_header(req)
        && cookie_policy(req).is_ok_and(|policy| !policy.session(req.cookies()).is_empty())
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
    let auth = auth_state(req)?;
    let refresh_cookie = cookie_policy(req)?.session(req.cookies()).refresh;
    if has_bearer_header(req)
        || (refresh_cookie.is_none() && req.headers().contains("Authorization"))
    {
        let session = auth.authenticate_refresh(bearer_token(req)?).await?;
        return Ok(RefreshToken {
            session,
            via: Via::Bearer,
        });
    }
    let refresh =
        cookie_policy(req)?
            .session(req.cookies())
            .refresh
            .ok_or(AuthError::MissingToken(
                "an Authorization: Bearer refresh token or the refresh cookie is required",
            ))?;
    let session = auth.authenticate_refresh(refresh).await?;
    csrf::check_cookie_request(req, &session.principal.session_id)?;
    Ok(RefreshToken {
        session,
        via: Via::Cookies,
    })
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
        let address = req.client_ip().map(|ip| ip.to_string());
        Outcome::Success(ClientInfo {
            user_agent,
            address,
        })
    }
}
