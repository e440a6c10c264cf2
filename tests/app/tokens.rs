//! Every way a token can be wrong is a 401 with `WWW-Authenticate: Bearer`; a valid token of a
//! user who may no longer sign in is a 403.

use jsonwebtoken::Algorithm;
use rocket::http::{Header, Status};
use serde_json::{Value, json};

use crate::helpers::{SECRET, TestApp, claims_of, forge, forge_with, now, raw_token};
use jwtapp::store::{SqliteStore, Store};

/// Claims the server would accept for the session of `tokens`, as a starting point to break.
fn good_claims(session_of: &str) -> Value {
    let claims = claims_of(session_of);
    let now = now();
    json!({
        "sub": claims["sub"], "iat": now, "nbf": now, "exp": now + 600, "jti": "forged-jti",
        "typ": "access", "iss": "jwtapp", "aud": "jwtapp", "sid": claims["sid"],
    })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().expect("object").remove(key);
    claims
}

#[rocket::async_test]
async fn a_forged_token_with_good_claims_is_accepted_so_the_refusals_below_mean_something() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;

    let reply = app
        .get("/api/user-sample", Some(&forge(&good_claims(&user.access))))
        .await;

    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
}

#[rocket::async_test]
async fn missing_or_malformed_authorization_is_401() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;

    app.get("/api/user-sample", None).await.assert_error(401);
    for value in [
        "".to_owned(),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        format!("Basic {}", user.access),
        format!("Token {}", user.access),
        format!("Bearer {} extra", user.access),
        "Bearer not-a-jwt".to_owned(),
        "Bearer a.b.c".to_owned(),
        "Bearer \u{0}".to_owned(),
        format!("Bearer {}", "A".repeat(64 * 1024)),
    ] {
        let request = app
            .client
            .get("/api/user-sample")
            .header(Header::new("Authorization", value.clone()));
        let reply = app.send(request).await;
        reply.assert_error(401);
    }
}

#[rocket::async_test]
async fn bad_signatures_and_algorithms_are_401() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let claims = good_claims(&user.access);
    let (head, rest) = user.access.split_once('.').expect("header");
    let (payload, signature) = rest.split_once('.').expect("payload");

    let cases = [
        (
            "foreign secret",
            forge_with(
                &claims,
                Algorithm::HS256,
                b"another-secret-another-secret-another",
            ),
        ),
        (
            "HS512 with our secret",
            forge_with(&claims, Algorithm::HS512, SECRET.as_bytes()),
        ),
        (
            "HS384 with our secret",
            forge_with(&claims, Algorithm::HS384, SECRET.as_bytes()),
        ),
        (
            "alg none",
            raw_token(&json!({"alg": "none", "typ": "JWT"}), &claims, ""),
        ),
        (
            "alg None",
            raw_token(&json!({"alg": "None", "typ": "JWT"}), &claims, ""),
        ),
        (
            "unknown alg",
            raw_token(&json!({"alg": "XX999", "typ": "JWT"}), &claims, signature),
        ),
        ("stripped signature", format!("{head}.{payload}.")),
        (
            "truncated signature",
            format!("{head}.{payload}.{}", &signature[..signature.len() - 4]),
        ),
        (
            "tampered payload",
            format!(
                "{head}.{}.{signature}",
                raw_token(&json!({}), &with(claims.clone(), "sub", json!("admin")), "")
                    .split('.')
                    .nth(1)
                    .unwrap_or_default()
            ),
        ),
    ];
    for (name, token) in cases {
        let reply = app.get("/api/user-sample", Some(&token)).await;
        assert_eq!(reply.status, Status::Unauthorized, "{name}: {}", reply.body);
        reply.assert_error(401);
    }
}

