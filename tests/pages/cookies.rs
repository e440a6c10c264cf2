//! The session cookies: attributes, lifetimes, which credential wins, and what login and
//! logout do to them.

use rocket::http::{Header, Status};

use crate::support::{
    Browser, TestApp, assert_refused_at_start, assert_starts, base_figment, claims_of,
};

const SESSION_COOKIES: [&str; 3] = ["jwtapp_access", "jwtapp_refresh", "jwtapp_csrf"];

#[rocket::async_test]
async fn login_sets_httponly_session_cookies_with_explicit_attributes() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    let reply = browser.try_sign_in("user", "user", None).await;
    assert_eq!(reply.status, Status::SeeOther);

    let access = reply.set_cookie("jwtapp_access").expect("access cookie");
    let refresh = reply.set_cookie("jwtapp_refresh").expect("refresh cookie");
    let csrf = reply.set_cookie("jwtapp_csrf").expect("csrf cookie");
    for cookie in [&access, &refresh, &csrf] {
        assert_eq!(cookie.attribute("path"), Some("/"), "{}", cookie.name);
        assert_eq!(cookie.attribute("samesite"), Some("Lax"), "{}", cookie.name);
        // The debug profile (Rocket.toml) turns `cookie_secure` off for plain http://127.0.0.1.
        assert!(!cookie.has("secure"), "{}", cookie.name);
        assert!(cookie.attribute("domain").is_none(), "{}", cookie.name);
    }
    assert!(access.has("httponly"));
    assert!(refresh.has("httponly"));
    assert!(
        !csrf.has("httponly"),
        "a same-origin script must read the CSRF token"
    );

    // Each cookie lives exactly as long as its token has left (the clock stands still here).
    let access_claims = claims_of(&access.value);
    let refresh_claims = claims_of(&refresh.value);
    assert_eq!(access_claims["typ"], "access");
    assert_eq!(refresh_claims["typ"], "refresh");
    let left = |claims: &serde_json::Value| claims["exp"].as_i64().unwrap() - app.now() as i64;
    assert_eq!(left(&access_claims), 900);
    assert_eq!(left(&refresh_claims), 2_592_000);
    assert_eq!(access.max_age(), Some(900));
    assert_eq!(refresh.max_age(), Some(2_592_000));
    assert_eq!(
        csrf.max_age(),
        Some(2_592_000),
        "the CSRF cookie lives with the login"
    );
}

#[rocket::async_test]
async fn cookie_secure_adds_secure_and_the_host_prefix() {
    let app = TestApp::spawn_with(|f| f.merge(("auth.cookie_secure", true))).await;
    let browser = Browser::new(&app);
    let page = browser.get("/login").await;
    let nonce = page
        .set_cookie("__Host-jwtapp_login")
        .expect("prefixed nonce cookie");
    assert!(nonce.has("secure"));
    let reply = browser.try_sign_in("user", "user", None).await;
    assert_eq!(reply.status, Status::SeeOther, "{}", reply.body);
    for name in SESSION_COOKIES {
        let cookie = reply
            .set_cookie(&format!("__Host-{name}"))
            .unwrap_or_else(|| panic!("__Host-{name}"));
        // What browsers demand of a __Host- cookie.
        assert!(cookie.has("secure"), "{name}");
        assert_eq!(cookie.attribute("path"), Some("/"), "{name}");
        assert!(cookie.attribute("domain").is_none(), "{name}");
    }
    assert!(reply.set_cookie("jwtapp_access").is_none());
    // And the prefixed cookies are the ones that authenticate.
    let page = browser.get("/").await;
    assert_eq!(page.status, Status::Ok, "{}", page.body);
    browser.remove("__Host-jwtapp_access");
    browser.remove("__Host-jwtapp_refresh");
    browser.set(
        "jwtapp_access",
        &browser.cookie("__Host-jwtapp_csrf").unwrap(),
    );
    assert_eq!(browser.get("/").await.status, Status::SeeOther);
}

#[rocket::async_test]
async fn the_release_defaults_are_secure_and_lax() {
    // Without the debug profile's override, cookies are Secure with the __Host- prefix.
    let app = TestApp::spawn_with(|f| f.merge(("auth.cookie_secure", true))).await;
    let reply = app.get("/login", None).await;
    let nonce = reply
        .set_cookie("__Host-jwtapp_login")
        .unwrap_or_else(|| panic!("{:?}", reply.set_cookies()));
    assert!(nonce.has("secure"));
    assert_eq!(nonce.attribute("samesite"), Some("Lax"));
}

#[rocket::async_test]
async fn cookie_same_site_strict_tightens_every_cookie() {
    let app = TestApp::spawn_with(|f| f.merge(("auth.cookie_same_site", "strict"))).await;
    let browser = Browser::new(&app);
    let reply = browser.try_sign_in("user", "user", None).await;
    for name in SESSION_COOKIES {
        assert_eq!(
            reply.set_cookie(name).unwrap().attribute("samesite"),
            Some("Strict"),
            "{name}"
        );
    }
    // Logout's removals repeat the attribute.
    let reply = browser.submit("/logout", &[]).await;
    for name in SESSION_COOKIES {
        assert_eq!(
            reply.set_cookie(name).unwrap().attribute("samesite"),
            Some("Strict")
        );
    }
}

