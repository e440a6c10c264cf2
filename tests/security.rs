//! The security suite: forged and malformed tokens, keys, refresh-token rotation and reuse
//! detection, revocation, throttling. Each test asserts the exact refusal and that a valid
//! token still works afterwards.

#[path = "app/helpers.rs"]
#[allow(dead_code)]
mod helpers;

#[path = "security/accounts.rs"]
mod accounts;
#[path = "security/rotation.rs"]
mod rotation;
#[path = "security/throttling.rs"]
mod throttling;
