//! CORS for the configured origins and the fixed headers on every `/api` response.

use rocket::http::{Header, Status};

use crate::support::{Reply, TestApp, with_bearer};

const ANGULAR: &str = "http://localhost:4200";
const API_PATHS: &[&str] = &[
    "/api/auth/login",
    "/api/auth/info",
    "/api/auth/refresh",
    "/api/auth/logout",
    "/api/user-sample",
    "/api/admin-sample",
    "/api/auth/sessions",
    "/api/auth/sessions/some-session-id",
    "/api/auth/sessions/end-others",
    "/api/auth/sessions/end-all",
    "/api/auth/password",
];

fn assert_granted(reply: &Reply, origin: &str) {
    assert_eq!(
        reply.header("Access-Control-Allow-Origin"),
        Some(origin),
        "{reply:?}"
    );
    assert_eq!(
        reply.header("Access-Control-Allow-Credentials"),
        Some("true")
    );
    assert_varies_by_origin(reply);
}

fn assert_varies_by_origin(reply: &Reply) {
    let vary = reply.header_values("Vary");
    assert!(vary.iter().any(|v| v.contains("Origin")), "{reply:?}");
}

fn assert_not_granted(reply: &Reply) {
    assert_eq!(
        reply.header("Access-Control-Allow-Origin"),
        None,
        "{reply:?}"
    );
    assert_eq!(reply.header("Access-Control-Allow-Credentials"), None);
    assert_varies_by_origin(reply);
}

fn assert_api_headers(reply: &Reply) {
    assert_eq!(
        reply.header("Cache-Control"),
        Some("no-cache, no-store, must-revalidate"),
        "{reply:?}"
    );
    assert_eq!(reply.header("X-Content-Type-Options"), Some("nosniff"));
    let server = reply.header("Server").unwrap_or("");
    assert!(
        !server.chars().any(|c| c.is_ascii_digit()),
        "Server names no version: {server}"
    );
}

#[rocket::async_test]
async fn the_configured_origin_is_granted_on_success_and_on_errors() {
    let app = TestApp::spawn().await;
    let origin = Header::new("Origin", ANGULAR);
    let tokens = app.login("user", "user").await;

    let ok = app
        .send(with_bearer(
            app.client.get("/api/auth/info").header(origin.clone()),
            Some(&tokens.access),
        ))
        .await;
    let unauthorized = app
        .send(app.client.get("/api/auth/info").header(origin.clone()))
        .await;
    let not_found = app
        .send(app.client.get("/api/nothing").header(origin.clone()))
        .await;

    assert_eq!(ok.status, Status::Ok);
    for reply in [&ok, &unauthorized, &not_found] {
        assert_granted(reply, ANGULAR);
        assert_api_headers(reply);
    }
}

#[rocket::async_test]
async fn a_foreign_origin_gets_no_grant() {
    let app = TestApp::spawn().await;

    for origin in [
        "http://evil.example",
        "http://localhost:4201",
        "null",
        "http://localhost:4200.evil.example",
    ] {
        let reply = app
            .send(
                app.client
                    .get("/api/auth/info")
                    .header(Header::new("Origin", origin)),
            )
            .await;
        assert_not_granted(&reply);
        let preflight = app
            .send(
                app.client
                    .options("/api/auth/login")
                    .header(Header::new("Origin", origin))
                    .header(Header::new("Access-Control-Request-Method", "POST")),
            )
            .await;
        assert_not_granted(&preflight);
        assert_api_headers(&preflight);
        assert_ne!(preflight.status, Status::NoContent);
    }
}

#[rocket::async_test]
async fn preflight_is_answered_on_every_api_route() {
    let app = TestApp::spawn().await;

    for path in API_PATHS {
        let reply = app
            .send(
                app.client
                    .options(*path)
                    .header(Header::new("Origin", ANGULAR))
                    .header(Header::new("Access-Control-Request-Method", "POST"))
                    .header(Header::new(
                        "Access-Control-Request-Headers",
                        "authorization, content-type",
                    )),
            )
            .await;
        assert_eq!(reply.status, Status::NoContent, "{path}: {reply:?}");
        assert_granted(&reply, ANGULAR);
        assert_api_headers(&reply);
        let methods = reply.header("Access-Control-Allow-Methods").unwrap_or("");
        for method in ["GET", "POST", "PUT", "DELETE"] {
            assert!(methods.contains(method), "{path}: {methods}");
        }
        let headers = reply
            .header("Access-Control-Allow-Headers")
            .unwrap_or("")
            .to_ascii_lowercase();
        assert!(
            headers.contains("content-type") && headers.contains("authorization"),
            "{path}: {headers}"
        );
    }
}

#[rocket::async_test]
async fn other_origins_can_be_configured() {
    let app =
        TestApp::spawn_with(|f| f.merge(("auth.cors_origins", ["https://app.example.com"]))).await;

    let configured = app
        .send(
            app.client
                .get("/api/auth/info")
                .header(Header::new("Origin", "https://app.example.com")),
        )
        .await;
    let default = app
        .send(
            app.client
                .get("/api/auth/info")
                .header(Header::new("Origin", ANGULAR)),
        )
        .await;

    assert_granted(&configured, "https://app.example.com");
    assert_not_granted(&default);
}

#[rocket::async_test]
async fn every_api_response_carries_the_api_headers() {
    let app = TestApp::spawn().await;
    let tokens = app.login("user", "user").await;

    let replies = [
        app.try_login("user", "user").await,
        app.try_login("user", "nope").await,
        app.get("/api/user-sample", Some(&tokens.access)).await,
        app.post_json("/api/user-sample", Some(&tokens.access), "{")
            .await,
        app.send(app.client.delete("/api/user-sample")).await,
    ];

    for reply in &replies {
        assert_api_headers(reply);
    }
}

#[rocket::async_test]
async fn preflight_for_an_unknown_api_path_is_404() {
    let app = TestApp::spawn().await;

    let reply = app
        .send(
            app.client
                .options("/api/nothing-here")
                .header(Header::new("Origin", ANGULAR)),
        )
        .await;

    reply.assert_error(404);
    assert_granted(&reply, ANGULAR);
}

#[rocket::async_test]
async fn a_path_with_a_parameter_answers_405_with_its_methods() {
    let app = TestApp::spawn().await;
    let tokens = app.login("user", "user").await;
    let reply = app
        .get("/api/auth/sessions/some-session-id", Some(&tokens.access))
        .await;
    reply.assert_error(405);
    assert_eq!(reply.header("Allow"), Some("DELETE"));
}
