//! The signing and verification keys: their material, their `kid`s and the public JWK Set.
//! [`tokens`](super::tokens) signs and verifies with them.

use std::fmt;
use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::spki::DecodePublicKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use sha2::{Digest, Sha256};

/// How to make an Ed25519 key, for messages.
pub const ED25519_ADVICE: &str = "make one with `openssl genpkey -algorithm ed25519 -out \
     jwtapp-ed25519.pem` (its public key: `openssl pkey -in jwtapp-ed25519.pem -pubout`)";

/// Longest `kid` accepted, in configuration and in tokens.
pub const MAX_KID_LEN: usize = 64;

/// The algorithms new tokens can be signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlgorithm {
    Hs256,
    EdDsa,
}

/// PEM text, given inline or as a file to read.
pub enum Pem {
    Inline(SecretString),
    File(PathBuf),
}

/// What a key that only verifies is made of.
pub enum RetiredMaterial {
    /// An HS256 secret.
    Secret(SecretString),
    /// An Ed25519 public key (SPKI PEM).
    PublicKey(Pem),
    /// An Ed25519 private key (PKCS#8 PEM), of which only the public half is kept.
    PrivateKey(Pem),
}

/// A key that no longer signs but still verifies the tokens it signed.
pub struct RetiredKey {
    pub kid: Option<String>,
    pub material: RetiredMaterial,
    /// The setting it comes from (`auth.retired_keys[1]`), for messages.
    pub setting: String,
}

/// The keys to load.
pub struct KeySettings {
    pub algorithm: SigningAlgorithm,
    /// The HS256 signing secret (with `algorithm` HS256).
    pub secret: SecretSlice<u8>,
    /// The Ed25519 signing key (with `algorithm` EdDSA).
    pub private_key: Option<Pem>,
    /// The signing key's `kid`; by default derived from the key.
    pub key_id: Option<String>,
    pub retired: Vec<RetiredKey>,
}

/// A key that cannot be used, naming the setting it came from.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{setting}: cannot read it")]
    Read {
        setting: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{setting}: not an Ed25519 private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----); {ED25519_ADVICE}"
    )]
    NotPrivateKey {
        setting: String,
        #[source]
        source: ed25519_dalek::pkcs8::Error,
    },
    #[error("{setting}: not an Ed25519 public key in PEM (-----BEGIN PUBLIC KEY-----)")]
    NotPublicKey {
        setting: String,
        #[source]
        source: ed25519_dalek::pkcs8::spki::Error,
    },
    #[error("{setting}: must not be empty")]
    Empty { setting: String },
    #[error("{setting}: not set; {ED25519_ADVICE}")]
    Missing { setting: String },
    #[error(
        "{setting}: kid {kid:?} is already used by {other} (the same key twice? give one a different kid)"
    )]
    DuplicateKid {
        setting: String,
        kid: String,
        other: String,
    },
    #[error("{setting}: the key cannot be used")]
    Unusable {
        setting: String,
        #[source]
        source: jsonwebtoken::errors::Error,
    },
}

/// A `kid` is 1 to 64 of `A-Z a-z 0-9 . _ -`: safe in logs, URLs and JSON, and nothing that
/// looks like a path or a query.
pub fn validate_kid(kid: &str) -> Result<(), &'static str> {
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

/// The public JWK of an Ed25519 key, without `kid` and `use`.
fn ed25519_jwk(public: &VerifyingKey) -> Result<Jwk, jsonwebtoken::errors::Error> {
    let key = DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(public.as_bytes()))?;
    Jwk::from_decoding_key(&key, Some(Algorithm::EdDSA))
}

/// The default `kid` of an Ed25519 public key: its RFC 7638 JWK thumbprint (SHA-256), which any
/// party holding the JWK can recompute.
pub fn ed25519_key_id(public: &VerifyingKey) -> Result<String, jsonwebtoken::errors::Error> {
    ed25519_jwk(public)?.thumbprint(ThumbprintHash::SHA256)
}

