//! Refresh-token rotation with reuse detection, family lifetimes, and the cookie flow.

use std::sync::Arc;
use std::time::Duration;

use rocket::http::Status;
use serde_json::Value;

use crate::helpers::{Browser, TestApp, Tokens, claims_of, now};

/// An app whose API rotates refresh tokens, with the given grace window.
async fn rotating_app(grace: u64) -> TestApp {
    TestApp::spawn_with(|f| {
        f.merge(("auth.api_refresh_rotation", true))
            .merge(("auth.refresh_grace_secs", grace))
    })
    .await
}

async fn refresh(app: &TestApp, token: &str) -> crate::helpers::Reply {
    app.post_json("/api/auth/refresh", Some(token), "{}").await
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

async fn works(app: &TestApp, access: &str) -> bool {
    app.get("/api/user-sample", Some(access)).await.status == Status::Ok
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
        assert!(works(&app, body["accessToken"].as_str().unwrap()).await);
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
    assert!(works(&app, &next.access).await);

    // The successor rotates in turn; the parent is spent.
    let third = rotate(&app, &next.refresh).await;
    assert!(works(&app, &third.access).await);
}

#[rocket::async_test]
async fn reuse_after_the_grace_window_revokes_the_whole_family() {
    let app = rotating_app(1).await;
    let login = app.login("user", "user").await;
    let other = app.login("user", "user").await;
    let next = rotate(&app, &login.refresh).await;
    rocket::tokio::time::sleep(Duration::from_millis(1100)).await;

    // The spent parent comes back: theft.
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
    assert!(works(&app, &other.access).await);
    let fresh = rotate(&app, &other.refresh).await;
    assert!(works(&app, &fresh.access).await);
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
    assert!(works(&app, &app.login("user", "user").await.access).await);
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
    assert!(works(&app, &again.access).await);
    assert!(works(&app, &next.access).await);
    // The family goes on from that successor.
    let third = rotate(&app, &next.refresh).await;
    assert!(works(&app, &third.access).await);
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
        assert!(works(&app, access).await, "every access token is valid");
    }
    let successor = successors.into_iter().next().unwrap();
    assert_ne!(
        claims_of(&successor)["jti"],
        claims_of(&login.refresh)["jti"]
    );
    assert!(works(&app, &rotate(&app, &successor).await.access).await);
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
    assert!(works(&app, &app.login("user", "user").await.access).await);
}

#[rocket::async_test]
async fn a_family_ends_at_its_absolute_lifetime_however_often_it_rotates() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("auth.api_refresh_rotation", true))
            .merge(("auth.access_ttl_secs", 1))
            .merge(("auth.refresh_ttl_secs", 3))
            .merge(("auth.leeway_secs", 0))
    })
    .await;
    let login = app.login("user", "user").await;
    let end = claims_of(&login.refresh)["exp"].as_u64().unwrap();
    let mut current = login.refresh.clone();
    while now() + 1 < end {
        rocket::tokio::time::sleep(Duration::from_millis(700)).await;
        let next = rotate(&app, &current).await;
        assert_eq!(claims_of(&next.refresh)["exp"].as_u64().unwrap(), end);
        assert!(claims_of(&next.access)["exp"].as_u64().unwrap() <= end);
        current = next.refresh;
    }
    while now() <= end {
        rocket::tokio::time::sleep(Duration::from_millis(200)).await;
    }
    refresh(&app, &current).await.assert_error(401);
    assert!(works(&app, &app.login("user", "user").await.access).await);
}

#[rocket::async_test]
async fn a_family_not_used_for_the_idle_timeout_ends() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("auth.api_refresh_rotation", true))
            .merge(("auth.refresh_idle_secs", 2))
    })
    .await;
    let busy = app.login("user", "user").await;
    let idle = app.login("user", "user").await;
    // One family keeps refreshing; the other sits.
    let mut current = busy.refresh.clone();
    for _ in 0..3 {
        rocket::tokio::time::sleep(Duration::from_millis(900)).await;
        current = rotate(&app, &current).await.refresh;
    }
    refresh(&app, &idle.refresh).await.assert_error(401);
    app.get("/api/user-sample", Some(&idle.access))
        .await
        .assert_error(401);
    assert!(works(&app, &rotate(&app, &current).await.access).await);
}

#[rocket::async_test]
async fn logout_revokes_the_familys_access_tokens_at_once() {
    let app = TestApp::spawn().await;
    let login = app.login("user", "user").await;
    let other = app.login("user", "user").await;
    assert!(works(&app, &login.access).await);
    let reply = app
        .post_json("/api/auth/logout", Some(&login.refresh), "{}")
        .await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    app.get("/api/user-sample", Some(&login.access))
        .await
        .assert_error(401);
    refresh(&app, &login.refresh).await.assert_error(401);
    assert!(works(&app, &other.access).await);
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
    let app = TestApp::spawn_with(|f| f.merge(("auth.refresh_grace_secs", 1))).await;
    let browser = expired_access_browser(&app).await;
    let stolen = browser.cookie("jwtapp_refresh").unwrap();
    let page = browser.get("/").await;
    assert_eq!(page.status, Status::Ok);
    let rotated = browser.cookie("jwtapp_refresh").unwrap();
    assert_ne!(rotated, stolen);
    rocket::tokio::time::sleep(Duration::from_millis(1100)).await;

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
        request = request.cookie(rocket::http::Cookie::new("jwtapp_refresh", refresh.clone()));
        async { crate::helpers::reply(request.dispatch().await).await }
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
        .header(rocket::http::Header::new("X-CSRF-Token", csrf));
    let reply = browser.send(request).await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    let body: Value = reply.json();
    assert!(body.get("refreshToken").is_none(), "{body}");
    assert!(works(&app, body["accessToken"].as_str().unwrap()).await);
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
    assert!(works(&app, body["accessToken"].as_str().unwrap()).await);
}
