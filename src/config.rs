//! Typed settings read from the `[*.auth]` table of `Rocket.toml` (and `ROCKET_AUTH`), validated once at start.

use std::fmt;
use std::path::PathBuf;

use rocket::figment::error::{Actual, Kind};
use rocket::figment::{Figment, value::Value};
use serde::Deserialize;

/// Every key the `auth` table understands. Anything else is logged as a warning, so that a typo
/// never passes silently while a file written for a newer version still starts.
pub const KNOWN_KEYS: &[&str] = &[
    "secret",
    "access_ttl_secs",
    "refresh_ttl_secs",
    "leeway_secs",
    "issuer",
    "audience",
    "cors_origins",
    "database",
    "demo_users",
    "refresh_grace_secs",
    "refresh_idle_secs",
    "api_refresh_rotation",
    "login_failures_per_window",
    "login_address_ceiling",
    "login_window_secs",
    "prune_interval_secs",
    "argon2_memory_kib",
    "argon2_iterations",
    "argon2_parallelism",
    "cookie_secure",
    "cookie_same_site",
    "reissue_threshold_secs",
    "algorithm",
    "private_key",
    "private_key_file",
    "key_id",
    "retired_keys",
    "public_origin",
    "hsts_max_age_secs",
    "max_sessions_per_user",
];

/// Every key a `retired_keys` entry understands; others are warned about like unknown `auth` keys.
pub const RETIRED_KEY_KEYS: &[&str] = &[
    "kid",
    "secret",
    "public_key",
    "public_key_file",
    "private_key",
    "private_key_file",
];

/// The `auth` settings as written, with the documented defaults filled in.
#[derive(Clone, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// HS256 signing secret (when `algorithm` is HS256) and the CSRF key. Required outside the
    /// debug profile.
    pub secret: Option<String>,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    pub leeway_secs: u64,
    pub issuer: String,
    pub audience: String,
    pub cors_origins: Vec<String>,
    pub database: PathBuf,
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
    /// How new tokens are signed: `"HS256"` (with `secret`) or `"EdDSA"` (with the Ed25519 `private_key`).
    pub algorithm: String,
    /// PKCS#8 PEM of the Ed25519 signing key, when `algorithm` is EdDSA.
    pub private_key: Option<String>,
    /// A file holding that PEM instead, relative to the working directory.
    pub private_key_file: Option<PathBuf>,
    /// `kid` of the signing key; by default derived from the key, so it stays the same when the key
    /// later moves to `retired_keys`.
    pub key_id: Option<String>,
    /// Keys that no longer sign but still verify the tokens they signed.
    pub retired_keys: Vec<RetiredKey>,
    /// The origin browsers see this site at (`https://auth.example.com`). When set, a browser's
    /// write must come from exactly this origin; when unset, from the request's `Host` with
    /// `https` when `cookie_secure` is on and `http` otherwise.
    pub public_origin: Option<String>,
    /// `Strict-Transport-Security: max-age` sent with `cookie_secure`; 0 sends none.
    pub hsts_max_age_secs: u64,
    /// Live sessions a user may have; a login past it ends the least recently used. 1 to 1000.
    pub max_sessions_per_user: u32,
}

/// A key that only verifies: one of `secret` (HS256), `public_key`/`public_key_file` (Ed25519
/// SPKI PEM) or `private_key`/`private_key_file` (Ed25519 PKCS#8 PEM, of which only the public
/// half is used).
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct RetiredKey {
    /// Its `kid`; by default derived from the key the same way as the active key's.
    pub kid: Option<String>,
    pub secret: Option<String>,
    pub public_key: Option<String>,
    pub public_key_file: Option<PathBuf>,
    pub private_key: Option<String>,
    pub private_key_file: Option<PathBuf>,
}

// Secrets and private keys must never reach a log line, even through `{:?}`.
impl fmt::Debug for RetiredKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("RetiredKey");
        s.field("kid", &self.kid);
        if self.secret.is_some() {
            s.field("secret", &"[redacted]");
        }
        if self.public_key.is_some() {
            s.field("public_key", &"[PEM]");
        }
        if let Some(path) = &self.public_key_file {
            s.field("public_key_file", path);
        }
        if self.private_key.is_some() {
            s.field("private_key", &"[redacted]");
        }
        if let Some(path) = &self.private_key_file {
            s.field("private_key_file", path);
        }
        s.finish()
    }
}

