//! Tokens taken apart and made up: claims to start from, tokens signed any way at all, and the
//! one assertion every refusal must pass.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rocket::http::Status;
use serde_json::{Value, json};
use sha2::Sha256;

use super::{SECRET, TestApp};

/// The descriptions of the 401s, as the API error table documents them.
pub const UNKNOWN_KEY: &str = "the token was signed with an unknown key";
pub const BAD_SIGNATURE: &str = "the token signature is invalid";
pub const BAD_ALGORITHM: &str = "the token algorithm is not accepted";
pub const MALFORMED: &str = "the token is malformed";
pub const BAD_CLAIMS: &str = "the token lacks a required claim or has one of the wrong type";
pub const EXPIRED: &str = "the token has expired";
pub const NOT_YET_VALID: &str = "the token is not valid yet";
pub const WRONG_ISSUER_OR_AUDIENCE: &str = "the token was issued for another issuer or audience";
pub const NOT_AN_ACCESS_TOKEN: &str = "an access token is required";
pub const NOT_A_REFRESH_TOKEN: &str = "a refresh token is required";
pub const SESSION_ENDED: &str = "the session has ended; log in again";

/// The claims of a token, read without verification.
pub fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url"))
        .expect("JSON claims")
}

/// The header of a token, read without verification.
pub fn header_of(token: &str) -> Value {
    let header = token.split('.').next().expect("a JWT has a header");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64url")).expect("JSON")
}

/// One base64url part of a token: a header or the claims.
pub fn part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// Access-token claims the server would accept for the session of `session_of`, issued now by
/// `app`'s clock and valid for ten minutes: a starting point to break.
pub fn good_claims(app: &TestApp, session_of: &str) -> Value {
    let claims = claims_of(session_of);
    let now = app.now();
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

/// The `kid` the test apps' signing key ([`SECRET`]) carries.
pub fn server_kid() -> String {
    jwtapp::auth::hs256_key_id(SECRET.as_bytes())
}

/// Signs arbitrary claims with `secret` and `alg`, under the server's `kid`: the server then
/// picks its own key, and the refusal is about the signature or the algorithm.
pub fn forge_with(claims: &Value, alg: Algorithm, secret: &[u8]) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(server_kid());
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_secret(secret).expect("key"),
    )
    .expect("sign")
}

/// Signs arbitrary claims the way the server does.
pub fn forge(claims: &Value) -> String {
    forge_with(claims, Algorithm::HS256, SECRET.as_bytes())
}

/// A JWT with any header, payload and signature text.
pub fn raw_token(header: &Value, claims: &Value, signature: &str) -> String {
    format!("{}.{}.{signature}", part(header), part(claims))
}

/// How a made-up token is signed.
pub enum Sign<'a> {
    /// HMAC-SHA256 with any key, the empty one included (jsonwebtoken refuses to make those).
    Hs256(&'a [u8]),
    Ed25519(&'a ed25519_dalek::SigningKey),
}

/// A token with exactly this header and these claims, signed as told.
pub fn signed(header: &Value, claims: &Value, sign: Sign<'_>) -> String {
    use ed25519_dalek::Signer;
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
