//! The pages' login with a second factor: the password first, then a code on a second step that
//! holds no session until the code is right. Its step token is signed, short-lived (300 s) and
//! single-use, and a wrong code does not ask for the password again.

use rocket::http::Status;

use super::{
    code_step, enrol, hidden_field, login_with_code, next_step, password_step, unrevoked_sessions,
};
use crate::support::{Browser, Reply, TestApp, csrf_field};

/// The session cookies a login sets (the debug profile's names: no `__Host-` prefix).
const SESSION_COOKIES: [&str; 3] = ["jwtapp_access", "jwtapp_refresh", "jwtapp_csrf"];

/// Asserts that `reply` is the code form of a second step and sets no session cookie.
#[track_caller]
fn assert_code_form(reply: &Reply, status: Status, case: &str) {
    assert_eq!(reply.status, status, "{case}: {}", reply.body);
    assert!(
        reply.body.contains(r#"action="/login/code""#),
        "{case}: {}",
        reply.body
    );
    assert!(
        !reply.body.contains(r#"type="password""#),
        "{case}: the password is not asked again"
    );
    for name in SESSION_COOKIES {
        assert!(
            reply.set_cookie(name).is_none(),
            "{case}: {name} set before the code"
        );
    }
}

/// Asserts that `reply` is the login form again, saying the step is over, with no session.
#[track_caller]
fn assert_step_refused(reply: &Reply, case: &str) {
    assert_eq!(reply.status, Status::Unauthorized, "{case}: {}", reply.body);
    assert!(
        reply.body.contains(r#"action="/login""#),
        "{case}: {}",
        reply.body
    );
    assert!(
        reply
            .body
            .contains("took too long or was completed already"),
        "{case}: {}",
        reply.body
    );
    for name in SESSION_COOKIES {
        assert!(reply.set_cookie(name).is_none(), "{case}: {name} set");
    }
}

#[rocket::async_test]
async fn the_second_step_holds_no_session_until_the_code_is_right() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;
    let database = app.database();
    let sessions_before = unrevoked_sessions(&database, "user");
    let browser = Browser::new(&app);

    let code_page = password_step(&browser, "user", "user").await;
    assert_code_form(&code_page, Status::Ok, "after the password");
    assert_eq!(unrevoked_sessions(&database, "user"), sessions_before);
    assert!(!hidden_field(&code_page.body, "step").is_empty());

    let wrong = code_step(&browser, &code_page.body, "000000").await;
    assert_code_form(&wrong, Status::Unauthorized, "after a wrong code");
    assert!(
        wrong.body.contains("That code is not correct"),
        "{}",
        wrong.body
    );
    assert_eq!(unrevoked_sessions(&database, "user"), sessions_before);
    let anonymous = browser.get("/user-content").await;
    assert_eq!(anonymous.status, Status::SeeOther, "not signed in yet");

    // The right code on the form of the wrong one: signed in, without the password again.
    let done = code_step(&browser, &wrong.body, &user.code(&app)).await;

    assert_eq!(done.status, Status::SeeOther, "{}", done.body);
    assert_eq!(done.header("Location"), Some("/"));
    for name in SESSION_COOKIES {
        assert!(done.set_cookie(name).is_some(), "{name} set with the code");
    }
    assert_eq!(unrevoked_sessions(&database, "user"), sessions_before + 1);
    let home = browser.get("/").await;
    assert!(home.body.contains("Signed in as user"), "{}", home.body);
}

#[rocket::async_test]
async fn the_second_step_keeps_where_the_login_was_going() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;
    let browser = Browser::new(&app);

    let code_page = browser
        .try_sign_in("user", "user", Some("/user-content"))
        .await;
    assert_eq!(hidden_field(&code_page.body, "next"), "/user-content");
    let token = csrf_field(&code_page.body);
    let step = hidden_field(&code_page.body, "step");
    let done = browser
        .post_form(
            "/login/code",
            &[
                ("step", &step),
                ("code", &user.code(&app)),
                ("next", "/user-content"),
                ("csrf_token", &token),
            ],
        )
        .await;

    assert_eq!(done.status, Status::SeeOther, "{}", done.body);
    assert_eq!(done.header("Location"), Some("/user-content"));
}

/// A browser elsewhere that holds what a finished second step left in the page and the nonce
/// cookie of `browser`: all it takes to submit that step's form again.
fn replaying<'a>(browser: &Browser<'a>) -> Browser<'a> {
    let replay = Browser::new(browser.app);
    let nonce = browser
        .cookie("jwtapp_login")
        .expect("the login form's nonce");
    replay.set("jwtapp_login", &nonce);
    replay
}

