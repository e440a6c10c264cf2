//! Refresh-token rotation with reuse detection, family lifetimes, and the cookie flow.

use std::sync::Arc;

use rocket::http::{Cookie, Header, Status};
use serde_json::Value;

use crate::support::{Browser, Reply, TestApp, Tokens, claims_of, sleep_until_second};

/// An app whose API rotates refresh tokens, with the given grace window.
async fn rotating_app(grace: u64) -> TestApp {
    TestApp::spawn_with(|f| {
        f.merge(("auth.api_refresh_rotation", true))
            .merge(("auth.refresh_grace_secs", grace))
    })
    .await
}

async fn refresh(app: &TestApp, token: &str) -> Reply {
    app.refresh(token).await
}

/// Refreshes and returns the new pair, asserting success.
async fn rotate(app: &TestApp, token: &str) -> Tokens {
    let reply = refresh(app, token).await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    let body = reply.json();
    Tokens {
        access: body["accessToken"]
            .as_str()
            .expect("accessToken")
            .to_owned(),
        refresh: body["refreshToken"]
            .as_str()
            .expect("refreshToken when rotating")
            .to_owned(),
    }
}

#[track_caller]
fn assert_same_login(a: &str, b: &str) {
    assert_eq!(claims_of(a)["sid"], claims_of(b)["sid"]);
}

#[rocket::async_test]
async fn without_api_rotation_the_refresh_answer_is_the_original_shape() {
    let app = TestApp::spawn().await;
    let tokens = app.login("user", "user").await;
    for _ in 0..3 {
        let reply = refresh(&app, &tokens.refresh).await;
        assert_eq!(reply.status, Status::Ok, "{}", reply.body);
        let body = reply.json();
        let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["accessToken"], "the Angular client's shape");
        assert!(app.accepts(body["accessToken"].as_str().unwrap()).await);
    }
}

#[rocket::async_test]
async fn a_refresh_rotates_the_token_and_the_parent_is_used_up() {
    let app = rotating_app(0).await;
    let login = app.login("user", "user").await;
    let next = rotate(&app, &login.refresh).await;

    let (parent, child) = (claims_of(&login.refresh), claims_of(&next.refresh));
    assert_ne!(parent["jti"], child["jti"], "a new refresh token");
    assert_eq!(parent["sid"], child["sid"], "of the same family");
    assert_eq!(
        parent["exp"], child["exp"],
        "rotation never extends the family"
    );
    assert_eq!(child["typ"], "refresh");
    assert!(app.accepts(&next.access).await);

    // The successor rotates in turn; the parent is spent.
    let third = rotate(&app, &next.refresh).await;
    assert!(app.accepts(&third.access).await);
}

#[rocket::async_test]
async fn reuse_after_the_grace_window_revokes_the_whole_family() {
    let app = rotating_app(10).await;
    let login = app.login("user", "user").await;
    let other = app.login("user", "user").await;
    let next = rotate(&app, &login.refresh).await;

    // To the last second of the window, the parent gets the same successor back.
    app.clock().advance(9);
    assert_eq!(rotate(&app, &login.refresh).await.refresh, next.refresh);

    // A second later the spent parent is a copy: theft.
    app.clock().advance(1);
    let reply = refresh(&app, &login.refresh).await;
    reply.assert_error(401);
    assert!(
        reply.json()["description"]
            .as_str()
            .unwrap()
            .contains("already used")
    );

    // Every token of that login is dead at once: the original access token, the successor's
    // access token and the successor refresh token itself.
    for access in [&login.access, &next.access] {
        app.get("/api/user-sample", Some(access))
            .await
            .assert_error(401);
    }
    refresh(&app, &next.refresh).await.assert_error(401);
    // Another login of the same user is not touched.
    assert!(app.accepts(&other.access).await);
    let fresh = rotate(&app, &other.refresh).await;
    assert!(app.accepts(&fresh.access).await);
}

