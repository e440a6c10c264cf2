//! Fresh logins: sensitive actions need the password to have been entered within `fresh_secs`
//! (the access token's `auth_time`), and a signed-in user can enter it again for a fresh token
//! in the same session.

use super::error::AuthError;
use super::events::{By, EventKind, SecurityEvent};
use super::principal::{ClientInfo, Principal};
use super::service::Auth;
use super::throttle::Keys;
use super::tokens::Minted;
use super::usernames;
use crate::store::Store;

impl Auth {
    /// Refuses with [`AuthError::FreshLoginRequired`] unless the caller entered their password
    /// within `fresh_secs`.
    pub fn require_fresh(&self, principal: &Principal) -> Result<(), AuthError> {
        if principal.is_fresh(self.clock.now(), self.fresh_secs) {
            Ok(())
        } else {
            Err(AuthError::FreshLoginRequired)
        }
    }

    /// Whether the caller may do a sensitive action now, without entering the password again.
    pub fn is_fresh(&self, principal: &Principal) -> bool {
        self.require_fresh(principal).is_ok()
    }

    /// The password (and, with a second factor, a code) entered again in the caller's session:
    /// a fresh access token for the same session, and every token the session mints from now
    /// on says so. Wrong passwords and codes are throttled like logins.
    pub async fn reauth(
        &self,
        principal: &Principal,
        password: String,
        code: Option<&str>,
        client: &ClientInfo,
    ) -> Result<Minted, AuthError> {
        let now = self.clock.now();
        let keys = Keys::new(&usernames::canonical(&principal.username), client.ip);
        let attempt = self.begin_attempt(keys, now).await?;
        let user = self.store.find_user(&principal.username).await?;
        let Some((user, _)) = self.check_password(password, user.as_ref()).await? else {
            self.count_failure(attempt).await?;
            self.events.record(
                SecurityEvent::new(EventKind::ReauthFailed)
                    .principal(principal)
                    .client(client)
                    .detail("wrong password"),
            );
            return Err(AuthError::WrongPassword);
        };
        let attempt = match (user.has_totp, code) {
            (false, _) => attempt,
            (true, None) => return Err(AuthError::MfaRequired),
            (true, Some(code)) => self.check_code(&user, code, attempt, client).await?,
        };
        let session = self
            .store
            .find_session(&principal.session_id)
            .await?
            .filter(|s| s.is_active(now as i64, self.limits.idle_secs))
            .ok_or(AuthError::SessionEnded)?;
        if !self
            .store
            .set_auth_time(&principal.session_id, now as i64)
            .await?
        {
            return Err(AuthError::SessionEnded);
        }
        self.store.forgive_failures(&attempt.keys().user).await?;
        drop(attempt);
        self.events.record(
            SecurityEvent::new(EventKind::ReauthSucceeded)
                .principal(principal)
                .client(client)
                .by(By::TheUser),
        );
        self.mint_access(principal, now, session.expires_at.max(0) as u64, now)
    }
}
