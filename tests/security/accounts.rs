//! Sessions, password changes and administrators' changes: made through the server, they take
//! effect on the very next request; made by another process (the CLI, another connection to the
//! database), within the change bound.

use std::time::{Duration, Instant};

use rocket::http::Status;
use serde_json::{Value, json};

use crate::support::{
    Browser, Reply, TestApp, Tokens, claims_of, csrf_field, jwtapp_cli, text, within_change_bound,
};
use jwtapp::store::{SqliteStore, Store};

async fn sessions(app: &TestApp, access: &str) -> Vec<Value> {
    let reply = app.get("/api/auth/sessions", Some(access)).await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    reply.json().as_array().expect("a list").clone()
}

#[rocket::async_test]
async fn the_sessions_api_lists_live_logins_and_ends_them() {
    let app = TestApp::spawn().await;
    let a = app.login("user", "user").await;
    let b = app.login("user", "user").await;
    let c = app.login("user", "user").await;
    let _admin = app.login("admin", "admin").await;

    let listed = sessions(&app, &a.access).await;
    assert_eq!(listed.len(), 3, "only this user's: {listed:?}");
    let current: Vec<&Value> = listed.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    for field in ["id", "createdAt", "lastUsedAt", "expiresAt"] {
        assert!(listed[0][field].is_string(), "{field}: {listed:?}");
    }
    assert!(listed[0].get("userAgent").is_some() && listed[0].get("address").is_some());

    // End B by its id: its tokens stop at once.
    let b_sid = claims_of(&b.access)["sid"].clone();
    let reply = app
        .delete(
            &format!("/api/auth/sessions/{}", b_sid.as_str().unwrap()),
            Some(&a.access),
        )
        .await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    assert!(!app.accepts(&b.access).await);
    // Unknown or another user's session: 404.
    app.delete("/api/auth/sessions/not-a-session", Some(&a.access))
        .await
        .assert_error(404);

    // Everywhere else: C ends, A stays.
    let reply = app
        .post_json("/api/auth/sessions/end-others", Some(&a.access), "{}")
        .await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    assert_eq!(reply.json()["ended"], 1);
    assert!(!app.accepts(&c.access).await);
    assert!(app.accepts(&a.access).await);
    assert_eq!(sessions(&app, &a.access).await.len(), 1);

    // Everywhere: A too.
    let reply = app
        .post_json("/api/auth/sessions/end-all", Some(&a.access), "{}")
        .await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    app.get("/api/user-sample", Some(&a.access))
        .await
        .assert_error(401);
    assert!(app.accepts(&app.login("user", "user").await.access).await);
}

async fn change_password(app: &TestApp, access: &str, current: &str, new: &str) -> Reply {
    let body = json!({"currentPassword": current, "newPassword": new}).to_string();
    app.post_json("/api/auth/password", Some(access), &body)
        .await
}

#[rocket::async_test]
async fn changing_a_password_ends_every_other_session() {
    let app = TestApp::spawn().await;
    let mine = app.login("user", "user").await;
    let other = app.login("user", "user").await;

    change_password(&app, &mine.access, "wrong", "a-new-password")
        .await
        .assert_error(403);
    change_password(&app, &mine.access, "user", "short")
        .await
        .assert_error(422);
    let too_long = "x".repeat(1025);
    let reply = change_password(&app, &mine.access, "user", &too_long).await;
    reply.assert_error(422);
    assert!(reply.body.contains("1024"), "{}", reply.body);
    assert!(
        app.accepts(&other.access).await,
        "failed attempts change nothing"
    );

    let reply = change_password(&app, &mine.access, "user", "a-new-password").await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    assert_eq!(reply.json()["ended"], 1);
    app.get("/api/user-sample", Some(&other.access))
        .await
        .assert_error(401);
    app.post_json("/api/auth/refresh", Some(&other.refresh), "{}")
        .await
        .assert_error(401);
    assert!(
        app.accepts(&mine.access).await,
        "the session that changed it stays"
    );
    app.try_login("user", "user").await.assert_error(401);
    assert!(
        app.accepts(&app.login("user", "a-new-password").await.access)
            .await
    );
}

