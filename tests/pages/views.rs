//! The server-rendered pages: every row of the page table, the login redirects and the headers.

use rocket::http::{ContentType, Header, Status};

use crate::support::{Browser, TestApp, base_figment, csrf_field, form_encode};

/// Every page that needs a signed-in user, with its method.
const SIGNED_IN_PAGES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/user-content"),
    ("POST", "/user-content"),
    ("GET", "/admin-content"),
    ("POST", "/admin-content"),
    ("GET", "/denied"),
    ("GET", "/logout"),
];

#[rocket::async_test]
async fn the_login_page_is_a_labelled_form_with_a_csrf_token() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    let page = browser.get("/login").await;
    assert_eq!(page.status, Status::Ok);
    assert_eq!(
        page.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert!(
        page.body.contains("<title>Sign in · jwtapp</title>"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(r#"<form method="post" action="/login">"#)
    );
    assert!(page.body.contains(r#"<label for="username">"#));
    assert!(
        page.body
            .contains(r#"<input id="username" name="username""#)
    );
    assert!(page.body.contains(r#"<label for="password">"#));
    assert!(
        page.body
            .contains(r#"<input id="password" name="password" type="password""#)
    );
    assert!(!csrf_field(&page.body).is_empty());
    // The pre-session token is bound to a nonce cookie, HttpOnly.
    let nonce = page.set_cookie("jwtapp_login").expect("login nonce cookie");
    assert!(nonce.has("httponly"));
    // No script of any kind, no inline style.
    assert!(!page.body.contains("<script"));
    assert!(!page.body.contains("style="));
}

#[rocket::async_test]
async fn the_login_page_carries_a_local_next_and_drops_any_other() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    let page = browser.get("/login?next=/user-content").await;
    assert!(
        page.body
            .contains(r#"<input type="hidden" name="next" value="/user-content">"#)
    );
    for foreign in [
        "//evil.example",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
    ] {
        let page = browser
            .get(&format!("/login?next={}", urlencode(foreign)))
            .await;
        assert_eq!(page.status, Status::Ok);
        assert!(
            !page.body.contains(r#"name="next""#),
            "{foreign}: {}",
            page.body
        );
    }
}

fn urlencode(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[rocket::async_test]
async fn a_failed_login_shows_the_form_again_with_401_one_message_and_the_username() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    for (username, password) in [("user", "wrong"), ("nobody", "user"), ("", "")] {
        let reply = browser
            .try_sign_in(username, password, Some("/user-content"))
            .await;
        assert_eq!(reply.status, Status::Unauthorized, "{username}");
        assert!(reply.body.contains("Invalid username or password."));
        assert!(reply.body.contains(&format!(
            r#"name="username" type="text" value="{username}""#
        )));
        assert!(reply.body.contains(r#"name="next" value="/user-content""#));
        assert!(reply.set_cookie("jwtapp_access").is_none());
        assert!(reply.set_cookie("jwtapp_refresh").is_none());
    }
    // The typed username is escaped, never markup.
    let reply = browser.try_sign_in("<b>x</b>", "pw", None).await;
    assert!(reply.body.contains("&#60;b&#62;x&#60;/b&#62;") || reply.body.contains("&lt;b&gt;"));
    assert!(!reply.body.contains("<b>x</b>"));
}

#[rocket::async_test]
async fn a_next_that_is_no_well_formed_path_is_never_followed_and_never_a_500() {
    let app = TestApp::spawn().await;
    for next in [
        "/a\"b", "/é", "/a|b", "/a{b}", "/a^b", "/a<b", "/a`b", "/a#b#c", "/%zz", "/a b",
    ] {
        let browser = Browser::new(&app);
        let reply = browser.try_sign_in("user", "user", Some(next)).await;
        assert_eq!(reply.status, Status::SeeOther, "{next}: {}", reply.body);
        assert_eq!(reply.header("Location"), Some("/"), "{next}");
        assert_eq!(
            browser.get("/").await.status,
            Status::Ok,
            "{next}: signed in"
        );
    }
    // Escapes, queries and the RFC 3986 punctuation are fine.
    let browser = Browser::new(&app);
    let reply = browser
        .try_sign_in("user", "user", Some("/user-content?a=%20b&c=d:e@f"))
        .await;
    assert_eq!(
        reply.header("Location"),
        Some("/user-content?a=%20b&c=d:e@f")
    );
}

#[rocket::async_test]
async fn a_successful_login_redirects_to_a_local_next_or_home() {
    let app = TestApp::spawn().await;
    let cases = [
        (None, "/"),
        (Some("/user-content"), "/user-content"),
        (Some("/admin-content?tab=1"), "/admin-content?tab=1"),
        (Some("//evil.example"), "/"),
        (Some("https://evil.example/"), "/"),
        (Some("/\\evil.example"), "/"),
        (Some("evil.example"), "/"),
        (Some(""), "/"),
    ];
    for (next, target) in cases {
        let browser = Browser::new(&app);
        let reply = browser.try_sign_in("user", "user", next).await;
        assert_eq!(reply.status, Status::SeeOther, "{next:?}: {}", reply.body);
        assert_eq!(reply.header("Location"), Some(target), "{next:?}");
    }
}

#[rocket::async_test]
async fn next_may_also_come_in_the_query_of_the_post() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    let token = csrf_field(&browser.get("/login").await.body);
    let fields = [
        ("username", "user"),
        ("password", "user"),
        ("csrf_token", token.as_str()),
    ];
    let reply = browser
        .post_form("/login?next=/user-content", &fields)
        .await;
    assert_eq!(reply.header("Location"), Some("/user-content"));
    let reply = browser
        .post_form("/login?next=//evil.example", &fields)
        .await;
    assert_eq!(reply.header("Location"), Some("/"));
}

#[rocket::async_test]
async fn without_a_session_every_signed_in_page_redirects_to_login_with_next() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    for (method, path) in SIGNED_IN_PAGES {
        let request = match *method {
            "GET" => app.client.get(*path),
            _ => app
                .client
                .post(*path)
                .header(ContentType::Form)
                .body("example=1"),
        };
        let reply = browser.send(request).await;
        assert_eq!(reply.status, Status::SeeOther, "{method} {path}");
        assert_eq!(
            reply.header("Location"),
            Some(format!("/login?next={path}").as_str()),
            "{method} {path}"
        );
        assert!(
            reply.body.is_empty(),
            "{method} {path} rendered: {}",
            reply.body
        );
    }
    // The query of a GET comes along, encoded.
    let reply = browser.get("/user-content?x=1&y=2").await;
    assert_eq!(
        reply.header("Location"),
        Some("/login?next=/user-content%3Fx%3D1%26y%3D2")
    );
    // A forged or expired cookie is no session either.
    browser.set("jwtapp_access", "not.a.token");
    let reply = browser.get("/user-content").await;
    assert_eq!(reply.header("Location"), Some("/login?next=/user-content"));
}

#[rocket::async_test]
async fn the_login_redirect_round_trip_lands_on_the_page_asked_for() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    let first = browser.get("/user-content").await;
    let login_url = first.header("Location").expect("redirect").to_owned();
    let page = browser.get(&login_url).await;
    let token = csrf_field(&page.body);
    let reply = browser
        .post_form(
            "/login",
            &[
                ("username", "user"),
                ("password", "user"),
                ("next", "/user-content"),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(reply.header("Location"), Some("/user-content"));
    let page = browser.get("/user-content").await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("<h1>User content</h1>"));
}

#[rocket::async_test]
async fn home_shows_who_is_signed_in_and_the_navigation() {
    let app = TestApp::spawn().await;
    let user = Browser::new(&app);
    user.sign_in("user", "user").await;
    let page = user.get("/").await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("<title>Home · jwtapp</title>"));
    assert!(page.body.contains("Signed in as user"), "{}", page.body);
    assert!(!page.body.contains("[administrator]"));
    assert!(page.body.contains(r#"<a href="/">Home</a>"#));
    assert!(
        page.body
            .contains(r#"<a href="/user-content">User content</a>"#)
    );
    assert!(page.body.contains(r#"<a href="/logout">Log out</a>"#));
    assert!(!page.body.contains(r#"href="/admin-content""#));

    let admin = Browser::new(&app);
    admin.sign_in("admin", "admin").await;
    let page = admin.get("/").await;
    assert!(
        page.body.contains("Signed in as admin [administrator]"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(r#"<a href="/admin-content">Admin content</a>"#)
    );
}

#[rocket::async_test]
async fn user_content_doubles_the_example_value() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    let page = browser.get("/user-content").await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("<title>User content · jwtapp</title>"));
    assert!(
        page.body
            .contains(r#"<label for="example">Example value</label>"#)
    );
    assert!(
        page.body
            .contains(r#"type="number" step="any" value="123""#),
        "{}",
        page.body
    );

    for (value, doubled) in [
        ("21", "42"),
        ("1.5", "3.0"),
        ("0.1", "0.2"),
        ("-7", "-14"),
        (" 123 ", "246"),
    ] {
        let reply = browser.submit("/user-content", &[("example", value)]).await;
        assert_eq!(reply.status, Status::Ok, "{value}: {}", reply.body);
        assert!(
            reply.body.contains(&format!(
                r#"<output id="result" for="example">{doubled}</output>"#
            )),
            "{value}: {}",
            reply.body
        );
        assert!(reply.body.contains(&format!(r#"value="{doubled}""#)));
    }
}

#[rocket::async_test]
async fn user_content_refuses_what_it_cannot_double_with_422_on_the_page() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    for (value, message) in [
        ("abc", "Enter a number"),
        ("", "Enter a number"),
        ("0x10", "Enter a number"),
        ("NaN", "Enter a number"),
        ("1e308", "out of range"),
        ("1e-400", "out of range"),
    ] {
        let reply = browser.submit("/user-content", &[("example", value)]).await;
        assert_eq!(reply.status, Status::UnprocessableEntity, "{value}");
        assert!(
            reply
                .header("Content-Type")
                .is_some_and(|c| c.starts_with("text/html"))
        );
        assert!(reply.body.contains(message), "{value}: {}", reply.body);
        assert!(
            reply.body.contains("<h1>User content</h1>"),
            "the form is shown again"
        );
        assert!(!reply.body.contains("<output"));
    }
}

#[rocket::async_test]
async fn admin_content_is_for_admins_and_others_see_access_denied() {
    let app = TestApp::spawn().await;
    let admin = Browser::new(&app);
    admin.sign_in("admin", "admin").await;
    let page = admin.get("/admin-content").await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("<title>Admin content · jwtapp</title>"));
    assert!(page.body.contains(r#"value="123""#));
    let reply = admin.submit("/admin-content", &[("example", "50")]).await;
    assert_eq!(reply.status, Status::Ok);
    assert!(
        reply
            .body
            .contains(r#"<output id="result" for="example">100</output>"#)
    );

    let user = Browser::new(&app);
    user.sign_in("user", "user").await;
    let page = user.get("/admin-content").await;
    assert_eq!(page.status, Status::Forbidden);
    assert!(
        page.body
            .contains("Access to the requested resource is denied")
    );
    assert!(page.body.contains("<title>Access denied · jwtapp</title>"));
    assert!(
        page.body.contains("Signed in as user"),
        "still signed in: {}",
        page.body
    );
    // Posting does not help; the user's token is not even looked at before the role check.
    let token = csrf_field(&user.get("/user-content").await.body);
    let reply = user
        .post_form(
            "/admin-content",
            &[("example", "1"), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(reply.status, Status::Forbidden);
    assert!(
        reply
            .body
            .contains("Access to the requested resource is denied")
    );
}

#[rocket::async_test]
async fn the_denied_page_is_a_403() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    let page = browser.get("/denied").await;
    assert_eq!(page.status, Status::Forbidden);
    assert!(
        page.body
            .contains("Access to the requested resource is denied")
    );
}

#[rocket::async_test]
async fn logout_asks_first_then_revokes_and_deletes_the_cookies() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    let access = browser.cookie("jwtapp_access").expect("access cookie");

    let page = browser.get("/logout").await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("<title>Log out · jwtapp</title>"));
    assert!(page.body.contains("Are you sure you want to log out?"));
    assert!(
        page.body
            .contains(r#"<form method="post" action="/logout">"#)
    );
    assert!(
        page.body
            .contains(r#"<button type="submit">Log out</button>"#)
    );
    assert!(
        browser.cookie("jwtapp_access").is_some(),
        "GET /logout changes nothing"
    );

    let reply = browser.submit("/logout", &[]).await;
    assert_eq!(reply.status, Status::SeeOther, "{}", reply.body);
    assert_eq!(reply.header("Location"), Some("/login"));
    for name in ["jwtapp_access", "jwtapp_refresh", "jwtapp_csrf"] {
        let removal = reply
            .set_cookie(name)
            .unwrap_or_else(|| panic!("{name} deleted"));
        assert!(removal.is_removal(), "{name}");
        assert_eq!(removal.attribute("path"), Some("/"), "{name}");
        assert_eq!(removal.attribute("samesite"), Some("Lax"), "{name}");
        assert_eq!(removal.has("httponly"), name != "jwtapp_csrf", "{name}");
    }
    assert!(browser.cookie("jwtapp_access").is_none());

    // The login is over on the server too: the old access token is refused at once.
    assert_eq!(
        app.get("/api/auth/info", Some(&access)).await.status,
        Status::Unauthorized
    );
    let reply = browser.get("/user-content").await;
    assert_eq!(reply.header("Location"), Some("/login?next=/user-content"));
}

#[rocket::async_test]
async fn logout_with_stale_cookies_or_none_still_lands_on_login() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    browser.set("jwtapp_access", "stale");
    browser.set("jwtapp_refresh", "stale");
    let reply = browser.post_form("/logout", &[]).await;
    assert_eq!(reply.status, Status::SeeOther);
    assert_eq!(reply.header("Location"), Some("/login"));
    assert!(
        browser.cookie_names().is_empty(),
        "{:?}",
        browser.cookie_names()
    );

    let reply = app.send(app.client.post("/logout")).await;
    assert_eq!(reply.status, Status::SeeOther);
}

#[rocket::async_test]
async fn pages_carry_the_security_headers() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    let login = browser.get("/login").await;
    browser.sign_in("user", "user").await;
    let mut replies = vec![login];
    for path in [
        "/",
        "/user-content",
        "/denied",
        "/logout",
        "/admin-content",
        "/nope",
    ] {
        replies.push(browser.get(path).await);
    }
    for reply in replies {
        let csp = reply.header("Content-Security-Policy").expect("CSP");
        assert!(csp.contains("default-src 'self'"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(reply.header("Cache-Control"), Some("no-store"));
        assert_eq!(reply.header("X-Content-Type-Options"), Some("nosniff"));
        assert_eq!(reply.header("Referrer-Policy"), Some("same-origin"));
        assert_eq!(reply.header("X-Frame-Options"), Some("DENY"));
        assert!(!reply.body.contains("<script"));
        assert!(!reply.body.contains(" style="));
        assert!(
            reply
                .body
                .contains(r#"<link rel="stylesheet" href="/static/style."#)
        );
    }
}

#[rocket::async_test]
async fn pages_link_a_fingerprinted_stylesheet_cached_for_a_year() {
    let app = TestApp::spawn().await;
    let page = app.get("/login", None).await;
    let start = page
        .body
        .find(r#"href="/static/style."#)
        .expect("stylesheet link")
        + 6;
    let end = page.body[start..].find('"').unwrap() + start;
    let href = &page.body[start..end];
    assert!(
        href.ends_with(".css") && href.len() == "/static/style..css".len() + 16,
        "{href}"
    );
    let css = app.get(href, None).await;
    assert_eq!(css.status, Status::Ok);
    assert_eq!(css.header("Content-Type"), Some("text/css; charset=utf-8"));
    assert_eq!(
        css.header("Cache-Control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(css.body, app.get("/static/style.css", None).await.body);
    // Only the current fingerprint is served.
    let stale = app.get("/static/style.0123456789abcdef.css", None).await;
    assert_eq!(stale.status, Status::NotFound);
}

#[rocket::async_test]
async fn the_stylesheet_is_served_from_the_binary_with_a_long_cache_lifetime() {
    let app = TestApp::spawn().await;
    let css = app.get("/static/style.css", None).await;
    assert_eq!(css.status, Status::Ok);
    assert_eq!(css.header("Content-Type"), Some("text/css; charset=utf-8"));
    assert_eq!(css.header("Cache-Control"), Some("public, max-age=86400"));
    let etag = css.header("ETag").expect("ETag").to_owned();
    let again = app
        .send(
            app.client
                .get("/static/style.css")
                .header(Header::new("If-None-Match", etag)),
        )
        .await;
    assert_eq!(again.status, Status::NotModified);
    for path in [
        "/static/missing.css",
        "/static/../Cargo.toml",
        "/static/%2e%2e/Cargo.toml",
        "/static/..%2fCargo.toml",
        "/static/.hidden",
    ] {
        let reply = app.get(path, None).await;
        assert_eq!(reply.status, Status::NotFound, "{path}");
        assert!(
            reply
                .header("Content-Type")
                .is_some_and(|c| c.starts_with("text/html")),
            "{path}"
        );
    }
}

#[rocket::async_test]
async fn a_wrong_method_on_a_page_is_a_405_page_with_allow() {
    let app = TestApp::spawn().await;
    let reply = app.send(app.client.delete("/user-content")).await;
    assert_eq!(reply.status, Status::MethodNotAllowed);
    assert_eq!(reply.header("Allow"), Some("GET, POST"));
    assert!(
        reply
            .header("Content-Type")
            .is_some_and(|c| c.starts_with("text/html"))
    );
    assert!(reply.body.contains("405"));
}

/// The whole flow with Rocket's own cookie-tracking client, as an application embedding jwtapp
/// would test it: it keeps and deletes cookies by itself.
#[rocket::async_test]
async fn the_flow_works_with_rockets_tracked_client() {
    let dir = tempfile::tempdir().unwrap();
    let figment = base_figment(dir.path()).merge(("auth.cookie_secure", true));
    let client = rocket::local::asynchronous::Client::tracked(jwtapp::rocket(figment))
        .await
        .unwrap();
    let page = client
        .get("/login")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    let token = csrf_field(&page);
    let reply = client
        .post("/login")
        .header(ContentType::Form)
        .body(form_encode(&[
            ("username", "admin"),
            ("password", "admin"),
            ("csrf_token", &token),
            ("next", "/admin-content"),
        ]))
        .dispatch()
        .await;
    assert_eq!(reply.status(), Status::SeeOther);
    assert_eq!(reply.headers().get_one("Location"), Some("/admin-content"));
    assert!(client.cookies().get("__Host-jwtapp_access").is_some());

    let page = client.get("/admin-content").dispatch().await;
    assert_eq!(page.status(), Status::Ok);
    let token = csrf_field(&page.into_string().await.unwrap());
    let reply = client
        .post("/logout")
        .header(ContentType::Form)
        .body(form_encode(&[("csrf_token", &token)]))
        .dispatch()
        .await;
    assert_eq!(reply.status(), Status::SeeOther);
    assert!(client.cookies().get("__Host-jwtapp_access").is_none());
    assert!(client.cookies().get("__Host-jwtapp_refresh").is_none());
    let reply = client.get("/admin-content").dispatch().await;
    assert_eq!(
        reply.headers().get_one("Location"),
        Some("/login?next=/admin-content")
    );
}
