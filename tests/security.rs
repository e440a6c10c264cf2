//! The security suite: the real application attacked the ways real tokens and sessions get
//! attacked (forged and malformed tokens, keys, refresh-token replay, stolen cookies, password
//! guessing). A test binary of its own; each area is one module in `tests/security/`. Each test
//! asserts the exact refusal and that a valid token still works afterwards.

// Shared with `tests/app`; this binary uses only some of them.
#[path = "app/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "security/support.rs"]
mod support;

#[path = "security/accounts.rs"]
mod accounts;
#[path = "security/hardening.rs"]
mod hardening;
#[path = "security/keys.rs"]
mod keys;
#[path = "security/rotation.rs"]
mod rotation;
#[path = "security/throttling.rs"]
mod throttling;
#[path = "security/tokens.rs"]
mod tokens;
