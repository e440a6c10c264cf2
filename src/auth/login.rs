//! Logging in: credentials checked, throttled, a new session started.

use super::error::AuthError;
use super::events::{By, EventKind, SecurityEvent};
use super::principal::{ClientInfo, Login, Principal};
use super::service::Auth;
use super::throttle::{Attempt, Keys, Refusal};
use super::tokens::{Minted, STEP_TTL_SECS, TokenError, TokenType, random_id};
use super::usernames;
use crate::store::{NewSession, Store, User};

/// Where a login stands after the password.
#[derive(Debug)]
pub enum LoginStep {
    /// Signed in.
    Done(Login),
    /// The password was right and the account has a second factor: the code is due, with this
    /// step token (short-lived, single-use; it grants nothing by itself).
    Code { step_token: Minted },
}

impl Auth {
    /// Checks the credentials (and the code, for an account with a second factor) and starts a
    /// new login: the API's one-request login. Unknown user, wrong password and disabled
    /// account all take the same time and give the same [`AuthError::InvalidCredentials`].
    /// Past the throttling limits the answer is [`AuthError::Throttled`], before any password
    /// work. With a second factor, no code is [`AuthError::MfaRequired`] and a wrong one
    /// [`AuthError::WrongCode`]. The username is looked up by its canonical form.
    pub async fn login(
        &self,
        username: &str,
        password: String,
        code: Option<&str>,
        client: ClientInfo,
    ) -> Result<Login, AuthError> {
        let (user, attempt) = self.first_factor(username, password, &client).await?;
        let attempt = match (user.has_totp, code) {
            (false, _) => attempt,
            (true, None) => return Err(AuthError::MfaRequired),
            (true, Some(code)) => self.check_code(&user, code, attempt, &client).await?,
        };
        self.start_session(user, attempt, &client).await
    }

    /// The pages' first step: the password. Signed in, or (with a second factor) a step token
    /// for the code form.
    pub async fn begin_login(
        &self,
        username: &str,
        password: String,
        client: ClientInfo,
    ) -> Result<LoginStep, AuthError> {
        let (user, attempt) = self.first_factor(username, password, &client).await?;
        if !user.has_totp {
            return Ok(LoginStep::Done(
                self.start_session(user, attempt, &client).await?,
            ));
        }
        let now = self.clock.now();
        let step_token = self.keys.mint(
            TokenType::Step,
            &user.username,
            &random_id(16),
            &random_id(16),
            now,
            now + STEP_TTL_SECS,
        )?;
        Ok(LoginStep::Code { step_token })
    }

    /// The pages' second step: the code, with the step token of the first. A step token
    /// completes one login at most.
    pub async fn finish_login(
        &self,
        step_token: &str,
        code: &str,
        client: ClientInfo,
    ) -> Result<Login, AuthError> {
        let now = self.clock.now();
        let claims = self.keys.verify(step_token, TokenType::Step, now)?;
        let attempt = self
            .begin_attempt(
                Keys::new(&usernames::canonical(&claims.sub), client.ip),
                now,
            )
            .await?;
        // The account as it is now: disabled, deleted or its factor removed since the password.
        let user = match self.store.find_user(&claims.sub).await? {
            Some(user) if self.may_log_in(&user) && user.has_totp => user,
            _ => return Err(AuthError::InvalidCredentials),
        };
        // A step token that completed its login already is refused before the code is looked
        // at: the code offered with it (a TOTP step, a recovery code) must not be spent on a
        // login that cannot happen. Two requests racing with one token can still both spend a
        // code; only one of them signs in.
        if self.store.token_used(&claims.jti).await? {
            return Err(TokenError::NotAStepToken.into());
        }
        let attempt = self.check_code(&user, code, attempt, &client).await?;
        // Remembered for as long as the token verifies: until `exp` plus the leeway.
        let verifies_until = claims.exp.saturating_add(self.keys.leeway_secs());
        if !self
            .store
            .use_token_once(
                &claims.jti,
                i64::try_from(verifies_until).unwrap_or(i64::MAX),
            )
            .await?
        {
            return Err(TokenError::NotAStepToken.into());
        }
        self.start_session(user, attempt, &client).await
    }

