//! Tokens that passed verification, remembered so that a client sending the same token on every
//! request does not have it decoded, parsed and its signature recomputed each time: a cache in
//! front of [`TokenKeys::verify`](super::tokens::TokenKeys::verify).
//!
//! Only tokens that passed every check are kept, under their signature, next to the whole token:
//! a hit must match the token byte for byte, so a changed payload under a reused signature is a
//! miss and goes through full verification (and fails). What depends on the clock (`exp`, `nbf`,
//! `iat`) and on the place of use (`typ`) is checked again on every use by the caller; the keys
//! never change while the process runs, so a signature that was good stays good.

use std::sync::Arc;

use quick_cache::sync::Cache;

use super::tokens::Claims;

/// Tokens kept at most (a few MiB); beyond it the least recently used are evicted.
const CAPACITY: usize = 20_000;

/// A token that passed verification, and its claims.
#[derive(Debug)]
pub struct Verified {
    token: Box<str>,
    pub claims: Claims,
}

/// A bounded cache of verified tokens.
pub struct VerifiedTokens {
    /// By signature: the whole token (a hit must match it exactly) and its claims, shared so a
    /// hit costs one reference count.
    by_signature: Cache<Box<str>, Arc<Verified>>,
}

impl Default for VerifiedTokens {
    fn default() -> Self {
        VerifiedTokens {
            by_signature: Cache::new(CAPACITY),
        }
    }
}

impl std::fmt::Debug for VerifiedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedTokens")
            .field("tokens", &self.by_signature.len())
            .finish()
    }
}

/// The signature segment of a compact JWT.
fn signature(token: &str) -> Option<&str> {
    token.rsplit_once('.').map(|(_, signature)| signature)
}

impl VerifiedTokens {
    /// `token` and its claims, if exactly this token was verified before.
    pub fn get(&self, token: &str) -> Option<Arc<Verified>> {
        let verified = self.by_signature.get(signature(token)?)?;
        (*verified.token == *token).then_some(verified)
    }

    /// Remembers a token that passed verification; returns it as the cache keeps it.
    pub fn insert(&self, token: &str, claims: Claims) -> Arc<Verified> {
        let verified = Arc::new(Verified {
            token: token.into(),
            claims,
        });
        if let Some(signature) = signature(token) {
            self.by_signature
                .insert(signature.into(), Arc::clone(&verified));
        }
        verified
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::tokens::TokenType;

    fn claims() -> Claims {
        Claims {
            sub: "alice".into(),
            iat: 1,
            nbf: 1,
            exp: 2,
            jti: "j".into(),
            typ: TokenType::Access,
            iss: "i".into(),
            aud: "a".into(),
            sid: "s".into(),
            auth_time: None,
        }
    }

    #[test]
    fn a_hit_must_match_the_whole_token() {
        let cache = VerifiedTokens::default();
        cache.insert("header.payload.signature", claims());
        assert!(cache.get("header.payload.signature").is_some());
        assert!(cache.get("header.forged.signature").is_none());
        assert!(cache.get("no-signature").is_none());
    }

    #[test]
    fn it_stays_bounded() {
        let cache = VerifiedTokens::default();
        for i in 0..(CAPACITY * 2) {
            cache.insert(&format!("h.p.{i}"), claims());
        }
        assert!(cache.by_signature.len() <= CAPACITY);
    }
}