impl RetiredKey {
    /// The settings that give this entry its key material and are set.
    fn material_keys(&self) -> Vec<&'static str> {
        [
            ("secret", self.secret.is_some()),
            ("public_key", self.public_key.is_some()),
            ("public_key_file", self.public_key_file.is_some()),
            ("private_key", self.private_key.is_some()),
            ("private_key_file", self.private_key_file.is_some()),
        ]
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(key, _)| key)
        .collect()
    }
}

/// The signing algorithms `auth.algorithm` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlgorithm {
    Hs256,
    EdDsa,
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
            database: PathBuf::from("jwtapp.sqlite3"),
            demo_users: false,
            refresh_grace_secs: 10,
            refresh_idle_secs: 604_800,
            api_refresh_rotation: false,
            login_failures_per_window: 5,
            login_address_ceiling: 50,
            login_window_secs: 300,
            prune_interval_secs: 3600,
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
        }
    }
}

// The secret must never reach a log line, even through `{:?}`.
impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("access_ttl_secs", &self.access_ttl_secs)
            .field("refresh_ttl_secs", &self.refresh_ttl_secs)
            .field("leeway_secs", &self.leeway_secs)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("cors_origins", &self.cors_origins)
            .field("database", &self.database)
            .field("demo_users", &self.demo_users)
            .field("refresh_grace_secs", &self.refresh_grace_secs)
            .field("refresh_idle_secs", &self.refresh_idle_secs)
            .field("api_refresh_rotation", &self.api_refresh_rotation)
            .field("login_failures_per_window", &self.login_failures_per_window)
            .field("login_address_ceiling", &self.login_address_ceiling)
            .field("login_window_secs", &self.login_window_secs)
            .field("prune_interval_secs", &self.prune_interval_secs)
            .field("argon2_memory_kib", &self.argon2_memory_kib)
            .field("argon2_iterations", &self.argon2_iterations)
            .field("argon2_parallelism", &self.argon2_parallelism)
            .field("cookie_secure", &self.cookie_secure)
            .field("cookie_same_site", &self.cookie_same_site)
            .field("reissue_threshold_secs", &self.reissue_threshold_secs)
            .field("algorithm", &self.algorithm)
            .field(
                "private_key",
                &self.private_key.as_ref().map(|_| "[redacted]"),
            )
            .field("private_key_file", &self.private_key_file)
            .field("key_id", &self.key_id)
            .field("retired_keys", &self.retired_keys)
            .field("public_origin", &self.public_origin)
            .field("hsts_max_age_secs", &self.hsts_max_age_secs)
            .field("max_sessions_per_user", &self.max_sessions_per_user)
            .finish()
    }
}

/// A configuration problem that stops the start. The message names the offending key.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

fn invalid(key: &str, why: impl fmt::Display) -> ConfigError {
    ConfigError(format!("auth.{key}: {why}"))
}

/// One line per problem, each naming the key as written in `Rocket.toml` (`auth.some_key`) and
/// where the bad value came from. Values are never repeated: any of them may be (or, for a
/// mangled `ROCKET_AUTH`, contain) a secret or a private key.
fn describe_figment_error(error: rocket::figment::Error) -> ConfigError {
    let lines: Vec<String> = error
        .into_iter()
        .map(|e| {
            // Environment variables arrive upper-case and the path may come innermost-first;
            // name the key the way an admin writes it.
            let mut path: Vec<String> = e.path.iter().map(|p| p.to_ascii_lowercase()).collect();
            path.retain(|p| p != "auth");
            let key = if path.is_empty() {
                "auth".to_owned()
            } else {
                format!("auth.{}", path.join("."))
            };
            let source = e
                .metadata
                .as_ref()
                .map(|m| format!(" (from {})", m.name))
                .unwrap_or_default();
            let problem = if path.is_empty() && matches!(e.kind, Kind::InvalidType(..)) {
                "cannot be read as a table of settings; check its syntax, for example \
                 ROCKET_AUTH='{secret=\"...\",access_ttl_secs=900}' (the value is not shown: \
                 it may hold a secret)"
                    .to_owned()
            } else {
                describe_kind(&e.kind)
            };
            format!("{key}: {problem}{source}")
        })
        .collect();
    ConfigError(lines.join("; "))
}

