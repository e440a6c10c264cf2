//! HTTP handlers: the JSON API under `/api` and the server-rendered pages.

pub mod account;
pub mod admin;
pub mod api;
pub mod health;
pub mod pages;
pub mod well_known;

/// Unix seconds as RFC 3339 in UTC (`2026-11-29T03:04:05Z`), as the API and pages show times.
pub fn rfc3339(unix: i64) -> String {
    rocket::time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&rocket::time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// Unix seconds as `2026-11-29 03:04` (UTC), for people: pages and the CLI.
pub fn minutes(unix: i64) -> String {
    rocket::time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}",
                t.year(),
                t.month() as u8,
                t.day(),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_else(|_| unix.to_string())
}
