//! Authentication: who the caller is, decided in one place.
//!
//! [`Auth`] owns the signing keys, the password hasher and the live-state cache. Guards
//! ([`guards`]) extract a token from the request and hand it here; handlers only ever see the
//! resulting [`Principal`].

mod accounts;
pub mod guards;
pub mod keys;
pub mod live;
pub mod passwords;
mod pruning;
pub mod rotation;
pub mod throttle;
pub mod tokens;
pub mod usernames;
mod verified;

use std::net::IpAddr;
use std::sync::Arc;

use rocket::tokio::sync::{Semaphore, SemaphorePermit};
use serde::Serialize;

use crate::config::AuthConfig;
use crate::store::{NewSession, Store, StoreError, User};
pub use accounts::{AdminAction, UserSummary};
use live::{LiveCache, SessionStatus, UserStatus, blocking};
use passwords::Passwords;
pub use pruning::Pruner;
use rotation::{Outcome, RotationPolicy};
use throttle::LoginThrottle;
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
    /// Too many failed logins for this username and address, or this address: 429.
    #[error("too many failed logins; try again in {retry_after} seconds")]
    Throttled { retry_after: u64 },
    /// A password change with the wrong current password: 403.
    #[error("the current password is not correct")]
    WrongPassword,
    /// A request that cannot be carried out as asked (a password too short, an admin
    /// disabling themselves): 422, with the reason.
    #[error("{0}")]
    Refused(String),
    /// No such session among the caller's, or no such user: 404.
    #[error("{0}")]
    NotFound(String),
    /// Something on our side failed; logged, never shown: 500.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoSuchUser(name) => AuthError::NotFound(format!("no user named {name:?}")),
            other => AuthError::Internal(other.to_string()),
        }
    }
}

/// The caller, once every check has passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    /// Always true once every check has passed (a disabled user is refused); kept because
    /// `/api/auth/info` reports it, as the original example does.
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

/// Fresh tokens from a refresh: always an access token, and the rotated refresh token when the
/// family rotated (or the same successor again, inside the grace window).
#[derive(Debug, Clone)]
pub struct Refreshed {
    pub access: Minted,
    pub refresh: Option<Minted>,
}

/// A caller authenticated by cookies: who, and the tokens minted for them when the access
/// cookie they sent was missing, expired or about to expire.
#[derive(Debug, Clone)]
pub struct CookieSession {
    pub principal: Principal,
    pub reissued: Option<Refreshed>,
}

/// A refresh token that passed every check: signature, claims, type, a live login, an enabled
/// user. Whether it is still the family's live token is decided when it is used.
#[derive(Debug, Clone)]
pub struct RefreshSession {
    pub principal: Principal,
    /// The token's own id, which rotation tracks.
    pub jti: String,
}

/// Request details recorded with a login, for the user's own overview of their sessions.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub user_agent: Option<String>,
    /// The client address (the socket peer, or the configured proxy header), also the key of
    /// login throttling.
    pub ip: Option<IpAddr>,
}

