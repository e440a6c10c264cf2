//! Bad input gets a clear 4xx JSON error, never a 500, a panic or a hang.

use std::time::Instant;

use rocket::http::{ContentType, Header, Status};
use serde_json::json;

use crate::support::{Reply, TestApp};
use jwtapp::store::{SqliteStore, Store};

#[rocket::async_test]
async fn wrong_credentials_get_the_same_401_whatever_was_wrong() {
    let app = TestApp::spawn().await;
    SqliteStore::open(&app.database())
        .expect("open")
        .set_enabled("admin", false, app.now() as i64)
        .await
        .expect("disable admin");

    let unknown = app.try_login("nobody", "user").await;
    let wrong_password = app.try_login("user", "wrong").await;
    let disabled = app.try_login("admin", "admin").await;

    unknown.assert_error(401);
    let comparable = |r: &Reply| {
        let headers: Vec<_> = r
            .headers
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("date"))
            .cloned()
            .collect();
        (r.status, headers, r.body.clone())
    };
    assert_eq!(comparable(&unknown), comparable(&wrong_password));
    assert_eq!(comparable(&unknown), comparable(&disabled));
}

/// An unknown username must cost a real argon2 verification, or timing tells which names exist.
#[rocket::async_test]
async fn an_unknown_user_takes_about_as_long_as_a_wrong_password() {
    // The real (OWASP) parameters, so that a verification is clearly measurable.
    let app = TestApp::spawn_with(|f| {
        f.merge(("auth.argon2_memory_kib", 19456))
            .merge(("auth.argon2_iterations", 2))
    })
    .await;
    let mut unknown = Vec::new();
    let mut wrong = Vec::new();

    for _ in 0..5 {
        let start = Instant::now();
        app.try_login("nobody-by-this-name", "password")
            .await
            .assert_error(401);
        unknown.push(start.elapsed());
        let start = Instant::now();
        app.try_login("user", "password").await.assert_error(401);
        wrong.push(start.elapsed());
    }

    unknown.sort();
    wrong.sort();
    let (unknown, wrong) = (unknown[2].as_secs_f64(), wrong[2].as_secs_f64());
    // Loose bounds: a missing dummy verification would make the ratio about 0.001.
    assert!(
        unknown > wrong * 0.4,
        "unknown user {unknown:.4}s vs wrong password {wrong:.4}s"
    );
}

