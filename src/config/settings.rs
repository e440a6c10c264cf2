//! The `auth` settings as written in `Rocket.toml`, with the documented defaults.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

use crate::store::Location;

/// The `auth` settings as written, with the documented defaults filled in. Secrets are
/// [`SecretString`]s: they never print, not even through `{:?}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// HS256 signing secret (when `algorithm` is HS256) and the CSRF key. Required outside the
    /// debug profile.
    pub secret: Option<SecretString>,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    pub leeway_secs: u64,
    pub issuer: String,
    pub audience: String,
    pub cors_origins: Vec<String>,
    /// A SQLite file, or a `postgres://` URL.
    pub database: DatabaseSetting,
    /// The most connections to PostgreSQL an instance keeps open.
    pub database_max_connections: u32,
    pub demo_users: bool,
    /// How long after a rotation the replaced refresh token still gets the same successor
    /// (parallel requests); past it, its use is theft and ends the session. 0–60.
    pub refresh_grace_secs: u64,
    /// A session not refreshed for this long ends, whatever its absolute lifetime.
    pub refresh_idle_secs: u64,
    /// Rotate refresh tokens on `/api/auth/refresh` too (the response then has `refreshToken`).
    /// Off by default: the original Angular client never stores a new refresh token.
    pub api_refresh_rotation: bool,
    /// Failed logins allowed per username and address within `login_window_secs`.
    pub login_failures_per_window: u32,
    /// Failed logins allowed per address (all usernames) within `login_window_secs`.
    pub login_address_ceiling: u32,
    pub login_window_secs: u64,
    /// How often ended sessions are deleted and old throttling state forgotten.
    pub prune_interval_secs: u64,
    /// How often the server looks for commits of other processes (the CLI, a second server).
    pub change_poll_ms: u64,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    /// Mark the auth cookies `Secure` and give them the `__Host-` name prefix.
    pub cookie_secure: bool,
    /// `SameSite` of the auth cookies: `"lax"` or `"strict"`.
    pub cookie_same_site: String,
    /// Reissue the access cookie when it has less than this many seconds left (capped at half
    /// the access lifetime).
    pub reissue_threshold_secs: u64,
    /// How new tokens are signed: `"HS256"` (with `secret`) or `"EdDSA"` (with `private_key`).
    pub algorithm: String,
    /// PKCS#8 PEM of the Ed25519 signing key, when `algorithm` is EdDSA.
    pub private_key: Option<SecretString>,
    /// A file holding that PEM instead, relative to the working directory.
    pub private_key_file: Option<PathBuf>,
    /// `kid` of the signing key; by default derived from the key.
    pub key_id: Option<String>,
    /// Keys that no longer sign but still verify the tokens they signed.
    pub retired_keys: Vec<RetiredKeyConfig>,
    /// The origin browsers see the site at (`https://auth.example.com`).
    pub public_origin: Option<String>,
    /// `Strict-Transport-Security: max-age` sent with `cookie_secure`; 0 sends none.
    pub hsts_max_age_secs: u64,
    /// Active sessions a user may have; a login past it ends the least recently used. 1 to 1000.
    pub max_sessions_per_user: u32,
    /// Days security events are kept in the audit trail. 1 to 36500.
    pub event_retention_days: u64,
    /// How the server logs: `"text"` (Rocket's lines) or `"json"` (one object per line).
    pub log_format: String,
    /// Serves `GET /metrics` to `Authorization: Bearer <metrics_token>`; unset, no metrics.
    pub metrics_token: Option<SecretString>,
    /// Sensitive actions need the password entered within this many seconds.
    pub fresh_secs: u64,
    /// The issuer authenticator apps show for jwtapp's accounts.
    pub totp_issuer: String,
}

/// The settings that may also be written at the top level of a profile, next to Rocket's own
/// `log_level` (so `ROCKET_LOG_FORMAT=json` works too).
pub const TOP_LEVEL_KEYS: [&str; 3] = ["log_format", "metrics_token", "event_retention_days"];

/// How the server writes its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Rocket's own lines, for people.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// The `database` setting as written. It may hold a password: it prints with the password
/// replaced by `***`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct DatabaseSetting(pub String);

impl DatabaseSetting {
    /// Where the data lives.
    pub fn location(&self) -> Location {
        Location::parse(&self.0)
    }
}

impl std::fmt::Debug for DatabaseSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.location().redacted())
    }
}

/// A key that only verifies: one of `secret` (HS256), `public_key`/`public_key_file` (Ed25519
/// SPKI PEM) or `private_key`/`private_key_file` (Ed25519 PKCS#8 PEM, of which only the public
/// half is used).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RetiredKeyConfig {
    /// Its `kid`; by default derived from the key the same way as the active key's.
    pub kid: Option<String>,
    pub secret: Option<SecretString>,
    pub public_key: Option<String>,
    pub public_key_file: Option<PathBuf>,
    pub private_key: Option<SecretString>,
    pub private_key_file: Option<PathBuf>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            secret: None,
            access_ttl_secs: 900,
            refresh_ttl_secs: 2_592_000,
            leeway_secs: 5,
            issuer: "jwtapp".into(),
            audience: "jwtapp".into(),
            cors_origins: vec!["http://localhost:4200".into()],
            database: DatabaseSetting("jwtapp.sqlite3".into()),
            database_max_connections: 10,
            demo_users: false,
            refresh_grace_secs: 10,
            refresh_idle_secs: 604_800,
            api_refresh_rotation: false,
            login_failures_per_window: 5,
            login_address_ceiling: 50,
            login_window_secs: 300,
            prune_interval_secs: 3600,
            change_poll_ms: 100,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            cookie_secure: true,
            cookie_same_site: "lax".into(),
            reissue_threshold_secs: 60,
            algorithm: "HS256".into(),
            private_key: None,
            private_key_file: None,
            key_id: None,
            retired_keys: Vec::new(),
            public_origin: None,
            hsts_max_age_secs: 31_536_000,
            max_sessions_per_user: 50,
            event_retention_days: 90,
            log_format: "text".into(),
            metrics_token: None,
            fresh_secs: 300,
            totp_issuer: "jwtapp".into(),
        }
    }
}

/// A configuration that cannot be used. The message names the key, never its value.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConfigError {
    /// A value that was read but is not acceptable.
    #[error("invalid configuration: auth.{key}: {problem}")]
    Value { key: String, problem: String },
    /// Values that could not be read, one line each.
    #[error("invalid configuration: {0}")]
    Unreadable(String),
}

impl ConfigError {
    pub(super) fn value(key: &str, problem: impl std::fmt::Display) -> ConfigError {
        ConfigError::Value {
            key: key.to_owned(),
            problem: problem.to_string(),
        }
    }
}
