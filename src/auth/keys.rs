//! The signing and verification keys named in the configuration: their material, their `kid`s
//! and the public JWK Set. [`tokens`](super::tokens) signs and verifies with them.

use std::fmt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::spki::DecodePublicKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::{AuthConfig, SigningAlgorithm, ed25519_advice};

/// A key that cannot be used, in one line naming the setting it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

/// The default `kid` of an HS256 secret: the first 12 bytes of SHA-256 over a fixed label and the
/// secret, base64url. One-way, so it tells nothing about the secret, and stable, so the key keeps
/// its `kid` when it moves to `retired_keys`.
pub fn hs256_key_id(secret: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(b"jwtapp-kid:")
        .chain_update(secret)
        .finalize();
    URL_SAFE_NO_PAD.encode(&digest[..12])
}

/// The default `kid` of an Ed25519 public key: its RFC 7638 JWK thumbprint (SHA-256), which any
/// party holding the JWK can recompute.
pub fn ed25519_key_id(public_key: &[u8; 32]) -> String {
    // RFC 7638: the required members only, in lexicographic order, no whitespace.
    let canonical = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(public_key)
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// Key material of one configured key.
// A handful of these exist, built once at start: their size does not matter.
#[allow(clippy::large_enum_variant)]
enum Material {
    Hs256(Vec<u8>),
    /// The signing half is present for the active key only; retired keys keep just the public half.
    Ed25519 {
        signing: Option<SigningKey>,
        public: VerifyingKey,
    },
}

/// One key of the ring, with its `kid` and where it was configured.
pub struct Key {
    pub kid: String,
    /// The setting it came from (`auth.secret`, `auth.retired_keys[1]`, ...), for messages.
    pub source: String,
    material: Material,
}

// Key material never reaches a log line.
impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm())
            .field("source", &self.source)
            .finish()
    }
}

impl Key {
    /// The one algorithm this key signs or verifies with.
    pub fn algorithm(&self) -> Algorithm {
        match self.material {
            Material::Hs256(_) => Algorithm::HS256,
            Material::Ed25519 { .. } => Algorithm::EdDSA,
        }
    }

    /// The key for signing; an error for a key that has no private half.
    pub fn encoding_key(&self) -> Result<EncodingKey, KeyError> {
        match &self.material {
            Material::Hs256(secret) => EncodingKey::from_secret(secret)
                .map_err(|e| KeyError(format!("{}: {e}", self.source))),
            Material::Ed25519 {
                signing: Some(signing),
                ..
            } => {
                let der = signing
                    .to_pkcs8_der()
                    .map_err(|e| KeyError(format!("{}: {e}", self.source)))?;
                Ok(EncodingKey::from_ed_der(der.as_bytes()))
            }
            Material::Ed25519 { signing: None, .. } => Err(KeyError(format!(
                "{}: a public key cannot sign",
                self.source
            ))),
        }
    }

    /// The key for verifying.
    pub fn decoding_key(&self) -> Result<DecodingKey, KeyError> {
        match &self.material {
            Material::Hs256(secret) => DecodingKey::from_secret(secret)
                .map_err(|e| KeyError(format!("{}: {e}", self.source))),
            Material::Ed25519 { public, .. } => {
                DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(public.as_bytes()))
                    .map_err(|e| KeyError(format!("{}: {e}", self.source)))
            }
        }
    }

    /// The public JWK of an Ed25519 key; `None` for a secret, which is never published.
    pub fn public_jwk(&self) -> Option<Value> {
        match &self.material {
            Material::Hs256(_) => None,
            Material::Ed25519 { public, .. } => Some(json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(public.as_bytes()),
                "kid": self.kid,
                "alg": "EdDSA",
                "use": "sig",
            })),
        }
    }
}

/// Every configured key: the one that signs, and the retired ones that only verify.
#[derive(Debug)]
pub struct KeyRing {
    pub active: Key,
    pub retired: Vec<Key>,
}

