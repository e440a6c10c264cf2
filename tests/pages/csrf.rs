//! CSRF protection of cookie-authenticated writes, and bad input to the page forms.

use rocket::http::{ContentType, Header, Status};

use crate::support::{Browser, Reply, TestApp, csrf_field, form_post};

/// A signed-in browser and its session's CSRF token, read from a page as a form would.
async fn signed_in<'a>(app: &'a TestApp, username: &str) -> (Browser<'a>, String) {
    let browser = Browser::new(app);
    browser.sign_in(username, username).await;
    let token = csrf_field(&browser.get("/user-content").await.body);
    (browser, token)
}

#[track_caller]
fn assert_csrf_page(reply: &Reply) {
    assert_eq!(reply.status, Status::Forbidden, "{}", reply.body);
    assert!(
        reply
            .header("Content-Type")
            .is_some_and(|c| c.starts_with("text/html"))
    );
    assert!(
        reply.body.contains("did not come from this site"),
        "{}",
        reply.body
    );
}

#[rocket::async_test]
async fn the_session_token_is_in_forms_the_meta_tag_and_the_csrf_cookie() {
    let app = TestApp::spawn().await;
    let (browser, token) = signed_in(&app, "user").await;
    assert_eq!(
        browser.cookie("jwtapp_csrf").as_deref(),
        Some(token.as_str())
    );
    let page = browser.get("/").await;
    assert!(
        page.body
            .contains(&format!(r#"<meta name="csrf-token" content="{token}">"#))
    );
    // The logout form carries the same token.
    assert_eq!(csrf_field(&browser.get("/logout").await.body), token);
}

#[rocket::async_test]
async fn a_form_without_its_token_or_with_another_sessions_token_is_refused() {
    let app = TestApp::spawn().await;
    let (browser, _) = signed_in(&app, "user").await;
    let (_, foreign) = signed_in(&app, "user").await;
    for fields in [
        vec![("example", "21")],
        vec![("example", "21"), ("csrf_token", "")],
        vec![("example", "21"), ("csrf_token", "not-a-token")],
        vec![("example", "21"), ("csrf_token", foreign.as_str())],
    ] {
        let reply = browser
            .send(form_post(&app, "/user-content", &fields))
            .await;
        assert_csrf_page(&reply);
        assert!(!reply.body.contains("<output"), "nothing was computed");
    }
    // The check comes before the fields are looked at: a forged form learns nothing else.
    let reply = browser.send(form_post(&app, "/user-content", &[])).await;
    assert_csrf_page(&reply);
}

#[rocket::async_test]
async fn a_forged_logout_changes_nothing() {
    let app = TestApp::spawn().await;
    let (browser, _) = signed_in(&app, "user").await;
    let (_, foreign) = signed_in(&app, "user").await;
    let no_fields: Vec<(&str, &str)> = Vec::new();
    for fields in [no_fields, vec![("csrf_token", foreign.as_str())]] {
        let reply = browser.send(form_post(&app, "/logout", &fields)).await;
        assert_csrf_page(&reply);
        assert!(reply.set_cookies().is_empty(), "no cookie deleted");
    }
    // Still signed in, on the server too.
    assert_eq!(browser.get("/").await.status, Status::Ok);
    let access = browser.cookie("jwtapp_access").unwrap();
    assert_eq!(
        app.get("/api/auth/info", Some(&access)).await.status,
        Status::Ok
    );
}

#[rocket::async_test]
async fn a_cross_site_logout_cannot_even_delete_cookies() {
    // With SameSite=Lax a cross-site POST arrives without cookies, yet its answer could still
    // delete them.
    let app = TestApp::spawn().await;
    let request =
        form_post(&app, "/logout", &[]).header(Header::new("Sec-Fetch-Site", "cross-site"));
    let reply = app.send(request).await;
    assert_csrf_page(&reply);
    assert!(reply.set_cookies().is_empty());
}

#[rocket::async_test]
async fn cross_site_requests_are_refused_even_with_a_valid_token() {
    let app = TestApp::spawn().await;
    let (browser, token) = signed_in(&app, "user").await;
    let fields = [("example", "21"), ("csrf_token", token.as_str())];
    let cross_site = [
        vec![Header::new("Sec-Fetch-Site", "cross-site")],
        vec![Header::new("Sec-Fetch-Site", "same-site")],
        vec![Header::new("Origin", "https://evil.example")],
        vec![Header::new("Origin", "null")],
        vec![
            Header::new("Host", "jwtapp.example"),
            Header::new("Origin", "https://evil.example"),
        ],
        // Either signal is enough.
        vec![
            Header::new("Sec-Fetch-Site", "same-origin"),
            Header::new("Host", "jwtapp.example"),
            Header::new("Origin", "https://evil.example"),
        ],
        // The scheme counts: this site is served over http here.
        vec![
            Header::new("Host", "jwtapp.example"),
            Header::new("Origin", "https://jwtapp.example"),
        ],
    ];
    for headers in cross_site {
        let mut request = form_post(&app, "/user-content", &fields);
        for header in headers.clone() {
            request = request.header(header);
        }
        let reply = browser.send(request).await;
        assert_csrf_page(&reply);
        // The same goes for logout.
        let mut request = form_post(&app, "/logout", &[("csrf_token", token.as_str())]);
        for header in headers.clone() {
            request = request.header(header);
        }
        assert_csrf_page(&browser.send(request).await);
    }
    // Same-origin signals are fine; without a Host header, the configured address is the origin.
    // (The test app has cookie_secure off, so its pages are served over http.)
    let same_origin = [
        vec![
            Header::new("Host", "jwtapp.example:80"),
            Header::new("Origin", "http://jwtapp.example"),
        ],
        vec![Header::new("Origin", "http://127.0.0.1:8000")],
        vec![Header::new("Sec-Fetch-Site", "same-origin")],
        vec![
            Header::new("Host", "jwtapp.example"),
            Header::new("Origin", "http://jwtapp.example"),
        ],
        vec![],
    ];
    for headers in same_origin {
        let mut request = form_post(&app, "/user-content", &fields);
        for header in headers.clone() {
            request = request.header(header);
        }
        let reply = browser.send(request).await;
        assert_eq!(reply.status, Status::Ok, "{headers:?}");
    }
    // Reading is never refused: a link from another site must still open the page.
    let request = app
        .client
        .get("/user-content")
        .header(Header::new("Sec-Fetch-Site", "cross-site"));
    assert_eq!(browser.send(request).await.status, Status::Ok);
}

#[rocket::async_test]
async fn the_login_form_needs_its_pre_session_token() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    let token = csrf_field(&browser.get("/login").await.body);
    let credentials = [("username", "user"), ("password", "user")];

    // No token, a wrong one, or one made for another browser's nonce.
    let other = Browser::new(&app);
    let others_token = csrf_field(&other.get("/login").await.body);
    for extra in [None, Some("wrong"), Some(others_token.as_str())] {
        let mut fields = credentials.to_vec();
        if let Some(extra) = extra {
            fields.push(("csrf_token", extra));
        }
        let reply = browser.send(form_post(&app, "/login", &fields)).await;
        assert_csrf_page(&reply);
        assert!(reply.set_cookie("jwtapp_access").is_none());
    }
    // The right token, but without the nonce cookie it belongs to (a login CSRF attempt).
    let mut fields = credentials.to_vec();
    fields.push(("csrf_token", token.as_str()));
    assert_csrf_page(&app.send(form_post(&app, "/login", &fields)).await);
    // And a cross-site post of a complete form.
    let request =
        form_post(&app, "/login", &fields).header(Header::new("Sec-Fetch-Site", "cross-site"));
    assert_csrf_page(&browser.send(request).await);

    let reply = browser.send(form_post(&app, "/login", &fields)).await;
    assert_eq!(reply.status, Status::SeeOther, "{}", reply.body);
    // Exactly two HttpOnly cookies come with a login: the JWTs.
    let mut http_only: Vec<String> = reply
        .set_cookies()
        .into_iter()
        .filter(|c| c.has("httponly"))
        .map(|c| c.name)
        .collect();
    http_only.sort();
    assert_eq!(http_only, ["jwtapp_access", "jwtapp_refresh"]);
}

#[rocket::async_test]
async fn cookie_authenticated_api_writes_need_the_csrf_header() {
    let app = TestApp::spawn().await;
    let (browser, token) = signed_in(&app, "user").await;
    let post = |csrf: Option<&str>| {
        let request = app
            .client
            .post("/api/user-sample")
            .header(ContentType::JSON)
            .body(r#"{"example": 2}"#);
        match csrf {
            Some(csrf) => request.header(Header::new("X-CSRF-Token", csrf.to_owned())),
            None => request,
        }
    };
    for csrf in [None, Some(""), Some("forged")] {
        let reply = browser.send(post(csrf)).await;
        reply.assert_error(403);
    }
    // A cross-site Origin is refused even with the token.
    let reply = browser
        .send(post(Some(&token)).header(Header::new("Origin", "https://evil.example")))
        .await;
    reply.assert_error(403);
    let reply = browser.send(post(Some(&token))).await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    assert_eq!(reply.json()["example"], 4);
    // Paths that Rocket routes to the API all the same are API requests for the check too.
    for path in [
        "//api/user-sample",
        "/%61pi/user-sample",
        "/api//user-sample",
    ] {
        let request = app
            .client
            .post(path)
            .header(ContentType::JSON)
            .body(r#"{"example": 2}"#);
        let reply = browser.send(request).await;
        assert!(
            reply.status == Status::Forbidden || reply.status == Status::NotFound,
            "{path}: {} {}",
            reply.status,
            reply.body
        );
        assert_ne!(reply.status, Status::Ok, "{path}");
    }
    let request = app
        .client
        .post("//api/auth/logout")
        .header(ContentType::JSON)
        .body("{}");
    assert_ne!(browser.send(request).await.status, Status::Ok);
    assert_eq!(
        browser.get("/api/auth/info").await.status,
        Status::Ok,
        "still signed in"
    );
    // Cross-site is refused even with the token.
    let reply = browser
        .send(post(Some(&token)).header(Header::new("Sec-Fetch-Site", "cross-site")))
        .await;
    reply.assert_error(403);
    // Safe methods need nothing.
    assert_eq!(browser.get("/api/user-sample").await.status, Status::Ok);
}

#[rocket::async_test]
async fn bearer_requests_need_no_csrf_token_even_with_cookies_around() {
    let app = TestApp::spawn().await;
    let (browser, _) = signed_in(&app, "user").await;
    let tokens = app.login("user", "user").await;
    // Like the original Angular client on http://localhost:4200: Bearer header, another origin.
    let request = app
        .client
        .post("/api/user-sample")
        .header(ContentType::JSON)
        .header(Header::new(
            "Authorization",
            format!("Bearer {}", tokens.access),
        ))
        .header(Header::new("Origin", "http://localhost:4200"))
        .header(Header::new("Sec-Fetch-Site", "same-site"))
        .body(r#"{"example": 3}"#);
    let reply = browser.send(request).await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    assert_eq!(reply.json()["example"], 6);
    assert_eq!(
        reply.header("Access-Control-Allow-Origin"),
        Some("http://localhost:4200")
    );

    // The JSON login needs no token either.
    let reply = app
        .send(
            app.client
                .post("/api/auth/login")
                .header(ContentType::JSON)
                .header(Header::new("Origin", "http://localhost:4200"))
                .body(r#"{"username": "user", "password": "user"}"#),
        )
        .await;
    assert_eq!(reply.status, Status::Ok);
}

#[rocket::async_test]
async fn refresh_and_logout_accept_the_refresh_cookie_with_the_csrf_header() {
    let app = TestApp::spawn().await;
    let (browser, token) = signed_in(&app, "user").await;

    let refresh = |csrf: Option<&str>| {
        let request = app
            .client
            .post("/api/auth/refresh")
            .header(ContentType::JSON)
            .body("{}");
        match csrf {
            Some(csrf) => request.header(Header::new("X-CSRF-Token", csrf.to_owned())),
            None => request,
        }
    };
    browser.send(refresh(None)).await.assert_error(403);
    browser
        .send(refresh(Some("forged")))
        .await
        .assert_error(403);
    let reply = browser.send(refresh(Some(&token))).await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    let access = reply.json()["accessToken"].as_str().unwrap().to_owned();
    // The access cookie is renewed with it.
    assert_eq!(
        reply.set_cookie("jwtapp_access").map(|c| c.value),
        Some(access.clone())
    );

    let logout = app
        .client
        .post("/api/auth/logout")
        .header(ContentType::JSON)
        .body("{}");
    browser.send(logout).await.assert_error(403);
    let logout = app
        .client
        .post("/api/auth/logout")
        .header(ContentType::JSON)
        .header(Header::new("X-CSRF-Token", token.clone()))
        .body("{}");
    let reply = browser.send(logout).await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    assert_eq!(reply.json()["message"], "Logged out");
    assert!(
        reply
            .set_cookie("jwtapp_refresh")
            .is_some_and(|c| c.is_removal())
    );
    assert_eq!(
        app.get("/api/auth/info", Some(&access)).await.status,
        Status::Unauthorized
    );
}

/// A 4xx answer to a page request is an HTML page that names its status.
#[track_caller]
fn assert_error_page(reply: &Reply, status: Status) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert!(
        reply
            .header("Content-Type")
            .is_some_and(|c| c.starts_with("text/html")),
        "{status}: {:?}",
        reply.header("Content-Type")
    );
    assert!(
        reply.body.contains(&status.code.to_string()),
        "{}",
        reply.body
    );
    assert_eq!(reply.header("Cache-Control"), Some("no-store"));
}

#[rocket::async_test]
async fn bad_form_input_gets_a_4xx_page_never_a_500() {
    let app = TestApp::spawn().await;
    let (browser, token) = signed_in(&app, "user").await;
    let huge = "9".repeat(64 * 1024);

    // Over the form limit (32 KiB): 413, for a signed-in form and for the login form.
    let reply = browser
        .send(form_post(
            &app,
            "/user-content",
            &[("example", &huge), ("csrf_token", &token)],
        ))
        .await;
    assert_error_page(&reply, Status::PayloadTooLarge);
    let anonymous = Browser::new(&app);
    let login_token = csrf_field(&anonymous.get("/login").await.body);
    let reply = anonymous
        .send(form_post(
            &app,
            "/login",
            &[
                ("username", &huge),
                ("password", "x"),
                ("csrf_token", &login_token),
            ],
        ))
        .await;
    assert_error_page(&reply, Status::PayloadTooLarge);

    // A long value within the limit is just a value that cannot be doubled: the form, 422.
    let long = "7".repeat(2000);
    let reply = browser
        .send(form_post(
            &app,
            "/user-content",
            &[("example", &long), ("csrf_token", &token)],
        ))
        .await;
    assert_eq!(reply.status, Status::UnprocessableEntity);
    assert!(reply.body.contains("out of range"));
    assert_eq!(reply.header("Cache-Control"), Some("no-store"));

    // Wrong content types: 415.
    for (content_type, body) in [
        (ContentType::JSON, r#"{"example": 1}"#.to_owned()),
        (ContentType::Plain, format!("example=1&csrf_token={token}")),
        (
            ContentType::FormData,
            format!("example=1&csrf_token={token}"),
        ),
    ] {
        let request = app
            .client
            .post("/user-content")
            .header(content_type.clone())
            .body(body.clone());
        assert_error_page(&browser.send(request).await, Status::UnsupportedMediaType);
        let request = app
            .client
            .post("/login")
            .header(content_type.clone())
            .body(body);
        assert_error_page(&anonymous.send(request).await, Status::UnsupportedMediaType);
    }

    // A missing field with a valid token: 422. Bytes that are not UTF-8: 400.
    let reply = browser
        .send(form_post(&app, "/user-content", &[("csrf_token", &token)]))
        .await;
    assert_error_page(&reply, Status::UnprocessableEntity);
    let request = app
        .client
        .post("/user-content")
        .header(ContentType::Form)
        .body(b"example=\xff\xfe&csrf_token=x");
    assert_error_page(&browser.send(request).await, Status::BadRequest);
    // Malformed percent-encoding, odd field names and a repeated field: the form answers.
    let request = app
        .client
        .post("/user-content")
        .header(ContentType::Form)
        .body(format!("example=%zz&%%%=1&csrf_token={token}&example=2"));
    let reply = browser.send(request).await;
    assert_eq!(reply.status, Status::UnprocessableEntity, "{}", reply.body);
    // And a CSRF refusal is a page too.
    let reply = browser
        .send(form_post(&app, "/user-content", &[("example", "1")]))
        .await;
    assert_error_page(&reply, Status::Forbidden);
}

#[rocket::async_test]
async fn a_login_form_opened_before_a_logout_still_works_after_it() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    // Another tab shows the login form; this one logs out.
    let token = csrf_field(&browser.get("/login").await.body);
    let reply = browser.submit("/logout", &[]).await;
    assert_eq!(reply.status, Status::SeeOther);
    let reply = browser
        .post_form(
            "/login",
            &[
                ("username", "admin"),
                ("password", "admin"),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(reply.status, Status::SeeOther, "{}", reply.body);
    assert!(browser.get("/").await.body.contains("Signed in as admin"));
}
