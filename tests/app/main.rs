//! Integration tests: the real application, driven through `rocket::local` clients and the real
//! binary. One test binary with modules, to link once.

mod helpers;

mod browser;
mod cli;
mod config;
mod contract;
mod cookies;
mod cors;
mod csrf;
mod errors;
mod health;
mod pages;
mod reissue;
// mod store;
mod tokens;
