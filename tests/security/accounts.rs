//! Sessions, password changes and administrators' changes take effect on the next request.

use std::time::Duration;

use rocket::http::{Header, Status};
use serde_json::{Value, json};

use crate::helpers::{Browser, Reply, TestApp, Tokens, csrf_field, jwtapp_cli, text};
use jwtapp::store::{SqliteStore, Store};

async fn works(app: &TestApp, access: &str) -> bool {
    app.get("/api/user-sample", Some(access)).await.status == Status::Ok
}

async fn sessions(app: &TestApp, access: &str) -> Vec<Value> {
    let reply = app.get("/api/auth/sessions", Some(access)).await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    reply.json().as_array().expect("a list").clone()
}

async fn delete(app: &TestApp, path: &str, access: &str) -> Reply {
    let request = app
        .client
        .delete(path.to_owned())
        .header(Header::new("Authorization", format!("Bearer {access}")));
    app.send(request).await
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
    let b_sid = crate::helpers::claims_of(&b.access)["sid"].clone();
    let reply = delete(
        &app,
        &format!("/api/auth/sessions/{}", b_sid.as_str().unwrap()),
        &a.access,
    )
    .await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    assert!(!works(&app, &b.access).await);
    // Unknown or another user's session: 404.
    delete(&app, "/api/auth/sessions/not-a-session", &a.access)
        .await
        .assert_error(404);

    // Everywhere else: C ends, A stays.
    let reply = app
        .post_json("/api/auth/sessions/end-others", Some(&a.access), "{}")
        .await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    assert_eq!(reply.json()["ended"], 1);
    assert!(!works(&app, &c.access).await);
    assert!(works(&app, &a.access).await);
    assert_eq!(sessions(&app, &a.access).await.len(), 1);

    // Everywhere: A too.
    let reply = app
        .post_json("/api/auth/sessions/end-all", Some(&a.access), "{}")
        .await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    app.get("/api/user-sample", Some(&a.access))
        .await
        .assert_error(401);
    assert!(works(&app, &app.login("user", "user").await.access).await);
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
        works(&app, &other.access).await,
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
        works(&app, &mine.access).await,
        "the session that changed it stays"
    );
    app.try_login("user", "user").await.assert_error(401);
    assert!(works(&app, &app.login("user", "a-new-password").await.access).await);
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
    assert!(!works(&app, &other.access).await);
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
    assert!(works(&app, &api.access).await);

    let reply = browser
        .post_form("/sessions/end-others", &[("csrf_token", &token)])
        .await;
    assert_eq!(reply.status, Status::SeeOther);
    assert_eq!(reply.header("Location"), Some("/sessions"));
    assert!(!works(&app, &api.access).await);
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

/// Posts an action on the users page as the signed-in admin.
async fn administer(browser: &Browser<'_>, username: &str, action: &str) -> Reply {
    let page = browser.get("/admin/users").await;
    assert_eq!(page.status, Status::Ok, "{}", page.body);
    let token = csrf_field(&page.body);
    browser
        .post_form(
            "/admin/users",
            &[
                ("username", username),
                ("action", action),
                ("csrf_token", &token),
            ],
        )
        .await
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
    let reply = administer(&admin, "user", "grant-admin").await;
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
    administer(&admin, "user", "remove-admin").await;
    app.get("/api/admin-sample", Some(&user.access))
        .await
        .assert_error(403);
    assert_eq!(
        user_page.get("/admin-content").await.status,
        Status::Forbidden
    );

    // End sessions: both the API login and the browser are out.
    administer(&admin, "user", "end-sessions").await;
    app.get("/api/user-sample", Some(&user.access))
        .await
        .assert_error(401);
    assert_eq!(user_page.get("/").await.status, Status::SeeOther);

    // Disable: the API answers 403, pages the login redirect, logins fail.
    let user = app.login("user", "user").await;
    user_page.sign_in("user", "user").await;
    administer(&admin, "user", "disable").await;
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
    administer(&admin, "user", "enable").await;
    assert!(works(&app, &app.login("user", "user").await.access).await);

    // An admin cannot lock themselves out here; unknown users and actions are refused.
    assert_eq!(
        administer(&admin, "admin", "disable").await.status,
        Status::UnprocessableEntity
    );
    assert_eq!(
        administer(&admin, "admin", "remove-admin").await.status,
        Status::UnprocessableEntity
    );
    assert_eq!(
        administer(&admin, "ghost", "disable").await.status,
        Status::NotFound
    );
    assert_eq!(
        administer(&admin, "user", "explode").await.status,
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
async fn deleting_a_user_takes_effect_on_the_next_request() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    let deleted = jwtapp_cli(&app.database(), &["user", "delete", "user"], None);
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    app.get("/api/user-sample", Some(&user.access))
        .await
        .assert_error(403);
    app.post_json("/api/auth/refresh", Some(&user.refresh), "{}")
        .await
        .assert_error(403);
    assert_eq!(browser.get("/").await.status, Status::SeeOther);
    let admin = app.login("admin", "admin").await;
    assert!(works(&app, &admin.access).await);
}

#[rocket::async_test]
async fn the_cli_manages_admin_rights_and_sessions() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let db = app.database();

    let out = jwtapp_cli(&db, &["user", "grant-admin", "user"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        app.get("/api/admin-sample", Some(&user.access))
            .await
            .status,
        Status::Ok
    );
    let out = jwtapp_cli(&db, &["user", "remove-admin", "user"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    app.get("/api/admin-sample", Some(&user.access))
        .await
        .assert_error(403);

    let out = jwtapp_cli(&db, &["user", "sessions", "user"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let sid = crate::helpers::claims_of(&user.access)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text(&out.stdout).contains(&sid), "{}", text(&out.stdout));

    let out = jwtapp_cli(&db, &["user", "end-sessions", "user"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("ended 1 session"),
        "{}",
        text(&out.stdout)
    );
    app.get("/api/user-sample", Some(&user.access))
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
    assert!(works(&app, &user.access).await);
    let out = jwtapp_cli(&db, &["user", "passwd", "user"], Some("long-enough\n"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    app.get("/api/user-sample", Some(&user.access))
        .await
        .assert_error(401);
    assert!(works(&app, &app.login("user", "long-enough").await.access).await);
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
        works(&strong, &tokens.access).await,
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

#[rocket::async_test]
async fn ended_sessions_are_pruned_in_the_background() {
    let app = TestApp::spawn_with(|f| f.merge(("auth.prune_interval_secs", 1))).await;
    let ended = app.login("user", "user").await;
    let live = app.login("user", "user").await;
    app.post_json("/api/auth/logout", Some(&ended.refresh), "{}")
        .await;
    let store = SqliteStore::open(&app.database()).unwrap();
    let sid = |t: &Tokens| {
        crate::helpers::claims_of(&t.access)["sid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(store.find_session(&sid(&ended)).await.unwrap().is_some());
    let mut gone = false;
    for _ in 0..30 {
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
        if store.find_session(&sid(&ended)).await.unwrap().is_none() {
            gone = true;
            break;
        }
    }
    assert!(gone, "the revoked session was pruned");
    assert!(store.find_session(&sid(&live)).await.unwrap().is_some());
    assert!(works(&app, &live.access).await);
}
