//! Transparent reissue: an access cookie that is missing, expired or about to expire is replaced
//! from a valid refresh cookie within the same request, for pages and the API alike.

use std::time::Instant;

use rocket::http::{ContentType, Header, Status};
use serde_json::json;

use crate::support::{
    Browser, TestApp, claims_of, csrf_field, forge, jwtapp_cli, text, within_change_bound,
};

/// An access token of `browser`'s login that expired `ago` seconds ago by the app's clock
/// (signed with the test secret, exactly as the server would have).
fn expired_access(browser: &Browser<'_>, ago: u64) -> String {
    access_with_left(browser, -(ago as i64), 900)
}

/// An access token of `browser`'s login, `lifetime` seconds long, with `left` seconds to go
/// (negative: expired that long ago) by the app's clock.
fn access_with_left(browser: &Browser<'_>, left: i64, lifetime: u64) -> String {
    let refresh = claims_of(&browser.cookie("jwtapp_refresh").expect("refresh cookie"));
    let exp = browser
        .app
        .now()
        .checked_add_signed(left)
        .expect("a time after 1970");
    forge(&json!({
        "sub": refresh["sub"], "sid": refresh["sid"], "iat": exp - lifetime,
        "nbf": exp - lifetime, "exp": exp, "jti": format!("left-{left}"), "typ": "access",
        "iss": "jwtapp", "aud": "jwtapp",
    }))
}

#[rocket::async_test]
async fn an_expired_access_cookie_is_reissued_and_the_page_renders() {
    // The real thing, no forged tokens: the access token the login set simply runs out.
    let app = TestApp::spawn_with(|f| f.merge(("auth.leeway_secs", 0))).await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    let first = browser.cookie("jwtapp_access").unwrap();
    let refresh = browser.cookie("jwtapp_refresh").unwrap();
    app.clock().advance(901);

    let page = browser.get("/user-content").await;
    assert_eq!(page.status, Status::Ok, "{}", page.body);
    assert!(page.body.contains("Signed in as user"));
    let reissued = page
        .set_cookie("jwtapp_access")
        .expect("a new access cookie");
    assert_ne!(reissued.value, first);
    assert!(reissued.has("httponly"));
    assert_eq!(reissued.attribute("path"), Some("/"));
    assert_eq!(reissued.max_age(), Some(900), "a whole new access lifetime");
    let claims = claims_of(&reissued.value);
    assert_eq!(claims["sid"], claims_of(&first)["sid"], "same login");
    assert_eq!(claims["exp"].as_u64().unwrap(), app.now() + 900);
    // The refresh cookie is rotated: a successor of the same login, with the same end, and a
    // cookie that lives only as long as the login has left.
    let rotated = page
        .set_cookie("jwtapp_refresh")
        .expect("a rotated refresh cookie");
    assert_ne!(rotated.value, refresh);
    assert!(rotated.has("httponly"));
    let (old, new) = (claims_of(&refresh), claims_of(&rotated.value));
    assert_eq!(new["sid"], old["sid"]);
    assert_eq!(new["exp"], old["exp"], "rotation never extends the login");
    assert_ne!(new["jti"], old["jti"]);
    assert_eq!(rotated.max_age(), Some(2_592_000 - 901));
    assert_eq!(browser.cookie("jwtapp_refresh").unwrap(), rotated.value);
    // And the next request uses the new cookie without reissuing again.
    let page = browser.get("/").await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.set_cookie("jwtapp_access").is_none());
}

#[rocket::async_test]
async fn a_missing_or_garbled_access_cookie_is_reissued() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    browser.remove("jwtapp_access");
    let page = browser.get("/").await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.set_cookie("jwtapp_access").is_some());

    browser.set("jwtapp_access", "garbage");
    let page = browser.get("/").await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.set_cookie("jwtapp_access").is_some());
}

