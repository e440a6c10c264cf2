//! `/health/live` and `/health/ready`.

use rocket::http::Status;
use serde_json::json;

use crate::support::TestApp;

#[rocket::async_test]
async fn live_is_ok_without_a_token_or_the_database() {
    let app = TestApp::spawn().await;
    let reply = app.get("/health/live", None).await;
    assert_eq!(reply.status, Status::Ok);
    assert_eq!(reply.json(), json!({"status": "ok"}));
    assert_eq!(reply.header("Content-Type"), Some("application/json"));

    // Liveness does not touch the database: it answers while the file is gone.
    let moved = app.dir.path().join("moved.sqlite3");
    std::fs::rename(app.database(), &moved).expect("move the database away");
    assert_eq!(app.get("/health/live", None).await.status, Status::Ok);
    std::fs::rename(&moved, app.database()).expect("put it back");
}

#[rocket::async_test]
async fn ready_follows_the_database() {
    let app = TestApp::spawn().await;
    let reply = app.get("/health/ready", None).await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    assert_eq!(reply.json(), json!({"status": "ok"}));

    let moved = app.dir.path().join("moved.sqlite3");
    std::fs::rename(app.database(), &moved).expect("move the database away");
    let reply = app.get("/health/ready", None).await;
    assert_eq!(reply.status, Status::ServiceUnavailable, "{}", reply.body);
    assert_eq!(reply.json()["status"], "unavailable");
    assert_eq!(reply.header("Content-Type"), Some("application/json"));

    std::fs::rename(&moved, app.database()).expect("put it back");
    assert_eq!(app.get("/health/ready", None).await.status, Status::Ok);
}

#[rocket::async_test]
async fn health_endpoints_only_answer_get() {
    let app = TestApp::spawn().await;
    let reply = app.post_json("/health/live", None, "{}").await;
    assert_eq!(reply.status, Status::MethodNotAllowed);
}
