//! `GET /api/auth/events` (a user's own events) and `GET /api/admin/events` (everyone's,
//! filtered), as the API table documents them.

use jwtapp::store::{NewEvent, SqliteStore, Store};
use rocket::http::Status;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{CHROME, CHROME_DEVICE, Caller, FIREFOX, FIREFOX_DEVICE, cli, kinds, user_id};
use crate::support::{Reply, TestApp};

/// The items of a 200 answer.
#[track_caller]
fn items(reply: &Reply) -> Vec<Value> {
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    reply.json().as_array().expect("a JSON array").clone()
}

async fn own(app: &TestApp, access: &str, query: &str) -> Vec<Value> {
    items(
        &app.get(&format!("/api/auth/events{query}"), Some(access))
            .await,
    )
}

async fn everyone(app: &TestApp, admin: &str, query: &str) -> Vec<Value> {
    items(
        &app.get(&format!("/api/admin/events{query}"), Some(admin))
            .await,
    )
}

fn usernames(items: &[Value]) -> Vec<&str> {
    let mut names: Vec<&str> = items
        .iter()
        .map(|item| item["username"].as_str().expect("username"))
        .collect();
    names.sort();
    names.dedup();
    names
}

#[track_caller]
fn assert_newest_first(items: &[Value]) {
    let ids: Vec<i64> = items
        .iter()
        .map(|i| i["id"].as_i64().expect("id"))
        .collect();
    assert!(
        ids.windows(2).all(|pair| pair[0] > pair[1]),
        "not newest first: {ids:?}"
    );
}

// ----- GET /api/auth/events -----

#[rocket::async_test]
async fn a_user_reads_their_own_events_newest_first_and_nobody_elses() {
    let app = TestApp::spawn().await;
    let (phone, laptop) = (Caller::new(40, CHROME), Caller::new(41, FIREFOX));
    phone.login(&app, "user", "user").await;
    app.clock().advance(5);
    laptop
        .try_login(&app, "user", "a-guess")
        .await
        .assert_error(401);
    app.clock().advance(5);
    let tokens = laptop.login(&app, "user", "user").await;
    // Someone else's events, in between and after.
    let admin = phone.login(&app, "admin", "admin").await;
    phone
        .try_login(&app, "admin", "a-guess")
        .await
        .assert_error(401);
    phone
        .try_login(&app, "nobody", "a-guess")
        .await
        .assert_error(401);

    let events = own(&app, &tokens.access, "").await;

    assert_eq!(
        kinds(&events),
        [
            "login_succeeded",
            "login_failed",
            "login_succeeded",
            "user_created"
        ]
    );
    assert_eq!(usernames(&events), ["user"]);
    assert_newest_first(&events);
    assert_eq!(
        [
            &events[0]["address"],
            &events[1]["address"],
            &events[2]["address"]
        ],
        ["192.0.2.41", "192.0.2.41", "192.0.2.40"]
    );
    // The administrator's own list is theirs alone, too.
    let theirs = own(&app, &admin.access, "").await;
    assert_eq!(usernames(&theirs), ["admin"]);
    assert_eq!(
        kinds(&theirs),
        ["login_failed", "login_succeeded", "user_created"]
    );
}

/// That is how a user notices a guessing attack: the failures against their account, from the
/// guesser's address and browser, are on their own list.
#[rocket::async_test]
async fn failed_logins_against_an_account_are_shown_to_its_user() {
    let app = TestApp::spawn().await;
    let guesser = Caller::new(42, FIREFOX);
    for guess in ["123456", "password"] {
        guesser
            .try_login(&app, "user", guess)
            .await
            .assert_error(401);
    }
    let tokens = Caller::new(43, CHROME).login(&app, "user", "user").await;

    let events = own(&app, &tokens.access, "").await;

    let failures: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "login_failed")
        .collect();
    assert_eq!(failures.len(), 2, "{events:?}");
    for failure in failures {
        assert_eq!(failure["address"], "192.0.2.42");
        assert_eq!(failure["device"], FIREFOX_DEVICE);
        assert_eq!(failure["detail"], "wrong password");
        assert_eq!(failure["actor"], Value::Null);
    }
}

#[rocket::async_test]
async fn an_event_is_exactly_the_documented_json_item() {
    let app = TestApp::spawn().await;
    let tokens = Caller::new(44, CHROME).login(&app, "user", "user").await;

    let events = own(&app, &tokens.access, "").await;

    let item = events[0].as_object().expect("an object");
    let keys: Vec<&str> = item.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "id",
            "time",
            "kind",
            "username",
            "address",
            "userAgent",
            "device",
            "actor",
            "detail"
        ]
    );
    assert!(item["id"].as_i64().is_some_and(|id| id > 0), "{item:?}");
    let time = item["time"].as_str().expect("time");
    let parsed = OffsetDateTime::parse(time, &Rfc3339)
        .unwrap_or_else(|e| panic!("time {time:?} is not RFC 3339: {e}"));
    assert_eq!(parsed.unix_timestamp(), app.now() as i64, "{time}");
    assert!(time.ends_with('Z'), "UTC: {time}");
    let mut rest = events[0].clone();
    rest.as_object_mut().expect("object").remove("id");
    rest.as_object_mut().expect("object").remove("time");
    assert_eq!(
        rest,
        json!({
            "kind": "login_succeeded",
            "username": "user",
            "address": "192.0.2.44",
            "userAgent": CHROME,
            "device": CHROME_DEVICE,
            "actor": "user",
            "detail": null,
        })
    );
    // An event without a client: nulls, not missing keys.
    let created = events.last().expect("user_created");
    assert_eq!(created["kind"], "user_created");
    assert_eq!(created["address"], Value::Null);
    assert_eq!(created["userAgent"], Value::Null);
    assert_eq!(created["device"], Value::Null);
    assert_eq!(created["actor"], "jwtapp");
}