#[rocket::async_test]
async fn an_access_cookie_about_to_expire_is_reissued_early() {
    // Default threshold: 60 s. A token with 30 s left is renewed; one with 10 minutes is not.
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    let page = browser.get("/").await;
    assert!(
        page.set_cookie("jwtapp_access").is_none(),
        "a fresh cookie is kept"
    );

    let soon = expired_access(&browser, 0);
    let expiring = access_with_left(&browser, 30, 900);
    for token in [soon, expiring] {
        browser.set("jwtapp_access", &token);
        let page = browser.get("/").await;
        assert_eq!(page.status, Status::Ok);
        let reissued = page.set_cookie("jwtapp_access").expect("reissued");
        assert_eq!(
            claims_of(&reissued.value)["exp"].as_u64().unwrap(),
            app.now() + 900
        );
    }
}

#[rocket::async_test]
async fn the_threshold_is_configurable_and_capped_at_half_the_access_lifetime() {
    // Configured 90 s of a 100 s lifetime: capped at 50 s.
    let app = TestApp::spawn_with(|f| {
        f.merge(("auth.access_ttl_secs", 100))
            .merge(("auth.reissue_threshold_secs", 90))
    })
    .await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    for (left, reissued) in [(60, false), (55, false), (45, true), (10, true)] {
        browser.set("jwtapp_access", &access_with_left(&browser, left, 100));
        let page = browser.get("/").await;
        assert_eq!(page.status, Status::Ok);
        assert_eq!(
            page.set_cookie("jwtapp_access").is_some(),
            reissued,
            "{left} s left of 100, threshold capped at 50"
        );
    }

    // And the default threshold is 60 s of 900.
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    for (left, reissued) in [(65, false), (55, true)] {
        browser.set("jwtapp_access", &access_with_left(&browser, left, 900));
        let page = browser.get("/").await;
        assert_eq!(
            page.set_cookie("jwtapp_access").is_some(),
            reissued,
            "{left} s left"
        );
    }
}

#[rocket::async_test]
async fn reissue_works_for_posts_and_cookie_authenticated_api_calls() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    let token = csrf_field(&browser.get("/user-content").await.body);

    browser.set("jwtapp_access", &expired_access(&browser, 30));
    let reply = browser
        .post_form("/user-content", &[("example", "8"), ("csrf_token", &token)])
        .await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    assert!(reply.body.contains(">16</output>"));
    assert!(reply.set_cookie("jwtapp_access").is_some());

    browser.set("jwtapp_access", &expired_access(&browser, 30));
    let info = browser.get("/api/auth/info").await;
    assert_eq!(info.status, Status::Ok);
    assert_eq!(info.json()["username"], "user");
    assert!(info.set_cookie("jwtapp_access").is_some());

    browser.set("jwtapp_access", &expired_access(&browser, 30));
    let csrf = browser.cookie("jwtapp_csrf").unwrap();
    let request = app
        .client
        .post("/api/user-sample")
        .header(ContentType::JSON)
        .header(Header::new("X-CSRF-Token", csrf))
        .body(r#"{"example": 5}"#);
    let reply = browser.send(request).await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    assert_eq!(reply.json()["example"], 10);
    assert!(reply.set_cookie("jwtapp_access").is_some());
}

#[rocket::async_test]
async fn a_reissued_cookie_is_kept_even_when_the_page_is_denied() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    browser.set("jwtapp_access", &expired_access(&browser, 30));
    let page = browser.get("/admin-content").await;
    assert_eq!(page.status, Status::Forbidden);
    assert!(
        page.set_cookie("jwtapp_access")
            .is_some_and(|c| !c.is_removal())
    );
    let page = browser.get("/").await;
    assert!(
        page.set_cookie("jwtapp_access").is_none(),
        "no second reissue"
    );
}

