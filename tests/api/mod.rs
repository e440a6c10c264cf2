//! The JSON API: every row of its contract, its errors, CORS and the health endpoints.

mod contract;
mod cors;
mod errors;
mod health;