/// 600 events of the user, numbered in their detail, written straight to the trail.
async fn six_hundred_events(app: &TestApp) {
    let user = user_id(app, "user").await;
    let events = (0..600)
        .map(|n| NewEvent {
            at: app.now() as i64,
            kind: "login_failed".into(),
            user_id: Some(user),
            username: Some("user".into()),
            detail: Some(n.to_string()),
            ..NewEvent::default()
        })
        .collect();
    SqliteStore::open(&app.database())
        .expect("open")
        .record_events(events)
        .await
        .expect("record");
}

fn details(items: &[Value]) -> Vec<u32> {
    items
        .iter()
        .filter_map(|i| i["detail"].as_str()?.parse().ok())
        .collect()
}

#[rocket::async_test]
async fn the_limit_defaults_to_50_and_more_than_500_gets_500() {
    let app = TestApp::spawn().await;
    six_hundred_events(&app).await;
    let user = app.login("user", "user").await;
    let admin = app.login("admin", "admin").await;

    for (path, token) in [
        ("/api/auth/events", &user.access),
        ("/api/admin/events", &admin.access),
    ] {
        let get = async |query: &str| items(&app.get(&format!("{path}{query}"), Some(token)).await);
        let default = get("").await;
        assert_eq!(default.len(), 50, "{path}");
        assert_newest_first(&default);
        let three = get("?limit=3").await;
        assert_eq!(three, default[..3], "{path}: the newest three");
        assert_eq!(get("?limit=007").await.len(), 7, "{path}");
        assert_eq!(get("?limit=500").await.len(), 500, "{path}");
        assert_eq!(get("?limit=501").await.len(), 500, "{path}");
        let most = get("?limit=99999999999999999999999").await;
        assert_eq!(most.len(), 500, "{path}");
        // The newest 500 of the 600 (a login or two came after them).
        let numbered = details(&most);
        assert_eq!(numbered.first(), Some(&599), "{path}");
        assert!(
            numbered.windows(2).all(|w| w[0] == w[1] + 1),
            "{path}: {numbered:?}"
        );
    }
}

#[rocket::async_test]
async fn a_limit_of_zero_or_not_a_whole_number_is_400() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let admin = app.login("admin", "admin").await;

    for (path, token) in [
        ("/api/auth/events", &user.access),
        ("/api/admin/events", &admin.access),
    ] {
        for bad in [
            "0", "00", "-1", "abc", "", "1.5", "+5", "%205", "5%20", "0x10",
        ] {
            let reply = app.get(&format!("{path}?limit={bad}"), Some(token)).await;
            reply.assert_error(400);
            assert_eq!(
                reply.json()["description"],
                "limit must be a whole number from 1 to 500",
                "{path}?limit={bad}"
            );
        }
    }
}

#[rocket::async_test]
async fn reading_events_needs_an_access_token() {
    let app = TestApp::spawn().await;
    let tokens = app.login("user", "user").await;

    for path in ["/api/auth/events", "/api/admin/events"] {
        app.get(path, None).await.assert_error(401);
        app.get(path, Some(&tokens.refresh)).await.assert_error(401);
        app.get(path, Some("not-a-token")).await.assert_error(401);
    }
}

// ----- GET /api/admin/events -----

#[rocket::async_test]
async fn everyones_events_are_for_administrators_only() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;

    let refused = app.get("/api/admin/events", Some(&user.access)).await;

    refused.assert_error(403);
}