#[rocket::async_test]
async fn an_invalid_refresh_cookie_leads_to_login_and_deletes_the_stale_cookies() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    let expired = expired_access(&browser, 30);
    for refresh in [
        "garbage".to_owned(),
        expired.clone(), // an access token is no refresh token
        browser.cookie("jwtapp_refresh").unwrap() + "x",
    ] {
        let victim = Browser::new(&app);
        victim.set("jwtapp_access", &expired);
        victim.set("jwtapp_refresh", &refresh);
        victim.set("jwtapp_csrf", "whatever");
        let reply = victim.get("/user-content").await;
        assert_eq!(reply.status, Status::SeeOther);
        assert_eq!(reply.header("Location"), Some("/login?next=/user-content"));
        for name in ["jwtapp_access", "jwtapp_refresh", "jwtapp_csrf"] {
            assert!(
                reply.set_cookie(name).is_some_and(|c| c.is_removal()),
                "{name} deleted"
            );
        }
        assert!(victim.cookie_names().is_empty());
    }
}

#[rocket::async_test]
async fn a_bad_refresh_cookie_next_to_a_valid_access_cookie_does_not_sign_out() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    // 30 s left: under the threshold, so the refresh cookie is tried, and it is garbage.
    browser.set("jwtapp_access", &access_with_left(&browser, 30, 900));
    browser.set("jwtapp_refresh", "garbage");
    let page = browser.get("/").await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.set_cookie("jwtapp_access").is_none());
}

/// A user disabled or deleted while signed in is sent to the login page, with every session
/// cookie deleted: on the very next page after an administrator's change on the users page, and
/// within the change bound after a `jwtapp user` command of another process.
#[rocket::async_test]
async fn a_disabled_or_deleted_user_is_sent_to_login_on_the_next_page() {
    let app = TestApp::spawn().await;
    let admin = Browser::new(&app);
    admin.sign_in("admin", "admin").await;
    // Each case: who acts and how, whether the access cookie must be reissued, and the path.
    let cases = [
        ("page", "disable", false, "/user-content"),
        ("page", "disable", true, "/user-content"),
        ("page", "disable", true, "/api/auth/info"),
        ("cli", "disable", false, "/user-content"),
        ("cli", "disable", true, "/user-content"),
        ("cli", "delete", false, "/user-content"),
        ("cli", "delete", true, "/user-content"),
        ("cli", "disable", true, "/api/auth/info"),
        ("cli", "delete", true, "/api/auth/info"),
    ];
    for (i, (by, action, expired, path)) in cases.into_iter().enumerate() {
        let name = format!("{action}-me-{i}");
        let out = jwtapp_cli(
            &app.database(),
            &["user", "add", &name],
            Some("long-password\n"),
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let browser = Browser::new(&app);
        browser.sign_in(&name, "long-password").await;
        // A page first, so that what the app knows of this user and login is cached.
        assert_eq!(browser.get("/").await.status, Status::Ok);
        let access = browser.cookie("jwtapp_access").unwrap();
        let refresh = browser.cookie("jwtapp_refresh").unwrap();
        let expired_token = expired_access(&browser, 30);
        let case = format!("{action} by {by}, expired access cookie: {expired}, {path}");

        let reply = if by == "page" {
            let done = admin.administer(&name, action).await;
            assert_eq!(done.status, Status::Ok, "{case}: {}", done.body);
            if expired {
                browser.set("jwtapp_access", &expired_token);
            }
            browser.get(path).await
        } else {
            let out = jwtapp_cli(&app.database(), &["user", action, &name], None);
            assert!(out.status.success(), "{}", text(&out.stderr));
            let committed = Instant::now();
            // Until the app has seen the change, the browser keeps the cookies it had. Before
            // its cached statuses are stale, a reissue may already find the login ended in the
            // database: a 401, a refusal too.
            let mut before = Vec::new();
            let reply = within_change_bound(
                committed,
                &case,
                async || {
                    let access = if expired { &expired_token } else { &access };
                    browser.set("jwtapp_access", access);
                    browser.set("jwtapp_refresh", &refresh);
                    let reply = browser.get(path).await;
                    before.push(reply.status.code);
                    reply
                },
                |reply| reply.status == Status::Forbidden || reply.status == Status::SeeOther,
            )
            .await;
            before.pop();
            assert!(
                before.iter().all(|s| [200, 401].contains(s)),
                "{case}: {before:?}"
            );
            reply
        };
        if path.starts_with("/api") {
            reply.assert_error(403);
        } else {
            assert_eq!(reply.status, Status::SeeOther, "{case}");
            assert_eq!(
                reply.header("Location"),
                Some("/login?next=/user-content"),
                "{case}"
            );
        }
        for cookie in ["jwtapp_access", "jwtapp_refresh", "jwtapp_csrf"] {
            assert!(
                reply.set_cookie(cookie).is_some_and(|c| c.is_removal()),
                "{case}: {cookie} deleted"
            );
        }
        assert!(
            browser.cookie_names().iter().all(|n| n == "jwtapp_login"),
            "{case}"
        );
    }
}

#[rocket::async_test]
async fn a_revoked_login_is_not_reissued() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    let refresh = browser.cookie("jwtapp_refresh").unwrap();
    let reply = app
        .post_json("/api/auth/logout", Some(&refresh), "{}")
        .await;
    assert_eq!(reply.status, Status::Ok);
    browser.set("jwtapp_access", &expired_access(&browser, 30));
    let reply = browser.get("/").await;
    assert_eq!(reply.status, Status::SeeOther);
    assert_eq!(reply.header("Location"), Some("/login?next=/"));
    assert!(
        reply
            .set_cookie("jwtapp_access")
            .is_some_and(|c| c.is_removal())
    );
    assert!(
        reply
            .set_cookie("jwtapp_refresh")
            .is_some_and(|c| c.is_removal())
    );
}

