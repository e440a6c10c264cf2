//! Administrators remove a user's second factor (a lost phone): on `/admin/users` and with
//! `jwtapp user reset-2fa NAME`. The factor and its recovery codes go, and the user's sessions
//! end.

use std::time::Instant;

use rocket::http::Status;
use serde_json::json;

use super::{
    assert_mfa_required, enrol, events, keys, of_kind, open_database, post_page_form,
    unrevoked_sessions,
};
use crate::support::{Browser, TestApp, jwtapp_cli, text, within_change_bound};

/// The recovery codes the database holds for `username`.
fn stored_recovery_codes(app: &TestApp, username: &str) -> i64 {
    open_database(&app.database())
        .query_row(
            "SELECT COUNT(*) FROM recovery_codes r JOIN users u ON u.id = r.user_id \
             WHERE u.username = ?1",
            [username],
            |row| row.get(0),
        )
        .expect("count")
}

/// Asserts that `username` (password `password`) signs in with the password alone again.
async fn assert_password_alone_works(app: &TestApp, username: &str, password: &str) -> String {
    let login = app.try_login(username, password).await;
    assert_eq!(login.status, Status::Ok, "{}", login.body);
    assert_eq!(keys(&login.json()), ["accessToken", "refreshToken"]);
    login.json()["accessToken"]
        .as_str()
        .expect("accessToken")
        .to_owned()
}

#[rocket::async_test]
async fn an_admin_removes_a_second_factor_on_the_users_page_and_the_sessions_end() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;
    let other = super::login_with_code(&app, "user", "user", &user.code(&app)).await;
    let other = super::tokens_of(&other);
    let admin = Browser::new(&app);
    admin.sign_in("admin", "admin").await;

    let list = admin.get("/admin/users").await;
    let row = list
        .body
        .split("<tr>")
        .find(|row| row.contains("<td>user</td>"))
        .expect("the user's row");
    assert!(row.contains("<td>on</td>"), "two-step is shown on: {row}");
    assert!(row.contains(r#"value="reset-2fa""#), "{row}");

    let reply = post_page_form(
        &admin,
        "/admin/users",
        &[("username", "user"), ("action", "reset-2fa")],
    )
    .await;

    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    assert!(
        reply
            .body
            .contains("Removed the second factor of user and ended their sessions."),
        "{}",
        reply.body
    );
    for (case, tokens) in [("enrolling", &user.tokens), ("another", &other)] {
        assert!(!app.accepts(&tokens.access).await, "{case} session ended");
        app.refresh(&tokens.refresh).await.assert_error(401);
    }
    assert_eq!(unrevoked_sessions(&app.database(), "user"), 0);
    assert_eq!(stored_recovery_codes(&app, "user"), 0);
    let access = assert_password_alone_works(&app, "user", "user").await;
    assert_eq!(
        super::totp_state(&app, &access).await,
        json!({"enabled": false, "enabledAt": null, "pending": false, "recoveryCodesLeft": 0})
    );
    let trail = events(&app, &access).await;
    let removed = of_kind(&trail, "mfa_disabled");
    assert_eq!(removed.len(), 1, "{trail:?}");
    assert_eq!(removed[0]["actor"], "administrator admin", "{}", removed[0]);
    assert_eq!(removed[0]["detail"], "2 session(s) ended", "{}", removed[0]);
}

#[rocket::async_test]
async fn an_admin_cannot_remove_their_own_second_factor_on_the_page() {
    let app = TestApp::spawn().await;
    let enrolled = enrol(&app, "admin", "admin").await;
    let admin = Browser::new(&app);
    let code_page = super::password_step(&admin, "admin", "admin").await;
    let signed_in = super::code_step(&admin, &code_page.body, &enrolled.code(&app)).await;
    assert_eq!(signed_in.status, Status::SeeOther, "{}", signed_in.body);

    let reply = post_page_form(
        &admin,
        "/admin/users",
        &[("username", "admin"), ("action", "reset-2fa")],
    )
    .await;

    assert_eq!(reply.status, Status::UnprocessableEntity, "{}", reply.body);
    assert_mfa_required(&app.try_login("admin", "admin").await, "still on");
}

#[rocket::async_test]
async fn the_cli_removes_a_second_factor_and_ends_the_sessions() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;
    assert!(app.accepts(&user.tokens.access).await);

    let reset = jwtapp_cli(&app.database(), &["user", "reset-2fa", "user"], None);
    let committed = Instant::now();

    assert!(reset.status.success(), "{}", text(&reset.stderr));
    assert_eq!(
        text(&reset.stdout).trim(),
        "removed the second factor of user and ended their sessions (1)"
    );
    within_change_bound(
        committed,
        "the session ended from the CLI",
        async || app.get("/api/user-sample", Some(&user.tokens.access)).await,
        |reply| reply.status == Status::Unauthorized,
    )
    .await;
    app.refresh(&user.tokens.refresh).await.assert_error(401);
    assert_eq!(stored_recovery_codes(&app, "user"), 0);
    let access = assert_password_alone_works(&app, "user", "user").await;
    let trail = events(&app, &access).await;
    let removed = of_kind(&trail, "mfa_disabled");
    assert_eq!(removed.len(), 1, "{trail:?}");
    assert_eq!(removed[0]["actor"], "command line", "{}", removed[0]);

    // Nothing left to remove: a clear refusal.
    let again = jwtapp_cli(&app.database(), &["user", "reset-2fa", "user"], None);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("no second factor"),
        "{}",
        text(&again.stderr)
    );
}