#[rocket::async_test]
async fn administrators_filter_every_users_events_by_user_kind_and_limit() {
    let app = TestApp::spawn().await;
    let (phone, guesser) = (Caller::new(45, CHROME), Caller::new(46, FIREFOX));
    phone.login(&app, "user", "user").await;
    guesser
        .try_login(&app, "user", "a-guess")
        .await
        .assert_error(401);
    guesser
        .try_login(&app, "nobody", "a-guess")
        .await
        .assert_error(401);
    let admin = phone.login(&app, "admin", "admin").await.access;

    let all = everyone(&app, &admin, "").await;
    let of_user = everyone(&app, &admin, "?user=user").await;
    let failures = everyone(&app, &admin, "?kind=login_failed").await;
    let both = everyone(&app, &admin, "?user=user&kind=login_failed").await;
    let typed = everyone(&app, &admin, "?user=nobody").await;
    let newest = everyone(&app, &admin, "?limit=1").await;
    let no_filter = everyone(&app, &admin, "?user=&kind=login_failed").await;

    assert_eq!(usernames(&all), ["admin", "nobody", "user"]);
    assert_newest_first(&all);
    assert_eq!(
        kinds(&of_user),
        ["login_failed", "login_succeeded", "user_created"]
    );
    assert_eq!(usernames(&of_user), ["user"]);
    assert_eq!(kinds(&failures), ["login_failed", "login_failed"]);
    assert_eq!(usernames(&failures), ["nobody", "user"]);
    assert_eq!(both.len(), 1, "{both:?}");
    assert_eq!(both[0]["address"], "192.0.2.46");
    assert_eq!(both[0]["detail"], "wrong password");
    assert_eq!(kinds(&typed), ["login_failed"]);
    assert_eq!(typed[0]["detail"], "unknown user");
    assert_eq!(newest, all[..1]);
    assert_eq!(no_filter, failures, "an empty user is no filter");
}

/// "Who disabled bob" is `?user=bob&kind=user_disabled`, and the answer's actor names them.
#[rocket::async_test]
async fn who_disabled_a_user_is_one_query() {
    let app = TestApp::spawn().await;
    let desk = super::Visitor::new(&app, Caller::new(47, CHROME));
    desk.sign_in("admin", "admin").await;
    desk.administer("user", "disable").await;
    let admin = app.login("admin", "admin").await.access;

    let answer = everyone(&app, &admin, "?user=user&kind=user_disabled").await;

    assert_eq!(answer.len(), 1, "{answer:?}");
    assert_eq!(answer[0]["actor"], "administrator admin");
    assert_eq!(answer[0]["address"], "192.0.2.47");
    assert_eq!(answer[0]["device"], CHROME_DEVICE);
}

#[rocket::async_test]
async fn the_user_filter_finds_an_accounts_events_under_its_former_name() {
    let app = TestApp::spawn().await;
    app.login("user", "user").await;
    app.try_login("user", "a-guess").await.assert_error(401);
    cli(&app, &["user", "rename", "user", "usher"], None);
    let admin = app.login("admin", "admin").await.access;

    let events = everyone(&app, &admin, "?user=usher").await;

    assert_eq!(
        kinds(&events),
        [
            "user_renamed",
            "login_failed",
            "login_succeeded",
            "user_created"
        ]
    );
    assert_eq!(events[0]["username"], "usher");
    assert_eq!(usernames(&events[1..]), ["user"]);
}

#[rocket::async_test]
async fn the_user_filter_finds_a_deleted_accounts_events_by_its_name() {
    let app = TestApp::spawn().await;
    cli(&app, &["user", "add", "carol"], Some("carols-password\n"));
    app.login("carol", "carols-password").await;
    cli(&app, &["user", "delete", "carol"], None);
    let admin = app.login("admin", "admin").await.access;

    let events = everyone(&app, &admin, "?user=carol").await;

    assert_eq!(
        kinds(&events),
        ["user_deleted", "login_succeeded", "user_created"]
    );
}

/// The account's own list is the account's: a new account of a deleted one's name does not see
/// what happened to the old one.
#[rocket::async_test]
async fn a_new_account_does_not_see_the_events_of_a_deleted_one_of_its_name() {
    let app = TestApp::spawn().await;
    cli(&app, &["user", "add", "carol"], Some("carols-password\n"));
    Caller::new(48, CHROME)
        .login(&app, "carol", "carols-password")
        .await;
    cli(&app, &["user", "delete", "carol"], None);
    cli(&app, &["user", "add", "carol"], Some("another-password\n"));

    let tokens = Caller::new(49, FIREFOX)
        .login(&app, "carol", "another-password")
        .await;
    let events = own(&app, &tokens.access, "").await;

    assert_eq!(kinds(&events), ["login_succeeded", "user_created"]);
    assert_eq!(events[0]["address"], "192.0.2.49");
}

#[rocket::async_test]
async fn an_unknown_kind_or_a_name_too_long_is_400() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin", "admin").await.access;

    let unknown = app.get("/api/admin/events?kind=login", Some(&admin)).await;
    let long = app
        .get(
            &format!("/api/admin/events?user={}", "u".repeat(257)),
            Some(&admin),
        )
        .await;

    unknown.assert_error(400);
    let description = unknown.json()["description"]
        .as_str()
        .expect("description")
        .to_owned();
    assert!(
        description.starts_with("kind must be one of "),
        "{description}"
    );
    for kind in ISSUE_KINDS {
        assert!(
            description.contains(kind),
            "{kind} not listed: {description}"
        );
    }
    long.assert_error(400);
}

/// The kinds issue 13 names (later features add more).
pub const ISSUE_KINDS: [&str; 15] = [
    "login_succeeded",
    "login_failed",
    "login_throttled",
    "logout",
    "session_ended",
    "sessions_ended_all",
    "refresh_reuse_detected",
    "password_changed",
    "user_created",
    "user_renamed",
    "user_disabled",
    "user_enabled",
    "user_deleted",
    "admin_granted",
    "admin_removed",
];