#[rocket::async_test]
async fn concurrent_requests_with_the_same_expired_cookie_all_succeed() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    let refresh = browser.cookie("jwtapp_refresh").unwrap();
    let expired = expired_access(&browser, 30);

    // A page and its parallel loads, several tabs: all at once, all with the same cookies.
    let paths = [
        "/",
        "/user-content",
        "/api/auth/info",
        "/api/user-sample",
        "/denied",
    ];
    let requests = (0..40).map(|i| {
        let request = app
            .client
            .get(paths[i % paths.len()])
            .cookie(rocket::http::Cookie::new("jwtapp_access", expired.clone()))
            .cookie(rocket::http::Cookie::new("jwtapp_refresh", refresh.clone()));
        async move {
            let response = request.dispatch().await;
            let status = response.status();
            let reissued = response
                .headers()
                .get("Set-Cookie")
                .find_map(|c| c.strip_prefix("jwtapp_access="))
                .and_then(|c| c.split(';').next())
                .map(str::to_owned);
            (status, reissued)
        }
    });
    let results = futures::future::join_all(requests).await;
    let sid = claims_of(&refresh)["sid"].clone();
    let mut tokens = Vec::new();
    for (i, (status, reissued)) in results.into_iter().enumerate() {
        let expected = if paths[i % paths.len()] == "/denied" {
            Status::Forbidden
        } else {
            Status::Ok
        };
        assert_eq!(status, expected, "request {i} ({})", paths[i % paths.len()]);
        let reissued = reissued.unwrap_or_else(|| panic!("request {i} got no new access cookie"));
        // A real, current token of the same login, which the server accepts.
        let claims = claims_of(&reissued);
        assert_eq!(claims["sid"], sid, "request {i}");
        assert_eq!(
            claims["exp"].as_u64().unwrap(),
            app.now() + 900,
            "request {i}"
        );
        tokens.push(reissued);
    }
    for token in tokens.iter().step_by(8) {
        assert_eq!(
            app.get("/api/auth/info", Some(token)).await.status,
            Status::Ok
        );
    }
}