/// What is wrong with a value, without the value.
fn describe_kind(kind: &Kind) -> String {
    match kind {
        Kind::InvalidType(actual, expected) => {
            format!("expected {expected}, found {}", kind_of(actual))
        }
        Kind::InvalidValue(actual, expected) => {
            format!("expected {expected}, found another {}", kind_of(actual))
        }
        Kind::InvalidLength(length, expected) => {
            format!("expected {expected}, found {length} item(s)")
        }
        Kind::UnknownVariant(_, expected) => format!("must be one of {}", expected.join(", ")),
        Kind::UnknownField(field, _) => format!("has an unknown field `{field}`"),
        Kind::MissingField(field) => format!("is missing `{field}`"),
        Kind::DuplicateField(field) => format!("has `{field}` twice"),
        Kind::ISizeOutOfRange(_) | Kind::USizeOutOfRange(_) => "is out of range".to_owned(),
        Kind::Unsupported(actual) | Kind::UnsupportedKey(actual, _) => {
            format!("cannot be {}", kind_of(actual))
        }
        // Messages come from deserializers and may quote the input.
        Kind::Message(_) => "is not a valid value".to_owned(),
    }
}

/// The kind of a value as the error reports it, never its content.
fn kind_of(actual: &Actual) -> &'static str {
    match actual {
        Actual::Bool(_) => "a boolean",
        Actual::Unsigned(_) | Actual::Signed(_) => "an integer",
        Actual::Float(_) => "a floating-point number",
        Actual::Char(_) | Actual::Str(_) => "a string",
        Actual::Bytes(_) => "bytes",
        Actual::Unit => "an empty value",
        Actual::Option => "an optional value",
        Actual::Seq => "a list",
        Actual::Map => "a table",
        _ => "a value of another kind",
    }
}

/// Longest lifetime accepted for any token: ten years, far below where `i64`/`u64` arithmetic could overflow.
pub const MAX_TTL_SECS: u64 = 10 * 365 * 24 * 3600;

impl AuthConfig {
    /// Reads and validates the `auth` table of the selected profile.
    pub fn from_figment(figment: &Figment) -> Result<AuthConfig, ConfigError> {
        let config: AuthConfig = match figment.find_value("auth") {
            Ok(_) => figment
                .extract_inner("auth")
                .map_err(describe_figment_error)?,
            Err(_) => AuthConfig::default(),
        };
        config.validate()?;
        Ok(config)
    }

