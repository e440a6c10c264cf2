//! Fresh logins on the pages: a sensitive action past `fresh_secs` answers 303 to
//! `/reauth?next=…`; the form there (password, and a code with a second factor) is
//! CSRF-protected and throttled like the login, renews the access cookie of the same session,
//! and goes back; a transparently reissued cookie is no fresher than the login.

use rocket::http::Status;

use super::{
    FRESH_SECS, code_step, csrf_of, enrol, hidden_field, next_step, password_step, post_page_form,
};
use crate::support::{Browser, Reply, TestApp, claims_of, csrf_field};

/// Asserts a 303 to exactly `location`.
#[track_caller]
fn assert_redirect(reply: &Reply, location: &str, case: &str) {
    assert_eq!(reply.status, Status::SeeOther, "{case}: {}", reply.body);
    assert_eq!(reply.header("Location"), Some(location), "{case}");
}

/// Opens `/reauth?next=<next>` and submits `fields` with the form's own CSRF token and `next`.
async fn submit_reauth(browser: &Browser<'_>, next: &str, fields: &[(&str, &str)]) -> Reply {
    let form = browser.get(&format!("/reauth?next={next}")).await;
    assert_eq!(form.status, Status::Ok, "{}", form.body);
    let token = csrf_field(&form.body);
    let next = hidden_field(&form.body, "next");
    let mut all = fields.to_vec();
    all.push(("csrf_token", &token));
    all.push(("next", &next));
    browser.post_form("/reauth", &all).await
}

