//! TOTP codes at the API's login: asked for only after the right password, 6 digits of 30-second
//! steps, one step of drift either way, each accepted once per user, wrong ones throttled with
//! the wrong passwords; and the seed's contract for users without a second factor.

use rocket::http::Status;
use serde_json::json;

use super::otp::{step_of, totp_of_step};
use super::{
    assert_mfa_required, assert_throttled, enrol, keys, login_from_with_code, login_with_code,
    next_step, tokens_of,
};
use crate::support::{TestApp, address, claims_of};

#[rocket::async_test]
async fn a_login_without_a_code_is_401_mfa_required_and_with_the_code_200() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;

    let without = app.try_login("user", "user").await;
    let with = login_with_code(&app, "user", "user", &user.code(&app)).await;

    assert_mfa_required(&without, "the right password without a code");
    assert_eq!(with.status, Status::Ok, "{}", with.body);
    assert_eq!(keys(&with.json()), ["accessToken", "refreshToken"]);
    let tokens = tokens_of(&with);
    assert!(app.accepts(&tokens.access).await);
    assert_eq!(claims_of(&tokens.access)["sub"], "user");
    assert_eq!(
        app.refresh(&tokens.refresh).await.status,
        Status::Ok,
        "the refresh token of a login with a code works"
    );
}

#[rocket::async_test]
async fn a_wrong_password_says_nothing_about_a_second_factor() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;

    let wrong_password = login_with_code(&app, "user", "wrong", &user.code(&app)).await;
    let no_code = app.try_login("user", "wrong").await;

    // Exactly the seed's refusal: a guesser learns neither that the account has a second
    // factor nor (from mfaRequired) that a password was right.
    for (case, reply) in [("with a code", wrong_password), ("without", no_code)] {
        assert_eq!(
            reply.json(),
            json!({"statusCode": 401, "name": "Unauthorized",
                   "description": "invalid username or password"}),
            "wrong password {case}"
        );
    }
}

#[rocket::async_test]
async fn users_without_a_second_factor_see_the_seed_contract_unchanged() {
    let app = TestApp::spawn().await;
    // Another account's second factor is on: nothing changes for this one.
    enrol(&app, "admin", "admin").await;

    let login = app.try_login("user", "user").await;
    let wrong = app.try_login("user", "wrong").await;
    let with_a_code_anyway = login_with_code(&app, "user", "user", "123456").await;

    assert_eq!(login.status, Status::Ok);
    assert_eq!(keys(&login.json()), ["accessToken", "refreshToken"]);
    assert_eq!(
        wrong.json(),
        json!({"statusCode": 401, "name": "Unauthorized",
               "description": "invalid username or password"})
    );
    assert_eq!(wrong.header("WWW-Authenticate"), Some("Bearer"));
    assert_eq!(
        with_a_code_anyway.status,
        Status::Ok,
        "a code sent for an account without a second factor is ignored: {}",
        with_a_code_anyway.body
    );
    let tokens = tokens_of(&login);
    let info = app.get("/api/auth/info", Some(&tokens.access)).await;
    assert_eq!(
        info.json(),
        json!({"username": "user", "enabled": true, "isAdmin": false})
    );
    let refreshed = app.refresh(&tokens.refresh).await;
    assert_eq!(keys(&refreshed.json()), ["accessToken"]);
    let logout = app
        .post_json("/api/auth/logout", Some(&tokens.refresh), "{}")
        .await;
    assert_eq!(logout.json(), json!({"message": "Logged out"}));
}

#[rocket::async_test]
async fn a_code_is_six_digits_of_a_thirty_second_step() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;
    let step = step_of(app.now());
    assert_eq!(
        app.now() % 30,
        0,
        "the test starts at the first second of a step"
    );
    let code = totp_of_step(&user.secret, step);
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");

    // Not six digits: refused, whatever they have in common with the code.
    let seventh = format!("{code}0");
    for (case, wrong) in [
        ("five digits", &code[..5]),
        ("seven digits", seventh.as_str()),
        ("letters", "abcdef"),
        ("empty", ""),
    ] {
        assert_mfa_required(&login_with_code(&app, "user", "user", wrong).await, case);
    }

    // The code of the step holds for all of its 30 seconds, typed the way apps show it too.
    app.clock().advance(29);
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    let reply = login_with_code(&app, "user", "user", &spaced).await;
    assert_eq!(
        reply.status,
        Status::Ok,
        "the last second of the step, as \"123 456\": {}",
        reply.body
    );
    // The next second is a new step with a new code, and the next step's code works there.
    app.clock().advance(1);
    assert_eq!(step_of(app.now()), step + 1);
    let next = totp_of_step(&user.secret, step + 1);
    let reply = login_with_code(&app, "user", "user", &next).await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
}

