//! Login throttling: per username and address, per address, the same for unknown usernames,
//! on the page and the API alike.

use rocket::http::{ContentType, Header, Status};
use serde_json::json;

use crate::support::{
    Browser, Reply, SECRET, TestApp, address, csrf_field, form_encode, sleep_until_second,
};

#[track_caller]
fn assert_throttled(reply: &Reply) -> u64 {
    reply.assert_error(429);
    let retry_after: u64 = reply
        .header("Retry-After")
        .expect("Retry-After")
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=300).contains(&retry_after), "{retry_after}");
    retry_after
}

#[rocket::async_test]
async fn five_failures_throttle_that_username_from_that_address_even_with_the_right_password() {
    let app = TestApp::spawn().await;
    let home = address(1);
    for _ in 0..5 {
        app.login_from(home, "user", "wrong")
            .await
            .assert_error(401);
    }
    let retry_after = assert_throttled(&app.login_from(home, "user", "wrong").await);
    // Past the limit the password is not even checked: the right one gets 429 too.
    assert_throttled(&app.login_from(home, "user", "user").await);
    assert_eq!(retry_after, 300, "the window is 300 s");
    // Retry-After counts down with the clock; the attempt works once the window has passed.
    app.clock().advance(299);
    assert_eq!(
        assert_throttled(&app.login_from(home, "user", "user").await),
        1
    );
    app.clock().advance(1);
    let later = app.login_from(home, "user", "user").await;
    assert_eq!(later.status, Status::Ok, "{}", later.body);
    // Nobody can lock the user out from elsewhere, and other users are unaffected.
    let elsewhere = app.login_from(address(2), "user", "user").await;
    assert_eq!(elsewhere.status, Status::Ok, "{}", elsewhere.body);
    let other_user = app.login_from(home, "admin", "admin").await;
    assert_eq!(other_user.status, Status::Ok, "{}", other_user.body);
}

