//! The store layer on its own: SQLite behind the `Store` trait, the change feed, the cache in
//! front of them; and what a running app answers after changes made inside and outside it.

mod cache;
mod feed;
mod freshness;
mod sqlite;

use std::path::PathBuf;

use jwtapp::store::{NewSession, NewUser};
use tempfile::TempDir;

fn temp_db() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("db.sqlite3");
    (dir, path)
}

/// A new user row as the accounts service would write it.
fn new_user(name: &str) -> NewUser {
    NewUser {
        username: name.into(),
        canonical: jwtapp::auth::usernames::canonical(name),
        password_hash: "hash".into(),
        is_admin: false,
        is_demo: false,
        now: 1,
    }
}

/// A login of `user_id` at `at`, for an hour, with refresh token `r-{id}`.
fn new_session(id: &str, user_id: i64, at: i64) -> NewSession {
    NewSession {
        id: id.into(),
        user_id,
        username: format!("user{user_id}"),
        created_at: at,
        auth_time: at,
        expires_at: at + 3600,
        user_agent: None,
        address: None,
        refresh_jti: format!("r-{id}"),
    }
}