#[rocket::async_test]
async fn one_step_of_drift_either_way_is_accepted_and_two_are_refused() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;
    // Far from the step the factor was turned on in, so no refusal below is a replay of it.
    app.clock().advance(10 * 30);

    // Two steps either way: refused (the later one first, so neither was used before).
    let two_ahead = login_with_code(&app, "user", "user", &user.code_off(&app, 2)).await;
    let two_behind = login_with_code(&app, "user", "user", &user.code_off(&app, -2)).await;
    // One step either way: accepted (the earlier one first: each code counts once, in order).
    let one_behind = login_with_code(&app, "user", "user", &user.code_off(&app, -1)).await;
    let one_ahead = login_with_code(&app, "user", "user", &user.code_off(&app, 1)).await;

    assert_mfa_required(&two_ahead, "the code of two steps ahead");
    assert_mfa_required(&two_behind, "the code of two steps behind");
    assert_eq!(
        one_behind.status,
        Status::Ok,
        "one behind: {}",
        one_behind.body
    );
    assert_eq!(
        one_ahead.status,
        Status::Ok,
        "one ahead: {}",
        one_ahead.body
    );
}

#[rocket::async_test]
async fn each_code_is_accepted_once_per_user() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;
    let admin = enrol(&app, "admin", "admin").await;
    app.clock().advance(10 * 30);

    let code = user.code(&app);
    let first = login_with_code(&app, "user", "user", &code).await;
    let again = login_with_code(&app, "user", "user", &code).await;
    // The same step's code of another user is that user's own to use.
    let other_user = login_with_code(&app, "admin", "admin", &admin.code(&app)).await;

    assert_eq!(first.status, Status::Ok, "{}", first.body);
    assert_mfa_required(&again, "the same code again");
    assert_eq!(other_user.status, Status::Ok, "{}", other_user.body);

    // A code of a later step (one ahead, allowed by the drift) used: the current step's code,
    // and the previous step's, are now older than the last one used and refused too.
    let ahead = login_with_code(&app, "user", "user", &user.code_off(&app, 1)).await;
    assert_eq!(ahead.status, Status::Ok, "{}", ahead.body);
    next_step(&app);
    let earlier = login_with_code(&app, "user", "user", &user.code_off(&app, -1)).await;
    let replayed_ahead = login_with_code(&app, "user", "user", &user.code(&app)).await;
    assert_mfa_required(&earlier, "a code of a step before the last one used");
    assert_mfa_required(&replayed_ahead, "the step used ahead of time, now current");
    // The next step's code still works.
    let later = login_with_code(&app, "user", "user", &user.code_off(&app, 1)).await;
    assert_eq!(later.status, Status::Ok, "{}", later.body);
}

#[rocket::async_test]
async fn wrong_codes_count_against_the_throttle_of_wrong_passwords() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;
    let from = address(21);

    // Three wrong passwords and two wrong codes: five failures, the limit per username and
    // address.
    for _ in 0..3 {
        let reply = app.login_from(from, "user", "wrong").await;
        assert_eq!(reply.status, Status::Unauthorized, "{}", reply.body);
    }
    for _ in 0..2 {
        let reply = login_from_with_code(&app, from, "user", "user", "000000").await;
        assert_mfa_required(&reply, "a wrong code");
    }
    // Past the limit even the right password with the right code is refused, before either is
    // checked.
    let right = login_from_with_code(&app, from, "user", "user", &user.code(&app)).await;
    let retry_after = assert_throttled(&right, "the right password and code, past the limit");
    right.assert_error(429);

    // The same after wrong codes alone, from another address.
    let elsewhere = address(22);
    for _ in 0..5 {
        let reply = login_from_with_code(&app, elsewhere, "user", "user", "999999").await;
        assert_mfa_required(&reply, "a wrong code");
    }
    let right_code = login_from_with_code(&app, elsewhere, "user", "user", &user.code(&app)).await;
    assert_throttled(&right_code, "the right code after five wrong codes");

    // Once the window has passed, the right code works again.
    app.clock().advance(retry_after);
    let later = login_from_with_code(&app, from, "user", "user", &user.code(&app)).await;
    assert_eq!(later.status, Status::Ok, "{}", later.body);
}
