//! Every row of the API contract, and the Angular client's own sequence.

use rocket::http::Status;
use serde_json::json;

use crate::support::{TestApp, claims_of, with_bearer};

#[rocket::async_test]
async fn login_returns_an_access_and_a_refresh_token_of_one_session() {
    let app = TestApp::spawn().await;

    let reply = app.try_login("user", "user").await;

    assert_eq!(reply.status, Status::Ok);
    let body = reply.json();
    let object = body.as_object().expect("an object");
    assert_eq!(
        object.len(),
        2,
        "exactly accessToken and refreshToken: {body}"
    );
    let access = claims_of(body["accessToken"].as_str().expect("accessToken"));
    let refresh = claims_of(body["refreshToken"].as_str().expect("refreshToken"));
    assert_eq!(access["typ"], "access");
    assert_eq!(refresh["typ"], "refresh");
    assert_eq!(access["sub"], "user");
    assert_eq!(access["sid"], refresh["sid"], "one login, one session id");
    assert_ne!(access["jti"], refresh["jti"]);
    for claim in [
        "sub", "iat", "nbf", "exp", "jti", "typ", "iss", "aud", "sid",
    ] {
        assert!(access.get(claim).is_some(), "access token lacks {claim}");
        assert!(refresh.get(claim).is_some(), "refresh token lacks {claim}");
    }
    let lifetime = |c: &serde_json::Value| c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap();
    assert_eq!(lifetime(&access), 900, "15 minutes");
    assert_eq!(lifetime(&refresh), 2_592_000, "30 days");
}

#[rocket::async_test]
async fn each_login_is_a_new_session() {
    let app = TestApp::spawn().await;

    let first = app.login("user", "user").await;
    let second = app.login("user", "user").await;

    assert_ne!(
        claims_of(&first.access)["sid"],
        claims_of(&second.access)["sid"]
    );
}

#[rocket::async_test]
async fn info_describes_the_signed_in_user() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let admin = app.login("admin", "admin").await;

    let user_info = app.get("/api/auth/info", Some(&user.access)).await;
    let admin_info = app.get("/api/auth/info", Some(&admin.access)).await;

    assert_eq!(user_info.status, Status::Ok);
    assert_eq!(
        user_info.json(),
        json!({"username": "user", "enabled": true, "isAdmin": false})
    );
    assert_eq!(
        admin_info.json(),
        json!({"username": "admin", "enabled": true, "isAdmin": true})
    );
}

#[rocket::async_test]
async fn user_sample_returns_123_and_doubles_what_it_is_sent() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;

    let get = app.get("/api/user-sample", Some(&user.access)).await;
    assert_eq!(get.status, Status::Ok);
    assert_eq!(get.body, r#"{"example":123}"#);

    for (sent, expected) in [
        ("21", "42"),
        ("1.5", "3.0"),
        ("-4", "-8"),
        ("0", "0"),
        ("0.1", "0.2"),
        ("9007199254740993", "18014398509481986"),
        ("9223372036854775807", "18446744073709551614"),
        ("18446744073709551615", "36893488147419103230"),
        ("1.5e10", "3.0e10"),
    ] {
        let reply = app
            .post_json(
                "/api/user-sample",
                Some(&user.access),
                &format!(r#"{{"example": {sent}}}"#),
            )
            .await;
        assert_eq!(reply.status, Status::Ok, "example {sent}: {}", reply.body);
        assert_eq!(
            reply.body,
            format!(r#"{{"example":{expected}}}"#),
            "example {sent}"
        );
    }
}

#[rocket::async_test]
async fn admin_sample_serves_admins() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin", "admin").await;

    let get = app.get("/api/admin-sample", Some(&admin.access)).await;
    let post = app
        .post_json(
            "/api/admin-sample",
            Some(&admin.access),
            r#"{"example": 21}"#,
        )
        .await;

    assert_eq!(get.status, Status::Ok);
    assert_eq!(get.json(), json!({"example": 123}));
    assert_eq!(post.status, Status::Ok);
    assert_eq!(post.json(), json!({"example": 42}));
}

#[rocket::async_test]
async fn admin_sample_refuses_a_signed_in_non_admin_with_403() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;

    app.get("/api/admin-sample", Some(&user.access))
        .await
        .assert_error(403);
    app.post_json("/api/admin-sample", Some(&user.access), r#"{"example": 1}"#)
        .await
        .assert_error(403);
}

#[rocket::async_test]
async fn refresh_returns_only_a_new_access_token_of_the_same_session() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;

    let reply = app
        .post_json("/api/auth/refresh", Some(&user.refresh), "{}")
        .await;

    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    let body = reply.json();
    assert_eq!(
        body.as_object().map(|o| o.len()),
        Some(1),
        "only accessToken: {body}"
    );
    let access = body["accessToken"].as_str().expect("accessToken");
    assert_eq!(claims_of(access)["typ"], "access");
    assert_eq!(claims_of(access)["sid"], claims_of(&user.refresh)["sid"]);
    assert_eq!(
        app.get("/api/user-sample", Some(access)).await.status,
        Status::Ok
    );
}

