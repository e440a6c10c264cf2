//! What signed-in users do to their own account: list and end their sessions, change their
//! password.

use super::error::AuthError;
use super::events::{By, EventKind, SecurityEvent};
use super::passwords::Passwords;
use super::principal::{ClientInfo, Principal};
use super::service::Auth;
use super::throttle::Keys;
use super::usernames;
use crate::store::Store;
use crate::store::{Session, reason};

impl Auth {
    /// The caller's active logins, most recently used first (at most `max_sessions_per_user`).
    pub async fn sessions(&self, principal: &Principal) -> Result<Vec<Session>, AuthError> {
        let now = self.clock.now() as i64;
        Ok(self
            .store
            .active_sessions(
                principal.user_id,
                now,
                self.limits.idle_secs,
                self.limits.max_per_user,
            )
            .await?)
    }

    /// Ends one of the caller's own sessions; any other id is "not found" (even another user's,
    /// so ids cannot be probed).
    pub async fn end_session(
        &self,
        principal: &Principal,
        id: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let now = self.clock.now() as i64;
        let own = self.store.find_session(id).await?.is_some_and(|session| {
            session.user_id == principal.user_id && session.is_active(now, self.limits.idle_secs)
        });
        if own && self.store.revoke_session(id, now, reason::USER).await? {
            let detail = if id == principal.session_id {
                "this session, by its user"
            } else {
                "by its user, from another session"
            };
            self.events.record(
                SecurityEvent::new(EventKind::SessionEnded)
                    .user(principal.user_id, &principal.username)
                    .session(id)
                    .client(client)
                    .by(By::TheUser)
                    .detail(detail),
            );
            Ok(())
        } else {
            Err(AuthError::NotFound(
                "no such session among yours (it may have ended already)".into(),
            ))
        }
    }

    /// Ends every session of the caller: all of them, or all but the one making the request
    /// (a fresh login needed: a stolen session must not lock its owner out). Returns how many
    /// ended.
    pub async fn end_sessions(
        &self,
        principal: &Principal,
        keep_current: bool,
        client: &ClientInfo,
    ) -> Result<u64, AuthError> {
        self.require_fresh(principal)?;
        let keep = keep_current.then_some(principal.session_id.as_str());
        let why = if keep_current {
            reason::USER
        } else {
            reason::LOGOUT
        };
        let now = self.clock.now() as i64;
        let ended = self
            .store
            .revoke_user_sessions(principal.user_id, keep, now, why)
            .await?;
        let which = if keep_current {
            "every other session"
        } else {
            "every session"
        };
        self.events.record(
            SecurityEvent::new(EventKind::SessionsEndedAll)
                .principal(principal)
                .client(client)
                .by(By::TheUser)
                .detail(format!("{which}: {} ended", ended.len())),
        );
        Ok(ended.len() as u64)
    }

    /// Changes the caller's password after checking the current one (a fresh login needed
    /// too), and ends every other session of theirs. Wrong guesses of the current password are
    /// throttled like logins.
    pub async fn change_password(
        &self,
        principal: &Principal,
        current: String,
        new: &str,
        client: &ClientInfo,
    ) -> Result<u64, AuthError> {
        self.require_fresh(principal)?;
        Passwords::check_policy(new)?;
        let now = self.clock.now();
        let keys = Keys::new(&usernames::canonical(&principal.username), client.ip);
        let attempt = self.begin_attempt(keys, now).await?;
        let user = self.store.find_user(&principal.username).await?;
        if self.check_password(current, user.as_ref()).await?.is_none() {
            self.count_failure(attempt).await?;
            self.events.record(
                SecurityEvent::new(EventKind::LoginFailed)
                    .principal(principal)
                    .client(client)
                    .by(By::TheUser)
                    .detail("wrong current password, when changing it"),
            );
            return Err(AuthError::WrongPassword);
        }
        let hash = {
            let _permit = self.hashing_permit().await?;
            let (passwords, new) = (self.passwords.clone(), new.to_owned());
            tokio::task::spawn_blocking(move || passwords.hash(&new))
                .await
                .map_err(crate::store::StoreError::from)??
        };
        let ended = self
            .store
            .change_password(
                &principal.username,
                &hash,
                Some(&principal.session_id),
                now as i64,
            )
            .await?;
        self.store.forgive_failures(&attempt.keys().user).await?;
        drop(attempt);
        self.events.record(
            SecurityEvent::new(EventKind::PasswordChanged)
                .principal(principal)
                .client(client)
                .by(By::TheUser)
                .detail(format!("{} other session(s) ended", ended.len())),
        );
        Ok(ended.len() as u64)
    }
}