#[rocket::async_test]
async fn the_password_page_changes_it_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    let other = app.login("user", "user").await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    let fields = [
        ("current_password", "user"),
        ("new_password", "page-password"),
        ("repeat_password", "page-password"),
    ];
    let reply = browser.submit("/password", &fields).await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    assert!(
        reply.body.contains("1 other session(s) ended"),
        "{}",
        reply.body
    );
    assert!(!app.accepts(&other.access).await);
    assert_eq!(
        browser.get("/").await.status,
        Status::Ok,
        "still signed in here"
    );

    let mismatch = [
        ("current_password", "page-password"),
        ("new_password", "one-password"),
        ("repeat_password", "another-password"),
    ];
    assert_eq!(
        browser.submit("/password", &mismatch).await.status,
        Status::UnprocessableEntity
    );
    let wrong = [
        ("current_password", "nope-nope"),
        ("new_password", "one-password"),
        ("repeat_password", "one-password"),
    ];
    let reply = browser.submit("/password", &wrong).await;
    assert_eq!(reply.status, Status::Forbidden);
    assert!(
        reply.body.contains("current password is not correct"),
        "{}",
        reply.body
    );
    // Without the CSRF token nothing changes.
    let forged = browser.post_form("/password", &fields).await;
    assert_eq!(forged.status, Status::Forbidden);
    assert_eq!(browser.get("/").await.status, Status::Ok);
}

#[rocket::async_test]
async fn the_sessions_page_lists_and_ends_sessions() {
    let app = TestApp::spawn().await;
    let api = app.login("user", "user").await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    let page = browser.get("/sessions").await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("End (this session)"), "{}", page.body);
    assert!(page.body.contains("Log out everywhere else"));
    assert!(page.body.contains("Log out everywhere<"));
    let token = csrf_field(&page.body);

    // Another site's form cannot do it.
    let forged = browser
        .post_form("/sessions/end-others", &[("csrf_token", "forged")])
        .await;
    assert_eq!(forged.status, Status::Forbidden);
    assert!(app.accepts(&api.access).await);

    let reply = browser
        .post_form("/sessions/end-others", &[("csrf_token", &token)])
        .await;
    assert_eq!(reply.status, Status::SeeOther);
    assert_eq!(reply.header("Location"), Some("/sessions"));
    assert!(!app.accepts(&api.access).await);
    assert_eq!(browser.get("/").await.status, Status::Ok);

    let reply = browser
        .post_form("/sessions/end-all", &[("csrf_token", &token)])
        .await;
    assert_eq!(reply.status, Status::SeeOther);
    assert_eq!(reply.header("Location"), Some("/login"));
    assert!(
        browser.cookie("jwtapp_refresh").is_none(),
        "cookies deleted"
    );
    assert_eq!(browser.get("/").await.status, Status::SeeOther);
    browser.sign_in("user", "user").await;
}

#[rocket::async_test]
async fn admin_changes_take_effect_on_the_users_next_request() {
    let app = TestApp::spawn().await;
    let admin = Browser::new(&app);
    admin.sign_in("admin", "admin").await;
    let user_page = Browser::new(&app);
    user_page.sign_in("user", "user").await;
    let user = app.login("user", "user").await;

    let listing = admin.get("/admin/users").await;
    assert!(listing.body.contains("user") && listing.body.contains("admin (you)"));

    // Grant admin: the user's very next request may see admin content.
    let reply = admin.administer("user", "grant-admin").await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    assert!(reply.body.contains("user is now an administrator"));
    assert_eq!(
        app.get("/api/admin-sample", Some(&user.access))
            .await
            .status,
        Status::Ok
    );
    assert_eq!(user_page.get("/admin-content").await.status, Status::Ok);

    // Remove it again.
    admin.administer("user", "remove-admin").await;
    app.get("/api/admin-sample", Some(&user.access))
        .await
        .assert_error(403);
    assert_eq!(
        user_page.get("/admin-content").await.status,
        Status::Forbidden
    );

    // End sessions: both the API login and the browser are out.
    admin.administer("user", "end-sessions").await;
    app.get("/api/user-sample", Some(&user.access))
        .await
        .assert_error(401);
    assert_eq!(user_page.get("/").await.status, Status::SeeOther);

    // Disable: the API answers 403, pages the login redirect, logins fail.
    let user = app.login("user", "user").await;
    user_page.sign_in("user", "user").await;
    admin.administer("user", "disable").await;
    app.get("/api/user-sample", Some(&user.access))
        .await
        .assert_error(403);
    app.post_json("/api/auth/refresh", Some(&user.refresh), "{}")
        .await
        .assert_error(403);
    let page = user_page.get("/user-content").await;
    assert_eq!(page.status, Status::SeeOther);
    assert_eq!(page.header("Location"), Some("/login?next=/user-content"));
    app.try_login("user", "user").await.assert_error(401);

    // Enable: a new login works.
    admin.administer("user", "enable").await;
    assert!(app.accepts(&app.login("user", "user").await.access).await);

    // An admin cannot lock themselves out here; unknown users and actions are refused.
    assert_eq!(
        admin.administer("admin", "disable").await.status,
        Status::UnprocessableEntity
    );
    assert_eq!(
        admin.administer("admin", "remove-admin").await.status,
        Status::UnprocessableEntity
    );
    assert_eq!(
        admin.administer("ghost", "disable").await.status,
        Status::NotFound
    );
    assert_eq!(
        admin.administer("user", "explode").await.status,
        Status::UnprocessableEntity
    );
    assert_eq!(admin.get("/admin-content").await.status, Status::Ok);

    // Not for users.
    let user_page = Browser::new(&app);
    user_page.sign_in("user", "user").await;
    assert_eq!(
        user_page.get("/admin/users").await.status,
        Status::Forbidden
    );
}