#[rocket::async_test]
async fn login_with_a_malformed_body() {
    let app = TestApp::spawn().await;

    app.post_json("/api/auth/login", None, r#"{"username": "user""#)
        .await
        .assert_error(400);
    app.post_json("/api/auth/login", None, "")
        .await
        .assert_error(400);
    app.post_json("/api/auth/login", None, r#"{"username": "user"}"#)
        .await
        .assert_error(422);
    app.post_json(
        "/api/auth/login",
        None,
        r#"{"username": 1, "password": "user"}"#,
    )
    .await
    .assert_error(422);
    app.post_json("/api/auth/login", None, r#"["user", "user"]"#)
        .await
        .assert_error(422);
    app.post_json("/api/auth/login", None, "null")
        .await
        .assert_error(422);
    let form = app
        .client
        .post("/api/auth/login")
        .header(ContentType::Form)
        .body("username=user&password=user");
    // The README: a body without `Content-Type: application/json` is a 415.
    app.send(form).await.assert_error(415);
}

#[rocket::async_test]
async fn sample_values_that_are_not_numbers_are_422() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;

    for body in [
        r#"{}"#,
        r#"{"example": "21"}"#,
        r#"{"example": true}"#,
        r#"{"example": [1]}"#,
        r#"{"example": null}"#,
        r#"{"example": {"value": 1}}"#,
        r#"{"example": 1e400}"#,
        r#"{"example": -1e400}"#,
        r#"{"example": 1e308}"#,
        r#"[{"example": 1}]"#,
        r#"21"#,
        r#""text""#,
        r#"{"example": 1, "example": 2}"#,
    ] {
        let reply = app
            .post_json("/api/user-sample", Some(&user.access), body)
            .await;
        assert_eq!(
            reply.status,
            Status::UnprocessableEntity,
            "body {body}: {}",
            reply.body
        );
        reply.assert_error(422);
    }
    for body in [
        r#"{"example": NaN}"#,
        r#"{"example": Infinity}"#,
        r#"{"example": 01}"#,
        "{example: 1}",
    ] {
        app.post_json("/api/user-sample", Some(&user.access), body)
            .await
            .assert_error(400);
    }
}

#[rocket::async_test]
async fn a_wrong_content_type_on_a_json_route_is_refused() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;

    let request = app
        .client
        .post("/api/user-sample")
        .header(ContentType::Plain)
        .header(Header::new(
            "Authorization",
            format!("Bearer {}", user.access),
        ))
        .body(r#"{"example": 1}"#);
    let reply = app.send(request).await;

    reply.assert_error(415);
}

#[rocket::async_test]
async fn a_body_over_the_limit_is_413() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let huge_password = "p".repeat(1_000_000);

    let login = app.try_login("user", &huge_password).await;
    let sample = app
        .post_json(
            "/api/user-sample",
            Some(&user.access),
            &format!(r#"{{"example": 1, "pad": "{}"}}"#, "x".repeat(100_000)),
        )
        .await;

    login.assert_error(413);
    sample.assert_error(413);
}

#[rocket::async_test]
async fn a_long_password_within_the_limit_is_a_plain_401() {
    let app = TestApp::spawn().await;

    app.try_login("user", &"p".repeat(60_000))
        .await
        .assert_error(401);
}

#[rocket::async_test]
async fn hostile_bodies_never_cause_a_500() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let deep = format!(
        r#"{{"example": {}1{}}}"#,
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let deep_object = format!("{}{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
    let bodies: Vec<Vec<u8>> = vec![
        deep.into_bytes(),
        deep_object.into_bytes(),
        b"{\"username\": \"us\0er\", \"password\": \"user\"}".to_vec(),
        br#"{"username": "us\u0000er", "password": "us\u0000er"}"#.to_vec(),
        vec![0xff, 0xfe, 0xfd],
        b"{\"username\": \"\xff\xfe\", \"password\": \"x\"}".to_vec(),
        vec![0; 1000],
    ];

    for body in bodies {
        for path in ["/api/auth/login", "/api/user-sample"] {
            let request = app
                .client
                .post(path)
                .header(ContentType::JSON)
                .header(Header::new(
                    "Authorization",
                    format!("Bearer {}", user.access),
                ))
                .body(body.clone());
            let reply = app.send(request).await;
            assert!(
                reply.status.code >= 400 && reply.status.code < 500,
                "{path}: {} {}",
                reply.status,
                reply.body
            );
            reply.assert_error(reply.status.code);
        }
    }
    let escaped = app.try_login("us\u{0}er", "user\u{0}").await;
    escaped.assert_error(401);
}

#[rocket::async_test]
async fn huge_headers_are_handled() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;

    let request = app
        .client
        .get("/api/user-sample")
        .header(Header::new(
            "Authorization",
            format!("Bearer {}", user.access),
        ))
        .header(Header::new("X-Padding", "x".repeat(64 * 1024)));
    let reply = app.send(request).await;

    assert_eq!(reply.status, Status::Ok);
}

#[rocket::async_test]
async fn unknown_paths_are_404_and_wrong_methods_405_in_json() {
    let app = TestApp::spawn().await;

    app.get("/api/nothing-here", None).await.assert_error(404);
    app.get("/api", None).await.assert_error(404);
    let reply = app.send(app.client.delete("/api/user-sample")).await;
    reply.assert_error(405);
    assert_eq!(reply.header("Allow"), Some("GET, POST"));
    app.get("/api/auth/login", None).await.assert_error(405);
    app.send(app.client.put("/api/auth/logout"))
        .await
        .assert_error(405);
}

#[rocket::async_test]
async fn pages_get_html_errors_not_json() {
    let app = TestApp::spawn().await;

    let reply = app.get("/no-such-page", None).await;

    assert_eq!(reply.status, Status::NotFound);
    assert_eq!(
        reply.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert!(
        reply.body.contains("<title>404 Not Found"),
        "{}",
        reply.body
    );
}

#[rocket::async_test]
async fn errors_carry_the_original_shape() {
    let app = TestApp::spawn().await;

    let reply = app.get("/api/user-sample", None).await;

    let body = reply.json();
    assert_eq!(body["statusCode"], 401);
    assert_eq!(body["name"], "Unauthorized");
    assert_eq!(body.as_object().map(|o| o.len()), Some(3), "{body}");
    assert_eq!(json!(body["description"].is_string()), json!(true));
}
