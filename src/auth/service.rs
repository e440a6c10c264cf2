//! [`Auth`]: the authentication service the web layer calls. Its work is spread over the files
//! next to this one, one idea each: [`login`](super::login), [`authenticate`](super::authenticate),
//! [`refresh`](super::refresh) and [`sessions`](super::sessions).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

use super::accounts::Accounts;
use super::clock::Clock;
use super::error::AuthError;
use super::events::EventLog;
use super::housekeeping::Housekeeping;
use super::passwords::{PasswordError, Passwords};
use super::principal::Principal;
use super::rotation::RotationPolicy;
use super::sealing::Sealer;
use super::throttle::{LoginThrottle, ThrottleSettings};
use super::tokens::{Minted, TokenError, TokenKeys, TokenSettings, TokenType};
use super::verified::{Verified, VerifiedTokens};
use crate::metrics::Metrics;
use crate::store::{CachingStore, SessionLimits, Store};

/// The rules of authentication, from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub tokens: TokenSettings,
    pub throttle: ThrottleSettings,
    /// How long after a rotation the replaced refresh token still gets the same successor.
    pub refresh_grace_secs: u64,
    /// A session not refreshed for this long ends, whatever its absolute lifetime.
    pub refresh_idle_secs: u64,
    /// Rotate refresh tokens on the API's refresh too (the cookie flow always rotates).
    pub api_refresh_rotation: bool,
    /// An access cookie with less than this many seconds left is reissued.
    pub reissue_threshold_secs: u64,
    pub max_sessions_per_user: u32,
    /// Whether demo accounts may be used (the debug profile only).
    pub demo_accounts_allowed: bool,
    pub argon2: argon2::Params,
    /// How often ended sessions are deleted and old throttling state forgotten.
    pub prune_interval: Duration,
    /// How long security events are kept.
    pub event_retention: Duration,
    /// Sensitive actions need the password entered within this many seconds.
    pub fresh_secs: u64,
    /// The issuer authenticator apps show next to the account.
    pub totp_issuer: String,
}

/// The authentication service, shared by every request.
pub struct Auth {
    pub(super) keys: TokenKeys,
    pub(super) verified: VerifiedTokens,
    pub(super) store: Arc<CachingStore>,
    pub(super) passwords: Passwords,
    pub(super) throttle: Arc<LoginThrottle>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) rotation: RotationPolicy,
    pub(super) api_rotation: bool,
    pub(super) reissue_threshold: u64,
    pub(super) limits: SessionLimits,
    pub(super) demo_accounts_allowed: bool,
    pub(super) events: EventLog,
    pub(super) metrics: Arc<Metrics>,
    pub(super) sealer: Sealer,
    pub(super) fresh_secs: u64,
    pub(super) totp_issuer: String,
    prune_interval: Duration,
    event_retention: Duration,
    /// Bounds concurrent argon2 work to the number of cores: a flood of logins then queues
    /// instead of taking 19 MiB and a blocking thread each, and cannot starve other requests.
    hashing: Semaphore,
    accounts: Accounts,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("keys", &self.keys)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// The service over `store`, signing with `keys`, telling time by `clock`, recording
    /// security events to `events` (and counting in its metrics), sealing stored secrets with
    /// `sealer`.
    pub fn new(
        settings: Settings,
        keys: TokenKeys,
        store: Arc<CachingStore>,
        clock: Arc<dyn Clock>,
        events: EventLog,
        sealer: Sealer,
    ) -> Result<Auth, PasswordError> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let passwords = Passwords::new(settings.argon2.clone(), cores)?;
        let limits = SessionLimits {
            max_per_user: settings.max_sessions_per_user,
            idle_secs: settings.refresh_idle_secs as i64,
        };
        let metrics = Arc::clone(events.metrics());
        let accounts = Accounts::new(
            Arc::clone(&store) as Arc<dyn Store>,
            passwords.clone(),
            Arc::clone(&clock),
            limits,
            events.clone(),
            settings.fresh_secs,
        );
        Ok(Auth {
            keys,
            verified: VerifiedTokens::default(),
            store,
            passwords,
            throttle: Arc::new(LoginThrottle::new(settings.throttle)),
            clock,
            rotation: RotationPolicy {
                grace_secs: settings.refresh_grace_secs as i64,
                idle_secs: settings.refresh_idle_secs as i64,
            },
            api_rotation: settings.api_refresh_rotation,
            reissue_threshold: settings.reissue_threshold_secs,
            limits,
            demo_accounts_allowed: settings.demo_accounts_allowed,
            events,
            metrics,
            sealer,
            fresh_secs: settings.fresh_secs,
            totp_issuer: settings.totp_issuer,
            prune_interval: settings.prune_interval,
            event_retention: settings.event_retention,
            hashing: Semaphore::new(cores),
            accounts,
        })
    }

    /// The accounts service (what administrators do), over the same store.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// The security event log.
    pub fn events(&self) -> &EventLog {
        &self.events
    }

    /// The metrics every layer counts in.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The signing keys (for the JWK Set).
    pub fn keys(&self) -> &TokenKeys {
        &self.keys
    }

    /// Whether `/api/auth/refresh` rotates Bearer refresh tokens (`api_refresh_rotation`).
    pub fn api_rotation(&self) -> bool {
        self.api_rotation
    }

    /// The time, by the application's clock.
    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    /// Answers when the database does (for readiness probes).
    pub async fn database_ready(&self) -> Result<(), AuthError> {
        Ok(self.store.ping().await?)
    }

    /// The background housekeeping: what it needs, owned, so it can run on its own task.
    pub fn housekeeping(&self) -> Housekeeping {
        Housekeeping {
            store: Arc::clone(&self.store) as Arc<dyn Store>,
            throttle_window_secs: self.throttle.window(),
            clock: Arc::clone(&self.clock),
            idle_secs: self.rotation.idle_secs,
            interval: self.prune_interval,
            event_retention: self.event_retention,
        }
    }

    pub(super) async fn hashing_permit(&self) -> Result<SemaphorePermit<'_>, AuthError> {
        // The semaphore is never closed.
        self.hashing
            .acquire()
            .await
            .map_err(|_| AuthError::NotAllowed("the server is shutting down"))
    }

    /// Verifies a token against the keys and the clock: a token verified before is taken from
    /// the cache of verified tokens, and only its claims are checked again.
    pub(super) fn verify(
        &self,
        token: &str,
        expected: TokenType,
        now: u64,
    ) -> Result<Arc<Verified>, TokenError> {
        if let Some(verified) = self.verified.get(token) {
            self.keys.check_claims(&verified.claims, expected, now)?;
            return Ok(verified);
        }
        let claims = self.keys.verify(token, expected, now)?;
        Ok(self.verified.insert(token, claims))
    }

    /// An access token for `principal`'s session, saying the password was last entered at
    /// `auth_time`.
    pub(super) fn mint_access(
        &self,
        principal: &Principal,
        now: u64,
        not_after: u64,
        auth_time: u64,
    ) -> Result<Minted, AuthError> {
        let jti = super::tokens::random_id(16);
        Ok(self.keys.mint_with(
            TokenType::Access,
            &principal.username,
            &principal.session_id,
            &jti,
            now,
            not_after,
            Some(auth_time),
        )?)
    }

    pub(super) fn mint_refresh(
        &self,
        principal: &Principal,
        jti: &str,
        issued_at: u64,
        not_after: u64,
    ) -> Result<Minted, AuthError> {
        Ok(self.keys.mint(
            TokenType::Refresh,
            &principal.username,
            &principal.session_id,
            jti,
            issued_at,
            not_after,
        )?)
    }
}