/// Key material of one configured key.
// A handful of these exist, built once at start: their size does not matter.
#[allow(clippy::large_enum_variant)]
enum Material {
    Hs256(SecretSlice<u8>),
    /// The signing half is present for the active key only; retired keys keep just the public half.
    Ed25519 {
        signing: Option<SigningKey>,
        public: VerifyingKey,
    },
}

/// One key of the ring, with its `kid` and the setting it came from.
pub struct Key {
    pub kid: String,
    pub setting: String,
    material: Material,
}

// Key material never reaches a log line.
impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm())
            .field("setting", &self.setting)
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

    fn unusable(&self, source: jsonwebtoken::errors::Error) -> KeyError {
        KeyError::Unusable {
            setting: self.setting.clone(),
            source,
        }
    }

    /// The key for signing; `None` for a key that has no private half.
    pub fn encoding_key(&self) -> Result<Option<EncodingKey>, KeyError> {
        match &self.material {
            Material::Hs256(secret) => EncodingKey::from_secret(secret.expose_secret())
                .map(Some)
                .map_err(|e| self.unusable(e)),
            Material::Ed25519 {
                signing: Some(signing),
                ..
            } => {
                let der = signing
                    .to_pkcs8_der()
                    .map_err(|source| KeyError::NotPrivateKey {
                        setting: self.setting.clone(),
                        source,
                    })?;
                Ok(Some(EncodingKey::from_ed_der(der.as_bytes())))
            }
            Material::Ed25519 { signing: None, .. } => Ok(None),
        }
    }

    /// The key for verifying.
    pub fn decoding_key(&self) -> Result<DecodingKey, KeyError> {
        match &self.material {
            Material::Hs256(secret) => {
                DecodingKey::from_secret(secret.expose_secret()).map_err(|e| self.unusable(e))
            }
            Material::Ed25519 { public, .. } => {
                DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(public.as_bytes()))
                    .map_err(|e| self.unusable(e))
            }
        }
    }

    /// The public JWK of an Ed25519 key; `None` for a secret, which is never published (a JWK
    /// of an HMAC key would carry the secret itself).
    pub fn public_jwk(&self) -> Result<Option<Jwk>, KeyError> {
        let Material::Ed25519 { public, .. } = &self.material else {
            return Ok(None);
        };
        let mut jwk = ed25519_jwk(public).map_err(|e| self.unusable(e))?;
        jwk.common.key_id = Some(self.kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        Ok(Some(jwk))
    }
}

/// Every configured key: the one that signs, and the retired ones that only verify.
#[derive(Debug)]
pub struct KeyRing {
    pub active: Key,
    pub retired: Vec<Key>,
}

