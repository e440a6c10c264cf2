//! Using a refresh token (rotation with reuse detection), and logging out.

use std::sync::{Arc, Mutex};

use super::error::AuthError;
use super::events::{By, EventKind, SecurityEvent};
use super::principal::{ClientInfo, Principal, RefreshGrant, Reissued};
use super::rotation::{self, Outcome};
use super::service::Auth;
use super::tokens::random_id;
use crate::store::Store;
use crate::store::reason;

impl Auth {
    /// Uses a verified refresh token: a new access token and, with `rotate`, the family's next
    /// refresh token. The parent of the current token gets the same successor again within the
    /// grace window; any other used token revokes the whole family. The decision is made on the
    /// row inside the store's write transaction (a compare-and-swap in the database).
    pub async fn refresh(
        &self,
        grant: &RefreshGrant,
        rotate: bool,
        client: &ClientInfo,
    ) -> Result<Reissued, AuthError> {
        let now = self.clock.now();
        let principal = &grant.principal;
        let outcome = Arc::new(Mutex::new(Outcome::Ended));
        let decided = Arc::clone(&outcome);
        let (jti, user_id, policy) = (grant.jti.clone(), principal.user_id, self.rotation);
        let successor = random_id(16);
        let family = self
            .store
            .update_family(
                &principal.session_id,
                now as i64,
                Box::new(move |family| {
                    let (outcome, update) = rotation::decide(
                        family, &jti, user_id, now as i64, policy, rotate, successor,
                    );
                    *decided.lock().unwrap_or_else(|p| p.into_inner()) = outcome;
                    update
                }),
            )
            .await?;
        let outcome = outcome.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let family = match (&outcome, family) {
            (Outcome::Reused, _) => {
                self.metrics.refreshes.with_label_values(&["reused"]).inc();
                self.events.record(
                    SecurityEvent::new(EventKind::RefreshReuseDetected)
                        .principal(principal)
                        .client(client)
                        // jwtapp ended the session; who sent the token is not known.
                        .by(By::System)
                        .detail(
                            "a refresh token that had been exchanged already came back: the \
                             session and all its tokens were revoked",
                        ),
                );
                return Err(AuthError::RefreshReused);
            }
            (Outcome::Ended, family) | (_, family @ None) => {
                self.metrics.refreshes.with_label_values(&["refused"]).inc();
                // Disabling or deleting a user ends their sessions: the database may show the
                // ended session before this process's cache shows the user's new state. The
                // answer is the one the database gives, as it will be once the cache catches
                // up: about the user (403) when they cannot log in, else about the session.
                let user = self.store.inner().user_status(&principal.username).await?;
                return Err(match (user, family) {
                    (Some(user), _) if !self.usable(&user) => AuthError::UserUnavailable,
                    (None, None) => AuthError::UserUnavailable,
                    _ => AuthError::SessionEnded,
                });
            }
            (_, Some(family)) => family,
        };
        self.metrics.refreshes.with_label_values(&["rotated"]).inc();
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
        // The session's auth_time: a refreshed token is no fresher than the password entry.
        let auth_time = family.auth_time.max(0) as u64;
        Ok(Reissued {
            access: self.mint_access(principal, now, expires_at, auth_time)?,
            refresh,
            auth_time,
        })
    }

    /// Ends a login: all of its tokens stop working at once.
    pub async fn logout(
        &self,
        principal: &Principal,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let now = self.clock.now() as i64;
        if self
            .store
            .revoke_session(&principal.session_id, now, reason::LOGOUT)
            .await?
        {
            self.events.record(
                SecurityEvent::new(EventKind::Logout)
                    .principal(principal)
                    .client(client)
                    .by(By::TheUser),
            );
            Ok(())
        } else {
            Err(AuthError::SessionEnded)
        }
    }
}
