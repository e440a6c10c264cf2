//! Checks of the settings that need no file and no database: ranges, shapes, combinations.

use secrecy::ExposeSecret;

use super::settings::{AuthConfig, ConfigError, LogFormat, RetiredKeyConfig};
use crate::auth::{ED25519_ADVICE, MAX_TTL_SECS, SigningAlgorithm, validate_kid};

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

impl RetiredKeyConfig {
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

impl AuthConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.access_ttl_secs == 0 || self.access_ttl_secs > MAX_TTL_SECS {
            return Err(ConfigError::value(
                "access_ttl_secs",
                format!("must be between 1 and {MAX_TTL_SECS}"),
            ));
        }
        if self.refresh_ttl_secs == 0 || self.refresh_ttl_secs > MAX_TTL_SECS {
            return Err(ConfigError::value(
                "refresh_ttl_secs",
                format!("must be between 1 and {MAX_TTL_SECS}"),
            ));
        }
        if self.refresh_ttl_secs < self.access_ttl_secs {
            return Err(ConfigError::value(
                "refresh_ttl_secs",
                "must not be shorter than access_ttl_secs",
            ));
        }
        if self.leeway_secs > 300 {
            return Err(ConfigError::value(
                "leeway_secs",
                "must be at most 300 (a few seconds is plenty for clock skew)",
            ));
        }
        if self.issuer.trim().is_empty() {
            return Err(ConfigError::value("issuer", "must not be empty"));
        }
        if self.audience.trim().is_empty() {
            return Err(ConfigError::value("audience", "must not be empty"));
        }
        for origin in &self.cors_origins {
            validate_origin(origin)
                .map_err(|why| ConfigError::value("cors_origins", format!("{origin:?}: {why}")))?;
        }
        if self.refresh_grace_secs > 60 {
            return Err(ConfigError::value(
                "refresh_grace_secs",
                "must be between 0 and 60 (a replayed refresh token is honoured only briefly)",
            ));
        }
        if self.refresh_idle_secs == 0 || self.refresh_idle_secs > MAX_TTL_SECS {
            return Err(ConfigError::value(
                "refresh_idle_secs",
                format!("must be between 1 and {MAX_TTL_SECS}"),
            ));
        }
        for (key, value) in [
            ("login_failures_per_window", self.login_failures_per_window),
            ("login_address_ceiling", self.login_address_ceiling),
        ] {
            if value == 0 || value > 1_000_000 {
                return Err(ConfigError::value(key, "must be between 1 and 1000000"));
            }
        }
        if self.login_window_secs == 0 || self.login_window_secs > 86_400 {
            return Err(ConfigError::value(
                "login_window_secs",
                "must be between 1 and 86400 (one day)",
            ));
        }
        if self.prune_interval_secs == 0 || self.prune_interval_secs > 86_400 {
            return Err(ConfigError::value(
                "prune_interval_secs",
                "must be between 1 and 86400 (one day)",
            ));
        }
        if self.database.0.trim().is_empty() {
            return Err(ConfigError::value(
                "database",
                "must name a SQLite file or be a postgres:// URL",
            ));
        }
        if !(1..=1000).contains(&self.database_max_connections) {
            return Err(ConfigError::value(
                "database_max_connections",
                "must be between 1 and 1000",
            ));
        }
        if let Some(secret) = &self.secret
            && secret.expose_secret().len() < MIN_SECRET_BYTES
        {
            return Err(ConfigError::value("secret", secret_advice()));
        }
        argon2::Params::new(
            self.argon2_memory_kib,
            self.argon2_iterations,
            self.argon2_parallelism,
            None,
        )
        .map_err(|e| {
            ConfigError::value("argon2_memory_kib/argon2_iterations/argon2_parallelism", e)
        })?;
        if self.argon2_memory_kib < 8 * self.argon2_parallelism {
            return Err(ConfigError::value(
                "argon2_memory_kib",
                "must be at least 8 × argon2_parallelism",
            ));
        }
        if !matches!(
            self.cookie_same_site.to_ascii_lowercase().as_str(),
            "lax" | "strict"
        ) {
            return Err(ConfigError::value(
                "cookie_same_site",
                format!(
                    "{:?} is not accepted: use \"lax\" (the default) or \"strict\"",
                    self.cookie_same_site
                ),
            ));
        }
        if let Some(origin) = &self.public_origin {
            validate_origin(origin)
                .map_err(|why| ConfigError::value("public_origin", format!("{origin:?}: {why}")))?;
        }
        if self.hsts_max_age_secs > MAX_TTL_SECS {
            return Err(ConfigError::value(
                "hsts_max_age_secs",
                format!("must be at most {MAX_TTL_SECS} (0 sends no header)"),
            ));
        }
        if !(1..=1000).contains(&self.max_sessions_per_user) {
            return Err(ConfigError::value(
                "max_sessions_per_user",
                "must be between 1 and 1000",
            ));
        }
        if !(10..=1000).contains(&self.change_poll_ms) {
            return Err(ConfigError::value(
                "change_poll_ms",
                "must be between 10 and 1000 (milliseconds)",
            ));
        }
        if !(1..=36_500).contains(&self.event_retention_days) {
            return Err(ConfigError::value(
                "event_retention_days",
                "must be between 1 and 36500 (days)",
            ));
        }
        if self.log_format().is_none() {
            return Err(ConfigError::value(
                "log_format",
                format!(
                    "{:?} is not accepted: use \"text\" (the default) or \"json\"",
                    self.log_format
                ),
            ));
        }
        if let Some(token) = &self.metrics_token {
            let token = token.expose_secret();
            if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(ConfigError::value(
                    "metrics_token",
                    "must be printable ASCII without spaces (it is sent in an Authorization \
                     header); generate one with `openssl rand -hex 32`",
                ));
            }
        }
        if !(10..=86_400).contains(&self.fresh_secs) {
            return Err(ConfigError::value(
                "fresh_secs",
                "must be between 10 and 86400 (seconds)",
            ));
        }
        let issuer = self.totp_issuer.trim();
        if issuer.is_empty()
            || issuer.chars().count() > 64
            || issuer.contains(':')
            || issuer.chars().any(char::is_control)
        {
            return Err(ConfigError::value(
                "totp_issuer",
                "must be 1 to 64 characters, without ':' or control characters",
            ));
        }
        if self.reissue_threshold_secs > MAX_TTL_SECS {
            return Err(ConfigError::value(
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
            ConfigError::value(
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
                return Err(ConfigError::value(
                    "private_key",
                    format!(
                        "algorithm = \"EdDSA\" needs the Ed25519 signing key: set private_key (PEM \
                         text) or private_key_file (a path); {}",
                        ED25519_ADVICE
                    ),
                ));
            }
            (SigningAlgorithm::EdDsa, true, true) => {
                return Err(ConfigError::value(
                    "private_key",
                    "set private_key or private_key_file, not both",
                ));
            }
            (SigningAlgorithm::Hs256, true, _) | (SigningAlgorithm::Hs256, _, true) => {
                return Err(ConfigError::value(
                    "private_key",
                    "is only used with algorithm = \"EdDSA\"; to keep verifying the tokens of \
                     an old Ed25519 key, list it in retired_keys instead",
                ));
            }
            _ => {}
        }
        if let Some(kid) = &self.key_id {
            validate_kid(kid)
                .map_err(|why| ConfigError::value("key_id", format!("{kid:?} {why}")))?;
        }
        for (index, key) in self.retired_keys.iter().enumerate() {
            let name = format!("retired_keys[{index}]");
            match key.material_keys().as_slice() {
                [_] => {}
                [] => {
                    return Err(ConfigError::value(
                        &name,
                        "needs one of secret (HS256), public_key or public_key_file (Ed25519 \
                         public key PEM), private_key or private_key_file (Ed25519 private key PEM)",
                    ));
                }
                several => {
                    return Err(ConfigError::value(
                        &name,
                        format!("set only one of {}", several.join(", ")),
                    ));
                }
            }
            if let Some(secret) = &key.secret
                && secret.expose_secret().len() < MIN_SECRET_BYTES
            {
                return Err(ConfigError::value(
                    &format!("{name}.secret"),
                    format!("must be at least {MIN_SECRET_BYTES} bytes, like auth.secret"),
                ));
            }
            if let Some(kid) = &key.kid {
                validate_kid(kid).map_err(|why| {
                    ConfigError::value(&format!("{name}.kid"), format!("{kid:?} {why}"))
                })?;
            }
        }
        Ok(())
    }

    /// The configured log format, or `None` when `log_format` names another one.
    pub fn log_format(&self) -> Option<LogFormat> {
        if self.log_format.eq_ignore_ascii_case("text") {
            Some(LogFormat::Text)
        } else if self.log_format.eq_ignore_ascii_case("json") {
            Some(LogFormat::Json)
        } else {
            None
        }
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
}

/// An origin is `scheme://host[:port]` as browsers send it in `Origin`: http or https, a host,
/// an optional port from 1 to 65535; no user, path, query or wildcard.
fn validate_origin(origin: &str) -> Result<(), &'static str> {
    let (scheme, rest) = origin
        .split_once("://")
        .ok_or("must be scheme://host[:port], with http or https")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err("must start with http:// or https://");
    }
    if rest.contains(['/', '*', '?', '#', '@', ' ', '\\']) || rest.chars().any(char::is_control) {
        return Err("must be scheme://host[:port] with no user, path, query or wildcard");
    }
    // `[v6 address]:port`, or `host:port`.
    let port = match rest.strip_prefix('[') {
        Some(v6) => {
            let (address, after) = v6.split_once(']').ok_or("has an unclosed [ in its host")?;
            if address.parse::<std::net::Ipv6Addr>().is_err() {
                return Err("has an invalid IPv6 address");
            }
            match after {
                "" => None,
                after => Some(after.strip_prefix(':').ok_or("has no valid host")?),
            }
        }
        None => {
            let (host, port) = match rest.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            };
            if host.is_empty() || host.contains(['[', ']', ':']) {
                return Err("has no valid host");
            }
            port
        }
    };
    if let Some(port) = port
        && !(port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p)))
    {
        return Err("has a port that is not a number from 1 to 65535");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate_origin;

    #[test]
    fn origins_are_what_browsers_send() {
        for good in [
            "http://localhost:4200",
            "https://auth.example.com",
            "HTTPS://Auth.Example.com",
            "http://[::1]:8000",
            "http://127.0.0.1:65535",
        ] {
            assert_eq!(validate_origin(good), Ok(()), "{good}");
        }
        for bad in [
            "https://user@auth.example.com",
            "https://auth.example.com:99999",
            "https://auth.example.com:0",
            "https://auth.example.com:",
            "https://auth.example.com/",
            "https://*.example.com",
            "ftp://example.com",
            "null",
            "",
            "https://",
            "http://[::1",
            "http://[nonsense]:80",
        ] {
            assert!(validate_origin(bad).is_err(), "{bad}");
        }
    }
}
