//! What the tests share: the application in this process ([`TestApp`], on a clock the test
//! moves), a browser-like client of its pages ([`Browser`]), the real binary ([`Server`], the
//! CLI), one raw HTTP client, a real browser ([`Chromium`]), and tokens taken apart and made up.

mod app;
mod browser;
mod chromium;
mod cli;
mod keys;
mod reply;
mod server;
mod tokens;
mod waiting;

pub use app::{
    SECRET, TestApp, Tokens, address, assert_refused_at_start, assert_starts, base_figment,
    debug_figment, with_bearer,
};
pub use browser::{Browser, csrf_field, form_encode, form_post};
pub use chromium::{Chromium, Session as ChromiumSession};
pub use cli::{jwtapp_cli, run_binary, text};
pub use keys::Ed25519Key;
pub use reply::Reply;
pub use server::{Server, http};
pub use tokens::*;
pub use waiting::{CHANGE_BOUND, sleep_until_second, within_change_bound};