#[rocket::async_test]
async fn cookie_same_site_none_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["none", "None", "sideways", ""] {
        let figment = base_figment(dir.path()).merge(("auth.cookie_same_site", bad));
        assert_refused_at_start(figment, "auth.cookie_same_site").await;
    }
    // The same settings with an allowed value start: the setting was the reason.
    for good in ["lax", "strict"] {
        assert_starts(base_figment(dir.path()).merge(("auth.cookie_same_site", good))).await;
    }
}

#[rocket::async_test]
async fn the_authorization_header_wins_over_cookies() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    let admin = app.login("admin", "admin").await;

    let request = app.client.get("/api/auth/info").header(Header::new(
        "Authorization",
        format!("Bearer {}", admin.access),
    ));
    let info = browser.send(request).await;
    assert_eq!(info.status, Status::Ok);
    assert_eq!(info.json()["username"], "admin");

    // A bad header is not rescued by good cookies.
    let request = app
        .client
        .get("/api/auth/info")
        .header(Header::new("Authorization", "Bearer not-a-token"));
    assert_eq!(browser.send(request).await.status, Status::Unauthorized);

    // Cookies alone authenticate the API too.
    let info = browser.get("/api/auth/info").await;
    assert_eq!(info.status, Status::Ok);
    assert_eq!(info.json()["username"], "user");
}

#[rocket::async_test]
async fn a_page_login_always_starts_a_new_session() {
    let app = TestApp::spawn().await;
    // Cookies planted before login (here: another login's tokens) are never adopted.
    let planted = app.login("user", "user").await;
    let browser = Browser::new(&app);
    browser.set("jwtapp_access", &planted.access);
    browser.set("jwtapp_refresh", &planted.refresh);
    browser.sign_in("user", "user").await;
    let access = browser.cookie("jwtapp_access").unwrap();
    let refresh = browser.cookie("jwtapp_refresh").unwrap();
    let planted_sid = claims_of(&planted.access)["sid"].clone();
    assert_ne!(claims_of(&access)["sid"], planted_sid);
    assert_ne!(claims_of(&refresh)["sid"], planted_sid);
    assert_eq!(claims_of(&access)["sid"], claims_of(&refresh)["sid"]);

    // Two logins in a row: two sessions.
    let first_sid = claims_of(&access)["sid"].clone();
    browser.sign_in("user", "user").await;
    assert_ne!(
        claims_of(&browser.cookie("jwtapp_access").unwrap())["sid"],
        first_sid
    );
}

#[rocket::async_test]
async fn logout_deletes_every_cookie_login_set() {
    let app = TestApp::spawn_with(|f| f.merge(("auth.cookie_secure", true))).await;
    let browser = Browser::new(&app);
    let login = browser.try_sign_in("admin", "admin", None).await;
    let set: Vec<_> = login
        .set_cookies()
        .into_iter()
        .filter(|c| !c.is_removal())
        .collect();
    assert_eq!(set.len(), 3, "{set:?}");

    let reply = browser.submit("/logout", &[]).await;
    assert_eq!(reply.status, Status::SeeOther);
    for cookie in set {
        let removal = reply
            .set_cookie(&cookie.name)
            .unwrap_or_else(|| panic!("{} is deleted", cookie.name));
        assert!(removal.is_removal());
        // Same name, path and attributes, or the browser would keep the original.
        for attribute in ["path", "samesite", "secure", "httponly", "domain"] {
            assert_eq!(
                removal.attribute(attribute),
                cookie.attribute(attribute),
                "{} {attribute}",
                cookie.name
            );
            assert_eq!(
                removal.has(attribute),
                cookie.has(attribute),
                "{} {attribute}",
                cookie.name
            );
        }
    }
    // Only the login form's nonce is left: login did not set it, and an open login form in
    // another tab keeps working.
    assert_eq!(browser.cookie_names(), ["__Host-jwtapp_login"]);
}

#[rocket::async_test]
async fn an_authorization_header_of_another_scheme_leaves_the_cookies_in_charge() {
    // A Basic-auth proxy in front of jwtapp must not sign every browser out.
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    let request = app
        .client
        .get("/")
        .header(Header::new("Authorization", "Basic dXNlcjpwYXNz"));
    let page = browser.send(request).await;
    assert_eq!(page.status, Status::Ok, "{}", page.body);
    assert!(page.body.contains("Signed in as user"));
    // Without cookies it is a plain 401 on the API, as before.
    let reply = app
        .send(
            app.client
                .get("/api/auth/info")
                .header(Header::new("Authorization", "Basic dXNlcjpwYXNz")),
        )
        .await;
    reply.assert_error(401);
}
