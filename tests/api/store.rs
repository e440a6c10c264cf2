//! What ends up in the database, and the live-state cache under concurrent load.

use std::sync::Arc;

use rocket::http::Status;

use crate::helpers::{TestApp, jwtapp_cli, now};
use jwtapp::store::{SqliteStore, Store};

#[rocket::async_test]
async fn passwords_are_stored_as_argon2id_with_the_owasp_parameters() {
    // The configured defaults from Rocket.toml, not the cheap test parameters.
    let app = TestApp::spawn_with(|f| {
        f.merge(("auth.argon2_memory_kib", 19456))
            .merge(("auth.argon2_iterations", 2))
            .merge(("auth.argon2_parallelism", 1))
    })
    .await;
    let store = SqliteStore::open(&app.database()).expect("open");

    let hash = store
        .find_user("user")
        .expect("query")
        .expect("demo user")
        .password_hash;

    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(
        !hash.contains("user$") && hash.len() > 60,
        "a salted hash, not the password: {hash}"
    );
}

#[rocket::async_test]
async fn the_cli_hashes_with_the_configured_parameters() {
    let app = TestApp::spawn().await;

    jwtapp_cli(
        &app.database(),
        &["user", "add", "carol"],
        Some("a-fine-password\n"),
    );

    let store = SqliteStore::open(&app.database()).expect("open");
    let hash = store
        .find_user("carol")
        .expect("query")
        .expect("created")
        .password_hash;
    // jwtapp_cli configures m=1024, t=1 through ROCKET_AUTH.
    assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{hash}");
}

/// Disable and enable from another connection while other requests keep the server busy: the
/// first request after each change must see it.
#[rocket::async_test]
async fn changes_are_seen_on_the_next_request_under_concurrent_load() {
    let app = Arc::new(TestApp::spawn().await);
    let tokens = app.login("user", "user").await;
    let admin = app.login("admin", "admin").await;
    let store = SqliteStore::open(&app.database()).expect("open");

    let mut load = Vec::new();
    for _ in 0..4 {
        let app = Arc::clone(&app);
        let (user_token, admin_token) = (tokens.access.clone(), admin.access.clone());
        load.push(rocket::tokio::spawn(async move {
            let mut statuses = Vec::new();
            for i in 0..200 {
                let token = if i % 2 == 0 {
                    &user_token
                } else {
                    &admin_token
                };
                statuses.push(app.get("/api/user-sample", Some(token)).await.status);
            }
            statuses
        }));
    }
    for round in 0..20 {
        store
            .set_enabled("user", false, now() as i64)
            .expect("disable");
        assert_eq!(
            app.get("/api/user-sample", Some(&tokens.access))
                .await
                .status,
            Status::Forbidden,
            "round {round}"
        );
        store
            .set_enabled("user", true, now() as i64)
            .expect("enable");
        assert_eq!(
            app.get("/api/user-sample", Some(&tokens.access))
                .await
                .status,
            Status::Ok,
            "round {round}"
        );
    }
    for task in load {
        let statuses = task.await.expect("load task");
        assert!(
            statuses
                .iter()
                .all(|s| *s == Status::Ok || *s == Status::Forbidden),
            "{statuses:?}"
        );
    }
    assert_eq!(
        app.get("/api/user-sample", Some(&admin.access))
            .await
            .status,
        Status::Ok
    );
}

#[rocket::async_test]
async fn logout_is_seen_by_concurrent_requests_at_once() {
    let app = Arc::new(TestApp::spawn().await);
    let tokens = app.login("user", "user").await;
    assert_eq!(
        app.get("/api/user-sample", Some(&tokens.access))
            .await
            .status,
        Status::Ok
    );

    let logout = app
        .post_json("/api/auth/logout", Some(&tokens.refresh), "{}")
        .await;
    assert_eq!(logout.status, Status::Ok);

    let mut checks = Vec::new();
    for _ in 0..8 {
        let app = Arc::clone(&app);
        let token = tokens.access.clone();
        checks.push(rocket::tokio::spawn(async move {
            app.get("/api/user-sample", Some(&token)).await.status
        }));
    }
    for check in checks {
        assert_eq!(check.await.expect("task"), Status::Unauthorized);
    }
}