    /// The password, throttled: the account it opens (enabled, and allowed in this profile), and
    /// the attempt still in flight.
    async fn first_factor(
        &self,
        username: &str,
        password: String,
        client: &ClientInfo,
    ) -> Result<(User, Attempt), AuthError> {
        let now = self.clock.now();
        let canonical = usernames::canonical(username);
        // The throttle's failures and the account are read at the same time: one round trip.
        let (attempt, found) = tokio::join!(
            self.begin_attempt(Keys::new(&canonical, client.ip), now),
            self.store.find_users_by_canonical(&canonical)
        );
        let found = found?;
        let account = match found.as_slice() {
            [user] => Some(user),
            _ => None,
        };
        let failure = |kind: EventKind| {
            let event = SecurityEvent::new(kind).client(client);
            match account {
                Some(user) => event.user(user.id, &user.username),
                None => event.typed_username(username),
            }
        };
        let attempt = match attempt {
            Ok(attempt) => attempt,
            Err(e @ AuthError::Throttled { .. }) => {
                self.metrics.logins.with_label_values(&["throttled"]).inc();
                self.events.record(failure(EventKind::LoginThrottled));
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        if found.len() > 1 {
            // Two accounts of one canonical form (a database from before the rule) are both
            // refused until an administrator renames one: neither may use the other's budget.
            let names: Vec<&str> = found.iter().map(|u| u.username.as_str()).collect();
            log::warn!(
                "login refused: {names:?} share one canonical username; rename or delete all but \
                 one (`jwtapp user rename OLD NEW`)"
            );
        }
        let checked = self.check_password(password, account).await?;
        let refusal = match (account, &checked) {
            (None, _) if found.len() > 1 => Some("the username matches several accounts"),
            (None, _) => Some("unknown user"),
            (Some(_), None) => Some("wrong password"),
            (Some(user), Some(_)) if !user.enabled => Some("the account is disabled"),
            (Some(user), Some(_)) if !self.may_log_in(user) => {
                Some("a demo account, outside the debug profile")
            }
            (Some(_), Some(_)) => None,
        };
        let (Some((user, password)), None) = (checked, refusal) else {
            self.count_failure(attempt).await?;
            self.metrics.logins.with_label_values(&["failed"]).inc();
            let detail = refusal.unwrap_or("refused");
            self.events
                .record(failure(EventKind::LoginFailed).detail(detail));
            return Err(AuthError::InvalidCredentials);
        };
        self.rehash_if_weaker(&user, password, now).await;
        Ok((user, attempt))
    }

    /// Starts the login of `user`, whose credentials all passed: a new session (ending the least
    /// recently used ones past the limit), the failures of this username forgiven.
    async fn start_session(
        &self,
        user: User,
        attempt: Attempt,
        client: &ClientInfo,
    ) -> Result<Login, AuthError> {
        let now = self.clock.now();
        let expires_at = now + self.keys.ttl(TokenType::Refresh);
        let session_id = random_id(16);
        let refresh_jti = random_id(16);
        let session = NewSession {
            id: session_id.clone(),
            user_id: user.id,
            username: user.username.clone(),
            created_at: now as i64,
            expires_at: expires_at as i64,
            user_agent: client.user_agent.clone(),
            address: client.ip.map(|ip| ip.to_string()),
            refresh_jti: refresh_jti.clone(),
        };
        // The session and the forgiveness of this username's failures, side by side.
        let (created, forgiven) = tokio::join!(
            self.store.create_session(session, self.limits),
            self.store.forgive_failures(&attempt.keys().user)
        );
        let capped = created?;
        forgiven?;
        drop(attempt);
        let principal = Principal {
            user_id: user.id,
            username: user.username,
            enabled: user.enabled,
            is_admin: user.is_admin,
            session_id,
            auth_time: Some(now),
        };
        self.metrics.logins.with_label_values(&["succeeded"]).inc();
        let mut succeeded = SecurityEvent::new(EventKind::LoginSucceeded)
            .principal(&principal)
            .client(client)
            .by(By::TheUser);
        if user.has_totp {
            succeeded = succeeded.detail("with a second factor");
        }
        self.events.record(succeeded);
        for ended in capped {
            self.events.record(
                SecurityEvent::new(EventKind::SessionEnded)
                    .user(principal.user_id, &principal.username)
                    .session(&ended)
                    .by(By::System)
                    .detail(format!(
                        "the least recently used session, past the limit of {}",
                        self.limits.max_per_user
                    )),
            );
        }
        Ok(Login {
            access: self.mint_access(&principal, now, expires_at, now)?,
            refresh: self.mint_refresh(&principal, &refresh_jti, now, expires_at)?,
            principal,
        })
    }

    /// Admits a login attempt under `keys`, or refuses it with [`AuthError::Throttled`] (see
    /// [`LoginThrottle::begin`](super::throttle::LoginThrottle::begin)).
    pub(super) async fn begin_attempt(&self, keys: Keys, now: u64) -> Result<Attempt, AuthError> {
        let both = keys.both();
        let store = &self.store;
        self.throttle
            .begin(keys, now, |since| store.recent_failures(&both, since))
            .await
            .map_err(|refusal| match refusal {
                Refusal::Throttled(t) => AuthError::Throttled {
                    retry_after: t.retry_after,
                },
                Refusal::Unreadable(e) => e.into(),
            })
    }

    /// Counts a failed attempt under both its keys. A failure that cannot be counted is an error
    /// of the request: it must not pass as a harmless wrong password.
    pub(super) async fn count_failure(&self, attempt: Attempt) -> Result<(), AuthError> {
        self.store
            .record_failure(&attempt.keys().both(), attempt.at as i64)
            .await?;
        Ok(())
    }

    /// Whether the user may log in at all: enabled, and not a demo account outside the debug
    /// profile.
    pub(super) fn may_log_in(&self, user: &User) -> bool {
        user.enabled && (self.demo_accounts_allowed || !user.is_demo)
    }

    /// Verifies `password` against the user's hash (or, without a user, against a dummy hash,
    /// spending the same time) on a blocking thread, at most one per core at a time. The user
    /// and the password come back when they match.
    pub(super) async fn check_password(
        &self,
        password: String,
        user: Option<&User>,
    ) -> Result<Option<(User, String)>, AuthError> {
        let _permit = self.hashing_permit().await?;
        let passwords = self.passwords.clone();
        let user = user.cloned();
        let checked = tokio::task::spawn_blocking(move || {
            let stored = user.as_ref().map(|u| u.password_hash.as_str());
            let matched = passwords.verify(&password, stored);
            user.filter(|_| matched).map(|user| (user, password))
        })
        .await
        .map_err(crate::store::StoreError::from)?;
        Ok(checked)
    }

    /// Stores a stronger hash of `password` when the user's was made with weaker argon2 settings
    /// than the configured ones. A failure only costs the upgrade, never the login.
    async fn rehash_if_weaker(&self, user: &User, password: String, now: u64) {
        if !self.passwords.needs_rehash(&user.password_hash) {
            return;
        }
        let Ok(_permit) = self.hashing_permit().await else {
            return;
        };
        let passwords = self.passwords.clone();
        let hashed = tokio::task::spawn_blocking(move || passwords.hash(&password)).await;
        let stored = match hashed {
            Ok(Ok(hash)) => self
                .store
                .set_password_hash(&user.username, &hash, now as i64)
                .await
                .map_err(|e| e.to_string()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match stored {
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
}
