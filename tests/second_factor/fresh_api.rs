//! Fresh logins over the API: access tokens carry `auth_time`; every sensitive action is
//! refused past `fresh_secs` with 401 `freshRequired`; `POST /api/auth/reauth` answers a fresh
//! `{"accessToken"}` for the same session, refuses a wrong password (403) and a missing or wrong
//! code (401 `mfaRequired`), and is throttled like the login; a refresh keeps `auth_time`.

use rocket::http::Status;
use serde_json::json;

use super::{
    FRESH_SECS, assert_fresh_required, assert_mfa_required, assert_throttled, enrol, keys,
    next_step, reauth, setup, strings, totp_state,
};
use crate::support::{TestApp, claims_of};

/// `POST path` with `access` and `body`.
async fn act(
    app: &TestApp,
    access: &str,
    path: &str,
    body: serde_json::Value,
) -> crate::support::Reply {
    app.post_json(path, Some(access), &body.to_string()).await
}

#[rocket::async_test]
async fn access_tokens_carry_the_time_of_the_password_and_a_refresh_keeps_it() {
    let app = TestApp::spawn().await;
    let signed_in_at = app.now();
    let tokens = app.login("user", "user").await;
    assert_eq!(claims_of(&tokens.access)["auth_time"], signed_in_at);

    app.clock().advance(FRESH_SECS + 100);
    let refreshed = app.refresh(&tokens.refresh).await;

    assert_eq!(refreshed.status, Status::Ok, "{}", refreshed.body);
    let access = refreshed.json()["accessToken"]
        .as_str()
        .expect("accessToken")
        .to_owned();
    let claims = claims_of(&access);
    assert_eq!(claims["iat"], app.now(), "a new token");
    assert_eq!(
        claims["auth_time"], signed_in_at,
        "no fresher than the password it comes from"
    );
    assert_eq!(claims["sid"], claims_of(&tokens.access)["sid"]);
    assert_fresh_required(
        &act(&app, &access, "/api/auth/sessions/end-others", json!({})).await,
        "end-others with a refreshed token",
    );
}

#[rocket::async_test]
async fn a_login_is_fresh_for_fresh_secs_and_no_longer() {
    let app = TestApp::spawn_with(|f| f.merge(("auth.fresh_secs", 60))).await;
    let tokens = app.login("user", "user").await;

    app.clock().advance(60);
    let at_the_limit = act(
        &app,
        &tokens.access,
        "/api/auth/sessions/end-others",
        json!({}),
    )
    .await;
    app.clock().advance(1);
    let past_it = act(
        &app,
        &tokens.access,
        "/api/auth/sessions/end-others",
        json!({}),
    )
    .await;

    assert_eq!(at_the_limit.status, Status::Ok, "{}", at_the_limit.body);
    assert_fresh_required(&past_it, "one second past fresh_secs = 60");
}

#[rocket::async_test]
async fn every_sensitive_api_action_is_refused_past_fresh_secs_and_changes_nothing() {
    let app = TestApp::spawn().await;
    // The admin's factor is on (to turn off, to replace its codes); the user's is set up and
    // waits for its code (to turn on); the user has a second session (to end).
    let admin = enrol(&app, "admin", "admin").await;
    let user = app.login("user", "user").await;
    let other = app.login("user", "user").await;
    let pending = setup(&app, &user.access).await;
    app.clock().advance(FRESH_SECS + 1);
    let code = super::otp::totp_of_step(&pending, super::otp::step_of(app.now()));

    let actions = [
        (
            "change the password",
            &user.access,
            "/api/auth/password",
            json!({"currentPassword": "user", "newPassword": "a new password"}),
        ),
        (
            "end the other sessions",
            &user.access,
            "/api/auth/sessions/end-others",
            json!({}),
        ),
        (
            "end all sessions",
            &user.access,
            "/api/auth/sessions/end-all",
            json!({}),
        ),
        (
            "turn the second factor on",
            &user.access,
            "/api/auth/totp/enable",
            json!({ "code": code }),
        ),
        (
            "turn the second factor off",
            &admin.tokens.access,
            "/api/auth/totp/disable",
            json!({"password": "admin"}),
        ),
        (
            "make new recovery codes",
            &admin.tokens.access,
            "/api/auth/recovery-codes",
            json!({}),
        ),
    ];
    for (case, access, path, body) in actions {
        assert_fresh_required(&act(&app, access, path, body).await, case);
    }

    // Nothing happened: the password, the sessions and both factors are as they were.
    assert!(app.accepts(&user.access).await, "this session");
    assert!(app.accepts(&other.access).await, "the other session");
    assert_eq!(app.try_login("user", "user").await.status, Status::Ok);
    assert_eq!(
        totp_state(&app, &user.access).await["pending"],
        true,
        "still waiting for its code"
    );
    let admin_state = totp_state(&app, &admin.tokens.access).await;
    assert_eq!(
        (&admin_state["enabled"], &admin_state["recoveryCodesLeft"]),
        (&json!(true), &json!(10))
    );
    let with_old_code =
        super::login_with_code(&app, "admin", "admin", &admin.recovery_codes[0]).await;
    assert_eq!(with_old_code.status, Status::Ok, "{}", with_old_code.body);
}

