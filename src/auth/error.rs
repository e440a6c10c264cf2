//! Why an authentication step refuses, or fails.

use std::sync::Arc;

use super::passwords::PasswordError;
use super::tokens::TokenError;
use super::usernames::UsernameError;
use crate::store::StoreError;

/// Why a caller is refused, or what failed on our side.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// No usable token: 401.
    #[error("{0}")]
    Token(#[from] TokenError),
    /// An `Authorization` header that is missing or is not `Bearer <token>`: 401.
    #[error("{0}")]
    MissingToken(&'static str),
    /// The login was logged out, expired, idle too long or belongs to someone else: 401.
    #[error("the session has ended; log in again")]
    SessionEnded,
    /// A refresh token that had already been exchanged came back: the session is revoked: 401.
    #[error("this refresh token was already used, so the session has been ended; log in again")]
    RefreshReused,
    /// The token is fine but its user is disabled or deleted: 403.
    #[error("the account is disabled or no longer exists")]
    UserUnavailable,
    /// An authenticated user without the admin flag on an admin route: 403.
    #[error("administrator rights are required")]
    NotAdmin,
    /// Wrong username or password, or a disabled account (deliberately indistinguishable): 401.
    #[error("invalid username or password")]
    InvalidCredentials,
    /// The password was right; the account has a second factor and no code came: 401, with
    /// `mfaRequired`.
    #[error("a code from your authenticator app (or a recovery code) is required")]
    MfaRequired,
    /// A code that is wrong, or was used already: 401, with `mfaRequired`.
    #[error("the code is not correct, or was used already")]
    WrongCode,
    /// A sensitive action, and the password was last entered more than `fresh_secs` ago: 401,
    /// with `freshRequired`. The caller enters it again (`/api/auth/reauth`, `/reauth`).
    #[error("enter your password again to do this: your sign-in is not recent enough")]
    FreshLoginRequired,
    /// A stored second-factor secret that no configured secret opens (auth.secret changed): 500
    /// to the client, with advice in the log.
    #[error("the second factor cannot be read")]
    Unsealable(#[source] super::sealing::Unsealable),
    /// Too many failed logins for this username and address, or this address: 429.
    #[error("too many failed logins; try again in {retry_after} seconds")]
    Throttled { retry_after: u64 },
    /// A password change with the wrong current password: 403.
    #[error("the current password is not correct")]
    WrongPassword,
    /// A new password the policy refuses: 422.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// A username that may not be used: 422.
    #[error(transparent)]
    Username(#[from] UsernameError),
    /// A username whose canonical form another user has: 422 (409 would tell a guesser more).
    #[error(
        "a user named {existing:?} already exists: usernames that differ only in letter case or in look-alike characters are one account"
    )]
    UsernameTaken { existing: String },
    /// An action the rules do not allow (an admin disabling themselves): 422, with the reason.
    #[error("{0}")]
    NotAllowed(&'static str),
    /// No such session among the caller's, or no such user: 404.
    #[error("{0}")]
    NotFound(String),
    /// The database cannot be reached or is not serving now: 503, try again shortly.
    #[error("the database is not available; try again in a moment")]
    Unavailable(#[source] Arc<StoreError>),
    /// The database failed: 500, logged with its cause, never shown.
    #[error("the database failed")]
    Storage(#[source] Arc<StoreError>),
    /// Signing a token failed: 500.
    #[error("cannot sign a token")]
    Signing(#[source] Arc<jsonwebtoken::errors::Error>),
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoSuchUser(name) => AuthError::NotFound(format!("no user named {name:?}")),
            StoreError::UsernameTaken { existing } => AuthError::UsernameTaken { existing },
            e @ StoreError::Unavailable(_) => AuthError::Unavailable(Arc::new(e)),
            other => AuthError::Storage(Arc::new(other)),
        }
    }
}

impl From<jsonwebtoken::errors::Error> for AuthError {
    fn from(e: jsonwebtoken::errors::Error) -> Self {
        AuthError::Signing(Arc::new(e))
    }
}