impl KeyRing {
    /// Reads the keys named by `config`. `secret` is the effective `auth.secret` (a random one
    /// in the debug profile), the HS256 signing key when `algorithm` is HS256. Fails on a key that
    /// cannot be read or parsed and on two keys with the same `kid`.
    pub fn from_config(secret: &[u8], config: &AuthConfig) -> Result<KeyRing, KeyError> {
        let active = match config.signing_algorithm() {
            Some(SigningAlgorithm::Hs256) => {
                hs256_key(secret, config.key_id.clone(), "auth.secret")?
            }
            Some(SigningAlgorithm::EdDsa) => {
                let (pem, source) = pem_text(
                    config.private_key.as_deref(),
                    config.private_key_file.as_deref(),
                    "auth.private_key",
                )?;
                let signing = parse_private_key(&pem, &source)?;
                ed25519_key(
                    signing.verifying_key(),
                    Some(signing),
                    config.key_id.clone(),
                    source,
                )
            }
            None => {
                return Err(KeyError(format!(
                    "auth.algorithm: {:?} is not supported",
                    config.algorithm
                )));
            }
        };
        let mut retired: Vec<Key> = Vec::with_capacity(config.retired_keys.len());
        for (index, entry) in config.retired_keys.iter().enumerate() {
            let name = format!("auth.retired_keys[{index}]");
            let key = if let Some(secret) = &entry.secret {
                hs256_key(secret.as_bytes(), entry.kid.clone(), &name)?
            } else if entry.public_key.is_some() || entry.public_key_file.is_some() {
                let (pem, source) = pem_text(
                    entry.public_key.as_deref(),
                    entry.public_key_file.as_deref(),
                    &format!("{name}.public_key"),
                )?;
                let public = VerifyingKey::from_public_key_pem(&pem).map_err(|e| {
                    KeyError(format!(
                        "{source}: not an Ed25519 public key in PEM (-----BEGIN PUBLIC KEY-----): {e}"
                    ))
                })?;
                ed25519_key(public, None, entry.kid.clone(), source)
            } else {
                let (pem, source) = pem_text(
                    entry.private_key.as_deref(),
                    entry.private_key_file.as_deref(),
                    &format!("{name}.private_key"),
                )?;
                // Only the public half is kept: a retired key never signs again.
                let public = parse_private_key(&pem, &source)?.verifying_key();
                ed25519_key(public, None, entry.kid.clone(), source)
            };
            if let Some(other) = std::iter::once(&active)
                .chain(&retired)
                .find(|other| other.kid == key.kid)
            {
                return Err(KeyError(format!(
                    "{}: kid {:?} is already used by {} (the same key twice? give one a different kid)",
                    key.source, key.kid, other.source
                )));
            }
            retired.push(key);
        }
        Ok(KeyRing { active, retired })
    }

    /// The active key first, then the retired ones in configuration order.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.active).chain(&self.retired)
    }

    /// The public JWK Set: every Ed25519 key of the ring. Secrets are never in it, so with HS256
    /// keys only it is `{"keys":[]}`.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self.keys().filter_map(Key::public_jwk).collect();
        json!({ "keys": keys })
    }
}

fn hs256_key(secret: &[u8], kid: Option<String>, source: &str) -> Result<Key, KeyError> {
    if secret.is_empty() {
        return Err(KeyError(format!("{source}: must not be empty")));
    }
    Ok(Key {
        kid: kid.unwrap_or_else(|| hs256_key_id(secret)),
        source: source.to_owned(),
        material: Material::Hs256(secret.to_vec()),
    })
}

fn ed25519_key(
    public: VerifyingKey,
    signing: Option<SigningKey>,
    kid: Option<String>,
    source: String,
) -> Key {
    Key {
        kid: kid.unwrap_or_else(|| ed25519_key_id(public.as_bytes())),
        source,
        material: Material::Ed25519 { signing, public },
    }
}

fn parse_private_key(pem: &str, source: &str) -> Result<SigningKey, KeyError> {
    SigningKey::from_pkcs8_pem(pem).map_err(|e| {
        KeyError(format!(
            "{source}: not an Ed25519 private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----): {e}; {}",
            ed25519_advice()
        ))
    })
}

/// The PEM given inline or read from a file, and the setting to name in messages. The
/// configuration has checked that exactly one of the two is set.
fn pem_text(
    inline: Option<&str>,
    file: Option<&Path>,
    setting: &str,
) -> Result<(String, String), KeyError> {
    match (inline, file) {
        (Some(pem), _) => Ok((pem.to_owned(), setting.to_owned())),
        (None, Some(path)) => {
            let source = format!("{setting}_file ({})", path.display());
            let pem = std::fs::read_to_string(path)
                .map_err(|e| KeyError(format!("{source}: cannot read it: {e}")))?;
            Ok((pem, source))
        }
        (None, None) => Err(KeyError(format!("{setting}: not set"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ed25519_kid_is_the_rfc_7638_thumbprint() {
        // RFC 8037, appendix A.3.
        let x = URL_SAFE_NO_PAD
            .decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
            .unwrap_or_default();
        let x: [u8; 32] = x.try_into().unwrap_or([0; 32]);

        assert_eq!(
            ed25519_key_id(&x),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn the_hs256_kid_is_short_stable_and_differs_per_secret() {
        let a = hs256_key_id(b"a secret of thirty-two bytes or more");
        let b = hs256_key_id(b"another secret of thirty-two bytes");

        assert_eq!(a.len(), 16);
        assert_eq!(a, hs256_key_id(b"a secret of thirty-two bytes or more"));
        assert_ne!(a, b);
        assert!(crate::config::is_valid_kid(&a));
    }
}