#[rocket::async_test]
async fn an_unknown_username_is_throttled_exactly_like_a_known_one() {
    let app = TestApp::spawn().await;
    let from = address(3);
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..7 {
        known.push(app.login_from(from, "user", "wrong").await);
        unknown.push(app.login_from(from, "nobody-here", "wrong").await);
    }
    let outline = |replies: &[Reply]| -> Vec<(u16, Option<String>, String)> {
        replies
            .iter()
            .map(|r| {
                (
                    r.status.code,
                    r.header("Retry-After").map(|_| "set".to_owned()),
                    r.json()["description"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(outline(&known), outline(&unknown));
    assert_eq!(known[4].status, Status::Unauthorized);
    assert_eq!(known[5].status, Status::TooManyRequests);
}

#[rocket::async_test]
async fn one_address_hits_the_ceiling_across_usernames() {
    let app = TestApp::spawn_with(|f| f.merge(("auth.login_address_ceiling", 8))).await;
    let from = address(4);
    for i in 0..8 {
        let name = format!("guess{i}");
        app.login_from(from, &name, "wrong").await.assert_error(401);
    }
    assert_throttled(&app.login_from(from, "guess-next", "wrong").await);
    assert_throttled(&app.login_from(from, "user", "user").await);
    let other = app.login_from(address(5), "user", "user").await;
    assert_eq!(other.status, Status::Ok);
}

#[rocket::async_test]
async fn successful_logins_below_the_limits_are_not_slowed_or_counted() {
    let app = TestApp::spawn_with(|f| f.merge(("auth.login_address_ceiling", 5))).await;
    let from = address(6);
    for _ in 0..4 {
        app.login_from(from, "user", "wrong")
            .await
            .assert_error(401);
    }
    // Twenty successes from the same address: none throttled, none counted.
    for _ in 0..20 {
        let reply = app.login_from(from, "user", "user").await;
        assert_eq!(reply.status, Status::Ok, "{}", reply.body);
        assert!(reply.header("Retry-After").is_none());
    }
}

#[rocket::async_test]
async fn throttled_answers_do_not_count_as_failures() {
    let app = TestApp::spawn_with(|f| f.merge(("auth.login_failures_per_window", 2))).await;
    let from = address(7);
    for _ in 0..2 {
        app.login_from(from, "user", "wrong")
            .await
            .assert_error(401);
    }
    for _ in 0..10 {
        app.clock().advance(10);
        assert_throttled(&app.login_from(from, "user", "wrong").await);
    }
    // The two failures leave the 300 s window; had the ten 429s counted, it would still be full.
    app.clock().advance(200);
    let reply = app.login_from(from, "user", "user").await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
}

/// The one real-time test of the throttling window: on the system clock, failures leave a
/// one-second window once their second is over.
#[rocket::async_test]
async fn the_window_runs_by_the_system_clock() {
    let app = TestApp::spawn_on_system_clock(|f| {
        f.merge(("auth.login_window_secs", 1))
            .merge(("auth.login_failures_per_window", 2))
    })
    .await;
    let from = address(10);
    for _ in 0..2 {
        app.login_from(from, "user", "wrong")
            .await
            .assert_error(401);
    }
    let throttled = app.login_from(from, "user", "user").await;
    let failed_by = app.now();
    assert_throttled(&throttled);

    sleep_until_second(failed_by + 1).await;

    let reply = app.login_from(from, "user", "user").await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
}

#[rocket::async_test]
async fn the_login_page_is_throttled_too_and_says_when_to_come_back() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    let page = browser.get("/login").await;
    let token = csrf_field(&page.body);
    let mut last = None;
    for _ in 0..6 {
        let request = app
            .client
            .post("/login")
            .header(ContentType::Form)
            .remote(address(8))
            .body(form_encode(&[
                ("username", "user"),
                ("password", "wrong"),
                ("csrf_token", &token),
            ]));
        last = Some(browser.send(request).await);
    }
    let last = last.unwrap();
    assert_eq!(last.status, Status::TooManyRequests, "{}", last.body);
    assert!(last.header("Retry-After").is_some());
    assert!(
        last.header("Content-Type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        last.body.contains("Too many failed attempts"),
        "{}",
        last.body
    );
    assert!(last.body.contains("<form"), "the form is still there");
    // The API from the same address is under the same limit.
    assert_throttled(&app.login_from(address(8), "user", "wrong").await);
    // From another address the page signs in.
    browser.sign_in("user", "user").await;
}

#[rocket::async_test]
async fn without_rocket_toml_a_client_cannot_pick_its_address_with_x_real_ip() {
    // Rocket's own default trusts X-Real-IP; jwtapp's default is the socket's peer, also when
    // no Rocket.toml is found (a deployment with only ROCKET_* variables).
    let dir = tempfile::tempdir().expect("temp dir");
    let figment = rocket::figment::Figment::from(rocket::Config::default())
        .merge(("log_level", "off"))
        .merge(("auth.secret", SECRET))
        .merge(("auth.database", dir.path().join("db.sqlite3")))
        .merge(("auth.demo_users", true))
        .merge(("auth.argon2_memory_kib", 1024))
        .merge(("auth.argon2_iterations", 1))
        .select("debug");
    let client = rocket::local::asynchronous::Client::untracked(jwtapp::rocket(figment))
        .await
        .expect("start");
    let config = client.rocket().config();
    assert_eq!(config.ip_header, None);
    // jwtapp's other defaults hold without Rocket.toml too.
    assert_eq!(config.ident.as_str(), Some("jwtapp"));
    assert_eq!(
        config.limits.get("json"),
        Some(rocket::data::ToByteUnit::kibibytes(64))
    );
    let mut statuses = Vec::new();
    for i in 0..7 {
        let request = client
            .post("/api/auth/login")
            .header(ContentType::JSON)
            .header(Header::new("X-Real-IP", format!("203.0.113.{i}")))
            .remote(address(9))
            .body(json!({"username": "user", "password": "wrong"}).to_string());
        statuses.push(request.dispatch().await.status().code);
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429]);
    // An operator who names a header gets it.
    let figment = rocket::figment::Figment::from(rocket::Config::default())
        .merge(("ip_header", "X-Real-IP"))
        .merge(("log_level", "off"))
        .merge(("auth.secret", SECRET))
        .merge(("auth.database", dir.path().join("db2.sqlite3")))
        .select("debug");
    let client = rocket::local::asynchronous::Client::untracked(jwtapp::rocket(figment))
        .await
        .expect("start");
    let header = client.rocket().config().ip_header.clone();
    assert_eq!(header.as_deref().map(|h| h.as_str()), Some("X-Real-IP"));
}