#[rocket::async_test]
async fn stale_account_actions_go_to_reauth_and_come_back_after_the_form() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    let other = app.login("user", "user").await;
    app.clock().advance(FRESH_SECS + 1);

    let password = [
        ("current_password", "user"),
        ("new_password", "a new password"),
        ("repeat_password", "a new password"),
    ];
    let reauth_password = "/reauth?next=/password";
    let reauth_sessions = "/reauth?next=/sessions";
    let reauth_2fa = "/reauth?next=/account/2fa";
    assert_redirect(
        &browser.get("/password").await,
        reauth_password,
        "GET /password",
    );
    assert_redirect(
        &post_page_form(&browser, "/password", &password).await,
        reauth_password,
        "POST /password",
    );
    for path in ["/sessions/end-others", "/sessions/end-all"] {
        let reply = post_page_form(&browser, path, &[]).await;
        assert_redirect(&reply, reauth_sessions, path);
    }
    assert_redirect(
        &browser.get("/account/2fa").await,
        reauth_2fa,
        "GET /account/2fa",
    );
    for (path, fields) in [
        ("/account/2fa/enable", &[("code", "123456")][..]),
        ("/account/2fa/disable", &[("password", "user")][..]),
        ("/account/2fa/recovery-codes", &[][..]),
    ] {
        let reply = post_page_form(&browser, path, fields).await;
        assert_redirect(&reply, reauth_2fa, path);
    }
    // Nothing was done: the password, the other session, this one.
    assert!(app.accepts(&other.access).await, "the other session");
    assert_eq!(app.try_login("user", "user").await.status, Status::Ok);
    let home = browser.get("/").await;
    assert!(home.body.contains("Signed in as user"), "{}", home.body);

    // The form: the password, then back where the action was, with a fresh cookie for the
    // same session.
    let form = browser.get("/reauth?next=/sessions").await;
    assert!(form.body.contains(r#"id="password""#), "{}", form.body);
    assert!(
        !form.body.contains(r#"id="code""#),
        "no code without a factor"
    );
    let sid = claims_of(&browser.cookie("jwtapp_refresh").expect("refresh cookie"))["sid"].clone();
    let entered_at = app.now();
    let back = submit_reauth(&browser, "/sessions", &[("password", "user")]).await;
    assert_redirect(&back, "/sessions", "after the form");
    let access = back
        .set_cookie("jwtapp_access")
        .expect("a new access cookie");
    assert_eq!(claims_of(&access.value)["sid"], sid, "the same session");
    assert_eq!(claims_of(&access.value)["auth_time"], entered_at);

    let ended = post_page_form(&browser, "/sessions/end-others", &[]).await;
    assert_redirect(&ended, "/sessions", "end-others, fresh");
    assert!(!app.accepts(&other.access).await, "the other session ended");
    assert_eq!(browser.get("/password").await.status, Status::Ok);
}

#[rocket::async_test]
async fn every_admin_change_on_the_users_page_needs_a_fresh_login() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;
    let browser = Browser::new(&app);
    browser.sign_in("admin", "admin").await;
    app.clock().advance(FRESH_SECS + 1);

    let list = browser.get("/admin/users").await;
    assert_eq!(
        list.status,
        Status::Ok,
        "looking is no change: {}",
        list.body
    );
    let actions = [
        ("grant-admin", "user is now an administrator."),
        ("remove-admin", "user is no longer an administrator."),
        ("end-sessions", "Ended every session of user."),
        ("disable", "Disabled user and ended their sessions."),
        ("enable", "Enabled user."),
        (
            "reset-2fa",
            "Removed the second factor of user and ended their sessions.",
        ),
    ];
    for (action, _) in actions {
        let reply = post_page_form(
            &browser,
            "/admin/users",
            &[("username", "user"), ("action", action)],
        )
        .await;
        assert_redirect(&reply, "/reauth?next=/admin/users", action);
    }
    // Nothing changed for the user.
    assert!(app.accepts(&user.tokens.access).await, "their session");
    let info = app.get("/api/auth/info", Some(&user.tokens.access)).await;
    assert_eq!(info.json()["isAdmin"], false);
    super::assert_mfa_required(&app.try_login("user", "user").await, "their factor");

    let back = submit_reauth(&browser, "/admin/users", &[("password", "admin")]).await;
    assert_redirect(&back, "/admin/users", "after the form");
    for (action, done) in actions {
        let reply = post_page_form(
            &browser,
            "/admin/users",
            &[("username", "user"), ("action", action)],
        )
        .await;
        assert_eq!(reply.status, Status::Ok, "{action}: {}", reply.body);
        assert!(reply.body.contains(done), "{action}: {}", reply.body);
    }
}

#[rocket::async_test]
async fn the_reauth_form_is_csrf_protected() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    let elsewhere = Browser::new(&app);
    elsewhere.sign_in("user", "user").await;
    app.clock().advance(FRESH_SECS + 1);

    let without = browser
        .post_form("/reauth", &[("password", "user"), ("next", "/password")])
        .await;
    let another_sessions_token = csrf_of(&elsewhere);
    let foreign = browser
        .post_form(
            "/reauth",
            &[
                ("password", "user"),
                ("next", "/password"),
                ("csrf_token", &another_sessions_token),
            ],
        )
        .await;

    for (case, reply) in [("no token", &without), ("another session's", &foreign)] {
        assert_eq!(reply.status, Status::Forbidden, "{case}: {}", reply.body);
        assert!(reply.set_cookie("jwtapp_access").is_none(), "{case}");
    }
    assert_redirect(
        &browser.get("/password").await,
        "/reauth?next=/password",
        "still not fresh",
    );
}

#[rocket::async_test]
async fn the_reauth_form_is_throttled_like_the_login() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    app.clock().advance(FRESH_SECS + 1);

    for attempt in 1..=5 {
        let reply = submit_reauth(&browser, "/password", &[("password", "wrong")]).await;
        assert_eq!(reply.status, Status::Forbidden, "attempt {attempt}");
        assert!(
            reply.body.contains("The password is not correct."),
            "{}",
            reply.body
        );
    }
    let right = submit_reauth(&browser, "/password", &[("password", "user")]).await;

    assert_eq!(right.status, Status::TooManyRequests, "{}", right.body);
    let retry_after: u64 = right
        .header("Retry-After")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!(
        right.body.contains("Too many failed attempts"),
        "{}",
        right.body
    );
    assert!(right.set_cookie("jwtapp_access").is_none());
    // One budget with the login form.
    let login = Browser::new(&app).try_sign_in("user", "user", None).await;
    assert_eq!(login.status, Status::TooManyRequests, "{}", login.body);
    app.clock().advance(retry_after);
    let later = submit_reauth(&browser, "/password", &[("password", "user")]).await;
    assert_redirect(&later, "/password", "after the window");
}

