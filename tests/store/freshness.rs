//! What a running app answers after a change: a change made through the app itself is seen by
//! the very next request; one made by another process (another connection to the database),
//! within the change bound. Both hold under concurrent load.

use std::sync::Arc;
use std::time::Instant;

use jwtapp::store::{SqliteStore, Store};
use rocket::http::Status;

use crate::support::{Browser, TestApp, within_change_bound};

/// With the slowest change feed there is (`change_poll_ms = 1000`), every change made through
/// the server is still seen by the request right after it: the write path forgets what it
/// changed.
#[rocket::async_test]
async fn changes_through_the_server_are_seen_by_the_very_next_request() {
    let app = TestApp::spawn_with(|f| f.merge(("auth.change_poll_ms", 1000))).await;
    let admin = Browser::new(&app);
    admin.sign_in("admin", "admin").await;
    let user = app.login("user", "user").await;
    let page = Browser::new(&app);
    page.sign_in("user", "user").await;
    // Everything the requests below depend on is cached now.
    app.get("/api/admin-sample", Some(&user.access))
        .await
        .assert_error(403);
    assert_eq!(page.get("/admin-content").await.status, Status::Forbidden);

    for round in 0..5 {
        admin.administer("user", "grant-admin").await;
        let reply = app.get("/api/admin-sample", Some(&user.access)).await;
        assert_eq!(reply.status, Status::Ok, "granted, round {round}");
        assert_eq!(page.get("/admin-content").await.status, Status::Ok);
        admin.administer("user", "remove-admin").await;
        app.get("/api/admin-sample", Some(&user.access))
            .await
            .assert_error(403);
        assert_eq!(page.get("/admin-content").await.status, Status::Forbidden);
    }

    // A logout ends its login at once, and only it.
    let other = app.login("user", "user").await;
    assert!(app.accepts(&other.access).await);
    let reply = app
        .post_json("/api/auth/logout", Some(&other.refresh), "{}")
        .await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    app.get("/api/user-sample", Some(&other.access))
        .await
        .assert_error(401);
    assert!(app.accepts(&user.access).await);

    // Disabling from the users page: the API and the pages refuse the next request.
    admin.administer("user", "disable").await;
    app.get("/api/user-sample", Some(&user.access))
        .await
        .assert_error(403);
    assert_eq!(page.get("/").await.status, Status::SeeOther);
}

/// Promote and demote while other requests keep the server busy: through the server, the first
/// request after each change sees it; from another connection, a request within the change
/// bound does.
#[rocket::async_test]
async fn changes_are_seen_under_concurrent_load() {
    let app = Arc::new(TestApp::spawn().await);
    let tokens = app.login("user", "user").await;
    let admin_tokens = app.login("admin", "admin").await;
    let store = SqliteStore::open(&app.database()).expect("open");

    let mut load = Vec::new();
    for _ in 0..4 {
        let app = Arc::clone(&app);
        let (user_token, admin_token) = (tokens.access.clone(), admin_tokens.access.clone());
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
    let admin = Browser::new(&app);
    admin.sign_in("admin", "admin").await;
    let admin_sample = async || app.get("/api/admin-sample", Some(&tokens.access)).await;
    for round in 0..10 {
        admin.administer("user", "grant-admin").await;
        assert_eq!(
            admin_sample().await.status,
            Status::Ok,
            "promoted, round {round}"
        );
        admin.administer("user", "remove-admin").await;
        assert_eq!(
            admin_sample().await.status,
            Status::Forbidden,
            "demoted, round {round}"
        );
    }
    for round in 0..3 {
        store
            .set_admin("user", true, app.now() as i64)
            .await
            .expect("promote");
        within_change_bound(
            Instant::now(),
            &format!("promoted elsewhere, round {round}"),
            &admin_sample,
            |reply| reply.status == Status::Ok,
        )
        .await;
        store
            .set_admin("user", false, app.now() as i64)
            .await
            .expect("demote");
        within_change_bound(
            Instant::now(),
            &format!("demoted elsewhere, round {round}"),
            &admin_sample,
            |reply| reply.status == Status::Forbidden,
        )
        .await;
    }
    store
        .set_enabled("user", false, app.now() as i64)
        .await
        .expect("disable");
    within_change_bound(
        Instant::now(),
        "disabled elsewhere",
        async || app.get("/api/user-sample", Some(&tokens.access)).await,
        |reply| reply.status != Status::Ok,
    )
    .await
    .assert_error(403);
    store.delete_user("admin").await.expect("delete");
    within_change_bound(
        Instant::now(),
        "deleted elsewhere",
        async || {
            app.get("/api/user-sample", Some(&admin_tokens.access))
                .await
        },
        |reply| reply.status != Status::Ok,
    )
    .await
    .assert_error(403);
    for task in load {
        let statuses = task.await.expect("load task");
        // A request racing the disable may see the account still enabled but its session
        // already ended (401) rather than the account disabled (403): refused either way.
        assert!(
            statuses.iter().all(|s| [200, 401, 403].contains(&s.code)),
            "{statuses:?}"
        );
    }
}

#[rocket::async_test]
async fn logout_is_seen_by_concurrent_requests_at_once() {
    let app = Arc::new(TestApp::spawn().await);
    let tokens = app.login("user", "user").await;
    assert!(app.accepts(&tokens.access).await);

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
