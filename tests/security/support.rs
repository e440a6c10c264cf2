//! What the security tests share: claims to start from, tokens signed any way at all, attacker
//! keys, and the one assertion every refusal must pass.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signer, SigningKey};
use hmac::{Hmac, KeyInit, Mac};
use rocket::http::Status;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{TestApp, claims_of, now};

/// Claims the server would accept for the session of `token`, as a starting point to break.
pub fn good_claims(session_of: &str) -> Value {
    let claims = claims_of(session_of);
    let now = now();
    json!({
        "sub": claims["sub"], "iat": now, "nbf": now, "exp": now + 600, "jti": "forged-jti",
        "typ": "access", "iss": "jwtapp", "aud": "jwtapp", "sid": claims["sid"],
    })
}

pub fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

pub fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().expect("object").remove(key);
    claims
}

/// The header of a token, decoded without any check.
pub fn header_of(token: &str) -> Value {
    let header = token.split('.').next().expect("a JWT has a header");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64url")).expect("JSON")
}

/// One base64url part of a token: a header or the claims.
pub fn part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// How a forged token is signed.
pub enum Sign<'a> {
    /// HMAC-SHA256 with any key, the empty one included (jsonwebtoken refuses to make those).
    Hs256(&'a [u8]),
    Ed25519(&'a SigningKey),
}

/// A token with exactly this header and these claims, signed as told.
pub fn signed(header: &Value, claims: &Value, sign: Sign<'_>) -> String {
    let message = format!("{}.{}", part(header), part(claims));
    let signature = match sign {
        Sign::Hs256(key) => {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
            mac.update(message.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Sign::Ed25519(key) => key.sign(message.as_bytes()).to_bytes().to_vec(),
    };
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Asserts that `token` on an access-token route is exactly a 401 with `description`, and that
/// `valid` still works afterwards (a refusal changes nothing for anyone else).
pub async fn assert_refused(
    app: &TestApp,
    case: &str,
    token: &str,
    description: &str,
    valid: &str,
) {
    let reply = app.get("/api/user-sample", Some(token)).await;
    assert_eq!(reply.status, Status::Unauthorized, "{case}: {}", reply.body);
    reply.assert_error(401);
    assert_eq!(
        reply.json(),
        json!({"statusCode": 401, "name": "Unauthorized", "description": description}),
        "{case}"
    );
    assert_ok(app, valid, &format!("after {case}")).await;
}

/// Asserts that the access token `token` is accepted.
pub async fn assert_ok(app: &TestApp, token: &str, case: &str) {
    let reply = app.get("/api/user-sample", Some(token)).await;
    assert_eq!(reply.status, Status::Ok, "{case}: {}", reply.body);
    assert_eq!(reply.json(), json!({"example": 123}), "{case}");
}

pub const UNKNOWN_KEY: &str = "the token was signed with an unknown key";
pub const BAD_SIGNATURE: &str = "the token signature is invalid";
pub const BAD_ALGORITHM: &str = "the token algorithm is not accepted";
pub const MALFORMED: &str = "the token is malformed";
pub const BAD_CLAIMS: &str = "the token lacks a required claim or has one of the wrong type";
pub const NOT_YET_VALID: &str = "the token is not valid yet";
pub const WRONG_ISSUER_OR_AUDIENCE: &str = "the token was issued for another issuer or audience";

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
