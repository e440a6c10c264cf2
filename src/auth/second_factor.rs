//! The second factor: checking a code (TOTP or recovery) at a login or a re-entry, and what a
//! user does to their own factor: set it up, turn it on with a first code, turn it off, make
//! new recovery codes.

use super::error::AuthError;
use super::events::{By, EventKind, SecurityEvent};
use super::principal::{ClientInfo, Principal};
use super::recovery;
use super::service::Auth;
use super::throttle::{Attempt, Keys};
use super::totp::{self, TotpSecret};
use super::usernames;
use crate::store::{Store, User};

/// A user's second factor as their account page shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TotpStatus {
    /// When it was turned on; `None` while it is off.
    pub enabled_at: Option<i64>,
    /// A secret waits for its first code (set up, not yet on).
    pub pending: bool,
    pub recovery_codes_left: u32,
}

/// A secret being set up: what the authenticator app needs.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSetup {
    /// Base32, for typing in.
    pub secret: String,
    /// `otpauth://totp/...`, for the QR code.
    pub uri: String,
}

impl std::fmt::Debug for TotpSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSetup([redacted])")
    }
}

impl Auth {
    /// Checks a code for `user` (whose password was right): a TOTP code of the current step or
    /// one either side, accepted once, or an unused recovery code. A wrong or replayed code
    /// counts against the throttle like a wrong password, and is [`AuthError::WrongCode`].
    pub(super) async fn check_code(
        &self,
        user: &User,
        code: &str,
        attempt: Attempt,
        client: &ClientInfo,
    ) -> Result<Attempt, AuthError> {
        let now = self.clock.now();
        let code = totp::normalize(code);
        let refusal = if totp::looks_like_totp(&code) {
            let secret = self.totp_secret(user.id).await?;
            match secret.and_then(|secret| secret.check(&code, now)) {
                Some(step) if self.store.use_totp_step(user.id, step).await? => None,
                Some(_) => Some("a code that was used already"),
                None => Some("a wrong code"),
            }
        } else if recovery::looks_like_recovery_code(&code)
            && self
                .store
                .use_recovery_code(user.id, &recovery::hash(&code), now as i64)
                .await?
        {
            let left = self.store.second_factor(user.id).await?.recovery_codes_left;
            self.events.record(
                SecurityEvent::new(EventKind::RecoveryCodeUsed)
                    .user(user.id, &user.username)
                    .client(client)
                    .by(By::TheUser)
                    .detail(format!("{left} left")),
            );
            None
        } else {
            Some("a wrong code")
        };
        if let Some(why) = refusal {
            self.count_failure(attempt).await?;
            self.metrics.logins.with_label_values(&["failed"]).inc();
            self.events.record(
                SecurityEvent::new(EventKind::MfaFailed)
                    .user(user.id, &user.username)
                    .client(client)
                    .detail(why),
            );
            return Err(AuthError::WrongCode);
        }
        Ok(attempt)
    }

    /// The user's TOTP secret in the clear, when their second factor is on.
    async fn totp_secret(&self, user_id: i64) -> Result<Option<TotpSecret>, AuthError> {
        let Some(sealed) = self.store.second_factor(user_id).await?.secret else {
            return Ok(None);
        };
        self.open(&sealed).map(Some)
    }

    fn open(&self, sealed: &str) -> Result<TotpSecret, AuthError> {
        self.sealer.open(sealed).map(TotpSecret::from_bytes).map_err(|e| {
            log::error!(
                "a stored TOTP secret cannot be opened: auth.secret changed since it was stored \
                 (list the old one in retired_keys to keep it working), or the row was altered. \
                 An administrator can remove the user's second factor: jwtapp user reset-2fa NAME"
            );
            AuthError::Unsealable(e)
        })
    }

    /// The caller's second factor, for their account page.
    pub async fn totp_status(&self, principal: &Principal) -> Result<TotpStatus, AuthError> {
        let factor = self.store.second_factor(principal.user_id).await?;
        Ok(TotpStatus {
            enabled_at: factor.secret.as_ref().and(factor.enabled_at),
            pending: factor.secret.is_none() && factor.pending.is_some(),
            recovery_codes_left: factor.recovery_codes_left,
        })
    }

    /// Starts setting the second factor up: a new secret, kept until a code confirms it (a
    /// second setup replaces the first). Refused while the factor is on.
    pub async fn totp_setup(&self, principal: &Principal) -> Result<TotpSetup, AuthError> {
        let factor = self.store.second_factor(principal.user_id).await?;
        if factor.secret.is_some() {
            return Err(AuthError::NotAllowed(
                "two-step sign-in is on already: turn it off first to set up another app",
            ));
        }
        let secret = TotpSecret::generate();
        let sealed = self.sealer.seal(secret.as_bytes());
        self.store
            .set_pending_totp(principal.user_id, &sealed, self.clock.now() as i64)
            .await?;
        self.setup_of(principal, &secret)
    }

