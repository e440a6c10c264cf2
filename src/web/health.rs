//! Health endpoints for load balancers and orchestrators, and the benchmark's baseline.
//!
//! `GET /health/live` answers as long as the process serves requests and touches nothing else;
//! `GET /health/ready` also asks the database, so traffic goes elsewhere while it cannot answer.

use std::time::Duration;

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{Route, State, get, routes};
use serde::Serialize;

use crate::auth::Auth;

/// How long readiness waits for the database before it says no: well under a typical probe's
/// own timeout, so the probe gets an answer rather than a hang.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Serialize)]
pub struct Health {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

const OK: Health = Health {
    status: "ok",
    reason: None,
};

/// Liveness: no database access, no authentication.
#[get("/health/live")]
fn live() -> Json<Health> {
    Json(OK)
}

/// Readiness: 200 when the database answers, 503 otherwise.
#[get("/health/ready")]
async fn ready(auth: &State<Auth>) -> (Status, Json<Health>) {
    match rocket::tokio::time::timeout(READY_TIMEOUT, auth.database_ready()).await {
        Ok(Ok(())) => (Status::Ok, Json(OK)),
        Ok(Err(e)) => {
            log::warn!("readiness: the database does not answer: {e}");
            unavailable("the database does not answer")
        }
        Err(_) => {
            log::warn!("readiness: the database did not answer within {READY_TIMEOUT:?}");
            unavailable("the database did not answer in time")
        }
    }
}

fn unavailable(reason: &'static str) -> (Status, Json<Health>) {
    (
        Status::ServiceUnavailable,
        Json(Health {
            status: "unavailable",
            reason: Some(reason),
        }),
    )
}

/// The routes, mounted at `/`.
pub fn routes() -> Vec<Route> {
    routes![live, ready]
}
