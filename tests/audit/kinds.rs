//! The fifteen kinds of issue 13, each caused the way a person causes it (the API, the pages, the
//! command line) and read back from the `security_events` table with every field: when (the
//! app's clock), the account and its name (or the name as typed), the session, the client's
//! address and user agent, who did it (the user, `administrator NAME`, `command line`, `jwtapp`)
//! and the detail.

use jwtapp::store::NewEvent;
use rocket::http::Status;
use serde_json::json;

use super::{
    CHROME, Caller, FIREFOX, Visitor, all_of, cli, event, newest, recorded_since, restart, sid,
    system_now, trail, user_id,
};
use crate::support::TestApp;

fn some(text: &str) -> Option<String> {
    Some(text.to_owned())
}

// ----- login_succeeded, login_failed, login_throttled -----

#[rocket::async_test]
async fn an_api_login_records_login_succeeded_with_its_session_and_client() {
    let app = TestApp::spawn().await;
    let phone = Caller::new(7, CHROME);

    let tokens = phone.login(&app, "user", "user").await;

    let trail = trail(&app).await;
    assert_eq!(
        newest(&trail, "login_succeeded"),
        &NewEvent {
            user_id: Some(user_id(&app, "user").await),
            username: some("user"),
            session_id: Some(sid(&tokens)),
            address: some("192.0.2.7"),
            user_agent: some(CHROME),
            actor: some("user"),
            ..event(&app, "login_succeeded")
        }
    );
}

#[rocket::async_test]
async fn a_page_sign_in_records_login_succeeded_like_the_api() {
    let app = TestApp::spawn().await;
    let laptop = Visitor::new(&app, Caller::new(8, FIREFOX));

    laptop.sign_in("user", "user").await;

    let trail = trail(&app).await;
    assert_eq!(
        newest(&trail, "login_succeeded"),
        &NewEvent {
            user_id: Some(user_id(&app, "user").await),
            username: some("user"),
            session_id: Some(laptop.session_id()),
            address: some("192.0.2.8"),
            user_agent: some(FIREFOX),
            actor: some("user"),
            ..event(&app, "login_succeeded")
        }
    );
}

/// Unknown user, wrong password, disabled account: each says why, and a name that matches no
/// account is kept as typed.
#[rocket::async_test]
async fn failed_logins_record_why_and_the_name_as_typed() {
    let app = TestApp::spawn().await;
    cli(&app, &["user", "add", "carol"], Some("carols-password\n"));
    cli(&app, &["user", "disable", "carol"], None);
    let guesser = Caller::new(9, CHROME);

    let unknown = guesser.try_login(&app, "nobody", "a-guess").await;
    let wrong = guesser.try_login(&app, "user", "not-the-password").await;
    let disabled = guesser.try_login(&app, "carol", "carols-password").await;

    for reply in [&unknown, &wrong, &disabled] {
        reply.assert_error(401);
    }
    let failed: Vec<NewEvent> = all_of(&trail(&app).await, "login_failed")
        .into_iter()
        .cloned()
        .collect();
    let failure = |user: Option<i64>, name: &str, detail: &str| NewEvent {
        user_id: user,
        username: some(name),
        address: some("192.0.2.9"),
        user_agent: some(CHROME),
        detail: some(detail),
        ..event(&app, "login_failed")
    };
    assert_eq!(
        failed,
        vec![
            failure(
                Some(user_id(&app, "carol").await),
                "carol",
                "the account is disabled"
            ),
            failure(Some(user_id(&app, "user").await), "user", "wrong password"),
            failure(None, "nobody", "unknown user"),
        ]
    );
}

/// A demo account of an earlier debug run cannot log in outside the debug profile, and the trail
/// says that is why.
#[rocket::async_test]
async fn a_demo_account_outside_the_debug_profile_is_a_failed_login() {
    let debug = TestApp::spawn().await;
    let app = restart(debug, |f| f.select("release")).await;

    let refused = Caller::new(34, CHROME)
        .try_login(&app, "admin", "admin")
        .await;

    refused.assert_error(401);
    let trail = trail(&app).await;
    assert_eq!(
        newest(&trail, "login_failed"),
        &NewEvent {
            user_id: Some(user_id(&app, "admin").await),
            username: some("admin"),
            address: some("192.0.2.34"),
            user_agent: some(CHROME),
            detail: some("a demo account, outside the debug profile"),
            ..event(&app, "login_failed")
        }
    );
}

