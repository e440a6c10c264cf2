//! Authentication: who the caller is, decided in one place.
//!
//! [`Auth`] owns the signing keys, the password hasher and the live-state cache. Guards
//! ([`guards`]) extract a token from the request and hand it here; handlers only ever see the
//! resulting [`Principal`].

pub mod guards;
pub mod live;
pub mod passwords;
pub mod tokens;

use std::sync::Arc;

use serde::Serialize;

use crate::config::AuthConfig;
use crate::store::{NewSession, Store, StoreError, User};
use live::{LiveCache, blocking};
use passwords::Passwords;
use tokens::{Claims, TokenError, TokenKeys, TokenType};

/// Seconds since the Unix epoch, the clock tokens are checked against.
pub fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// Why a caller is refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No usable token: 401.
    #[error("{0}")]
    Token(#[from] TokenError),
    /// A well-formed `Authorization` header is missing or is not `Bearer <token>`: 401.
    #[error("{0}")]
    MissingToken(&'static str),
    /// The login was logged out, expired or belongs to someone else: 401.
    #[error("the session has ended; log in again")]
    SessionEnded,
    /// The token is fine but its user is disabled or deleted: 403.
    #[error("the account is disabled or no longer exists")]
    UserUnavailable,
    /// An authenticated user without the admin flag on an admin route: 403.
    #[error("administrator rights are required")]
    NotAdmin,
    /// Wrong username or password, or a disabled account (deliberately indistinguishable): 401.
    #[error("invalid username or password")]
    InvalidCredentials,
    /// Something on our side failed; logged, never shown: 500.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        AuthError::Internal(e.to_string())
    }
}

/// The caller, once every check has passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub enabled: bool,
    pub is_admin: bool,
    /// The login all of this caller's tokens belong to.
    pub session_id: String,
}

/// What a successful login hands out.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
}

/// Request details recorded with a login, for the user's own overview of their sessions.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub user_agent: Option<String>,
    pub address: Option<String>,
}

pub struct Auth {
    pub keys: TokenKeys,
    pub passwords: Passwords,
    store: Arc<dyn Store>,
    live: LiveCache,
    refresh_ttl: u64,
}

impl Auth {
    pub fn new(
        keys: TokenKeys,
        passwords: Passwords,
        store: Arc<dyn Store>,
        config: &AuthConfig,
    ) -> Auth {
        Auth {
            keys,
            passwords,
            live: LiveCache::new(Arc::clone(&store)),
            store,
            refresh_ttl: config.refresh_ttl_secs,
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Checks the credentials and starts a new login. Unknown user, wrong password and disabled
    /// account all take the same time and give the same [`AuthError::InvalidCredentials`].
    pub async fn login(
        &self,
        username: String,
        password: String,
        client: ClientInfo,
    ) -> Result<TokenPair, AuthError> {
        let store = Arc::clone(&self.store);
        let passwords = self.passwords.clone();
        let now = now();
        let expires_at = now + self.refresh_ttl;
        let session_id = tokens::random_id(16);
        let new_session = NewSession {
            id: session_id.clone(),
            user_id: 0,
            created_at: now as i64,
            expires_at: expires_at as i64,
            user_agent: client.user_agent,
            address: client.address,
        };
        let user: Option<User> = blocking(move || {
            let user = store.find_user(&username)?;
            let matched =
                passwords.verify(&password, user.as_ref().map(|u| u.password_hash.as_str()));
            match user {
                Some(user) if matched && user.enabled => {
                    store.create_session(&NewSession {
                        user_id: user.id,
                        ..new_session
                    })?;
                    Ok(Some(user))
                }
                _ => Ok(None),
            }
        })
        .await?;
        let user = user.ok_or(AuthError::InvalidCredentials)?;
        self.live.invalidate();
        Ok(TokenPair {
            access_token: self.mint(
                TokenType::Access,
                &user.username,
                &session_id,
                now,
                expires_at,
            )?,
            refresh_token: self.mint(
                TokenType::Refresh,
                &user.username,
                &session_id,
                now,
                expires_at,
            )?,
        })
    }

    /// Verifies an access token and that its login and user are still live.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        let now = now();
        let claims = self.keys.verify(token, TokenType::Access, now)?;
        self.live_principal(&claims, now)
            .await
            .map(|(principal, _)| principal)
    }

    /// Verifies a refresh token's signature, claims and type (not yet its session).
    pub fn verify_refresh(&self, token: &str) -> Result<Claims, AuthError> {
        Ok(self.keys.verify(token, TokenType::Refresh, now())?)
    }

    /// Mints a new access token for the login of a verified refresh token.
    pub async fn refresh(&self, claims: &Claims) -> Result<String, AuthError> {
        let now = now();
        let (principal, session_expires_at) = self.live_principal(claims, now).await?;
        self.mint(
            TokenType::Access,
            &principal.username,
            &principal.session_id,
            now,
            session_expires_at,
        )
    }

    /// Ends the login of a verified refresh token: all of its tokens stop working at once.
    pub async fn logout(&self, claims: &Claims) -> Result<(), AuthError> {
        let store = Arc::clone(&self.store);
        let sid = claims.sid.clone();
        let now = now() as i64;
        let revoked = blocking(move || store.revoke_session(&sid, now)).await?;
        self.live.invalidate();
        if revoked {
            Ok(())
        } else {
            Err(AuthError::SessionEnded)
        }
    }

    /// The one check every token goes through after its signature: the user exists and is
    /// enabled (else 403), and the login is live and theirs (else 401).
    async fn live_principal(
        &self,
        claims: &Claims,
        now: u64,
    ) -> Result<(Principal, u64), AuthError> {
        self.live.sync()?;
        let user = self.live.user(&claims.sub).await?;
        let user = match user {
            Some(user) if user.enabled => user,
            _ => return Err(AuthError::UserUnavailable),
        };
        let session = self.live.session(&claims.sid).await?;
        let session = match session {
            Some(s) if !s.revoked && s.user_id == user.id && s.expires_at > now as i64 => s,
            _ => return Err(AuthError::SessionEnded),
        };
        let principal = Principal {
            user_id: user.id,
            username: claims.sub.clone(),
            enabled: user.enabled,
            is_admin: user.is_admin,
            session_id: claims.sid.clone(),
        };
        Ok((principal, session.expires_at as u64))
    }

    fn mint(
        &self,
        typ: TokenType,
        username: &str,
        sid: &str,
        now: u64,
        not_after: u64,
    ) -> Result<String, AuthError> {
        self.keys
            .mint(typ, username, sid, now, not_after)
            .map_err(|e| AuthError::Internal(format!("cannot sign a token: {e}")))
    }
}
