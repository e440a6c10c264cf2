//! Who is calling: an access token (Bearer), a refresh token, or the browser's cookies (with the
//! access cookie reissued from the refresh cookie when it is missing, expired or nearly so).

use super::error::AuthError;
use super::principal::{ClientInfo, CookieCheck, Principal, RefreshGrant};
use super::service::Auth;
use super::tokens::{Claims, TokenType};
use crate::store::Store;
use crate::store::{SessionStatus, UserStatus};

impl Auth {
    /// Verifies an access token and that its login and user are still usable.
    ///
    /// The common case (a token seen before, whose user and session are cached and current) is
    /// answered without touching the database and without awaiting anything.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        let now = self.clock.now();
        let verified = self.verify(token, TokenType::Access, now)?;
        self.principal_of(&verified.claims, now).await
    }

    /// Verifies a refresh token and that its login and user are still usable.
    pub async fn authenticate_refresh(&self, token: &str) -> Result<RefreshGrant, AuthError> {
        let now = self.clock.now();
        let checked = match self.verify(token, TokenType::Refresh, now) {
            Ok(verified) => self
                .principal_of(&verified.claims, now)
                .await
                .map(|principal| RefreshGrant {
                    principal,
                    jti: verified.claims.jti.clone(),
                }),
            Err(e) => Err(e.into()),
        };
        if checked.is_err() {
            self.metrics.refreshes.with_label_values(&["refused"]).inc();
        }
        checked
    }

    /// Authenticates a browser by its cookies. A valid access token with more than the reissue
    /// threshold left is enough; otherwise the refresh cookie is used (and rotated) for new
    /// tokens, which the caller sets as the new cookies.
    pub async fn authenticate_cookies(
        &self,
        access: Option<&str>,
        refresh: Option<&str>,
        client: &ClientInfo,
    ) -> Result<CookieCheck, AuthError> {
        let now = self.clock.now();
        let verified = access.map(|token| self.verify(token, TokenType::Access, now));
        // Fresh enough, or about to expire with nothing to renew it from: use it as it is.
        if let Some(Ok(access)) = &verified
            && (refresh.is_none() || access.claims.exp >= now + self.reissue_threshold)
        {
            return Ok(CookieCheck {
                principal: self.principal_of(&access.claims, now).await?,
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
            Ok(grant) => self
                .refresh(&grant, true, client)
                .await
                .map(|tokens| (grant.principal, tokens)),
            Err(e) => Err(e),
        };
        match renewed {
            Ok((principal, tokens)) => Ok(CookieCheck {
                principal: Principal {
                    auth_time: Some(tokens.auth_time),
                    ..principal
                },
                reissued: Some(tokens),
            }),
            // A refresh cookie that no longer works next to an access token that is still
            // valid, though close to its end: the access token decides (its session is checked
            // again, so a family revoked for reuse a moment ago is refused here too).
            Err(refresh_error) => match &verified {
                Some(Ok(access)) if access.claims.exp >= now => Ok(CookieCheck {
                    principal: self.principal_of(&access.claims, now).await?,
                    reissued: None,
                }),
                _ => Err(refresh_error),
            },
        }
    }

    /// The one check every token goes through after its signature: the user exists and may
    /// log in (else 403), and the session is active and theirs (else 401).
    async fn principal_of(&self, claims: &Claims, now: u64) -> Result<Principal, AuthError> {
        let (user, session) = match self.store.peek(&claims.sub, &claims.sid) {
            Some(both) => both,
            None => {
                let user = self.store.user_status(&claims.sub).await?;
                // A disabled user is refused before the session is looked up.
                if user.is_some_and(|user| !self.usable(&user)) {
                    return Err(AuthError::UserUnavailable);
                }
                (user, self.store.session_status(&claims.sid).await?)
            }
        };
        self.check(claims, user, session, now)
    }

    pub(super) fn usable(&self, user: &UserStatus) -> bool {
        user.enabled && (self.demo_accounts_allowed || !user.is_demo)
    }

    /// The rule itself: the user exists and may log in (else 403), and the session is theirs
    /// and active: not revoked, not past its end, not idle (else 401). A session that outlived
    /// its user's name (the user was renamed, which ends their sessions) is an ended session.
    fn check(
        &self,
        claims: &Claims,
        user: Option<UserStatus>,
        session: Option<SessionStatus>,
        now: u64,
    ) -> Result<Principal, AuthError> {
        let user = match (user, session) {
            (Some(user), _) if self.usable(&user) => user,
            (None, Some(_)) => return Err(AuthError::SessionEnded),
            _ => return Err(AuthError::UserUnavailable),
        };
        match session {
            Some(s) if s.user_id == user.id && s.is_active(now as i64, self.rotation.idle_secs) => {
            }
            _ => return Err(AuthError::SessionEnded),
        }
        Ok(Principal {
            user_id: user.id,
            username: claims.sub.clone(),
            enabled: user.enabled,
            is_admin: user.is_admin,
            session_id: claims.sid.clone(),
            auth_time: claims.auth_time,
        })
    }
}