/// The one real-time test of the grace window: on the system clock, a one-second window is
/// over once the second of the rotation is.
#[rocket::async_test]
async fn the_grace_window_runs_by_the_system_clock() {
    let app = TestApp::spawn_on_system_clock(|f| {
        f.merge(("auth.api_refresh_rotation", true))
            .merge(("auth.refresh_grace_secs", 1))
    })
    .await;
    let login = app.login("user", "user").await;
    let next = rotate(&app, &login.refresh).await;
    let rotated_at = claims_of(&next.refresh)["iat"].as_u64().unwrap();

    sleep_until_second(rotated_at + 1).await;

    let reply = refresh(&app, &login.refresh).await;
    reply.assert_error(401);
    assert!(reply.body.contains("already used"), "{}", reply.body);
    refresh(&app, &next.refresh).await.assert_error(401);
}

#[rocket::async_test]
async fn with_no_grace_window_the_parent_is_reuse_at_once() {
    let app = rotating_app(0).await;
    let login = app.login("user", "user").await;
    let next = rotate(&app, &login.refresh).await;
    refresh(&app, &login.refresh).await.assert_error(401);
    app.get("/api/user-sample", Some(&next.access))
        .await
        .assert_error(401);
    assert!(app.accepts(&app.login("user", "user").await.access).await);
}

#[rocket::async_test]
async fn inside_the_window_the_parent_gets_the_same_successor() {
    let app = rotating_app(10).await;
    let login = app.login("user", "user").await;
    let next = rotate(&app, &login.refresh).await;
    let again = rotate(&app, &login.refresh).await;
    assert_eq!(
        again.refresh, next.refresh,
        "the same successor, not a third token"
    );
    assert_same_login(&again.access, &next.access);
    assert!(app.accepts(&again.access).await);
    assert!(app.accepts(&next.access).await);
    // The family goes on from that successor.
    let third = rotate(&app, &next.refresh).await;
    assert!(app.accepts(&third.access).await);
}

#[rocket::async_test]
async fn twenty_concurrent_refreshes_of_one_token_all_succeed_with_one_successor() {
    let app = Arc::new(rotating_app(10).await);
    let login = app.login("user", "user").await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (app, token) = (Arc::clone(&app), login.refresh.clone());
            rocket::tokio::spawn(async move { refresh(&app, &token).await })
        })
        .collect();
    let mut successors = std::collections::BTreeSet::new();
    let mut accesses = Vec::new();
    for task in tasks {
        let reply = task.await.expect("task");
        assert_eq!(reply.status, Status::Ok, "{}", reply.body);
        let body = reply.json();
        successors.insert(body["refreshToken"].as_str().unwrap().to_owned());
        accesses.push(body["accessToken"].as_str().unwrap().to_owned());
    }
    assert_eq!(successors.len(), 1, "exactly one successor: {successors:?}");
    for access in &accesses {
        assert!(app.accepts(access).await, "every access token is valid");
    }
    let successor = successors.into_iter().next().unwrap();
    assert_ne!(
        claims_of(&successor)["jti"],
        claims_of(&login.refresh)["jti"]
    );
    assert!(app.accepts(&rotate(&app, &successor).await.access).await);
}

#[rocket::async_test]
async fn a_grandparent_inside_the_window_is_reuse() {
    let app = rotating_app(30).await;
    let login = app.login("user", "user").await;
    let child = rotate(&app, &login.refresh).await;
    let grandchild = rotate(&app, &child.refresh).await;
    refresh(&app, &login.refresh).await.assert_error(401);
    app.get("/api/user-sample", Some(&grandchild.access))
        .await
        .assert_error(401);
    refresh(&app, &grandchild.refresh).await.assert_error(401);
    assert!(app.accepts(&app.login("user", "user").await.access).await);
}

#[rocket::async_test]
async fn a_family_ends_at_its_absolute_lifetime_however_often_it_rotates() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("auth.api_refresh_rotation", true))
            .merge(("auth.refresh_ttl_secs", 3600))
            .merge(("auth.leeway_secs", 0))
    })
    .await;
    let login = app.login("user", "user").await;
    let end = claims_of(&login.refresh)["exp"].as_u64().unwrap();
    assert_eq!(end, app.now() + 3600);
    let mut current = login.refresh.clone();
    while app.now() + 800 < end {
        app.clock().advance(800);
        let next = rotate(&app, &current).await;
        assert_eq!(claims_of(&next.refresh)["exp"].as_u64().unwrap(), end);
        assert!(claims_of(&next.access)["exp"].as_u64().unwrap() <= end);
        current = next.refresh;
    }
    // In the last second the family still rotates, and its access token ends with it.
    app.clock().set(end - 1);
    let last = rotate(&app, &current).await;
    assert_eq!(claims_of(&last.access)["exp"].as_u64().unwrap(), end);
    app.clock().advance(1);
    refresh(&app, &last.refresh).await.assert_error(401);
    assert!(app.accepts(&app.login("user", "user").await.access).await);
}