#[rocket::async_test]
async fn a_failed_page_sign_in_is_recorded_like_an_api_one() {
    let app = TestApp::spawn().await;
    let laptop = Visitor::new(&app, Caller::new(10, FIREFOX));

    let refused = laptop.try_sign_in("user", "not-the-password").await;

    assert_eq!(refused.status, Status::Unauthorized, "{}", refused.body);
    let trail = trail(&app).await;
    assert_eq!(
        newest(&trail, "login_failed"),
        &NewEvent {
            user_id: Some(user_id(&app, "user").await),
            username: some("user"),
            address: some("192.0.2.10"),
            user_agent: some(FIREFOX),
            detail: some("wrong password"),
            ..event(&app, "login_failed")
        }
    );
}

#[rocket::async_test]
async fn a_wrong_current_password_when_changing_it_is_a_failed_login() {
    let app = TestApp::spawn().await;
    let phone = Caller::new(11, CHROME);
    let tokens = phone.login(&app, "user", "user").await;

    let refused = phone
        .post(
            &app,
            "/api/auth/password",
            Some(&tokens.access),
            &json!({"currentPassword": "a-guess", "newPassword": "a new long password"})
                .to_string(),
        )
        .await;

    refused.assert_error(403);
    let trail = trail(&app).await;
    assert_eq!(
        newest(&trail, "login_failed"),
        &NewEvent {
            user_id: Some(user_id(&app, "user").await),
            username: some("user"),
            session_id: Some(sid(&tokens)),
            address: some("192.0.2.11"),
            user_agent: some(CHROME),
            actor: some("user"),
            detail: some("wrong current password, when changing it"),
            ..event(&app, "login_failed")
        }
    );
}

#[rocket::async_test]
async fn a_throttled_login_records_login_throttled() {
    let app = TestApp::spawn().await;
    let guesser = Caller::new(12, CHROME);
    // login_failures_per_window = 5 per username and address.
    for guess in 0..5 {
        guesser
            .try_login(&app, "user", &format!("guess-{guess}"))
            .await
            .assert_error(401);
    }

    let refused = guesser.try_login(&app, "user", "user").await;

    assert_eq!(refused.status, Status::TooManyRequests, "{}", refused.body);
    let trail = trail(&app).await;
    assert_eq!(
        trail[0],
        NewEvent {
            user_id: Some(user_id(&app, "user").await),
            username: some("user"),
            address: some("192.0.2.12"),
            user_agent: some(CHROME),
            ..event(&app, "login_throttled")
        },
        "the refusal is the newest event"
    );
    assert_eq!(all_of(&trail, "login_failed").len(), 5);
    assert!(all_of(&trail, "login_succeeded").is_empty());
}

// ----- logout, session_ended, sessions_ended_all -----

#[rocket::async_test]
async fn logging_out_records_logout_from_the_api_and_the_pages() {
    let app = TestApp::spawn().await;
    let phone = Caller::new(13, CHROME);
    let tokens = phone.login(&app, "user", "user").await;
    let laptop = Visitor::new(&app, Caller::new(14, FIREFOX));
    laptop.sign_in("user", "user").await;
    let page_session = laptop.session_id();

    let api = phone
        .post(&app, "/api/auth/logout", Some(&tokens.refresh), "{}")
        .await;
    let page = laptop.submit("/logout", "/logout", &[]).await;

    assert_eq!(api.status, Status::Ok, "{}", api.body);
    assert_eq!(page.status, Status::SeeOther, "{}", page.body);
    let user = user_id(&app, "user").await;
    let logouts: Vec<NewEvent> = all_of(&trail(&app).await, "logout")
        .into_iter()
        .cloned()
        .collect();
    assert_eq!(
        logouts,
        vec![
            NewEvent {
                user_id: Some(user),
                username: some("user"),
                session_id: Some(page_session),
                address: some("192.0.2.14"),
                user_agent: some(FIREFOX),
                actor: some("user"),
                ..event(&app, "logout")
            },
            NewEvent {
                user_id: Some(user),
                username: some("user"),
                session_id: Some(sid(&tokens)),
                address: some("192.0.2.13"),
                user_agent: some(CHROME),
                actor: some("user"),
                ..event(&app, "logout")
            },
        ]
    );
}

