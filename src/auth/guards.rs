//! Request guards: the route guard and `auth_required` of the original example, as types.
//!
//! A handler that takes [`AuthUser`] runs only for a caller with a valid access token, a live
//! login and an enabled account; [`AdminUser`] adds the admin flag; [`RefreshToken`] accepts
//! only a refresh token of a live login. All of them hand the token to [`Auth`], the one place
//! that verifies it.

use rocket::request::{FromRequest, Outcome, Request};

use super::tokens::MAX_TOKEN_LEN;
use super::{Auth, AuthError, ClientInfo, Principal, RefreshSession};
use crate::error::AppError;

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

async fn authenticate(req: &Request<'_>) -> Result<Principal, AuthError> {
    let auth = auth_state(req)?;
    let token = bearer_token(req)?;
    auth.authenticate(token).await
}

/// A signed-in user with a live login and an enabled account.
#[derive(Debug, Clone)]
pub struct AuthUser(pub Principal);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AuthUser {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AppError> {
        // Cached so that several guards in one handler verify the token once.
        let result = req
            .local_cache_async(async { authenticate(req).await.map_err(AppError::from) })
            .await;
        match result {
            Ok(principal) => Outcome::Success(AuthUser(principal.clone())),
            Err(error) => error.clone().fail(req),
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
        match AuthUser::from_request(req).await {
            Outcome::Success(AuthUser(principal)) if principal.is_admin => {
                Outcome::Success(AdminUser(principal))
            }
            Outcome::Success(_) => AppError::from(AuthError::NotAdmin).fail(req),
            Outcome::Error(e) => Outcome::Error(e),
            Outcome::Forward(status) => Outcome::Forward(status),
        }
    }
}

/// A refresh token whose login and user are still live; the same checks as [`AuthUser`].
#[derive(Debug, Clone)]
pub struct RefreshToken(pub RefreshSession);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for RefreshToken {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AppError> {
        let verified = match auth_state(req) {
            Ok(auth) => match bearer_token(req) {
                Ok(token) => auth.authenticate_refresh(token).await,
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        match verified {
            Ok(session) => Outcome::Success(RefreshToken(session)),
            Err(e) => AppError::from(e).fail(req),
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
