//! The binary: `jwtapp user …` next to a running server, and the settings `jwtapp config`,
//! `jwtapp keys` and a start check.

mod config;
mod users;