#[rocket::async_test]
async fn reauth_answers_a_fresh_access_token_for_the_same_session() {
    let app = TestApp::spawn().await;
    let tokens = app.login("user", "user").await;
    app.clock().advance(FRESH_SECS + 1);
    assert_fresh_required(
        &act(
            &app,
            &tokens.access,
            "/api/auth/sessions/end-others",
            json!({}),
        )
        .await,
        "before",
    );
    let reauth_at = app.now();

    let reply = reauth(&app, &tokens.access, json!({"password": "user"})).await;

    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    assert_eq!(keys(&reply.json()), ["accessToken"]);
    let fresh = reply.json()["accessToken"]
        .as_str()
        .expect("accessToken")
        .to_owned();
    let (old, new) = (claims_of(&tokens.access), claims_of(&fresh));
    assert_eq!(new["sid"], old["sid"], "the same session");
    assert_eq!(new["sub"], "user");
    assert_eq!(new["auth_time"], reauth_at);
    let sessions = app.get("/api/auth/sessions", Some(&fresh)).await.json();
    assert_eq!(
        sessions.as_array().map(Vec::len),
        Some(1),
        "no new session: {sessions}"
    );
    let done = act(&app, &fresh, "/api/auth/sessions/end-others", json!({})).await;
    assert_eq!(done.status, Status::Ok, "{}", done.body);
    // The old token is as stale as it was; the session's refresh token now mints fresh ones.
    assert_fresh_required(
        &act(
            &app,
            &tokens.access,
            "/api/auth/sessions/end-others",
            json!({}),
        )
        .await,
        "the old access token",
    );
    let refreshed = app.refresh(&tokens.refresh).await.json();
    let refreshed = refreshed["accessToken"].as_str().expect("accessToken");
    assert_eq!(claims_of(refreshed)["auth_time"], reauth_at);
}

#[rocket::async_test]
async fn reauth_with_a_wrong_password_is_403() {
    let app = TestApp::spawn().await;
    let tokens = app.login("user", "user").await;
    app.clock().advance(FRESH_SECS + 1);

    let reply = reauth(&app, &tokens.access, json!({"password": "wrong"})).await;

    reply.assert_error(403);
    assert_eq!(keys(&reply.json()), ["description", "name", "statusCode"]);
    assert_fresh_required(
        &act(
            &app,
            &tokens.access,
            "/api/auth/sessions/end-others",
            json!({}),
        )
        .await,
        "still stale",
    );
}

#[rocket::async_test]
async fn reauth_with_a_second_factor_needs_a_code_once() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;
    app.clock().advance(FRESH_SECS + 1);
    next_step(&app);
    let access = &user.tokens.access;

    let no_code = reauth(&app, access, json!({"password": "user"})).await;
    let wrong_code = reauth(&app, access, json!({"password": "user", "code": "000000"})).await;
    let wrong_password = reauth(
        &app,
        access,
        json!({"password": "wrong", "code": user.code(&app)}),
    )
    .await;
    let right = reauth(
        &app,
        access,
        json!({"password": "user", "code": user.code(&app)}),
    )
    .await;
    let replayed = reauth(
        &app,
        access,
        json!({"password": "user", "code": user.code(&app)}),
    )
    .await;
    let recovery = reauth(
        &app,
        access,
        json!({"password": "user", "code": user.recovery_codes[0]}),
    )
    .await;

    assert_mfa_required(&no_code, "no code");
    assert_mfa_required(&wrong_code, "a wrong code");
    wrong_password.assert_error(403);
    assert_eq!(right.status, Status::Ok, "{}", right.body);
    assert_mfa_required(&replayed, "the same code again");
    assert_eq!(
        recovery.status,
        Status::Ok,
        "a recovery code: {}",
        recovery.body
    );
    let fresh = right.json()["accessToken"]
        .as_str()
        .expect("accessToken")
        .to_owned();
    assert_eq!(claims_of(&fresh)["sid"], claims_of(access)["sid"]);
    let new_codes = act(&app, &fresh, "/api/auth/recovery-codes", json!({})).await;
    assert_eq!(new_codes.status, Status::Ok, "{}", new_codes.body);
    assert_eq!(strings(&new_codes.json()["recoveryCodes"]).len(), 10);
}

#[rocket::async_test]
async fn reauth_is_throttled_like_the_login() {
    let app = TestApp::spawn().await;
    let tokens = app.login("user", "user").await;
    app.clock().advance(FRESH_SECS + 1);

    for attempt in 1..=5 {
        let reply = reauth(&app, &tokens.access, json!({"password": "wrong"})).await;
        assert_eq!(
            reply.status,
            Status::Forbidden,
            "attempt {attempt}: {}",
            reply.body
        );
    }
    let right = reauth(&app, &tokens.access, json!({"password": "user"})).await;
    let login = app.try_login("user", "user").await;

    let retry_after = assert_throttled(&right, "the right password, past the limit");
    right.assert_error(429);
    // One budget with the login: the same username from the same address.
    assert_throttled(&login, "a login, after wrong passwords at the re-entry");
    app.clock().advance(retry_after);
    let later = reauth(&app, &tokens.access, json!({"password": "user"})).await;
    assert_eq!(later.status, Status::Ok, "{}", later.body);
}

#[rocket::async_test]
async fn reauth_needs_a_signed_in_caller() {
    let app = TestApp::spawn().await;
    let tokens = app.login("user", "user").await;

    let anonymous = app
        .post_json("/api/auth/reauth", None, r#"{"password":"user"}"#)
        .await;
    let with_refresh = reauth(&app, &tokens.refresh, json!({"password": "user"})).await;

    anonymous.assert_error(401);
    with_refresh.assert_error(401);
    assert!(anonymous.json().get("freshRequired").is_none());
}
