//! Every step of the second factor and of re-entering the password writes its security event,
//! which the user reads back with `GET /api/auth/events`.

use serde_json::json;

use super::{FRESH_SECS, enrol, events, login_with_code, next_step, of_kind, reauth, tokens_of};
use crate::support::TestApp;

#[rocket::async_test]
async fn every_step_writes_its_security_event() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;
    let access = &user.tokens.access;

    // mfa_failed: a wrong code at a login.
    let wrong = login_with_code(&app, "user", "user", "000000").await;
    assert_eq!(wrong.status.code, 401);
    // recovery_code_used: a login with a recovery code.
    let recovered = login_with_code(&app, "user", "user", &user.recovery_codes[0]).await;
    let recovered = tokens_of(&recovered);
    // recovery_codes_replaced: new codes (fresh: the login just now).
    let replaced = app
        .post_json("/api/auth/recovery-codes", Some(&recovered.access), "{}")
        .await;
    assert_eq!(replaced.status.code, 200, "{}", replaced.body);
    // reauth_failed and reauth_succeeded: the password again, wrong then right.
    app.clock().advance(FRESH_SECS + 1);
    next_step(&app);
    let failed = reauth(&app, access, json!({"password": "wrong"})).await;
    assert_eq!(failed.status.code, 403);
    let succeeded = reauth(
        &app,
        access,
        json!({"password": "user", "code": user.code(&app)}),
    )
    .await;
    assert_eq!(succeeded.status.code, 200, "{}", succeeded.body);
    let fresh = succeeded.json()["accessToken"]
        .as_str()
        .expect("accessToken")
        .to_owned();
    // mfa_disabled: turned off.
    let off = app
        .post_json(
            "/api/auth/totp/disable",
            Some(&fresh),
            r#"{"password":"user"}"#,
        )
        .await;
    assert_eq!(off.status.code, 200, "{}", off.body);

    let trail = events(&app, &fresh).await;

    let expected = [
        ("mfa_enabled", Some("user"), None),
        ("mfa_failed", None, Some("a wrong code")),
        ("recovery_code_used", Some("user"), Some("9 left")),
        ("recovery_codes_replaced", Some("user"), None),
        ("reauth_failed", None, Some("wrong password")),
        ("reauth_succeeded", Some("user"), None),
        ("mfa_disabled", Some("user"), None),
    ];
    for (kind, actor, detail) in expected {
        let found = of_kind(&trail, kind);
        assert_eq!(found.len(), 1, "one {kind}: {trail:#?}");
        let event = found[0];
        assert_eq!(event["username"], "user", "{event}");
        if let Some(actor) = actor {
            assert_eq!(event["actor"], actor, "{event}");
        }
        if let Some(detail) = detail {
            assert_eq!(event["detail"], detail, "{event}");
        }
    }
    // Newest first, in the order they happened.
    let order: Vec<&str> = trail
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .filter(|kind| expected.iter().any(|(k, _, _)| k == kind))
        .collect();
    let mut happened: Vec<&str> = expected.iter().map(|(k, _, _)| *k).collect();
    happened.reverse();
    assert_eq!(order, happened);
}
