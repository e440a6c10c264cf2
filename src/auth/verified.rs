//! Tokens that passed verification, remembered so that a client sending the same token on every
//! request does not have it decoded, parsed and its signature recomputed each time.
//!
//! Only tokens that passed every check are kept, under their signature, next to the whole token:
//! a hit must match the token byte for byte, so a changed payload under a reused signature is a
//! miss and goes through full verification (and fails). What depends on the clock (`exp`, `nbf`,
//! `iat`) and on the place of use (`typ`) is checked again on every use by the caller; the keys
//! never change while the process runs, so a signature that was good stays good.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::tokens::Claims;

/// Tokens kept before the cache starts over: a few megabytes at most.
const MAX_TOKENS: usize = 10_000;

/// A verified token under its signature: the whole token (a hit must match it exactly) and its
/// claims. foldhash: the keys are signatures of tokens that passed verification, which nobody can
/// choose, so a fast hash is enough.
type BySignature = HashMap<Box<str>, (Box<str>, Arc<Claims>), foldhash::fast::RandomState>;

#[derive(Default)]
pub struct VerifiedTokens {
    by_signature: RwLock<BySignature>,
}

/// The signature segment of a compact JWT.
fn signature(token: &str) -> Option<&str> {
    token.rsplit_once('.').map(|(_, signature)| signature)
}

impl VerifiedTokens {
    /// The claims of `token`, if exactly this token was verified before.
    pub fn get(&self, token: &str) -> Option<Arc<Claims>> {
        self.with(token, Arc::clone)
    }

    /// Runs `use_claims` on the claims of `token` while they are borrowed from the cache, if
    /// exactly this token was verified before. Unlike [`get`](Self::get) it touches no reference
    /// count: on a busy server every shared counter that two cores write in turn costs time.
    pub fn with<R>(&self, token: &str, use_claims: impl FnOnce(&Arc<Claims>) -> R) -> Option<R> {
        let entries = self
            .by_signature
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match entries.get(signature(token)?) {
            Some((known, claims)) if **known == *token => Some(use_claims(claims)),
            _ => None,
        }
    }

    /// Remembers a token that passed verification.
    pub fn insert(&self, token: &str, claims: Arc<Claims>) {
        let Some(signature) = signature(token) else {
            return;
        };
        let mut entries = self
            .by_signature
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= MAX_TOKENS {
            entries.clear();
        }
        entries.insert(signature.into(), (token.into(), claims));
    }
}