#[rocket::async_test]
async fn bad_claims_are_401() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let claims = good_claims(&user.access);
    let now = now();

    let cases = [
        ("expired", with(claims.clone(), "exp", json!(now - 30))),
        (
            "not yet valid",
            with(claims.clone(), "nbf", json!(now + 120)),
        ),
        (
            "issued in the future",
            with(claims.clone(), "iat", json!(now + 120)),
        ),
        (
            "wrong issuer",
            with(claims.clone(), "iss", json!("someone-else")),
        ),
        (
            "wrong audience",
            with(claims.clone(), "aud", json!("another-service")),
        ),
        (
            "audience list",
            with(claims.clone(), "aud", json!(["another-service"])),
        ),
        ("unknown type", with(claims.clone(), "typ", json!("id"))),
        (
            "exp as a string",
            with(claims.clone(), "exp", json!((now + 600).to_string())),
        ),
        (
            "exp as a float",
            with(claims.clone(), "exp", json!((now + 600) as f64 + 0.5)),
        ),
        ("negative exp", with(claims.clone(), "exp", json!(-1))),
        (
            "unknown session",
            with(claims.clone(), "sid", json!("no-such-session")),
        ),
    ];
    for (name, claims) in cases {
        let reply = app.get("/api/user-sample", Some(&forge(&claims))).await;
        assert_eq!(reply.status, Status::Unauthorized, "{name}: {}", reply.body);
        reply.assert_error(401);
    }
    for claim in [
        "sub", "iat", "nbf", "exp", "jti", "typ", "iss", "aud", "sid",
    ] {
        let reply = app
            .get(
                "/api/user-sample",
                Some(&forge(&without(claims.clone(), claim))),
            )
            .await;
        assert_eq!(
            reply.status,
            Status::Unauthorized,
            "missing {claim}: {}",
            reply.body
        );
    }
    assert_eq!(
        app.get("/api/user-sample", Some(&user.access)).await.status,
        Status::Ok,
        "the real token still works"
    );
}

#[rocket::async_test]
async fn the_leeway_is_small() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let claims = good_claims(&user.access);
    let now = now();

    let within = with(claims.clone(), "exp", json!(now - 2));
    let beyond = with(claims.clone(), "exp", json!(now - 20));

    assert_eq!(
        app.get("/api/user-sample", Some(&forge(&within)))
            .await
            .status,
        Status::Ok
    );
    app.get("/api/user-sample", Some(&forge(&beyond)))
        .await
        .assert_error(401);
}

#[rocket::async_test]
async fn a_token_is_only_accepted_where_its_type_belongs() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;

    app.get("/api/user-sample", Some(&user.refresh))
        .await
        .assert_error(401);
    app.get("/api/auth/info", Some(&user.refresh))
        .await
        .assert_error(401);
    app.post_json("/api/auth/refresh", Some(&user.access), "{}")
        .await
        .assert_error(401);
    app.post_json("/api/auth/logout", Some(&user.access), "{}")
        .await
        .assert_error(401);
    assert_eq!(
        app.post_json("/api/auth/refresh", Some(&user.refresh), "{}")
            .await
            .status,
        Status::Ok
    );
}

#[rocket::async_test]
async fn a_token_cannot_switch_sessions_with_another_user() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let admin = app.login("admin", "admin").await;

    // The user's name on the admin's session: both exist, but not together.
    let mixed = with(
        good_claims(&user.access),
        "sid",
        claims_of(&admin.access)["sid"].clone(),
    );

    app.get("/api/admin-sample", Some(&forge(&mixed)))
        .await
        .assert_error(401);
}

#[rocket::async_test]
async fn disabled_or_deleted_users_get_403_on_their_next_request() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let admin = app.login("admin", "admin").await;
    assert_eq!(
        app.get("/api/user-sample", Some(&user.access)).await.status,
        Status::Ok
    );
    // Another connection to the same file, as the CLI in another process would use.
    let store = SqliteStore::open(&app.database()).expect("open the database");

    store
        .set_enabled("user", false, now() as i64)
        .await
        .expect("disable");
    app.get("/api/user-sample", Some(&user.access))
        .await
        .assert_error(403);
    app.post_json("/api/auth/refresh", Some(&user.refresh), "{}")
        .await
        .assert_error(403);

    // Disabling ended the user's sessions: enabling the account does not revive old tokens.
    store
        .set_enabled("user", true, now() as i64)
        .await
        .expect("enable");
    app.get("/api/user-sample", Some(&user.access))
        .await
        .assert_error(401);
    let again = app.login("user", "user").await;
    assert_eq!(
        app.get("/api/user-sample", Some(&again.access))
            .await
            .status,
        Status::Ok,
        "enabled again, after a new login"
    );

    store.delete_user("admin").await.expect("delete");
    app.get("/api/auth/info", Some(&admin.access))
        .await
        .assert_error(403);
    app.post_json("/api/auth/refresh", Some(&admin.refresh), "{}")
        .await
        .assert_error(403);
}

#[rocket::async_test]
async fn a_demoted_admin_loses_admin_routes_on_the_next_request() {
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
        .set_admin("admin", false, now() as i64)
        .await
        .expect("demote");

    app.get("/api/admin-sample", Some(&admin.access))
        .await
        .assert_error(403);
    assert_eq!(
        app.get("/api/auth/info", Some(&admin.access)).await.json()["isAdmin"],
        false
    );
}