#[rocket::async_test]
async fn the_step_token_is_single_use() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;
    let database = app.database();
    let browser = Browser::new(&app);
    let code_page = password_step(&browser, "user", "user").await;
    let done = code_step(&browser, &code_page.body, &user.code(&app)).await;
    assert_eq!(done.status, Status::SeeOther, "{}", done.body);
    let sessions = unrevoked_sessions(&database, "user");
    next_step(&app);

    // The same step token again, with a code that is right and new: refused.
    let again = code_step(&replaying(&browser), &code_page.body, &user.code(&app)).await;

    assert_step_refused(&again, "a used step token");
    assert_eq!(unrevoked_sessions(&database, "user"), sessions);
}

#[rocket::async_test]
async fn a_refused_step_token_uses_up_no_code() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;
    let browser = Browser::new(&app);
    let code_page = password_step(&browser, "user", "user").await;
    let done = code_step(&browser, &code_page.body, &user.code(&app)).await;
    assert_eq!(done.status, Status::SeeOther, "{}", done.body);
    next_step(&app);

    // A used step token, with the next code of the app and with a recovery code: both refused...
    let with_totp = code_step(&replaying(&browser), &code_page.body, &user.code(&app)).await;
    let with_recovery = code_step(
        &replaying(&browser),
        &code_page.body,
        &user.recovery_codes[0],
    )
    .await;
    assert_step_refused(&with_totp, "a used step token with a TOTP code");
    assert_step_refused(&with_recovery, "a used step token with a recovery code");

    // ...and neither code was spent by a login that did not happen.
    let totp_login = login_with_code(&app, "user", "user", &user.code(&app)).await;
    let recovery_login = login_with_code(&app, "user", "user", &user.recovery_codes[0]).await;
    assert_eq!(
        (totp_login.status, recovery_login.status),
        (Status::Ok, Status::Ok),
        "logins with the TOTP code ({}) and the recovery code ({}) offered with a refused step \
         token",
        totp_login.body,
        recovery_login.body
    );
}

#[rocket::async_test]
async fn a_used_step_token_stays_used_while_it_verifies() {
    // The default leeway: a step token verifies until 5 s past its `exp`.
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;
    let database = app.database();
    let browser = Browser::new(&app);
    let code_page = password_step(&browser, "user", "user").await;
    let done = code_step(&browser, &code_page.body, &user.code(&app)).await;
    assert_eq!(done.status, Status::SeeOther, "{}", done.body);
    let sessions = unrevoked_sessions(&database, "user");

    // Past the step token's `exp` but within the leeway, the housekeeping runs (as it does
    // every prune_interval_secs), then the used step token comes back with a new code.
    app.clock().advance(303);
    let auth = app
        .client
        .rocket()
        .state::<jwtapp::auth::Auth>()
        .expect("the app's Auth");
    auth.housekeeping().prune().await.expect("a pruning pass");
    let again = code_step(&replaying(&browser), &code_page.body, &user.code(&app)).await;

    assert_step_refused(&again, "a used step token, after housekeeping");
    assert_eq!(unrevoked_sessions(&database, "user"), sessions);
}