#[rocket::async_test]
async fn refresh_accepts_an_empty_body_and_the_refresh_token_stays_usable() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;

    let empty = app
        .send(with_bearer(
            app.client.post("/api/auth/refresh"),
            Some(&user.refresh),
        ))
        .await;
    let again = app
        .post_json("/api/auth/refresh", Some(&user.refresh), "{}")
        .await;

    assert_eq!(empty.status, Status::Ok, "{}", empty.body);
    assert_eq!(
        again.status,
        Status::Ok,
        "the Angular client keeps its refresh token: {}",
        again.body
    );
}

#[rocket::async_test]
async fn logout_ends_the_refresh_token_and_every_access_token_of_that_login_at_once() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let refreshed = app
        .post_json("/api/auth/refresh", Some(&user.refresh), "{}")
        .await
        .json()["accessToken"]
        .as_str()
        .expect("accessToken")
        .to_owned();
    let other_login = app.login("user", "user").await;

    let logout = app
        .post_json("/api/auth/logout", Some(&user.refresh), "{}")
        .await;

    assert_eq!(logout.status, Status::Ok, "{}", logout.body);
    app.get("/api/user-sample", Some(&user.access))
        .await
        .assert_error(401);
    app.get("/api/user-sample", Some(&refreshed))
        .await
        .assert_error(401);
    app.post_json("/api/auth/refresh", Some(&user.refresh), "{}")
        .await
        .assert_error(401);
    app.post_json("/api/auth/logout", Some(&user.refresh), "{}")
        .await
        .assert_error(401);
    assert_eq!(
        app.get("/api/user-sample", Some(&other_login.access))
            .await
            .status,
        Status::Ok,
        "other logins live on"
    );
}

/// The original Angular client: login → info → user-sample → (access expires) → refresh →
/// user-sample → logout → refused.
#[rocket::async_test]
async fn the_angular_clients_sequence() {
    let app = TestApp::spawn_with(|f| f.merge(("auth.leeway_secs", 0))).await;

    let tokens = app.login("user", "user").await;
    assert_eq!(
        app.get("/api/auth/info", Some(&tokens.access)).await.json()["username"],
        "user"
    );
    assert_eq!(
        app.get("/api/user-sample", Some(&tokens.access))
            .await
            .status,
        Status::Ok
    );

    // 15 minutes later, the access token has expired.
    app.clock().advance(901);
    let expired = app.get("/api/user-sample", Some(&tokens.access)).await;
    expired.assert_error(401);

    let refreshed = app
        .post_json("/api/auth/refresh", Some(&tokens.refresh), "{}")
        .await;
    assert_eq!(refreshed.status, Status::Ok, "{}", refreshed.body);
    let access = refreshed.json()["accessToken"]
        .as_str()
        .expect("accessToken")
        .to_owned();
    let sample = app
        .post_json("/api/user-sample", Some(&access), r#"{"example": 21}"#)
        .await;
    assert_eq!(sample.json(), json!({"example": 42}));

    assert_eq!(
        app.post_json("/api/auth/logout", Some(&tokens.refresh), "{}")
            .await
            .status,
        Status::Ok
    );
    app.post_json("/api/auth/refresh", Some(&tokens.refresh), "{}")
        .await
        .assert_error(401);
    app.get("/api/user-sample", Some(&access))
        .await
        .assert_error(401);
}

#[rocket::async_test]
async fn the_debug_profile_creates_the_demo_accounts_on_an_empty_database() {
    let app = TestApp::spawn().await;

    assert_eq!(app.try_login("admin", "admin").await.status, Status::Ok);
    assert_eq!(app.try_login("user", "user").await.status, Status::Ok);
}

#[rocket::async_test]
async fn without_demo_users_there_are_no_accounts() {
    let app = TestApp::spawn_with(|f| f.merge(("auth.demo_users", false))).await;

    app.try_login("admin", "admin").await.assert_error(401);
}