impl KeyRing {
    /// Reads the keys named by `settings`. Fails on a key that cannot be read or parsed and on
    /// two keys with the same `kid`.
    pub fn load(settings: &KeySettings) -> Result<KeyRing, KeyError> {
        let active = match settings.algorithm {
            SigningAlgorithm::Hs256 => hs256_key(
                settings.secret.expose_secret(),
                settings.key_id.clone(),
                "auth.secret",
            )?,
            SigningAlgorithm::EdDsa => {
                let setting = "auth.private_key";
                let pem = settings
                    .private_key
                    .as_ref()
                    .ok_or_else(|| KeyError::Missing {
                        setting: setting.into(),
                    })?;
                let (pem, setting) = pem_text(pem, setting)?;
                let signing = parse_private_key(pem.expose_secret(), &setting)?;
                ed25519_key(
                    signing.verifying_key(),
                    Some(signing),
                    settings.key_id.clone(),
                    setting,
                )?
            }
        };
        let mut retired: Vec<Key> = Vec::with_capacity(settings.retired.len());
        for entry in &settings.retired {
            let key = match &entry.material {
                RetiredMaterial::Secret(secret) => hs256_key(
                    secret.expose_secret().as_bytes(),
                    entry.kid.clone(),
                    &entry.setting,
                )?,
                RetiredMaterial::PublicKey(pem) => {
                    let (pem, setting) = pem_text(pem, &format!("{}.public_key", entry.setting))?;
                    let public = VerifyingKey::from_public_key_pem(pem.expose_secret()).map_err(
                        |source| KeyError::NotPublicKey {
                            setting: setting.clone(),
                            source,
                        },
                    )?;
                    ed25519_key(public, None, entry.kid.clone(), setting)?
                }
                RetiredMaterial::PrivateKey(pem) => {
                    let (pem, setting) = pem_text(pem, &format!("{}.private_key", entry.setting))?;
                    // Only the public half is kept: a retired key never signs again.
                    let public = parse_private_key(pem.expose_secret(), &setting)?.verifying_key();
                    ed25519_key(public, None, entry.kid.clone(), setting)?
                }
            };
            if let Some(other) = std::iter::once(&active)
                .chain(&retired)
                .find(|other| other.kid == key.kid)
            {
                return Err(KeyError::DuplicateKid {
                    setting: key.setting.clone(),
                    kid: key.kid.clone(),
                    other: other.setting.clone(),
                });
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
    pub fn jwks(&self) -> Result<JwkSet, KeyError> {
        let mut keys = Vec::new();
        for key in self.keys() {
            if let Some(jwk) = key.public_jwk()? {
                keys.push(jwk);
            }
        }
        Ok(JwkSet { keys })
    }
}

fn hs256_key(secret: &[u8], kid: Option<String>, setting: &str) -> Result<Key, KeyError> {
    if secret.is_empty() {
        return Err(KeyError::Empty {
            setting: setting.to_owned(),
        });
    }
    Ok(Key {
        kid: kid.unwrap_or_else(|| hs256_key_id(secret)),
        setting: setting.to_owned(),
        material: Material::Hs256(secret.to_vec().into()),
    })
}

fn ed25519_key(
    public: VerifyingKey,
    signing: Option<SigningKey>,
    kid: Option<String>,
    setting: String,
) -> Result<Key, KeyError> {
    let kid = match kid {
        Some(kid) => kid,
        None => ed25519_key_id(&public).map_err(|source| KeyError::Unusable {
            setting: setting.clone(),
            source,
        })?,
    };
    Ok(Key {
        kid,
        setting,
        material: Material::Ed25519 { signing, public },
    })
}

fn parse_private_key(pem: &str, setting: &str) -> Result<SigningKey, KeyError> {
    SigningKey::from_pkcs8_pem(pem).map_err(|source| KeyError::NotPrivateKey {
        setting: setting.to_owned(),
        source,
    })
}

/// The PEM given inline or read from a file, and the setting to name in messages.
fn pem_text(pem: &Pem, setting: &str) -> Result<(SecretString, String), KeyError> {
    match pem {
        Pem::Inline(text) => Ok((text.clone(), setting.to_owned())),
        Pem::File(path) => {
            let setting = format!("{setting}_file ({})", path.display());
            let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
                setting: setting.clone(),
                source,
            })?;
            Ok((text.into(), setting))
        }
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
            .expect("the RFC's key is base64url");
        let x: [u8; 32] = x.try_into().expect("32 bytes");
        let public = VerifyingKey::from_bytes(&x).expect("the RFC's key is a valid Ed25519 key");

        assert_eq!(
            ed25519_key_id(&public).expect("thumbprint"),
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
        assert_eq!(validate_kid(&a), Ok(()));
    }

    #[test]
    fn a_secret_is_never_published() {
        let ring = KeyRing::load(&KeySettings {
            algorithm: SigningAlgorithm::Hs256,
            secret: b"a secret of thirty-two bytes or more".to_vec().into(),
            private_key: None,
            key_id: None,
            retired: Vec::new(),
        })
        .expect("ring");
        assert!(ring.jwks().expect("jwks").keys.is_empty());
    }
}
