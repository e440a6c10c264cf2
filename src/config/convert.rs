//! The validated settings, handed to each layer as that layer's own types.

use std::path::PathBuf;
use std::time::Duration;

use rocket::http::SameSite;
use secrecy::SecretSlice;

use super::settings::AuthConfig;
use crate::auth::{
    self, KeySettings, Pem, RetiredKey, RetiredMaterial, SigningAlgorithm, ThrottleSettings,
    TokenSettings,
};
use crate::web;

/// What each layer is given.
#[derive(Debug)]
pub struct Layers {
    pub auth: auth::Settings,
    pub web: web::Settings,
    /// How often the change feed polls for other processes' commits.
    pub change_poll: Duration,
}

impl AuthConfig {
    /// The settings of every layer. `demo_accounts_allowed`: the debug profile.
    pub fn layers(&self, demo_accounts_allowed: bool) -> Layers {
        Layers {
            auth: auth::Settings {
                tokens: TokenSettings {
                    issuer: self.issuer.clone(),
                    audience: self.audience.clone(),
                    leeway_secs: self.leeway_secs,
                    access_ttl_secs: self.access_ttl_secs,
                    refresh_ttl_secs: self.refresh_ttl_secs,
                },
                throttle: ThrottleSettings {
                    failures_per_window: self.login_failures_per_window,
                    address_ceiling: self.login_address_ceiling,
                    window_secs: self.login_window_secs,
                },
                refresh_grace_secs: self.refresh_grace_secs,
                refresh_idle_secs: self.refresh_idle_secs,
                api_refresh_rotation: self.api_refresh_rotation,
                reissue_threshold_secs: self.reissue_threshold(),
                max_sessions_per_user: self.max_sessions_per_user,
                demo_accounts_allowed,
                argon2: self.argon2_params(),
                prune_interval: Duration::from_secs(self.prune_interval_secs),
                event_retention: Duration::from_secs(self.event_retention_days * 86_400),
                fresh_secs: self.fresh_secs,
                totp_issuer: self.totp_issuer.trim().to_owned(),
            },
            web: web::Settings {
                cookie_secure: self.cookie_secure,
                cookie_same_site: self.same_site(),
                public_origin: self.public_origin.clone(),
                cors_origins: self.cors_origins.clone(),
                hsts_max_age_secs: self.hsts_max_age_secs,
                metrics_token: self.metrics_token.clone(),
            },
            change_poll: Duration::from_millis(self.change_poll_ms),
        }
    }

    /// The keys to load, with `secret` the effective HS256 secret (`auth.secret`, or the debug
    /// profile's random one). The shapes were checked by `validate`.
    pub fn key_settings(&self, secret: SecretSlice<u8>) -> KeySettings {
        let pem =
            |inline: &Option<secrecy::SecretString>, file: &Option<PathBuf>| match (inline, file) {
                (Some(text), _) => Some(Pem::Inline(text.clone())),
                (None, Some(path)) => Some(Pem::File(path.clone())),
                (None, None) => None,
            };
        let retired = self
            .retired_keys
            .iter()
            .enumerate()
            .filter_map(|(index, entry)| {
                let material = if let Some(secret) = &entry.secret {
                    RetiredMaterial::Secret(secret.clone())
                } else if let Some(public) = pem(
                    &entry.public_key.clone().map(Into::into),
                    &entry.public_key_file,
                ) {
                    RetiredMaterial::PublicKey(public)
                } else {
                    RetiredMaterial::PrivateKey(pem(&entry.private_key, &entry.private_key_file)?)
                };
                Some(RetiredKey {
                    kid: entry.kid.clone(),
                    material,
                    setting: format!("auth.retired_keys[{index}]"),
                })
            })
            .collect();
        KeySettings {
            algorithm: self.signing_algorithm().unwrap_or(SigningAlgorithm::Hs256),
            secret,
            private_key: pem(&self.private_key, &self.private_key_file),
            key_id: self.key_id.clone(),
            retired,
        }
    }

    /// `SameSite` for the auth cookies, already validated.
    pub fn same_site(&self) -> SameSite {
        match self.cookie_same_site.to_ascii_lowercase().as_str() {
            "strict" => SameSite::Strict,
            _ => SameSite::Lax,
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
