//! Authentication: who the caller is, decided in one place.
//!
//! [`Auth`] owns the signing keys, the password hasher and the live-state cache. Guards
//! ([`guards`]) extract a token from the request and hand it here; handlers only ever see the
//! resulting [`Principal`].

pub mod guards;
pub mod keys;
pub mod live;
pub mod passwords;
pub mod tokens;

use std::sync::Arc;

use rocket::tokio::sync::Semaphore;
use serde::Serialize;

use crate::config::AuthConfig;
use crate::store::{NewSession, Store, StoreError, User};
use live::{LiveCache, blocking};
use passwords::Passwords;
use tokens::{Claims, Minted, TokenError, TokenKeys, TokenType};

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
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
}

// Tokens are credentials: never in logs.
impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenPair([redacted])")
    }
}

/// A successful login: its tokens and who logged in.
#[derive(Debug, Clone)]
pub struct Login {
    pub access: Minted,
    pub refresh: Minted,
    pub principal: Principal,
}

impl Login {
    /// The tokens as the JSON API hands them out.
    pub fn token_pair(&self) -> TokenPair {
        TokenPair {
            access_token: self.access.token.clone(),
            refresh_token: self.refresh.token.clone(),
        }
    }
}

/// A caller authenticated by cookies: who, and the access token minted for them when the one
/// they sent was missing, expired or about to expire.
#[derive(Debug, Clone)]
pub struct CookieSession {
    pub principal: Principal,
    pub reissued: Option<Minted>,
}

/// A refresh token that passed every check: signature, claims, type, a live login, an enabled user.
#[derive(Debug, Clone)]
pub struct RefreshSession {
    pub principal: Principal,
    /// When the login ends; no token minted from it may outlive this.
    pub expires_at: u64,
}

/// Request details recorded with a login, for the user's own overview of their sessions.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub user_agent: Option<String>,
    pub address: Option<String>,
}

/// The authentication service, managed by Rocket and used through the guards and handlers.
pub struct Auth {
    keys: TokenKeys,
    passwords: Passwords,
    store: Arc<dyn Store>,
    live: LiveCache,
    refresh_ttl: u64,
    /// An access cookie with less than this many seconds left is reissued.
    reissue_threshold: u64,
    /// Bounds concurrent argon2 work to the number of cores: a flood of logins then queues
    /// instead of taking 19 MiB and a blocking thread each, and cannot starve other requests.
    hashing: Semaphore,
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
            reissue_threshold: config.reissue_threshold(),
            hashing: Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
        }
    }

    /// Checks the credentials and starts a new login. Unknown user, wrong password and disabled
    /// account all take the same time and give the same [`AuthError::InvalidCredentials`].
    pub async fn login(
        &self,
        username: String,
        password: String,
        client: ClientInfo,
    ) -> Result<Login, AuthError> {
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
        let _permit = self
            .hashing
            .acquire()
            .await
            .map_err(|e| AuthError::Internal(e.to_string()))?;
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
        let principal = Principal {
            user_id: user.id,
            username: user.username,
            enabled: user.enabled,
            is_admin: user.is_admin,
            session_id,
        };
        Ok(Login {
            access: self.mint(TokenType::Access, &principal, now, expires_at)?,
            refresh: self.mint(TokenType::Refresh, &principal, now, expires_at)?,
            principal,
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

    /// Verifies a refresh token and that its login and user are still live.
    pub async fn authenticate_refresh(&self, token: &str) -> Result<RefreshSession, AuthError> {
        let now = now();
        let claims = self.keys.verify(token, TokenType::Refresh, now)?;
        let (principal, expires_at) = self.live_principal(&claims, now).await?;
        Ok(RefreshSession {
            principal,
            expires_at,
        })
    }

    /// Authenticates a browser by its cookies. A valid access token with more than the reissue
    /// threshold left is enough; otherwise a valid refresh token of a live login gets a new
    /// access token, minted here, which the caller sets as the new cookie.
    pub async fn authenticate_cookies(
        &self,
        access: Option<&str>,
        refresh: Option<&str>,
    ) -> Result<CookieSession, AuthError> {
        let now = now();
        let verified = access.map(|token| self.keys.verify(token, TokenType::Access, now));
        // Fresh enough, or about to expire with nothing to renew it from: use it as it is.
        if let Some(Ok(claims)) = &verified
            && (refresh.is_none() || claims.exp >= now + self.reissue_threshold)
        {
            let (principal, _) = self.live_principal(claims, now).await?;
            return Ok(CookieSession {
                principal,
                reissued: None,
            });
        }
        match refresh {
            Some(refresh) => match self.authenticate_refresh(refresh).await {
                Ok(session) => {
                    let access = self.refresh(&session)?;
                    Ok(CookieSession {
                        principal: session.principal,
                        reissued: Some(access),
                    })
                }
                // A bad refresh cookie next to an access token that is still valid, though
                // close to its end: the access token decides, and the next request tries again.
                Err(refresh_error) => match &verified {
                    Some(Ok(claims)) if claims.exp >= now => {
                        let (principal, _) = self.live_principal(claims, now).await?;
                        Ok(CookieSession {
                            principal,
                            reissued: None,
                        })
                    }
                    _ => Err(refresh_error),
                },
            },
            None => Err(match verified {
                Some(Err(e)) => e.into(),
                _ => AuthError::SessionEnded,
            }),
        }
    }

    /// Mints a new access token for the login of a verified refresh token.
    pub fn refresh(&self, session: &RefreshSession) -> Result<Minted, AuthError> {
        self.mint(
            TokenType::Access,
            &session.principal,
            now(),
            session.expires_at,
        )
    }

    /// Ends a login: all of its tokens stop working at once.
    pub async fn logout(&self, principal: &Principal) -> Result<(), AuthError> {
        let store = Arc::clone(&self.store);
        let sid = principal.session_id.clone();
        let now = now() as i64;
        let revoked = blocking(move || store.revoke_session(&sid, now)).await?;
        // Do not wait for the next marker check: this process knows it changed something.
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
        principal: &Principal,
        now: u64,
        not_after: u64,
    ) -> Result<Minted, AuthError> {
        self.keys
            .mint(
                typ,
                &principal.username,
                &principal.session_id,
                &tokens::random_id(16),
                now,
                not_after,
            )
            .map_err(|e| AuthError::Internal(format!("cannot sign a token: {e}")))
    }
}
