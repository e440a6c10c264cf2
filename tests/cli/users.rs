//! `jwtapp user …` against the same database as a running server, from another process: what
//! it changes reaches the server through the change feed, within the change bound.

use std::time::Instant;

use rocket::http::Status;

use crate::support::{TestApp, jwtapp_cli, text, within_change_bound};

#[rocket::async_test]
async fn a_user_added_from_the_cli_can_log_in() {
    let app = TestApp::spawn().await;

    let added = jwtapp_cli(
        &app.database(),
        &["user", "add", "alice"],
        Some("correct horse battery\n"),
    );

    assert!(added.status.success(), "{}", text(&added.stderr));
    let tokens = app.login("alice", "correct horse battery").await;
    let info = app.get("/api/auth/info", Some(&tokens.access)).await.json();
    assert_eq!(info["isAdmin"], false);
    app.get("/api/admin-sample", Some(&tokens.access))
        .await
        .assert_error(403);
}

#[rocket::async_test]
async fn an_admin_added_from_the_cli_reaches_admin_routes() {
    let app = TestApp::spawn().await;

    let added = jwtapp_cli(
        &app.database(),
        &["user", "add", "root", "--admin"],
        Some("s3cret-enough\n"),
    );

    assert!(added.status.success(), "{}", text(&added.stderr));
    let tokens = app.login("root", "s3cret-enough").await;
    assert_eq!(
        app.get("/api/admin-sample", Some(&tokens.access))
            .await
            .status,
        Status::Ok
    );
}

#[rocket::async_test]
async fn adding_an_existing_user_or_a_short_password_fails_clearly() {
    let app = TestApp::spawn().await;

    let duplicate = jwtapp_cli(
        &app.database(),
        &["user", "add", "user"],
        Some("long-enough-password\n"),
    );
    let short = jwtapp_cli(&app.database(), &["user", "add", "bob"], Some("short\n"));
    let spaced = jwtapp_cli(
        &app.database(),
        &["user", "add", " bob"],
        Some("long-enough-password\n"),
    );

    assert!(!duplicate.status.success());
    assert!(
        text(&duplicate.stderr).contains("already exists"),
        "{}",
        text(&duplicate.stderr)
    );
    assert!(!short.status.success());
    assert!(
        text(&short.stderr).contains("at least 8 characters"),
        "{}",
        text(&short.stderr)
    );
    assert!(!spaced.status.success());
    app.try_login("bob", "short").await.assert_error(401);
    assert_eq!(
        app.try_login("user", "user").await.status,
        Status::Ok,
        "the existing user is untouched"
    );
}

#[rocket::async_test]
async fn passwd_replaces_the_password() {
    let app = TestApp::spawn().await;

    let changed = jwtapp_cli(
        &app.database(),
        &["user", "passwd", "user"],
        Some("a-new-password\n"),
    );

    assert!(changed.status.success(), "{}", text(&changed.stderr));
    app.try_login("user", "user").await.assert_error(401);
    assert_eq!(
        app.try_login("user", "a-new-password").await.status,
        Status::Ok
    );
}

#[rocket::async_test]
async fn disable_and_enable_reach_the_running_server_within_the_change_bound() {
    let app = TestApp::spawn().await;
    let tokens = app.login("user", "user").await;
    assert_eq!(
        app.get("/api/user-sample", Some(&tokens.access))
            .await
            .status,
        Status::Ok
    );

    let disabled = jwtapp_cli(&app.database(), &["user", "disable", "user"], None);
    assert!(disabled.status.success(), "{}", text(&disabled.stderr));
    let committed = Instant::now();
    within_change_bound(
        committed,
        "disabled from the CLI",
        async || app.get("/api/user-sample", Some(&tokens.access)).await,
        |reply| reply.status != Status::Ok,
    )
    .await
    .assert_error(403);
    app.post_json("/api/auth/refresh", Some(&tokens.refresh), "{}")
        .await
        .assert_error(403);
    app.try_login("user", "user").await.assert_error(401);

    let enabled = jwtapp_cli(&app.database(), &["user", "enable", "user"], None);
    assert!(enabled.status.success(), "{}", text(&enabled.stderr));
    let committed = Instant::now();
    // Disabling ended the sessions: once the enabling is seen, the old tokens are plain 401s.
    within_change_bound(
        committed,
        "enabled from the CLI",
        async || app.get("/api/user-sample", Some(&tokens.access)).await,
        |reply| reply.status != Status::Forbidden,
    )
    .await
    .assert_error(401);
    let again = app.login("user", "user").await;
    assert_eq!(
        app.get("/api/user-sample", Some(&again.access))
            .await
            .status,
        Status::Ok
    );
}

#[rocket::async_test]
async fn delete_ends_the_users_access_within_the_change_bound() {
    let app = TestApp::spawn().await;
    let tokens = app.login("user", "user").await;
    assert!(app.accepts(&tokens.access).await);

    let deleted = jwtapp_cli(&app.database(), &["user", "delete", "user"], None);

    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    let committed = Instant::now();
    app.try_login("user", "user").await.assert_error(401);
    within_change_bound(
        committed,
        "deleted from the CLI",
        async || app.get("/api/user-sample", Some(&tokens.access)).await,
        |reply| reply.status != Status::Ok,
    )
    .await
    .assert_error(403);
    let listed = text(&jwtapp_cli(&app.database(), &["user", "list"], None).stdout);
    assert!(
        !listed.lines().any(|line| line.starts_with("user ")),
        "{listed}"
    );
}

#[rocket::async_test]
async fn list_shows_every_user_with_their_flags() {
    let app = TestApp::spawn().await;
    jwtapp_cli(&app.database(), &["user", "disable", "user"], None);

    let listed = jwtapp_cli(&app.database(), &["user", "list"], None);

    assert!(listed.status.success());
    let out = text(&listed.stdout);
    let row = |name: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        row("admin").split_whitespace().take(3).collect::<Vec<_>>(),
        ["admin", "yes", "yes"],
        "{out}"
    );
    assert_eq!(
        row("user").split_whitespace().take(3).collect::<Vec<_>>(),
        ["user", "no", "no"],
        "{out}"
    );
}

#[rocket::async_test]
async fn commands_on_an_unknown_user_fail() {
    let app = TestApp::spawn().await;

    for command in ["disable", "enable", "delete", "passwd"] {
        let out = jwtapp_cli(
            &app.database(),
            &["user", command, "ghost"],
            Some("long-enough-password\n"),
        );
        assert!(!out.status.success(), "{command}");
        assert!(
            text(&out.stderr).contains("ghost"),
            "{command}: {}",
            text(&out.stderr)
        );
    }
}