#[rocket::async_test]
async fn deleting_a_user_from_the_cli_takes_effect_within_the_change_bound() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    assert!(app.accepts(&user.access).await);
    assert_eq!(browser.get("/").await.status, Status::Ok);
    let deleted = jwtapp_cli(&app.database(), &["user", "delete", "user"], None);
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    let committed = Instant::now();

    within_change_bound(
        committed,
        "deleted from the CLI",
        async || app.get("/api/user-sample", Some(&user.access)).await,
        |reply| reply.status != Status::Ok,
    )
    .await
    .assert_error(403);
    // Once seen, it is seen by every request.
    app.refresh(&user.refresh).await.assert_error(403);
    assert_eq!(browser.get("/").await.status, Status::SeeOther);
    let admin = app.login("admin", "admin").await;
    assert!(app.accepts(&admin.access).await);
}

/// Another connection to the same file, as the CLI in another process would use: disabling,
/// enabling and deleting users reach the running server within the change bound.
#[rocket::async_test]
async fn disabled_or_deleted_users_get_403_within_the_change_bound() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let admin = app.login("admin", "admin").await;
    assert!(app.accepts(&user.access).await);
    assert!(app.accepts(&admin.access).await);
    let store = SqliteStore::open(&app.database()).expect("open the database");

    store
        .set_enabled("user", false, app.now() as i64)
        .await
        .expect("disable");
    let committed = Instant::now();
    within_change_bound(
        committed,
        "disabled by another connection",
        async || app.get("/api/user-sample", Some(&user.access)).await,
        |reply| reply.status != Status::Ok,
    )
    .await
    .assert_error(403);
    app.refresh(&user.refresh).await.assert_error(403);

    // Disabling ended the user's sessions: enabling the account does not revive old tokens.
    store
        .set_enabled("user", true, app.now() as i64)
        .await
        .expect("enable");
    let committed = Instant::now();
    within_change_bound(
        committed,
        "enabled by another connection",
        async || app.get("/api/user-sample", Some(&user.access)).await,
        |reply| reply.status != Status::Forbidden,
    )
    .await
    .assert_error(401);
    let again = app.login("user", "user").await;
    assert!(
        app.accepts(&again.access).await,
        "enabled again, after a new login"
    );

    store.delete_user("admin").await.expect("delete");
    let committed = Instant::now();
    within_change_bound(
        committed,
        "deleted by another connection",
        async || app.get("/api/auth/info", Some(&admin.access)).await,
        |reply| reply.status != Status::Ok,
    )
    .await
    .assert_error(403);
    app.refresh(&admin.refresh).await.assert_error(403);
}

#[rocket::async_test]
async fn a_demoted_admin_loses_admin_routes_within_the_change_bound() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin", "admin").await;
    assert_eq!(
        app.get("/api/admin-sample", Some(&admin.access))
            .await
            .status,
        Status::Ok
    );
    let store = SqliteStore::open(&app.database()).expect("open the database");

    store
        .set_admin("admin", false, app.now() as i64)
        .await
        .expect("demote");
    let committed = Instant::now();

    within_change_bound(
        committed,
        "demoted by another connection",
        async || app.get("/api/admin-sample", Some(&admin.access)).await,
        |reply| reply.status != Status::Ok,
    )
    .await
    .assert_error(403);
    assert_eq!(
        app.get("/api/auth/info", Some(&admin.access)).await.json()["isAdmin"],
        false
    );
    assert!(app.accepts(&admin.access).await, "still signed in");
}