#[rocket::async_test]
async fn ending_one_session_records_session_ended_by_its_user() {
    let app = TestApp::spawn().await;
    let (phone, laptop) = (Caller::new(15, CHROME), Caller::new(16, FIREFOX));
    let lost = phone.login(&app, "user", "user").await;
    let kept = laptop.login(&app, "user", "user").await;
    let browser = Visitor::new(&app, Caller::new(17, FIREFOX));
    browser.sign_in("user", "user").await;
    let own = browser.session_id();

    let api = laptop
        .delete(
            &app,
            &format!("/api/auth/sessions/{}", sid(&lost)),
            Some(&kept.access),
        )
        .await;
    let page = browser
        .submit("/sessions", "/sessions/end", &[("id", own.as_str())])
        .await;

    assert_eq!(api.status, Status::Ok, "{}", api.body);
    assert_eq!(page.header("Location"), Some("/login"), "{}", page.body);
    let user = user_id(&app, "user").await;
    let ended: Vec<NewEvent> = all_of(&trail(&app).await, "session_ended")
        .into_iter()
        .cloned()
        .collect();
    assert_eq!(
        ended,
        vec![
            NewEvent {
                user_id: Some(user),
                username: some("user"),
                session_id: Some(own),
                address: some("192.0.2.17"),
                user_agent: some(FIREFOX),
                actor: some("user"),
                detail: some("this session, by its user"),
                ..event(&app, "session_ended")
            },
            NewEvent {
                user_id: Some(user),
                username: some("user"),
                session_id: Some(sid(&lost)),
                address: some("192.0.2.16"),
                user_agent: some(FIREFOX),
                actor: some("user"),
                detail: some("by its user, from another session"),
                ..event(&app, "session_ended")
            },
        ]
    );
}

#[rocket::async_test]
async fn a_login_past_the_session_limit_records_session_ended_by_jwtapp() {
    let app = TestApp::spawn_with(|f| f.merge(("auth.max_sessions_per_user", 1))).await;
    let phone = Caller::new(18, CHROME);
    let first = phone.login(&app, "user", "user").await;

    let second = phone.login(&app, "user", "user").await;

    assert!(!app.accepts(&first.access).await);
    let trail = trail(&app).await;
    assert_eq!(
        trail[0],
        NewEvent {
            user_id: Some(user_id(&app, "user").await),
            username: some("user"),
            session_id: Some(sid(&first)),
            actor: some("jwtapp"),
            detail: some("the least recently used session, past the limit of 1"),
            ..event(&app, "session_ended")
        }
    );
    assert_eq!(trail[1].kind, "login_succeeded");
    assert_eq!(trail[1].session_id, Some(sid(&second)));
}

/// A lower `max_sessions_per_user` at the next start ends the sessions past it. Whose sessions
/// they were is known: the user sees them end on their own activity, as with any other end.
#[rocket::async_test]
async fn sessions_ended_by_the_limit_at_start_are_their_users_events() {
    let app = TestApp::spawn().await;
    let phone = Caller::new(19, CHROME);
    let older = phone.login(&app, "user", "user").await;
    let newer = phone.login(&app, "user", "user").await;
    let user = user_id(&app, "user").await;

    let app = restart(app, |f| f.merge(("auth.max_sessions_per_user", 1))).await;

    assert!(!app.accepts(&older.access).await);
    assert!(app.accepts(&newer.access).await);
    let trail = trail(&app).await;
    assert_eq!(
        newest(&trail, "session_ended"),
        &NewEvent {
            user_id: Some(user),
            username: some("user"),
            session_id: Some(sid(&older)),
            actor: some("jwtapp"),
            detail: some("past max_sessions_per_user = 1, at start"),
            ..event(&app, "session_ended")
        }
    );
    let own = phone
        .get(&app, "/api/auth/events", Some(&newer.access))
        .await
        .json();
    assert!(
        own.as_array()
            .expect("a list")
            .iter()
            .any(|e| e["kind"] == "session_ended"),
        "the user does not see their session end: {own}"
    );
}

