//! Issue 13, security events people can read: every kind of the trail with its fields, caused
//! through the API, the pages and the command line ([`kinds`]); who reads it ([`api`],
//! [`pages`]); how it is recorded: never failing a request, nothing written for a request the
//! cache answered, kept `event_retention_days` ([`recording`]); the log, text and JSON, in the
//! release profile, without a secret ([`logs`]); the Prometheus metrics ([`metrics`]); the
//! settings of all three ([`config`]).

mod api;
mod client;
mod config;
mod exposition;
mod kinds;
mod logs;
mod metrics;
mod pages;
mod recording;
mod server;
mod trail;

pub use client::{CHROME, CHROME_DEVICE, Caller, FIREFOX, FIREFOX_DEVICE, Visitor};
pub use exposition::Exposition;
pub use server::LoggedServer;
pub use trail::{
    all_of, auth, cli, event, kinds, newest, recorded_since, restart, sid, system_now, trail,
    user_id,
};
