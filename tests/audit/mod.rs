//! Issue 13, security events people can read: every kind of the trail with its fields, caused
//! through the API, the pages and the command line ([`kinds`]); who reads it ([`api`],
//! [`pages`]); how it is recorded: never failing a request, nothing written for a request the
//! cache answered, kept `event_retention_days` ([`recording`]); the Prometheus metrics
//! ([`metrics`]); the settings ([`config`]).

mod api;
mod client;
mod config;
mod exposition;
mod kinds;
mod metrics;
mod pages;
mod recording;
mod trail;

pub use client::{CHROME, CHROME_DEVICE, Caller, FIREFOX, FIREFOX_DEVICE, Visitor};
pub use exposition::Exposition;
pub use trail::{
    all_of, auth, cli, event, kinds, newest, recorded_since, restart, sid, system_now, trail,
    user_id,
};