#[rocket::async_test]
async fn ending_every_session_records_sessions_ended_all_with_how_many() {
    let app = TestApp::spawn().await;
    let (phone, laptop) = (Caller::new(20, CHROME), Caller::new(21, FIREFOX));
    phone.login(&app, "user", "user").await;
    let current = laptop.login(&app, "user", "user").await;

    let others = laptop
        .post(
            &app,
            "/api/auth/sessions/end-others",
            Some(&current.access),
            "{}",
        )
        .await;
    let all = laptop
        .post(
            &app,
            "/api/auth/sessions/end-all",
            Some(&current.access),
            "{}",
        )
        .await;

    assert_eq!(others.json()["ended"], 1, "{}", others.body);
    assert_eq!(all.json()["ended"], 1, "{}", all.body);
    let user = user_id(&app, "user").await;
    let ended: Vec<NewEvent> = all_of(&trail(&app).await, "sessions_ended_all")
        .into_iter()
        .cloned()
        .collect();
    let by_user = |detail: &str| NewEvent {
        user_id: Some(user),
        username: some("user"),
        session_id: Some(sid(&current)),
        address: some("192.0.2.21"),
        user_agent: some(FIREFOX),
        actor: some("user"),
        detail: some(detail),
        ..event(&app, "sessions_ended_all")
    };
    assert_eq!(
        ended,
        vec![
            by_user("every session: 1 ended"),
            by_user("every other session: 1 ended"),
        ]
    );
}

/// "End sessions" on the users page, and `jwtapp user end-sessions`: the trail names who.
#[rocket::async_test]
async fn an_administrators_end_sessions_names_the_administrator_or_the_command_line() {
    let app = TestApp::spawn().await;
    let phone = Caller::new(22, CHROME);
    phone.login(&app, "user", "user").await;
    phone.login(&app, "user", "user").await;
    let desk = Visitor::new(&app, Caller::new(23, FIREFOX));
    desk.sign_in("admin", "admin").await;

    desk.administer("user", "end-sessions").await;
    phone.login(&app, "user", "user").await;
    let before = system_now();
    cli(&app, &["user", "end-sessions", "user"], None);

    let user = Some(user_id(&app, "user").await);
    let trail = trail(&app).await;
    let ended = all_of(&trail, "sessions_ended_all");
    assert_eq!(ended.len(), 2, "{trail:?}");
    assert_eq!(
        recorded_since(before, ended[0]),
        NewEvent {
            at: 0,
            user_id: user,
            username: some("user"),
            actor: some("command line"),
            detail: some("1 session(s) ended"),
            ..event(&app, "sessions_ended_all")
        }
    );
    assert_eq!(
        ended[1],
        &NewEvent {
            user_id: user,
            username: some("user"),
            address: some("192.0.2.23"),
            user_agent: some(FIREFOX),
            actor: some("administrator admin"),
            detail: some("2 session(s) ended"),
            ..event(&app, "sessions_ended_all")
        }
    );
}

// ----- refresh_reuse_detected -----

#[rocket::async_test]
async fn a_spent_refresh_token_coming_back_records_refresh_reuse_detected() {
    let app = TestApp::spawn_with(|f| f.merge(("auth.api_refresh_rotation", true))).await;
    let (owner, thief) = (Caller::new(24, CHROME), Caller::new(25, FIREFOX));
    let tokens = owner.login(&app, "user", "user").await;
    let rotated = owner
        .post(&app, "/api/auth/refresh", Some(&tokens.refresh), "{}")
        .await;
    assert_eq!(rotated.status, Status::Ok, "{}", rotated.body);
    // Past refresh_grace_secs (10): the spent token is no parallel request any more.
    app.clock().advance(11);

    let reused = thief
        .post(&app, "/api/auth/refresh", Some(&tokens.refresh), "{}")
        .await;

    reused.assert_error(401);
    let trail = trail(&app).await;
    assert_eq!(
        newest(&trail, "refresh_reuse_detected"),
        &NewEvent {
            user_id: Some(user_id(&app, "user").await),
            username: some("user"),
            session_id: Some(sid(&tokens)),
            address: some("192.0.2.25"),
            user_agent: some(FIREFOX),
            actor: some("jwtapp"),
            detail: some(
                "a refresh token that had been exchanged already came back: the session and \
                 all its tokens were revoked"
            ),
            ..event(&app, "refresh_reuse_detected")
        }
    );
}

