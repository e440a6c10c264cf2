//! Secrets at rest: TOTP secrets are stored sealed (XChaCha20-Poly1305) with a key derived from
//! the configured `auth.secret`, so a copy of the database alone does not give away anyone's
//! second factor. Keys derived from retired HS256 secrets still open what they sealed, so the
//! secret can be rotated the way keys are; a value is sealed again with the current key the
//! next time it is written.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What a sealed value starts with: the format, so a later one can be told apart.
const PREFIX: &str = "v1.";
/// What the key is derived for: a key for this and nothing else.
const PURPOSE: &[u8] = b"jwtapp: sealing of stored second-factor secrets, v1";

/// Seals and opens stored secrets.
pub struct Sealer {
    current: XChaCha20Poly1305,
    /// Keys of retired secrets: they open, never seal.
    retired: Vec<XChaCha20Poly1305>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("retired_keys", &self.retired.len())
            .finish_non_exhaustive()
    }
}

/// A sealed value that no key opens: the secret it was sealed under is gone, or it was altered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a stored secret cannot be opened: auth.secret changed since it was stored")]
pub struct Unsealable;

fn cipher(secret: &[u8]) -> XChaCha20Poly1305 {
    // HMAC-SHA256 keyed by the secret, over a fixed purpose: a key of its own, which tells
    // nothing of the secret or of the keys derived from it for other purposes.
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(PURPOSE);
    let key: [u8; 32] = mac.finalize().into_bytes().into();
    XChaCha20Poly1305::new(&Key::from(key))
}

impl Sealer {
    /// A sealer keyed by `secret`, that also opens what `retired` secrets sealed.
    pub fn new(secret: &[u8], retired: &[&[u8]]) -> Sealer {
        Sealer {
            current: cipher(secret),
            retired: retired.iter().map(|s| cipher(s)).collect(),
        }
    }

    /// `plain`, sealed with the current key and a random nonce: `v1.` and URL-safe base64.
    pub fn seal(&self, plain: &[u8]) -> String {
        let mut nonce = [0u8; 24];
        rand::fill(&mut nonce[..]);
        // Encrypting into a Vec cannot fail (its only error is a buffer too small).
        let sealed = self
            .current
            .encrypt(&XNonce::from(nonce), plain)
            .unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The value `sealed` holds, opened with the current key or a retired one.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, Unsealable> {
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(|b64| URL_SAFE_NO_PAD.decode(b64).ok())
            .filter(|bytes| bytes.len() > 24)
            .ok_or(Unsealable)?;
        let (nonce, body) = bytes.split_at(24);
        let nonce = XNonce::try_from(nonce).map_err(|_| Unsealable)?;
        std::iter::once(&self.current)
            .chain(&self.retired)
            .find_map(|key| key.decrypt(&nonce, body).ok())
            .ok_or(Unsealable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_with_their_key_only() {
        let sealer = Sealer::new(b"the current secret, 32 bytes or more", &[]);
        let sealed = sealer.seal(b"totp secret");
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("totp"));
        assert_eq!(sealer.open(&sealed), Ok(b"totp secret".to_vec()));
        // Random nonces: the same value seals differently each time.
        assert_ne!(sealer.seal(b"totp secret"), sealed);
        let other = Sealer::new(b"another secret entirely, 32 bytes..", &[]);
        assert_eq!(other.open(&sealed), Err(Unsealable));
        let mut altered = sealed.clone();
        altered.pop();
        altered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(sealer.open(&altered), Err(Unsealable));
        assert_eq!(sealer.open("v1."), Err(Unsealable));
        assert_eq!(sealer.open("plain text"), Err(Unsealable));
    }

    #[test]
    fn retired_secrets_still_open() {
        let old = Sealer::new(b"the old secret, long enough for HS256", &[]);
        let sealed = old.seal(b"value");
        let rotated = Sealer::new(
            b"the new secret, long enough for HS256",
            &[b"the old secret, long enough for HS256"],
        );
        assert_eq!(rotated.open(&sealed), Ok(b"value".to_vec()));
    }
}