/// The authentication service, managed by Rocket and used through the guards and handlers.
pub struct Auth {
    keys: TokenKeys,
    passwords: Passwords,
    store: Arc<dyn Store>,
    live: LiveCache,
    throttle: Arc<LoginThrottle>,
    rotation: RotationPolicy,
    api_rotation: bool,
    /// An access cookie with less than this many seconds left is reissued.
    reissue_threshold: u64,
    prune_interval: std::time::Duration,
    /// Live sessions a user may have (`max_sessions_per_user`).
    max_sessions: u32,
    /// Whether demo accounts may be used (the debug profile only).
    demo_accounts_allowed: bool,
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
        demo_accounts_allowed: bool,
    ) -> Auth {
        let parallelism = std::thread::available_parallelism().map_or(2, |n| n.get());
        Auth {
            keys,
            passwords,
            live: LiveCache::new(Arc::clone(&store)),
            store,
            throttle: Arc::new(LoginThrottle::new(config)),
            rotation: RotationPolicy {
                grace_secs: config.refresh_grace_secs as i64,
                idle_secs: config.refresh_idle_secs as i64,
            },
            api_rotation: config.api_refresh_rotation,
            reissue_threshold: config.reissue_threshold(),
            prune_interval: std::time::Duration::from_secs(config.prune_interval_secs),
            max_sessions: config.max_sessions_per_user,
            demo_accounts_allowed,
            hashing: Semaphore::new(parallelism),
        }
    }

    /// Whether `/api/auth/refresh` rotates Bearer refresh tokens (`api_refresh_rotation`).
    pub fn api_rotation(&self) -> bool {
        self.api_rotation
    }

    async fn hashing_permit(&self) -> Result<SemaphorePermit<'_>, AuthError> {
        self.hashing
            .acquire()
            .await
            .map_err(|e| AuthError::Internal(e.to_string()))
    }

    /// Checks the credentials and starts a new login. Unknown user, wrong password and disabled
    /// account all take the same time and give the same [`AuthError::InvalidCredentials`].
    /// Past the throttling limits the answer is [`AuthError::Throttled`], before any password
    /// work. The username is looked up by its canonical form (see [`usernames`]).
    pub async fn login(
        &self,
        username: String,
        password: String,
        client: ClientInfo,
    ) -> Result<Login, AuthError> {
        let now = now();
        let canonical = usernames::canonical(&username);
        let attempt = self
            .throttle
            .begin(&canonical, client.ip, now)
            .await
            .map_err(|t| AuthError::Throttled {
                retry_after: t.retry_after,
            })?;
        let store = Arc::clone(&self.store);
        let passwords = self.passwords.clone();
        let expires_at = now + self.keys.ttl(TokenType::Refresh);
        let session_id = tokens::random_id(16);
        let refresh_jti = tokens::random_id(16);
        let new_session = NewSession {
            id: session_id.clone(),
            user_id: 0,
            created_at: now as i64,
            expires_at: expires_at as i64,
            user_agent: client.user_agent,
            address: client.ip.map(|ip| ip.to_string()),
            refresh_jti: refresh_jti.clone(),
        };
        let (max_sessions, idle_secs) = (self.max_sessions, self.rotation.idle_secs);
        let demo_allowed = self.demo_accounts_allowed;
        let _permit = self.hashing_permit().await?;
        let user: Option<User> = blocking(move || {
            let found = store.find_users_by_canonical(&canonical)?;
            // Two accounts of one canonical form (a database from before the rule) are both
            // refused until an administrator renames one: neither may use the other's budget.
            let user = match found.as_slice() {
                [user] => Some(user),
                [] => None,
                clashing => {
                    let names: Vec<&str> = clashing.iter().map(|u| u.username.as_str()).collect();
                    log::warn!(
                        "login refused: {names:?} share one canonical username; rename or delete \
                         all but one (`jwtapp user rename OLD NEW`)"
                    );
                    None
                }
            };
            let matched =
                passwords.verify(&password, user.as_ref().map(|u| u.password_hash.as_str()));
            match user {
                Some(user) if matched && user.enabled && (demo_allowed || !user.is_demo) => {
                    rehash_if_weaker(store.as_ref(), &passwords, user, &password, now);
                    store.create_session(
                        &NewSession {
                            user_id: user.id,
                            ..new_session
                        },
                        max_sessions,
                        idle_secs,
                    )?;
                    Ok(Some(user.clone()))
                }
                _ => Ok(None),
            }
        })
        .await?;
        let Some(user) = user else {
            attempt.failed();
            return Err(AuthError::InvalidCredentials);
        };
        attempt.succeeded();
        // The session cap may have ended another login of this user.
        self.live.invalidate();
        let principal = Principal {
            user_id: user.id,
            username: user.username,
            enabled: user.enabled,
            is_admin: user.is_admin,
            session_id,
        };
        Ok(Login {
            access: self.mint_access(&principal, now, expires_at)?,
            refresh: self.mint_refresh(&principal, &refresh_jti, now, expires_at)?,
            principal,
        })
    }

    /// Verifies an access token and that its login and user are still live.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        let now = now();
        if let Some(answer) = self.remembered(token, now) {
            return answer.map(|(principal, _)| principal);
        }
        let claims = self.keys.verify(token, TokenType::Access, now)?;
        self.live_principal(&claims, now).await
    }

    /// The answer for an access token verified before whose user and session are cached, with
    /// the token's `exp`: the same checks as the full path, under one lock and without an await.
    /// `None` when anything must be computed or read first; the full path then answers.
    fn remembered(&self, token: &str, now: u64) -> Option<Result<(Principal, u64), AuthError>> {
        let answer = self
            .keys
            .verify_remembered(token, TokenType::Access, now, |claims| {
                // Cached statuses count only if nothing was committed since they were read. If
                // that cannot be told, the full path reports it (after checking the token).
                self.live.sync().ok()?;
                let (user, session) = self.live.cached(&claims.sub, &claims.sid)?;
                let checked = self.check_live(claims, user, session, now);
                Some(checked.map(|principal| (principal, claims.exp)))
            })?;
        match answer {
            // The token was remembered but its claims fail now (expired, wrong type).
            Err(token_error) => Some(Err(token_error.into())),
            Ok(checked) => checked,
        }
    }

    /// Verifies a refresh token and that its login and user are still live.
    pub async fn authenticate_refresh(&self, token: &str) -> Result<RefreshSession, AuthError> {
        let now = now();
        let claims = self.keys.verify(token, TokenType::Refresh, now)?;
        let principal = self.live_principal(&claims, now).await?;
        Ok(RefreshSession {
            principal,
            jti: claims.jti.clone(),
        })
    }

    /// Authenticates a browser by its cookies. A valid access token with more than the reissue
    /// threshold left is enough; otherwise the refresh cookie is used (and rotated) for new
    /// tokens, minted here, which the caller sets as the new cookies.
    pub async fn authenticate_cookies(
        &self,
        access: Option<&str>,
        refresh: Option<&str>,
    ) -> Result<CookieSession, AuthError> {
        let now = now();
        // The common case, answered without an await: a remembered access cookie, fresh enough.
        if let Some(Some(Ok((principal, exp)))) = access.map(|token| self.remembered(token, now))
            && (refresh.is_none() || exp >= now + self.reissue_threshold)
        {
            return Ok(CookieSession {
                principal,
                reissued: None,
            });
        }
        let verified = access.map(|token| self.keys.verify(token, TokenType::Access, now));
        // Fresh enough, or about to expire with nothing to renew it from: use it as it is.
        if let Some(Ok(claims)) = &verified
            && (refresh.is_none() || claims.exp >= now + self.reissue_threshold)
        {
            return Ok(CookieSession {
                principal: self.live_principal(claims, now).await?,
                reissued: None,
            });
        }
        let Some(refresh) = refresh else {
            return Err(match verified {
                Some(Err(e)) => e.into(),
                _ => AuthError::SessionEnded,
            });
        };
        let renewed = match self.authenticate_refresh(refresh).await {
            Ok(session) => self
                .refresh(&session, true)
                .await
                .map(|tokens| (session.principal, tokens)),
            Err(e) => Err(e),
        };
        match renewed {
            Ok((principal, tokens)) => Ok(CookieSession {
                principal,
                reissued: Some(tokens),
            }),
            // A refresh cookie that no longer works next to an access token that is still
            // valid, though close to its end: the access token decides (its session is checked
            // again, so a family revoked for reuse a moment ago is refused here too).
            Err(refresh_error) => match &verified {
                Some(Ok(claims)) if claims.exp >= now => Ok(CookieSession {
                    principal: self.live_principal(claims, now).await?,
                    reissued: None,
                }),
                _ => Err(refresh_error),
            },
        }
    }

    /// Uses a verified refresh token: a new access token and, with `rotate`, the family's next
    /// refresh token. The parent of the live token gets the same successor again within the
    /// grace window; any other used token revokes the whole family.
    pub async fn refresh(
        &self,
        session: &RefreshSession,
        rotate: bool,
    ) -> Result<Refreshed, AuthError> {
        let now = now();
        let store = Arc::clone(&self.store);
        let sid = session.principal.session_id.clone();
        let jti = session.jti.clone();
        let user_id = session.principal.user_id;
        let policy = self.rotation;
        let (outcome, family) = blocking(move || {
            let mut outcome = Outcome::Ended;
            let family = store.update_family(&sid, now as i64, &mut |family| {
                let successor = tokens::random_id(16);
                let (decided, update) =
                    rotation::decide(family, &jti, user_id, now as i64, policy, rotate, successor);
                outcome = decided;
                update
            })?;
            Ok((outcome, family))
        })
        .await?;
        let principal = &session.principal;
        let family = match (&outcome, family) {
            (Outcome::Reused, _) => {
                self.live.invalidate();
                log::warn!(
                    target: "jwtapp::security",
                    "security: refresh token reuse: user {:?} (id {}) presented an already used \
                     refresh token of session {}; the session and all its tokens are revoked",
                    principal.username,
                    principal.user_id,
                    principal.session_id
                );
                return Err(AuthError::RefreshReused);
            }
            (Outcome::Ended, _) | (_, None) => return Err(AuthError::SessionEnded),
            (_, Some(family)) => family,
        };
        let expires_at = family.expires_at.max(0) as u64;
        // A refresh token only for a caller that rotates: without rotation (the API by default)
        // the answer keeps the original shape even for a family the cookie flow has rotated.
        let refresh = match (&outcome, &family.refresh_jti) {
            (Outcome::Rotated | Outcome::Replayed, Some(jti)) if rotate => {
                Some(self.mint_refresh(
                    principal,
                    jti,
                    family.refresh_issued_at.max(0) as u64,
                    expires_at,
                )?)
            }
            _ => None,
        };
        Ok(Refreshed {
            access: self.mint_access(principal, now, expires_at)?,
            refresh,
        })
    }

    /// Ends a login: all of its tokens stop working at once.
    pub async fn logout(&self, principal: &Principal) -> Result<(), AuthError> {
        let store = Arc::clone(&self.store);
        let sid = principal.session_id.clone();
        let now = now() as i64;
        let revoked =
            blocking(move || store.revoke_session(&sid, now, crate::store::reason::LOGOUT)).await?;
        // Do not wait for the next marker check: this process knows it changed something.
        self.live.invalidate();
        if revoked {
            Ok(())
        } else {
            Err(AuthError::SessionEnded)
        }
    }

    /// Answers when the database does (for readiness probes).
    pub async fn database_ready(&self) -> Result<(), StoreError> {
        let store = Arc::clone(&self.store);
        blocking(move || store.ping()).await
    }

    /// The background housekeeping: what it needs, owned, so it can run on its own task.
    pub fn pruner(&self) -> Pruner {
        Pruner {
            store: Arc::clone(&self.store),
            throttle: Arc::clone(&self.throttle),
            idle_secs: self.rotation.idle_secs,
            interval: self.prune_interval,
        }
    }

    /// The one check every token goes through after its signature: the user exists and is
    /// enabled (else 403), and the login is live and theirs (else 401).
    async fn live_principal(&self, claims: &Claims, now: u64) -> Result<Principal, AuthError> {
        self.live.sync()?;
        let user = self.live.user(&claims.sub).await?;
        // A missing or disabled user is refused before the session is looked up.
        if !user.is_some_and(|user| user.enabled) {
            return Err(AuthError::UserUnavailable);
        }
        let session = self.live.session(&claims.sid).await?;
        self.check_live(claims, user, session, now)
    }

    /// The rule itself: the user exists and is enabled (else 403), and the session is theirs,
    /// not revoked, not past its end and not idle (else 401).
    fn check_live(
        &self,
        claims: &Claims,
        user: Option<UserStatus>,
        session: Option<SessionStatus>,
        now: u64,
    ) -> Result<Principal, AuthError> {
        let user = match user {
            Some(user) if user.enabled && (self.demo_accounts_allowed || !user.is_demo) => user,
            _ => return Err(AuthError::UserUnavailable),
        };
        let now = now as i64;
        match session {
            Some(s)
                if !s.revoked
                    && s.user_id == user.id
                    && s.expires_at > now
                    && s.last_used_at.saturating_add(self.rotation.idle_secs) > now => {}
            _ => return Err(AuthError::SessionEnded),
        }
        Ok(Principal {
            user_id: user.id,
            username: claims.sub.clone(),
            enabled: user.enabled,
            is_admin: user.is_admin,
            session_id: claims.sid.clone(),
        })
    }

    fn mint_access(
        &self,
        principal: &Principal,
        now: u64,
        not_after: u64,
    ) -> Result<Minted, AuthError> {
        let jti = tokens::random_id(16);
        self.mint(TokenType::Access, principal, &jti, now, not_after)
    }

    fn mint_refresh(
        &self,
        principal: &Principal,
        jti: &str,
        issued_at: u64,
        not_after: u64,
    ) -> Result<Minted, AuthError> {
        self.mint(TokenType::Refresh, principal, jti, issued_at, not_after)
    }

    fn mint(
        &self,
        typ: TokenType,
        principal: &Principal,
        jti: &str,
        issued_at: u64,
        not_after: u64,
    ) -> Result<Minted, AuthError> {
        self.keys
            .mint(
                typ,
                &principal.username,
                &principal.session_id,
                jti,
                issued_at,
                not_after,
            )
            .map_err(|e| AuthError::Internal(format!("cannot sign a token: {e}")))
    }
}

/// Stores a stronger hash of `password` when `user`'s was made with weaker argon2 settings than
/// the configured ones. A failure only costs the upgrade, never the login.
fn rehash_if_weaker(
    store: &dyn Store,
    passwords: &Passwords,
    user: &User,
    password: &str,
    now: u64,
) {
    if !passwords.needs_rehash(&user.password_hash) {
        return;
    }
    let upgraded = passwords
        .hash(password)
        .map_err(|e| e.to_string())
        .and_then(|hash| {
            store
                .set_password_hash(&user.username, &hash, now as i64)
                .map_err(|e| e.to_string())
        });
    match upgraded {
        Ok(()) => log::info!(
            "upgraded the password hash of {:?} to the configured argon2 settings",
            user.username
        ),
        Err(e) => log::warn!(
            "could not upgrade the password hash of {:?}: {e}",
            user.username
        ),
    }
}