// ----- password_changed -----

#[rocket::async_test]
async fn a_password_change_records_password_changed_from_the_api_and_the_page() {
    let app = TestApp::spawn().await;
    let (phone, laptop) = (Caller::new(26, CHROME), Caller::new(27, FIREFOX));
    phone.login(&app, "user", "user").await;
    let current = laptop.login(&app, "user", "user").await;
    let browser = Visitor::new(&app, Caller::new(28, CHROME));
    browser.sign_in("user", "user").await;
    let page_session = browser.session_id();

    let api = laptop
        .post(
            &app,
            "/api/auth/password",
            Some(&current.access),
            &json!({"currentPassword": "user", "newPassword": "a new long password"}).to_string(),
        )
        .await;
    // The browser's session ended with the change: sign in again with the new password.
    browser.sign_in("user", "a new long password").await;
    let new_session = browser.session_id();
    let page = browser
        .submit(
            "/password",
            "/password",
            &[
                ("current_password", "a new long password"),
                ("new_password", "another long password"),
                ("repeat_password", "another long password"),
            ],
        )
        .await;

    assert_eq!(api.json()["ended"], 2, "{}", api.body);
    assert_eq!(page.status, Status::Ok, "{}", page.body);
    assert_ne!(page_session, new_session);
    let user = user_id(&app, "user").await;
    let changed: Vec<NewEvent> = all_of(&trail(&app).await, "password_changed")
        .into_iter()
        .cloned()
        .collect();
    assert_eq!(
        changed,
        vec![
            NewEvent {
                user_id: Some(user),
                username: some("user"),
                session_id: Some(new_session),
                address: some("192.0.2.28"),
                user_agent: some(CHROME),
                actor: some("user"),
                // The laptop's session, kept by the first change.
                detail: some("1 other session(s) ended"),
                ..event(&app, "password_changed")
            },
            NewEvent {
                user_id: Some(user),
                username: some("user"),
                session_id: Some(sid(&current)),
                address: some("192.0.2.27"),
                user_agent: some(FIREFOX),
                actor: some("user"),
                detail: some("2 other session(s) ended"),
                ..event(&app, "password_changed")
            },
        ]
    );
}

#[rocket::async_test]
async fn a_password_reset_from_the_command_line_records_password_changed() {
    let app = TestApp::spawn().await;
    Caller::new(29, CHROME).login(&app, "user", "user").await;
    let before = system_now();

    cli(
        &app,
        &["user", "passwd", "user"],
        Some("a password from the operator\n"),
    );

    let trail = trail(&app).await;
    assert_eq!(
        recorded_since(before, newest(&trail, "password_changed")),
        NewEvent {
            at: 0,
            user_id: Some(user_id(&app, "user").await),
            username: some("user"),
            actor: some("command line"),
            detail: some("reset; 1 session(s) ended"),
            ..event(&app, "password_changed")
        }
    );
}

// ----- user_created, user_renamed, user_deleted -----

#[rocket::async_test]
async fn accounts_created_by_the_command_line_and_the_debug_profile_record_user_created() {
    let app = TestApp::spawn().await;
    let started = event(&app, "user_created");
    let before = system_now();

    cli(&app, &["user", "add", "alice"], Some("alices-password\n"));
    cli(
        &app,
        &["user", "add", "root", "--admin"],
        Some("roots-password\n"),
    );

    let trail = trail(&app).await;
    let created = all_of(&trail, "user_created");
    assert_eq!(created.len(), 4, "{trail:?}");
    let by_cli = |name: &str, id: i64, role: &str| NewEvent {
        at: 0,
        user_id: Some(id),
        username: some(name),
        actor: some("command line"),
        detail: some(role),
        ..started.clone()
    };
    assert_eq!(
        recorded_since(before, created[0]),
        by_cli("root", user_id(&app, "root").await, "an administrator")
    );
    assert_eq!(
        recorded_since(before, created[1]),
        by_cli("alice", user_id(&app, "alice").await, "a user")
    );
    // The demo accounts of the debug profile, made by jwtapp itself at the start.
    for (event, name) in created[2..].iter().zip(["user", "admin"]) {
        assert_eq!(
            *event,
            &NewEvent {
                user_id: Some(user_id(&app, name).await),
                username: some(name),
                actor: some("jwtapp"),
                detail: some("a demo account (debug profile)"),
                ..started.clone()
            }
        );
    }
}

