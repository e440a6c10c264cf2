//! `/.well-known/jwks.json`: the public keys that verify jwtapp's tokens, for other services.

use rocket::http::Header;
use rocket::{Responder, Route, State, get, routes};

/// The JWK Set document, serialized once at start: the keys only change with the configuration.
#[derive(Debug, Clone)]
pub struct Jwks(String);

impl Jwks {
    pub fn new(keys: &jsonwebtoken::jwk::JwkSet) -> Result<Jwks, serde_json::Error> {
        serde_json::to_string(keys).map(Jwks)
    }
}

/// Served as `application/json`, which every JSON client accepts; RFC 7517's
/// `application/jwk-set+json` is rejected by some. Public and briefly cacheable, so a verifier
/// picks up a new key within five minutes without asking on every token.
#[derive(Responder)]
#[response(content_type = "json")]
pub struct JwksDocument {
    body: String,
    cache_control: Header<'static>,
}

/// The JWK Set
///
/// The public keys that verify jwtapp's tokens (RFC 7517), for other services: each token's
/// `kid` names its key. HS256 secrets are never published, so with HS256 only the set is empty.
#[utoipa::path(
    tag = "keys",
    responses(
        (status = 200, description = "The public signing keys", body = JwkSetDoc,
         headers(("Cache-Control" = String, description = "`public, max-age=300`"))),
    ),
    security(()),
)]
#[get("/.well-known/jwks.json")]
pub fn jwks(jwks: &State<Jwks>) -> JwksDocument {
    JwksDocument {
        body: jwks.0.clone(),
        cache_control: Header::new("Cache-Control", "public, max-age=300"),
    }
}

/// The JWK Set's shape, for the API document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Documentation only, like `JwkDoc`.
#[schema(as = JwkSet, example = json!({"keys": [{
    "kty": "OKP", "use": "sig", "alg": "EdDSA", "crv": "Ed25519",
    "kid": "v4xC9M1xQ2", "x": "p5gvPEfwb7eLJ3FhH0fS0K8vE6Xv3y0p9l2mQ3kR4sU"
}]}))]
pub struct JwkSetDoc {
    keys: Vec<JwkDoc>,
}

/// One public key: an Ed25519 key (`kty` `OKP`, `crv` `Ed25519`, the key in `x`).
#[derive(utoipa::ToSchema)]
#[schema(as = Jwk)]
#[allow(dead_code)] // Documentation only: the set is serialized by jsonwebtoken's own types.
pub struct JwkDoc {
    kty: String,
    #[schema(rename = "use")]
    use_: Option<String>,
    alg: Option<String>,
    kid: Option<String>,
    crv: Option<String>,
    x: Option<String>,
}

/// The routes, mounted at `/`.
pub fn routes() -> Vec<Route> {
    routes![jwks]
}
