//! Reading the settings: Rocket's own, then jwtapp's `auth` table, with unknown keys found.

use rocket::figment::Figment;

use super::describe;
use super::settings::{AuthConfig, ConfigError, TOP_LEVEL_KEYS};

/// The settings as read, and the keys that were not understood.
#[derive(Debug)]
pub struct Loaded {
    pub config: AuthConfig,
    /// Keys of the `auth` table this version does not know, as `auth.key` or
    /// `auth.retired_keys.0.key`.
    pub unknown_keys: Vec<String>,
}

/// Checks Rocket's own settings (`address`, `port`, `log_level`, `limits`, ...) the way Rocket
/// reads them when it starts, with an error that names the key.
pub fn check_rocket_settings(figment: &Figment) -> Result<(), ConfigError> {
    figment
        .extract::<rocket::Config>()
        .map(drop)
        .map_err(describe::rocket_error)
}

impl AuthConfig {
    /// Reads and validates the `auth` table of the selected profile.
    pub fn load(figment: &Figment) -> Result<Loaded, ConfigError> {
        let figment = &hoist(figment)?;
        let Ok(value) = figment.find_value("auth") else {
            return Ok(Loaded {
                config: AuthConfig::default(),
                unknown_keys: Vec::new(),
            });
        };
        // The real read goes through figment, whose errors name where a value came from; a
        // second pass over the same value lists what serde ignored.
        let config: AuthConfig = figment
            .extract_inner("auth")
            .map_err(describe::figment_error)?;
        let mut unknown_keys = Vec::new();
        let _: Result<AuthConfig, _> = serde_ignored::deserialize(&value, |path| {
            unknown_keys.push(format!("auth.{}", as_written(&path.to_string())))
        });
        config.validate()?;
        Ok(Loaded {
            config,
            unknown_keys,
        })
    }

    /// How early an access cookie is reissued: the configured threshold, but never more than
    /// half the access lifetime (else every request would mint a new token).
    pub fn reissue_threshold(&self) -> u64 {
        self.reissue_threshold_secs.min(self.access_ttl_secs / 2)
    }
}

/// The figment with the top-level forms of [`TOP_LEVEL_KEYS`] moved into the `auth` table. A
/// key set in both places is refused: which one wins would be a guess.
fn hoist(figment: &Figment) -> Result<Figment, ConfigError> {
    let mut hoisted = figment.clone();
    for key in TOP_LEVEL_KEYS {
        let Ok(value) = figment.find_value(key) else {
            continue;
        };
        if figment.find_value(&format!("auth.{key}")).is_ok() {
            return Err(ConfigError::value(
                key,
                format!("is set twice, as `{key}` and as `auth.{key}`: keep one"),
            ));
        }
        hoisted = hoisted.merge((format!("auth.{key}"), value));
    }
    Ok(hoisted)
}

/// A key path as an admin writes it: `retired_keys[0].kid`, not `retired_keys.0.kid`.
fn as_written(path: &str) -> String {
    let mut written = String::new();
    for part in path.split('.') {
        if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
            written.push_str(&format!("[{part}]"));
        } else {
            if !written.is_empty() {
                written.push('.');
            }
            written.push_str(part);
        }
    }
    written
}

/// Settings where jwtapp's default differs from Rocket's, applied when nobody set them (they are
/// in Rocket.toml too, but a deployment may run without it, on `ROCKET_*` variables alone):
/// - `ip_header`: Rocket trusts `X-Real-IP`, which lets any client choose the address that login
///   throttling counts it under; jwtapp uses the socket's peer;
/// - `ident`: the `Server` header names no framework;
/// - `limits.json`: 64 KiB, plenty for any body the API accepts (Rocket's is 1 MiB).
pub fn with_jwtapp_defaults(figment: Figment) -> Figment {
    let defaults: [(&str, rocket::figment::value::Value); 3] = [
        ("ip_header", false.into()),
        ("ident", "jwtapp".into()),
        ("limits.json", "64 KiB".into()),
    ];
    defaults.into_iter().fold(figment, |figment, (key, value)| {
        let set_by_operator = figment
            .find_metadata(key)
            .is_some_and(|source| source.name != "rocket::Config::default()");
        if set_by_operator {
            figment
        } else {
            figment.merge((key, value))
        }
    })
}