#[rocket::async_test]
async fn a_rename_records_user_renamed_under_the_new_name_with_the_old_one() {
    let app = TestApp::spawn().await;
    cli(&app, &["user", "add", "alice"], Some("alices-password\n"));
    Caller::new(30, CHROME)
        .login(&app, "alice", "alices-password")
        .await;
    let id = user_id(&app, "alice").await;
    let before = system_now();

    cli(&app, &["user", "rename", "alice", "alicia"], None);

    let trail = trail(&app).await;
    assert_eq!(
        recorded_since(before, newest(&trail, "user_renamed")),
        NewEvent {
            at: 0,
            user_id: Some(id),
            username: some("alicia"),
            actor: some("command line"),
            detail: some("from \"alice\"; 1 session(s) ended"),
            ..event(&app, "user_renamed")
        }
    );
}

#[rocket::async_test]
async fn a_deletion_records_user_deleted_with_the_sessions_it_ended() {
    let app = TestApp::spawn().await;
    cli(&app, &["user", "add", "alice"], Some("alices-password\n"));
    let id = user_id(&app, "alice").await;
    Caller::new(31, CHROME)
        .login(&app, "alice", "alices-password")
        .await;
    let before = system_now();

    cli(&app, &["user", "delete", "alice"], None);

    let trail = trail(&app).await;
    assert_eq!(
        recorded_since(before, newest(&trail, "user_deleted")),
        NewEvent {
            at: 0,
            user_id: Some(id),
            username: some("alice"),
            actor: some("command line"),
            detail: some("1 session(s) ended"),
            ..event(&app, "user_deleted")
        }
    );
}

// ----- user_disabled, user_enabled, admin_granted, admin_removed -----

/// What an administrator does on the users page is recorded against the user changed, from the
/// administrator's client, naming the administrator.
#[rocket::async_test]
async fn the_users_page_records_who_disabled_enabled_promoted_and_demoted_a_user() {
    let app = TestApp::spawn().await;
    Caller::new(32, CHROME).login(&app, "user", "user").await;
    let desk = Visitor::new(&app, Caller::new(33, FIREFOX));
    desk.sign_in("admin", "admin").await;

    for action in ["disable", "enable", "grant-admin", "remove-admin"] {
        desk.administer("user", action).await;
    }

    let user = Some(user_id(&app, "user").await);
    let by_admin = |kind: &str, detail: Option<String>| NewEvent {
        user_id: user,
        username: some("user"),
        address: some("192.0.2.33"),
        user_agent: some(FIREFOX),
        actor: some("administrator admin"),
        detail,
        ..event(&app, kind)
    };
    let changes: Vec<NewEvent> = trail(&app).await.into_iter().take(4).collect();
    assert_eq!(
        changes,
        vec![
            by_admin("admin_removed", None),
            by_admin("admin_granted", None),
            by_admin("user_enabled", None),
            by_admin("user_disabled", some("1 session(s) ended")),
        ]
    );
}

#[rocket::async_test]
async fn the_command_line_records_the_same_changes_naming_the_command_line() {
    let app = TestApp::spawn().await;
    let user = Some(user_id(&app, "user").await);
    let before = system_now();

    for action in ["disable", "enable", "grant-admin", "remove-admin"] {
        cli(&app, &["user", action, "user"], None);
    }

    let by_cli = |kind: &str| NewEvent {
        at: 0,
        user_id: user,
        username: some("user"),
        actor: some("command line"),
        ..event(&app, kind)
    };
    let changes: Vec<NewEvent> = trail(&app)
        .await
        .iter()
        .take(4)
        .map(|e| recorded_since(before, e))
        .collect();
    assert_eq!(
        changes,
        vec![
            by_cli("admin_removed"),
            by_cli("admin_granted"),
            by_cli("user_enabled"),
            // No session to end: no detail.
            by_cli("user_disabled"),
        ]
    );
}
