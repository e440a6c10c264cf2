//! Integration tests: the real application, driven through `rocket::local` clients and the real
//! binary. One test binary with modules, to link once.

mod helpers;

mod cli;
mod config;
mod contract;
mod cors;
mod errors;
mod store;
mod tokens;
