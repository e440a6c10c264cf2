//! The rows the store hands out and takes in.

/// A user account as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    /// The spelling the administrator chose, shown everywhere and carried as the tokens' `sub`.
    pub username: String,
    /// The form accounts are told apart by (NFKC, then lower case); unique among users.
    pub canonical: String,
    pub password_hash: String,
    pub enabled: bool,
    pub is_admin: bool,
    /// Made by `demo_users`, with a published password: only the debug profile lets it log in.
    pub is_demo: bool,
    /// A second factor (TOTP) is on: a login needs a code too.
    pub has_totp: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

// Hashes stay out of logs and panics.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("canonical", &self.canonical)
            .field("password_hash", &"[redacted]")
            .field("enabled", &self.enabled)
            .field("is_admin", &self.is_admin)
            .field("is_demo", &self.is_demo)
            .field("has_totp", &self.has_totp)
            .finish()
    }
}

/// A user's second factor as stored. The secrets are sealed (encrypted by the auth layer); the
/// store never sees them in the clear.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecondFactor {
    /// The TOTP secret in use, when the second factor is on.
    pub secret: Option<String>,
    /// A secret set up but not yet confirmed with a code.
    pub pending: Option<String>,
    pub enabled_at: Option<i64>,
    /// The time step of the last code accepted: no code of it or before works again.
    pub last_step: Option<i64>,
    /// Recovery codes not used yet.
    pub recovery_codes_left: u32,
}

impl std::fmt::Debug for SecondFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecondFactor")
            .field("on", &self.secret.is_some())
            .field("pending", &self.pending.is_some())
            .field("enabled_at", &self.enabled_at)
            .field("last_step", &self.last_step)
            .field("recovery_codes_left", &self.recovery_codes_left)
            .finish()
    }
}

/// What creating a user records.
#[derive(Clone)]
pub struct NewUser {
    pub username: String,
    pub canonical: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub is_demo: bool,
    pub now: i64,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("is_admin", &self.is_admin)
            .field("is_demo", &self.is_demo)
            .finish_non_exhaustive()
    }
}

/// The parts of a user that every authenticated request depends on (what the cache keeps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserStatus {
    pub id: i64,
    pub enabled: bool,
    pub is_admin: bool,
    pub is_demo: bool,
}

impl From<&User> for UserStatus {
    fn from(user: &User) -> Self {
        UserStatus {
            id: user.id,
            enabled: user.enabled,
            is_admin: user.is_admin,
            is_demo: user.is_demo,
        }
    }
}

/// One login, which is also one refresh-token family: all tokens minted from it carry its `id`
/// as their `sid` claim, so revoking the row ends all of them at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub user_id: i64,
    pub created_at: i64,
    /// The family's absolute end; rotation never moves it.
    pub expires_at: i64,
    /// The last login or refresh; the family ends after `refresh_idle_secs` without one.
    pub last_used_at: i64,
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<String>,
    pub user_agent: Option<String>,
    pub address: Option<String>,
    /// The `jti` of the family's current refresh token (`None` for a session of an older jwtapp).
    pub refresh_jti: Option<String>,
    /// When the current refresh token was minted: its `iat`, and the start of the grace window in
    /// which its parent is still honoured.
    pub refresh_issued_at: i64,
    /// The `jti` of the refresh token the current one replaced.
    pub previous_jti: Option<String>,
    /// When the user last entered their password in this session (its login, or a re-entry):
    /// the `auth_time` of the access tokens it mints.
    pub auth_time: i64,
}

impl Session {
    /// True while tokens of this family may be used: not revoked, not past its absolute end,
    /// and used within the last `idle_secs`.
    pub fn is_active(&self, now: i64, idle_secs: i64) -> bool {
        SessionStatus::from(self).is_active(now, idle_secs)
    }
}

/// The parts of a session that every authenticated request depends on (what the cache keeps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionStatus {
    pub user_id: i64,
    pub expires_at: i64,
    pub last_used_at: i64,
    pub revoked: bool,
}

impl SessionStatus {
    /// Not revoked, not past its absolute end, and used within the last `idle_secs`.
    pub fn is_active(&self, now: i64, idle_secs: i64) -> bool {
        !self.revoked && self.expires_at > now && self.last_used_at.saturating_add(idle_secs) > now
    }
}

impl From<&Session> for SessionStatus {
    fn from(session: &Session) -> Self {
        SessionStatus {
            user_id: session.user_id,
            expires_at: session.expires_at,
            last_used_at: session.last_used_at,
            revoked: session.revoked_at.is_some(),
        }
    }
}

/// What a new login records.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: String,
    pub user_id: i64,
    /// The user's name: what a cache of their status is keyed by (a login reads the account
    /// from the database, so a cached status older than it must not answer its first request).
    pub username: String,
    pub created_at: i64,
    /// When the password was entered: the login, or (with a second factor) the first step.
    pub auth_time: i64,
    pub expires_at: i64,
    pub user_agent: Option<String>,
    pub address: Option<String>,
    /// The `jti` of the refresh token the login hands out.
    pub refresh_jti: String,
}

/// How many sessions a user may keep, and when an unused one counts as ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Active sessions a user may have; a new login ends the least recently used beyond it.
    pub max_per_user: u32,
    pub idle_secs: i64,
}

/// The change a refresh makes to its family, decided by the caller from the row as it is
/// inside the write transaction (see [`Store::update_family`](super::Store::update_family)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FamilyUpdate {
    /// A new current refresh token `jti` replaces `previous`, minted now; the family was used now.
    Rotate { previous: String, jti: String },
    /// The family was used now; its tokens stay as they are.
    Touch,
    /// End the family, recording why.
    Revoke { reason: &'static str },
    /// Nothing to write.
    Keep,
}

/// The decision [`Store::update_family`](super::Store::update_family) applies.
pub type FamilyDecision = Box<dyn FnOnce(&Session) -> FamilyUpdate + Send>;

/// Why a family was revoked, as recorded in `revoked_reason`.
pub mod reason {
    pub const LOGOUT: &str = "logout";
    pub const REUSE: &str = "refresh token reuse";
    pub const USER: &str = "revoked by its user";
    pub const PASSWORD: &str = "password changed";
    pub const ADMIN: &str = "ended by an administrator";
    pub const DISABLED: &str = "account disabled";
    pub const RENAMED: &str = "account renamed";
    pub const SESSION_CAP: &str = "session limit reached: least recently used";
    pub const SECOND_FACTOR_RESET: &str = "second factor removed by an administrator";
}

/// The sessions a write ended, by id: what caches must forget.
pub type Ended = Vec<String>;

/// How many rows [`Store::prune_sessions`](super::Store::prune_sessions) removed, for the log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub sessions: u64,
}

/// A security event to record (see `auth::events`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewEvent {
    pub at: i64,
    /// What happened, as a stable snake_case name (`login_failed`).
    pub kind: String,
    /// The account concerned, when there is one.
    pub user_id: Option<i64>,
    /// Its name at the time, or the name as typed (a failed login).
    pub username: Option<String>,
    pub session_id: Option<String>,
    pub address: Option<String>,
    pub user_agent: Option<String>,
    /// Who did it: the user, an administrator, the command line.
    pub actor: Option<String>,
    pub detail: Option<String>,
}

/// A recorded security event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: i64,
    pub event: NewEvent,
}

/// Which events to read, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Events of this account, by id.
    pub user_id: Option<i64>,
    /// Or of this name (an account that no longer exists, a name that never did).
    pub username: Option<String>,
    pub kind: Option<String>,
    pub limit: u32,
}
