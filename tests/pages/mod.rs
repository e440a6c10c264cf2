//! The server-rendered pages and their cookies: the page table, CSRF, the session cookies,
//! transparent reissue, and the whole flow in a real browser.

mod chromium;
mod cookies;
mod csrf;
mod reissue;
mod views;
