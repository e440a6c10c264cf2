//! HTTP handlers: the JSON API under `/api` and the server-rendered pages.

pub mod api;
pub mod pages;
pub mod well_known;