#[rocket::async_test]
async fn the_cli_manages_admin_rights_and_sessions() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let db = app.database();
    app.get("/api/admin-sample", Some(&user.access))
        .await
        .assert_error(403);
    // Each command's change, until the running server has seen it: the answer to `path`.
    let seen = async |what: &str, path: &str, access: &str, before: Status| {
        within_change_bound(
            Instant::now(),
            what,
            async || app.get(path, Some(access)).await,
            |reply| reply.status != before,
        )
        .await
    };

    let out = jwtapp_cli(&db, &["user", "grant-admin", "user"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let reply = seen(
        "granted",
        "/api/admin-sample",
        &user.access,
        Status::Forbidden,
    )
    .await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    let out = jwtapp_cli(&db, &["user", "remove-admin", "user"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    seen("removed", "/api/admin-sample", &user.access, Status::Ok)
        .await
        .assert_error(403);

    let out = jwtapp_cli(&db, &["user", "sessions", "user"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let sid = claims_of(&user.access)["sid"].as_str().unwrap().to_owned();
    assert!(text(&out.stdout).contains(&sid), "{}", text(&out.stdout));

    let out = jwtapp_cli(&db, &["user", "end-sessions", "user"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("ended 1 session"),
        "{}",
        text(&out.stdout)
    );
    seen(
        "sessions ended",
        "/api/user-sample",
        &user.access,
        Status::Ok,
    )
    .await
    .assert_error(401);

    // A CLI password change ends every session and enforces the policy.
    let user = app.login("user", "user").await;
    let out = jwtapp_cli(&db, &["user", "passwd", "user"], Some("short\n"));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("at least 8 characters"),
        "{}",
        text(&out.stderr)
    );
    let long = format!("{}\n", "y".repeat(1025));
    let out = jwtapp_cli(&db, &["user", "passwd", "user"], Some(&long));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("1024 bytes"),
        "{}",
        text(&out.stderr)
    );
    assert!(app.accepts(&user.access).await);
    let out = jwtapp_cli(&db, &["user", "passwd", "user"], Some("long-enough\n"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    seen(
        "password changed",
        "/api/user-sample",
        &user.access,
        Status::Ok,
    )
    .await
    .assert_error(401);
    assert!(
        app.accepts(&app.login("user", "long-enough").await.access)
            .await
    );
}

#[rocket::async_test]
async fn a_weaker_stored_hash_is_upgraded_at_login() {
    let weak = TestApp::spawn().await;
    let database = weak.database();
    let weak_hash = SqliteStore::open(&database)
        .unwrap()
        .find_user("user")
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    assert!(weak_hash.contains("m=1024,t=1"), "{weak_hash}");
    drop(weak.client);

    let strong = TestApp::spawn_with(|f| {
        f.merge(("auth.database", &database))
            .merge(("auth.argon2_memory_kib", 2048))
            .merge(("auth.argon2_iterations", 2))
    })
    .await;
    let tokens: Tokens = strong.login("user", "user").await;
    let upgraded = SqliteStore::open(&database)
        .unwrap()
        .find_user("user")
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    assert!(
        upgraded.starts_with("$argon2id$v=19$m=2048,t=2,p=1$"),
        "{upgraded}"
    );
    assert!(
        strong.accepts(&tokens.access).await,
        "the login itself is unaffected"
    );
    // The upgraded hash verifies, and is not rehashed again.
    strong.login("user", "user").await;
    let again = SqliteStore::open(&database)
        .unwrap()
        .find_user("user")
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    assert_eq!(again, upgraded);
}

/// Pruning runs on a real-time interval and judges sessions by the app's clock: revoked ones go
/// at the next pass, and so do those idle for longer than `refresh_idle_secs`.
#[rocket::async_test]
async fn ended_sessions_are_pruned_in_the_background() {
    let app = TestApp::spawn_with(|f| f.merge(("auth.prune_interval_secs", 1))).await;
    let ended = app.login("user", "user").await;
    let idle = app.login("user", "user").await;
    app.clock().advance(604_800 - 10);
    let live = app.login("user", "user").await;
    app.post_json("/api/auth/logout", Some(&ended.refresh), "{}")
        .await;
    // A week (refresh_idle_secs) and ten seconds after the first logins.
    app.clock().advance(20);
    let store = SqliteStore::open(&app.database()).unwrap();
    let sid = |t: &Tokens| claims_of(&t.access)["sid"].as_str().unwrap().to_owned();
    assert!(store.find_session(&sid(&ended)).await.unwrap().is_some());
    assert!(store.find_session(&sid(&idle)).await.unwrap().is_some());
    let mut left = Vec::new();
    for _ in 0..30 {
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
        left.clear();
        for (name, tokens) in [("revoked", &ended), ("idle", &idle)] {
            if store.find_session(&sid(tokens)).await.unwrap().is_some() {
                left.push(name);
            }
        }
        if left.is_empty() {
            break;
        }
    }
    assert!(left.is_empty(), "not pruned: {left:?}");
    assert!(store.find_session(&sid(&live)).await.unwrap().is_some());
    assert!(app.accepts(&live.access).await);
}
