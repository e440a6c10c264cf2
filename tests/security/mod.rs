//! The application attacked the ways real tokens and sessions get attacked: forged and malformed
//! tokens, keys, refresh-token replay, stolen cookies, password guessing, and the defects an
//! outside review found. Each refusal is asserted exactly, and a valid token still works after.

mod accounts;
mod browser;
mod hardening;
mod keys;
mod rotation;
mod throttling;
mod tokens;
