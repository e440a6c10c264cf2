//! Ed25519 key pairs made on the spot, in the forms jwtapp reads and publishes them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};
use serde_json::{Value, json};

/// A fresh Ed25519 key pair, with the PEM forms `openssl genpkey`/`openssl pkey -pubout` write.
pub struct Ed25519Key {
    pub signing: SigningKey,
}

impl Ed25519Key {
    pub fn generate() -> Ed25519Key {
        Ed25519Key {
            signing: SigningKey::from_bytes(&rand::random::<[u8; 32]>()),
        }
    }

    /// PKCS#8 (`-----BEGIN PRIVATE KEY-----`).
    pub fn private_pem(&self) -> String {
        self.signing
            .to_pkcs8_pem(LineEnding::LF)
            .expect("PKCS#8 PEM")
            .to_string()
    }

    /// SPKI (`-----BEGIN PUBLIC KEY-----`).
    pub fn public_pem(&self) -> String {
        self.signing
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("SPKI PEM")
    }

    /// The raw 32 public key bytes.
    pub fn public_bytes(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// The kid jwtapp derives for this key: its RFC 7638 thumbprint, computed here by the
    /// RFC's recipe (the required members in lexicographic order, no whitespace, SHA-256).
    pub fn kid(&self) -> String {
        use sha2::Digest;
        let canonical = format!(
            r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
            URL_SAFE_NO_PAD.encode(self.public_bytes())
        );
        URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical.as_bytes()))
    }

    /// The public JWK, as `/.well-known/jwks.json` would list it.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(self.public_bytes()),
            "kid": self.kid(), "alg": "EdDSA", "use": "sig",
        })
    }
}