#[rocket::async_test]
async fn the_step_token_expires_after_300_seconds() {
    let app = TestApp::spawn_with(|f| f.merge(("auth.leeway_secs", 0))).await;
    let user = enrol(&app, "user", "user").await;
    let database = app.database();
    let sessions = unrevoked_sessions(&database, "user");
    let in_time = Browser::new(&app);
    let late = Browser::new(&app);
    let in_time_page = password_step(&in_time, "user", "user").await;
    let late_page = password_step(&late, "user", "user").await;

    app.clock().advance(300);
    let at_the_limit = code_step(&in_time, &in_time_page.body, &user.code(&app)).await;
    next_step(&app);
    let past_it = code_step(&late, &late_page.body, &user.code(&app)).await;

    assert_eq!(
        at_the_limit.status,
        Status::SeeOther,
        "{}",
        at_the_limit.body
    );
    assert_step_refused(&past_it, "a step token past 300 s");
    assert_eq!(unrevoked_sessions(&database, "user"), sessions + 1);
}

#[rocket::async_test]
async fn a_recovery_code_works_on_the_second_step_once() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;
    let first = Browser::new(&app);
    let code_page = password_step(&first, "user", "user").await;

    let done = code_step(&first, &code_page.body, &user.recovery_codes[0]).await;

    assert_eq!(done.status, Status::SeeOther, "{}", done.body);
    let page = first.get("/account/2fa").await;
    assert_eq!(
        super::text_after(&page.body, r#"<strong class="codes-left">"#),
        "9"
    );
    let second = Browser::new(&app);
    let code_page = password_step(&second, "user", "user").await;
    let reused = code_step(&second, &code_page.body, &user.recovery_codes[0]).await;
    assert_code_form(&reused, Status::Unauthorized, "a used recovery code");
}

#[rocket::async_test]
async fn a_step_token_opens_nothing_by_itself() {
    let app = TestApp::spawn().await;
    enrol(&app, "user", "user").await;
    let browser = Browser::new(&app);
    let code_page = password_step(&browser, "user", "user").await;
    let step = hidden_field(&code_page.body, "step");

    let as_access = app.get("/api/user-sample", Some(&step)).await;
    let as_refresh = app.refresh(&step).await;
    let as_access_cookie = Browser::new(&app);
    as_access_cookie.set("jwtapp_access", &step);
    let page = as_access_cookie.get("/user-content").await;

    as_access.assert_error(401);
    as_refresh.assert_error(401);
    assert_eq!(page.status, Status::SeeOther, "{}", page.body);
    assert!(
        page.header("Location")
            .is_some_and(|l| l.starts_with("/login")),
        "{:?}",
        page.header("Location")
    );
}

#[rocket::async_test]
async fn wrong_codes_on_the_second_step_are_throttled_with_the_passwords() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;
    let browser = Browser::new(&app);
    let code_page = password_step(&browser, "user", "user").await;

    for attempt in 1..=5 {
        let wrong = code_step(&browser, &code_page.body, "000000").await;
        assert_code_form(
            &wrong,
            Status::Unauthorized,
            &format!("wrong code {attempt}"),
        );
    }
    let right = code_step(&browser, &code_page.body, &user.code(&app)).await;

    assert_code_form(
        &right,
        Status::TooManyRequests,
        "the right code, past the limit",
    );
    assert!(right.header("Retry-After").is_some(), "{:?}", right.headers);
    assert!(
        right.body.contains("Too many failed attempts"),
        "{}",
        right.body
    );
    // The password step shares the budget.
    let password = password_step(&Browser::new(&app), "user", "user").await;
    assert_eq!(
        password.status,
        Status::TooManyRequests,
        "{}",
        password.body
    );
}

#[rocket::async_test]
async fn the_second_step_checks_the_account_as_it_is_then() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;
    let browser = Browser::new(&app);
    let code_page = password_step(&browser, "user", "user").await;
    // Between the password and the code, an administrator disables the account.
    let disabled = crate::support::jwtapp_cli(&app.database(), &["user", "disable", "user"], None);
    assert!(
        disabled.status.success(),
        "{}",
        crate::support::text(&disabled.stderr)
    );

    let reply = code_step(&browser, &code_page.body, &user.code(&app)).await;

    assert_step_refused(&reply, "a disabled account's second step");
    assert_eq!(unrevoked_sessions(&app.database(), "user"), 0);
}
