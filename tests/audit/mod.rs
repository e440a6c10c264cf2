//! Issue 13, security events people can read: every kind of the trail with its fields, caused
//! through the API, the pages and the command line ([`kinds`]); who reads it ([`api`],
//! [`pages`]).

mod api;
mod client;
mod kinds;
mod pages;
mod trail;

pub use client::{CHROME, CHROME_DEVICE, Caller, FIREFOX, FIREFOX_DEVICE, Visitor};
pub use trail::{
    all_of, cli, event, kinds, newest, recorded_since, restart, sid, system_now, trail, user_id,
};