    /// The setup waiting for its first code, to show again (after a re-entry of the password,
    /// or a reload).
    pub async fn totp_pending(
        &self,
        principal: &Principal,
    ) -> Result<Option<TotpSetup>, AuthError> {
        let factor = self.store.second_factor(principal.user_id).await?;
        match (factor.secret, factor.pending) {
            (None, Some(sealed)) => {
                let secret = self.open(&sealed)?;
                self.setup_of(principal, &secret).map(Some)
            }
            _ => Ok(None),
        }
    }

    fn setup_of(&self, principal: &Principal, secret: &TotpSecret) -> Result<TotpSetup, AuthError> {
        let uri =
            secret
                .uri(&self.totp_issuer, &principal.username)
                .ok_or(AuthError::NotAllowed(
                    "this username cannot be put in an authenticator app's label",
                ))?;
        Ok(TotpSetup {
            secret: secret.base32(),
            uri,
        })
    }

    /// Turns the second factor on with the first code from the app (a fresh login needed).
    /// Returns the recovery codes, shown this once.
    pub async fn totp_enable(
        &self,
        principal: &Principal,
        code: &str,
        client: &ClientInfo,
    ) -> Result<Vec<String>, AuthError> {
        self.require_fresh(principal)?;
        let now = self.clock.now();
        let keys = Keys::new(&usernames::canonical(&principal.username), client.ip);
        let attempt = self.begin_attempt(keys, now).await?;
        let factor = self.store.second_factor(principal.user_id).await?;
        if factor.secret.is_some() {
            return Err(AuthError::NotAllowed("two-step sign-in is on already"));
        }
        let Some(sealed) = factor.pending else {
            return Err(AuthError::NotAllowed(
                "set two-step sign-in up first (POST /api/auth/totp/setup)",
            ));
        };
        let secret = self.open(&sealed)?;
        let Some(step) = secret.check(&totp::normalize(code), now) else {
            self.count_failure(attempt).await?;
            self.events.record(
                SecurityEvent::new(EventKind::MfaFailed)
                    .principal(principal)
                    .client(client)
                    .detail("a wrong code, when turning two-step sign-in on"),
            );
            return Err(AuthError::WrongCode);
        };
        let codes = recovery::generate();
        let hashes = codes.iter().map(|c| recovery::hash(c)).collect();
        if !self
            .store
            .enable_totp(principal.user_id, &sealed, step, hashes, now as i64)
            .await?
        {
            return Err(AuthError::NotAllowed(
                "the setup changed meanwhile (another setup started?): set it up again",
            ));
        }
        self.store.forgive_failures(&attempt.keys().user).await?;
        drop(attempt);
        self.events.record(
            SecurityEvent::new(EventKind::MfaEnabled)
                .principal(principal)
                .client(client)
                .by(By::TheUser),
        );
        Ok(codes)
    }

    /// Turns the caller's second factor off, after checking their password (a fresh login
    /// needed too). Wrong passwords are throttled like logins.
    pub async fn totp_disable(
        &self,
        principal: &Principal,
        password: String,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        self.require_fresh(principal)?;
        let now = self.clock.now();
        let keys = Keys::new(&usernames::canonical(&principal.username), client.ip);
        let attempt = self.begin_attempt(keys, now).await?;
        let user = self.store.find_user(&principal.username).await?;
        if self
            .check_password(password, user.as_ref())
            .await?
            .is_none()
        {
            self.count_failure(attempt).await?;
            self.events.record(
                SecurityEvent::new(EventKind::ReauthFailed)
                    .principal(principal)
                    .client(client)
                    .detail("wrong password, when turning two-step sign-in off"),
            );
            return Err(AuthError::WrongPassword);
        }
        let (was_on, _) = self
            .store
            .disable_totp(principal.user_id, false, now as i64)
            .await?;
        if !was_on {
            return Err(AuthError::NotAllowed("two-step sign-in is not on"));
        }
        self.store.forgive_failures(&attempt.keys().user).await?;
        drop(attempt);
        self.events.record(
            SecurityEvent::new(EventKind::MfaDisabled)
                .principal(principal)
                .client(client)
                .by(By::TheUser),
        );
        Ok(())
    }

    /// New recovery codes in place of the old ones (a fresh login needed); shown this once.
    pub async fn replace_recovery_codes(
        &self,
        principal: &Principal,
        client: &ClientInfo,
    ) -> Result<Vec<String>, AuthError> {
        self.require_fresh(principal)?;
        let codes = recovery::generate();
        let hashes = codes.iter().map(|c| recovery::hash(c)).collect();
        if !self
            .store
            .replace_recovery_codes(principal.user_id, hashes)
            .await?
        {
            return Err(AuthError::NotAllowed(
                "two-step sign-in is not on: recovery codes come with it",
            ));
        }
        self.events.record(
            SecurityEvent::new(EventKind::RecoveryCodesReplaced)
                .principal(principal)
                .client(client)
                .by(By::TheUser),
        );
        Ok(codes)
    }
}