/// The one real-time test of the absolute lifetime: on the system clock, a login of one second
/// cannot be refreshed once that second is over.
#[rocket::async_test]
async fn the_absolute_lifetime_runs_by_the_system_clock() {
    let app = TestApp::spawn_on_system_clock(|f| {
        f.merge(("auth.access_ttl_secs", 1))
            .merge(("auth.refresh_ttl_secs", 1))
    })
    .await;
    let login = app.login("user", "user").await;
    let end = claims_of(&login.refresh)["exp"].as_u64().unwrap();

    sleep_until_second(end).await;

    refresh(&app, &login.refresh).await.assert_error(401);
}

#[rocket::async_test]
async fn a_family_not_used_for_the_idle_timeout_ends() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("auth.api_refresh_rotation", true))
            .merge(("auth.refresh_idle_secs", 3600))
    })
    .await;
    let busy = app.login("user", "user").await;
    let idle = app.login("user", "user").await;
    let nearly = app.login("user", "user").await;
    // One family keeps refreshing; the others sit.
    let mut current = busy.refresh.clone();
    for _ in 0..3 {
        app.clock().advance(1199);
        current = rotate(&app, &current).await.refresh;
    }
    // 3599 s without use: still a live family. 3600: ended.
    app.clock().advance(2);
    let woken = rotate(&app, &nearly.refresh).await;
    app.clock().advance(1);
    refresh(&app, &idle.refresh).await.assert_error(401);
    app.get("/api/user-sample", Some(&idle.access))
        .await
        .assert_error(401);
    assert!(app.accepts(&rotate(&app, &current).await.access).await);
    assert!(
        app.accepts(&rotate(&app, &woken.refresh).await.access)
            .await
    );
}

/// The one real-time test of the idle timeout: on the system clock, a login not used for one
/// second has ended.
#[rocket::async_test]
async fn the_idle_timeout_runs_by_the_system_clock() {
    let app = TestApp::spawn_on_system_clock(|f| f.merge(("auth.refresh_idle_secs", 1))).await;
    let login = app.login("user", "user").await;
    let used_at = claims_of(&login.refresh)["iat"].as_u64().unwrap();

    sleep_until_second(used_at + 1).await;

    refresh(&app, &login.refresh).await.assert_error(401);
    app.get("/api/user-sample", Some(&login.access))
        .await
        .assert_error(401);
}

#[rocket::async_test]
async fn logout_revokes_the_familys_access_tokens_at_once() {
    let app = TestApp::spawn().await;
    let login = app.login("user", "user").await;
    let other = app.login("user", "user").await;
    assert!(app.accepts(&login.access).await);
    let reply = app
        .post_json("/api/auth/logout", Some(&login.refresh), "{}")
        .await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    app.get("/api/user-sample", Some(&login.access))
        .await
        .assert_error(401);
    refresh(&app, &login.refresh).await.assert_error(401);
    assert!(app.accepts(&other.access).await);
}

// ----- the cookie flow -----

async fn expired_access_browser(app: &TestApp) -> Browser<'_> {
    let browser = Browser::new(app);
    browser.sign_in("user", "user").await;
    browser.remove("jwtapp_access");
    browser
}

#[rocket::async_test]
async fn the_cookie_flow_always_rotates_and_a_replayed_cookie_after_the_window_ends_the_login() {
    let app = TestApp::spawn().await;
    let browser = expired_access_browser(&app).await;
    let stolen = browser.cookie("jwtapp_refresh").unwrap();
    let page = browser.get("/").await;
    assert_eq!(page.status, Status::Ok);
    let rotated = browser.cookie("jwtapp_refresh").unwrap();
    assert_ne!(rotated, stolen);
    // Past the grace window (10 s).
    app.clock().advance(10);

    // The thief replays the old refresh cookie: refused, and the victim's login ends too.
    let thief = Browser::new(&app);
    thief.set("jwtapp_refresh", &stolen);
    let page = thief.get("/").await;
    assert_eq!(page.status, Status::SeeOther);
    assert_eq!(page.header("Location"), Some("/login?next=/"));
    browser.remove("jwtapp_access");
    let page = browser.get("/").await;
    assert_eq!(page.status, Status::SeeOther, "the family was revoked");
    // Signing in again works.
    browser.sign_in("user", "user").await;
    assert_eq!(browser.get("/").await.status, Status::Ok);
}

