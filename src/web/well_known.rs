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
struct JwksDocument {
    body: String,
    cache_control: Header<'static>,
}

#[get("/.well-known/jwks.json")]
fn jwks(jwks: &State<Jwks>) -> JwksDocument {
    JwksDocument {
        body: jwks.0.clone(),
        cache_control: Header::new("Cache-Control", "public, max-age=300"),
    }
}

/// The routes, mounted at `/`.
pub fn routes() -> Vec<Route> {
    routes![jwks]
}