    /// Keys in the `auth` table (and in its `retired_keys` entries, as `retired_keys[0].name`)
    /// that this version does not know.
    pub fn unknown_keys(figment: &Figment) -> Vec<String> {
        let mut unknown: Vec<String> = match figment.find_value("auth") {
            Ok(Value::Dict(_, dict)) => dict
                .keys()
                .filter(|key| !KNOWN_KEYS.contains(&key.as_str()))
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        if let Ok(Value::Array(_, entries)) = figment.find_value("auth.retired_keys") {
            for (index, entry) in entries.iter().enumerate() {
                if let Value::Dict(_, dict) = entry {
                    unknown.extend(
                        dict.keys()
                            .filter(|key| !RETIRED_KEY_KEYS.contains(&key.as_str()))
                            .map(|key| format!("retired_keys[{index}].{key}")),
                    );
                }
            }
        }
        unknown
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.access_ttl_secs == 0 || self.access_ttl_secs > MAX_TTL_SECS {
            return Err(invalid(
                "access_ttl_secs",
                format!("must be between 1 and {MAX_TTL_SECS}"),
            ));
        }
        if self.refresh_ttl_secs == 0 || self.refresh_ttl_secs > MAX_TTL_SECS {
            return Err(invalid(
                "refresh_ttl_secs",
                format!("must be between 1 and {MAX_TTL_SECS}"),
            ));
        }
        if self.refresh_ttl_secs < self.access_ttl_secs {
            return Err(invalid(
                "refresh_ttl_secs",
                "must not be shorter than access_ttl_secs",
            ));
        }
        if self.leeway_secs > 300 {
            return Err(invalid(
                "leeway_secs",
                "must be at most 300 (a few seconds is plenty for clock skew)",
            ));
        }
        if self.issuer.trim().is_empty() {
            return Err(invalid("issuer", "must not be empty"));
        }
        if self.audience.trim().is_empty() {
            return Err(invalid("audience", "must not be empty"));
        }
        for origin in &self.cors_origins {
            validate_origin(origin)
                .map_err(|why| invalid("cors_origins", format!("{origin:?}: {why}")))?;
        }
        if self.refresh_grace_secs > 60 {
            return Err(invalid(
                "refresh_grace_secs",
                "must be between 0 and 60 (a replayed refresh token is honoured only briefly)",
            ));
        }
        if self.refresh_idle_secs == 0 || self.refresh_idle_secs > MAX_TTL_SECS {
            return Err(invalid(
                "refresh_idle_secs",
                format!("must be between 1 and {MAX_TTL_SECS}"),
            ));
        }
        for (key, value) in [
            ("login_failures_per_window", self.login_failures_per_window),
            ("login_address_ceiling", self.login_address_ceiling),
        ] {
            if value == 0 || value > 1_000_000 {
                return Err(invalid(key, "must be between 1 and 1000000"));
            }
        }
        if self.login_window_secs == 0 || self.login_window_secs > 86_400 {
            return Err(invalid(
                "login_window_secs",
                "must be between 1 and 86400 (one day)",
            ));
        }
        if self.prune_interval_secs == 0 || self.prune_interval_secs > 86_400 {
            return Err(invalid(
                "prune_interval_secs",
                "must be between 1 and 86400 (one day)",
            ));
        }
        if self.database.as_os_str().is_empty() {
            return Err(invalid("database", "must name a file"));
        }
        if let Some(secret) = &self.secret
            && secret.len() < MIN_SECRET_BYTES
        {
            return Err(invalid("secret", secret_advice()));
        }
        argon2::Params::new(
            self.argon2_memory_kib,
            self.argon2_iterations,
            self.argon2_parallelism,
            None,
        )
        .map_err(|e| invalid("argon2_memory_kib/argon2_iterations/argon2_parallelism", e))?;
        if self.argon2_memory_kib < 8 * self.argon2_parallelism {
            return Err(invalid(
                "argon2_memory_kib",
                "must be at least 8 × argon2_parallelism",
            ));
        }
        if !matches!(
            self.cookie_same_site.to_ascii_lowercase().as_str(),
            "lax" | "strict"
        ) {
            return Err(invalid(
                "cookie_same_site",
                format!(
                    "{:?} is not accepted: use \"lax\" (the default) or \"strict\"",
                    self.cookie_same_site
                ),
            ));
        }
        if let Some(origin) = &self.public_origin {
            validate_origin(origin)
                .map_err(|why| invalid("public_origin", format!("{origin:?}: {why}")))?;
        }
        if self.hsts_max_age_secs > MAX_TTL_SECS {
            return Err(invalid(
                "hsts_max_age_secs",
                format!("must be at most {MAX_TTL_SECS} (0 sends no header)"),
            ));
        }
        if !(1..=1000).contains(&self.max_sessions_per_user) {
            return Err(invalid(
                "max_sessions_per_user",
                "must be between 1 and 1000",
            ));
        }
        if self.reissue_threshold_secs > MAX_TTL_SECS {
            return Err(invalid(
                "reissue_threshold_secs",
                format!("must be at most {MAX_TTL_SECS}"),
            ));
        }
        self.validate_keys()
    }

    /// The shape of the key settings. Reading and parsing the keys themselves, and finding
    /// duplicate kids, happen when the key ring is built (`auth::keys`).
    fn validate_keys(&self) -> Result<(), ConfigError> {
        let algorithm = self.signing_algorithm().ok_or_else(|| {
            invalid(
                "algorithm",
                format!(
                    "{:?} is not supported: use \"HS256\" (the default) or \"EdDSA\"",
                    self.algorithm
                ),
            )
        })?;
        match (
            algorithm,
            self.private_key.is_some(),
            self.private_key_file.is_some(),
        ) {
            (SigningAlgorithm::EdDsa, false, false) => {
                return Err(invalid(
                    "private_key",
                    format!(
                        "algorithm = \"EdDSA\" needs the Ed25519 signing key: set private_key (PEM \
                         text) or private_key_file (a path); {}",
                        ed25519_advice()
                    ),
                ));
            }
            (SigningAlgorithm::EdDsa, true, true) => {
                return Err(invalid(
                    "private_key",
                    "set private_key or private_key_file, not both",
                ));
            }
            (SigningAlgorithm::Hs256, true, _) | (SigningAlgorithm::Hs256, _, true) => {
                return Err(invalid(
                    "private_key",
                    "is only used with algorithm = \"EdDSA\"; to keep verifying the tokens of \
                     an old Ed25519 key, list it in retired_keys instead",
                ));
            }
            _ => {}
        }
        if let Some(kid) = &self.key_id {
            validate_kid(kid).map_err(|why| invalid("key_id", format!("{kid:?} {why}")))?;
        }
        for (index, key) in self.retired_keys.iter().enumerate() {
            let name = format!("retired_keys[{index}]");
            match key.material_keys().as_slice() {
                [_] => {}
                [] => {
                    return Err(invalid(
                        &name,
                        "needs one of secret (HS256), public_key or public_key_file (Ed25519 \
                         public key PEM), private_key or private_key_file (Ed25519 private key PEM)",
                    ));
                }
                several => {
                    return Err(invalid(
                        &name,
                        format!("set only one of {}", several.join(", ")),
                    ));
                }
            }
            if let Some(secret) = &key.secret
                && secret.len() < MIN_SECRET_BYTES
            {
                return Err(invalid(
                    &format!("{name}.secret"),
                    format!("must be at least {MIN_SECRET_BYTES} bytes, like auth.secret"),
                ));
            }
            if let Some(kid) = &key.kid {
                validate_kid(kid)
                    .map_err(|why| invalid(&format!("{name}.kid"), format!("{kid:?} {why}")))?;
            }
        }
        Ok(())
    }

    /// The configured signing algorithm, or `None` when `algorithm` names another one.
    pub fn signing_algorithm(&self) -> Option<SigningAlgorithm> {
        if self.algorithm.eq_ignore_ascii_case("HS256") {
            Some(SigningAlgorithm::Hs256)
        } else if self.algorithm.eq_ignore_ascii_case("EdDSA") {
            Some(SigningAlgorithm::EdDsa)
        } else {
            None
        }
    }

    /// How early an access cookie is reissued: the configured threshold, but never more than
    /// half the access lifetime (else every request would mint a new token).
    pub fn reissue_threshold(&self) -> u64 {
        self.reissue_threshold_secs.min(self.access_ttl_secs / 2)
    }

    /// `SameSite` for the auth cookies, already validated.
    pub fn same_site(&self) -> rocket::http::SameSite {
        match self.cookie_same_site.to_ascii_lowercase().as_str() {
            "strict" => rocket::http::SameSite::Strict,
            _ => rocket::http::SameSite::Lax,
        }
    }

    /// argon2id cost parameters, already validated.
    pub fn argon2_params(&self) -> argon2::Params {
        argon2::Params::new(
            self.argon2_memory_kib,
            self.argon2_iterations,
            self.argon2_parallelism,
            None,
        )
        .unwrap_or_default()
    }
}

/// Shortest HS256 secret accepted: the key should carry as many bits as the hash output.
pub const MIN_SECRET_BYTES: usize = 32;

/// How to make a good secret, for error messages.
pub fn secret_advice() -> String {
    format!(
        "must be at least {MIN_SECRET_BYTES} random bytes; generate one with \
         `openssl rand -base64 48` and set it in Rocket.toml ([release.auth] secret = \"...\") \
         or as ROCKET_AUTH='{{secret=\"...\"}}'"
    )
}

/// How to make an Ed25519 key, for error messages.
pub fn ed25519_advice() -> &'static str {
    "make one with `openssl genpkey -algorithm ed25519 -out jwtapp-ed25519.pem` \
     (its public key: `openssl pkey -in jwtapp-ed25519.pem -pubout`)"
}

/// Longest `kid` accepted, in configuration and in tokens.
pub const MAX_KID_LEN: usize = 64;

/// A `kid` is 1 to 64 of `A-Z a-z 0-9 . _ -`: safe in logs, URLs and JSON, and nothing that
/// looks like a path or a query.
pub fn is_valid_kid(kid: &str) -> bool {
    validate_kid(kid).is_ok()
}

fn validate_kid(kid: &str) -> Result<(), &'static str> {
    if kid.is_empty() || kid.len() > MAX_KID_LEN {
        return Err("must be 1 to 64 characters long");
    }
    if !kid
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err("may only contain A-Z, a-z, 0-9, '.', '_' and '-'");
    }
    Ok(())
}

/// An origin is `scheme://host[:port]`: no path, no wildcard, as browsers send it in `Origin`.
fn validate_origin(origin: &str) -> Result<(), &'static str> {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .ok_or("must start with http:// or https://")?;
    if rest.is_empty() {
        return Err("has no host");
    }
    if rest.contains(['/', '*', '?', '#', ' ']) {
        return Err("must be scheme://host[:port] with no path or wildcard");
    }
    Ok(())
}