#[rocket::async_test]
async fn twenty_parallel_page_requests_reissuing_from_one_cookie_all_render() {
    let app = TestApp::spawn().await;
    let browser = expired_access_browser(&app).await;
    let refresh = browser.cookie("jwtapp_refresh").unwrap();
    let requests = (0..20).map(|_| {
        let mut request = app.client.get("/user-content");
        request = request.cookie(Cookie::new("jwtapp_refresh", refresh.clone()));
        async { Reply::read(request.dispatch().await).await }
    });
    let replies = futures::future::join_all(requests).await;
    let mut successors = std::collections::BTreeSet::new();
    for reply in &replies {
        assert_eq!(reply.status, Status::Ok, "{}", reply.body);
        let cookie = reply.set_cookie("jwtapp_refresh").expect("rotated cookie");
        successors.insert(cookie.value);
    }
    assert_eq!(successors.len(), 1, "one successor for every tab");
    let successor = successors.into_iter().next().unwrap();
    browser.set("jwtapp_refresh", &successor);
    browser.remove("jwtapp_access");
    assert_eq!(browser.get("/").await.status, Status::Ok);
}

#[rocket::async_test]
async fn the_api_refresh_by_cookie_rotates_and_keeps_the_refresh_token_out_of_the_body() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    let old = browser.cookie("jwtapp_refresh").unwrap();
    let csrf = browser.cookie("jwtapp_csrf").unwrap();
    let request = app
        .client
        .post("/api/auth/refresh")
        .header(Header::new("X-CSRF-Token", csrf));
    let reply = browser.send(request).await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    let body: Value = reply.json();
    assert!(body.get("refreshToken").is_none(), "{body}");
    assert!(app.accepts(body["accessToken"].as_str().unwrap()).await);
    assert_ne!(browser.cookie("jwtapp_refresh").unwrap(), old);
}

#[rocket::async_test]
async fn token_types_cannot_swap_places_in_cookies() {
    let app = TestApp::spawn().await;
    let tokens = app.login("user", "user").await;
    // A refresh token in the access cookie, alone: no session.
    let browser = Browser::new(&app);
    browser.set("jwtapp_access", &tokens.refresh);
    let page = browser.get("/").await;
    assert_eq!(page.status, Status::SeeOther);
    // An access token in the refresh cookie, alone: no session either.
    let browser = Browser::new(&app);
    browser.set("jwtapp_refresh", &tokens.access);
    let page = browser.get("/").await;
    assert_eq!(page.status, Status::SeeOther);
    let reply = browser.send(app.client.get("/api/user-sample")).await;
    reply.assert_error(401);
    // The real tokens, in their right places, still work.
    let browser = Browser::new(&app);
    browser.set("jwtapp_access", &tokens.access);
    browser.set("jwtapp_refresh", &tokens.refresh);
    assert_eq!(browser.get("/").await.status, Status::Ok);
}

#[rocket::async_test]
async fn without_api_rotation_a_replayed_parent_gets_no_refresh_token() {
    // The cookie flow rotated the family; the same family's parent shown to the API (rotation
    // off) inside the window gets an access token and the original answer's shape only.
    let app = TestApp::spawn().await;
    let browser = expired_access_browser(&app).await;
    let parent = browser.cookie("jwtapp_refresh").unwrap();
    assert_eq!(browser.get("/").await.status, Status::Ok);
    assert_ne!(browser.cookie("jwtapp_refresh").unwrap(), parent, "rotated");
    let reply = refresh(&app, &parent).await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    let body = reply.json();
    let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["accessToken"]);
    assert!(app.accepts(body["accessToken"].as_str().unwrap()).await);
}
