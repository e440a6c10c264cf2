//! Recovery codes: ten, shown once, each usable once instead of a TOTP code at the login (API
//! and page); `POST /api/auth/recovery-codes` replaces them (after a fresh login); the page says
//! how many are left.

use std::collections::BTreeSet;

use rocket::http::Status;
use serde_json::json;

use super::{
    FRESH_SECS, assert_fresh_required, assert_mfa_required, enrol, login_with_code, post_page_form,
    reauth, strings, text_after, tokens_of, totp_state,
};
use crate::support::{Browser, TestApp};

#[rocket::async_test]
async fn each_of_the_ten_recovery_codes_logs_in_once_instead_of_a_code() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;
    let codes = &user.recovery_codes;
    let distinct: BTreeSet<&String> = codes.iter().collect();
    assert_eq!(distinct.len(), 10, "{codes:?}");
    for code in codes {
        // Lower-case letters and digits without look-alikes, as two groups of five.
        let (left, right) = code.split_once('-').unwrap_or_else(|| panic!("{code}"));
        assert_eq!((left.len(), right.len()), (5, 5), "{code}");
        assert!(
            code.chars()
                .all(|c| c == '-' || "abcdefghjkmnpqrstuvwxyz23456789".contains(c)),
            "{code}"
        );
    }

    for (used, code) in codes.iter().enumerate() {
        let login = login_with_code(&app, "user", "user", code).await;
        assert_eq!(login.status, Status::Ok, "code {used}: {}", login.body);
        let again = login_with_code(&app, "user", "user", code).await;
        assert_mfa_required(&again, &format!("code {used} again"));
        let access = tokens_of(&login).access;
        assert_eq!(
            totp_state(&app, &access).await["recoveryCodesLeft"],
            9 - used,
            "after code {used}"
        );
    }
    // With all of them spent, the app's code still works.
    let login = login_with_code(&app, "user", "user", &user.code(&app)).await;
    assert_eq!(login.status, Status::Ok, "{}", login.body);
}

#[rocket::async_test]
async fn a_recovery_code_is_read_the_way_people_type_it() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;
    let typed = user.recovery_codes[0].to_uppercase().replace('-', " ");

    let login = login_with_code(&app, "user", "user", &typed).await;
    let original = login_with_code(&app, "user", "user", &user.recovery_codes[0]).await;

    assert_eq!(login.status, Status::Ok, "{typed}: {}", login.body);
    assert_mfa_required(&original, "the same code as first written");
}

#[rocket::async_test]
async fn new_recovery_codes_replace_the_old_ones_after_a_fresh_login() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;
    let access = &user.tokens.access;
    let spent = login_with_code(&app, "user", "user", &user.recovery_codes[0]).await;
    assert_eq!(spent.status, Status::Ok);
    app.clock().advance(FRESH_SECS + 1);

    let stale = app
        .post_json("/api/auth/recovery-codes", Some(access), "{}")
        .await;
    assert_fresh_required(&stale, "new codes, stale");
    let fresh = reauth(
        &app,
        access,
        json!({"password": "user", "code": user.code(&app)}),
    )
    .await;
    let fresh = tokens_of_reauth(&fresh);
    let replaced = app
        .post_json("/api/auth/recovery-codes", Some(&fresh), "{}")
        .await;

    assert_eq!(replaced.status, Status::Ok, "{}", replaced.body);
    assert_eq!(super::keys(&replaced.json()), ["recoveryCodes"]);
    let new = strings(&replaced.json()["recoveryCodes"]);
    assert_eq!(new.len(), 10);
    assert!(
        new.iter().all(|code| !user.recovery_codes.contains(code)),
        "all new"
    );
    assert_eq!(totp_state(&app, &fresh).await["recoveryCodesLeft"], 10);
    let old = login_with_code(&app, "user", "user", &user.recovery_codes[1]).await;
    assert_mfa_required(&old, "an old, unused code");
    let login = login_with_code(&app, "user", "user", &new[0]).await;
    assert_eq!(login.status, Status::Ok, "a new code: {}", login.body);
}

/// The access token of a successful `POST /api/auth/reauth`.
#[track_caller]
fn tokens_of_reauth(reply: &crate::support::Reply) -> String {
    assert_eq!(reply.status, Status::Ok, "reauth: {}", reply.body);
    reply.json()["accessToken"]
        .as_str()
        .expect("accessToken")
        .to_owned()
}

#[rocket::async_test]
async fn without_a_second_factor_there_are_no_recovery_codes_to_replace() {
    let app = TestApp::spawn().await;
    let tokens = app.login("user", "user").await;

    let reply = app
        .post_json("/api/auth/recovery-codes", Some(&tokens.access), "{}")
        .await;

    reply.assert_error(422);
}

#[rocket::async_test]
async fn the_page_says_how_many_are_left_and_makes_new_ones() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;
    let browser = Browser::new(&app);
    let code_page = super::password_step(&browser, "user", "user").await;
    let signed_in = super::code_step(&browser, &code_page.body, &user.recovery_codes[0]).await;
    assert_eq!(signed_in.status, Status::SeeOther, "{}", signed_in.body);
    for code in &user.recovery_codes[1..3] {
        let login = login_with_code(&app, "user", "user", code).await;
        assert_eq!(login.status, Status::Ok, "{}", login.body);
    }

    let page = browser.get("/account/2fa").await;

    assert_eq!(page.status, Status::Ok, "{}", page.body);
    assert_eq!(
        text_after(&page.body, r#"<strong class="codes-left">"#),
        "7"
    );
    let made = post_page_form(&browser, "/account/2fa/recovery-codes", &[]).await;
    assert_eq!(made.status, Status::Ok, "{}", made.body);
    assert!(
        made.body
            .contains("New recovery codes: the old ones no longer work."),
        "{}",
        made.body
    );
    assert_eq!(
        text_after(&made.body, r#"<strong class="codes-left">"#),
        "10"
    );
    let shown: Vec<String> = made
        .body
        .split("<li><code>")
        .skip(1)
        .map(|rest| rest.split('<').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(shown.len(), 10, "{}", made.body);
    let old = login_with_code(&app, "user", "user", &user.recovery_codes[5]).await;
    assert_mfa_required(&old, "an old code after new ones were made on the page");
    let new = login_with_code(&app, "user", "user", &shown[0]).await;
    assert_eq!(new.status, Status::Ok, "{}", new.body);
}
