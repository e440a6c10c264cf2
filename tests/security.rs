//! Security tests: the real application attacked the ways real tokens get attacked. A test
//! binary of its own; each area is one module in `tests/security/`.

// Shared with `tests/app`; this binary uses only some of them.
#[path = "app/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "security/support.rs"]
mod support;

#[path = "security/keys.rs"]
mod keys;
#[path = "security/tokens.rs"]
mod tokens;