#[rocket::async_test]
async fn the_reauth_form_asks_for_a_code_with_a_second_factor() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;
    let browser = Browser::new(&app);
    let code_page = password_step(&browser, "user", "user").await;
    let signed_in = code_step(&browser, &code_page.body, &user.code(&app)).await;
    assert_redirect(&signed_in, "/", "signed in with a code");
    app.clock().advance(FRESH_SECS + 1);
    next_step(&app);

    let form = browser.get("/reauth?next=/account/2fa").await;
    assert!(form.body.contains(r#"id="code""#), "{}", form.body);
    let password_only = submit_reauth(&browser, "/account/2fa", &[("password", "user")]).await;
    let wrong = submit_reauth(
        &browser,
        "/account/2fa",
        &[("password", "user"), ("code", "000000")],
    )
    .await;
    let right = submit_reauth(
        &browser,
        "/account/2fa",
        &[("password", "user"), ("code", &user.code(&app))],
    )
    .await;

    assert_eq!(password_only.status, Status::Unauthorized);
    assert!(
        password_only.body.contains("Enter the code"),
        "{}",
        password_only.body
    );
    assert_eq!(wrong.status, Status::Unauthorized);
    assert!(
        wrong.body.contains("That code is not correct"),
        "{}",
        wrong.body
    );
    assert_redirect(&right, "/account/2fa", "password and code");
    assert_eq!(browser.get("/account/2fa").await.status, Status::Ok);
}

#[rocket::async_test]
async fn the_reauth_form_only_goes_back_to_this_site() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    app.clock().advance(FRESH_SECS + 1);

    let form = browser.get("/reauth?next=https://evil.example/").await;
    assert_eq!(hidden_field(&form.body, "next"), "/");
    let token = csrf_field(&form.body);
    let reply = browser
        .post_form(
            "/reauth",
            &[
                ("password", "user"),
                ("next", "//evil.example/"),
                ("csrf_token", &token),
            ],
        )
        .await;

    assert_redirect(&reply, "/", "a foreign next");
}

#[rocket::async_test]
async fn a_reissued_cookie_is_not_fresher_than_the_login() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    let signed_in_at = app.now();
    browser.sign_in("user", "user").await;
    // Past the access cookie's lifetime (900 s) and fresh_secs: the next page reissues it.
    app.clock().advance(1000);

    let page = browser.get("/sessions").await;

    assert_eq!(page.status, Status::Ok, "{}", page.body);
    let reissued = page
        .set_cookie("jwtapp_access")
        .expect("a reissued access cookie");
    let claims = claims_of(&reissued.value);
    assert_eq!(claims["iat"], app.now(), "minted now");
    assert_eq!(claims["auth_time"], signed_in_at, "the login's time");
    assert_redirect(
        &browser.get("/password").await,
        "/reauth?next=/password",
        "a reissued cookie is stale",
    );

    // After the form, a later reissue carries the time of the form.
    let entered_at = app.now();
    let back = submit_reauth(&browser, "/password", &[("password", "user")]).await;
    assert_redirect(&back, "/password", "after the form");
    app.clock().advance(1000);
    let page = browser.get("/sessions").await;
    let reissued = page.set_cookie("jwtapp_access").expect("reissued again");
    assert_eq!(claims_of(&reissued.value)["auth_time"], entered_at);
}
