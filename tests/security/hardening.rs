//! The defects and weak spots an outside review found, each attacked the way the review did:
//! cross-site lockout, look-alike usernames, unbounded sessions, parallel logins, the Bearer
//! rule, the scheme of `Origin`, `_method` overrides, HSTS, and the traps of a release start.

use std::path::Path;
use std::time::Instant;

use futures::future::join_all;
use rocket::http::{ContentType, Header, Status};
use serde_json::json;

use crate::support::{
    Browser, Reply, SECRET, SESSION_ENDED, Server, TestApp, address, csrf_field, form_encode,
    jwtapp_cli, run_binary as run, text, within_change_bound,
};

fn credentials(username: &str, password: &str) -> String {
    json!({"username": username, "password": password}).to_string()
}

// ----- 1. a foreign page locking its visitors out -----

/// What `fetch(url, {method: "POST", mode: "no-cors", body: new Blob([json])})` on another site
/// makes a browser send: no Content-Type, no preflight, and the page's site in the headers.
async fn foreign_page_login(app: &TestApp, headers: &[(&str, &str)], password: &str) -> Reply {
    let mut request = app
        .client
        .post("/api/auth/login")
        .remote(address(1))
        .body(credentials("user", password));
    for (name, value) in headers {
        request = request.header(Header::new(name.to_string(), value.to_string()));
    }
    app.send(request).await
}

#[rocket::async_test]
async fn a_foreign_page_cannot_spend_its_visitors_login_budget() {
    let app = TestApp::spawn().await;
    let attacks: [&[(&str, &str)]; 5] = [
        // The review's request: a no-cors fetch from a sandboxed or opaque origin.
        &[("Origin", "null"), ("Sec-Fetch-Site", "cross-site")],
        &[
            ("Origin", "https://evil.example"),
            ("Sec-Fetch-Site", "cross-site"),
        ],
        // Either signal alone is enough.
        &[("Origin", "https://evil.example")],
        &[("Sec-Fetch-Site", "cross-site")],
        // A sibling subdomain is not this site either.
        &[("Sec-Fetch-Site", "same-site")],
    ];
    // Well past both limits (5 per user, 50 per address), from the visitor's own address.
    for headers in attacks {
        for _ in 0..12 {
            let reply = foreign_page_login(&app, headers, "wrong").await;
            reply.assert_error(403);
            assert!(
                reply.json()["description"]
                    .as_str()
                    .is_some_and(|d| d.contains("cors_origins"))
            );
        }
    }
    // Even with a Content-Type, from a foreign origin, nothing is counted.
    for _ in 0..6 {
        let request = app
            .client
            .post("/api/auth/login")
            .remote(address(1))
            .header(ContentType::Text)
            .header(Header::new("Origin", "https://evil.example"))
            .body(credentials("user", "wrong"));
        app.send(request).await.assert_error(403);
    }

    // The visitor still logs in, on the API and on the page.
    let reply = app.login_from(address(1), "user", "user").await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    let browser = Browser::new(&app);
    let page = browser.get("/login").await;
    let token = csrf_field(&page.body);
    let request = app
        .client
        .post("/login")
        .remote(address(1))
        .header(ContentType::Form)
        .body(form_encode(&[
            ("username", "admin"),
            ("password", "admin"),
            ("csrf_token", &token),
        ]));
    assert_eq!(browser.send(request).await.status, Status::SeeOther);
}

#[rocket::async_test]
async fn a_body_without_content_type_is_refused_by_every_json_endpoint() {
    let app = TestApp::spawn().await;
    let tokens = app.login("user", "user").await;
    let bearer = Header::new("Authorization", format!("Bearer {}", tokens.access));
    let cases = [
        ("/api/auth/login", credentials("user", "user"), None),
        (
            "/api/auth/password",
            json!({"currentPassword": "user", "newPassword": "a new password"}).to_string(),
            Some(bearer.clone()),
        ),
        (
            "/api/user-sample",
            json!({"example": 1}).to_string(),
            Some(bearer.clone()),
        ),
        (
            "/api/auth/refresh",
            "{}".to_owned(),
            Some(Header::new(
                "Authorization",
                format!("Bearer {}", tokens.refresh),
            )),
        ),
    ];
    for (path, body, auth) in cases {
        let mut request = app.client.post(path).body(body);
        if let Some(auth) = auth {
            request = request.header(auth);
        }
        let reply = app.send(request).await;
        reply.assert_error(415);
        assert!(
            reply.json()["description"]
                .as_str()
                .is_some_and(|d| d.contains("Content-Type: application/json")),
            "{path}: {}",
            reply.body
        );
    }
    // Refresh and logout need no body: an empty one is fine without a Content-Type, and so is
    // the Angular client's `{}` as JSON.
    let refresh = Header::new("Authorization", format!("Bearer {}", tokens.refresh));
    let empty = app
        .send(app.client.post("/api/auth/refresh").header(refresh.clone()))
        .await;
    assert_eq!(empty.status, Status::Ok, "{}", empty.body);
    let angular = app
        .send(
            app.client
                .post("/api/auth/refresh")
                .header(refresh.clone())
                .header(ContentType::JSON)
                .body("{}"),
        )
        .await;
    assert_eq!(angular.status, Status::Ok, "{}", angular.body);
    let not_json = app
        .send(
            app.client
                .post("/api/auth/refresh")
                .header(refresh.clone())
                .header(ContentType::JSON)
                .body("{"),
        )
        .await;
    not_json.assert_error(400);
    let logout = app
        .send(app.client.post("/api/auth/logout").header(refresh))
        .await;
    assert_eq!(logout.status, Status::Ok, "{}", logout.body);
}

#[rocket::async_test]
async fn the_angular_client_this_site_and_non_browsers_still_log_in() {
    let app = TestApp::spawn().await;
    let allowed: [&[(&str, &str)]; 4] = [
        // The original Angular client: another port of the same host, listed in cors_origins.
        &[
            ("Origin", "http://localhost:4200"),
            ("Sec-Fetch-Site", "same-site"),
        ],
        // This site's own scripts (the test app is served over http on 127.0.0.1:8000).
        &[
            ("Origin", "http://127.0.0.1:8000"),
            ("Sec-Fetch-Site", "same-origin"),
        ],
        &[("Sec-Fetch-Site", "none")],
        // curl, servers, mobile apps.
        &[],
    ];
    for headers in allowed {
        let mut request = app
            .client
            .post("/api/auth/login")
            .header(ContentType::JSON)
            .body(credentials("user", "user"));
        for (name, value) in headers {
            request = request.header(Header::new(name.to_string(), value.to_string()));
        }
        let reply = app.send(request).await;
        assert_eq!(reply.status, Status::Ok, "{headers:?}: {}", reply.body);
    }
}

// ----- 2. look-alike usernames -----

fn add_user(app: &TestApp, name: &str, password: &str) -> std::process::Output {
    jwtapp_cli(
        &app.database(),
        &["user", "add", name],
        Some(&format!("{password}\n")),
    )
}

#[rocket::async_test]
async fn look_alike_usernames_are_one_account() {
    let app = TestApp::spawn().await;
    let created = add_user(&app, "victimx", "victim's password");
    assert!(created.status.success(), "{}", text(&created.stderr));
    let kevin = add_user(&app, "kevin", "kevin's password");
    assert!(kevin.status.success(), "{}", text(&kevin.stderr));

    // The review's pairs cannot be created, and the refusal names the existing account.
    for look_alike in ["VictimX", "VICTIMX", "\u{212A}evin", "ｋｅｖｉｎ"] {
        let refused = add_user(&app, look_alike, "attacker's password");
        assert!(!refused.status.success(), "{look_alike} was created");
        let message = text(&refused.stderr);
        assert!(message.contains("already exists"), "{message}");
        assert!(
            message.contains("\"victimx\"") || message.contains("\"kevin\""),
            "{message}"
        );
    }

    // Login finds the account by any spelling; the display name is the admin's.
    let tokens = app.login("\u{212A}EVIN", "kevin's password").await;
    let info = app.get("/api/auth/info", Some(&tokens.access)).await;
    assert_eq!(info.json()["username"], "kevin");

    // And every spelling shares one throttling budget.
    for spelling in ["VictimX", "victimX", "VICTIMX", "victimx", "Victimx"] {
        app.login_from(address(7), spelling, "guess")
            .await
            .assert_error(401);
    }
    app.login_from(address(7), "victimx", "victim's password")
        .await
        .assert_error(429);
}

#[rocket::async_test]
async fn usernames_that_cannot_be_told_apart_or_read_are_refused() {
    let app = TestApp::spawn().await;
    for bad in [" alice", "alice ", "al\tice", "ali\u{7}ce", &"a".repeat(65)] {
        let refused = add_user(&app, bad, "long enough password");
        assert!(!refused.status.success(), "{bad:?} was accepted");
        assert!(text(&refused.stderr).contains("username"), "{bad:?}");
    }
    let spaced = add_user(&app, "Jane Doe", "long enough password");
    assert!(spaced.status.success(), "{}", text(&spaced.stderr));
    let long = add_user(&app, &"é".repeat(64), "long enough password");
    assert!(long.status.success(), "{}", text(&long.stderr));
}

/// Writes a second user whose canonical form clashes with `existing`'s, as a database of an
/// older jwtapp could hold.
fn insert_clashing_user(db: &Path, name: &str, existing: &str) {
    let conn = rusqlite::Connection::open(db).expect("open");
    conn.execute(
        "INSERT INTO users (username, canonical, password_hash, enabled, is_admin, is_demo, \
         created_at, updated_at) \
         SELECT ?1, canonical, password_hash, 1, 0, 0, 1, 1 FROM users WHERE username = ?2",
        [name, existing],
    )
    .expect("insert the clashing user");
}

#[test]
fn an_existing_clash_is_reported_and_neither_account_logs_in_until_renamed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("jwtapp.sqlite3");
    // A first start makes the database and the demo accounts.
    drop(Server::try_start(&db, "debug", "").expect("first start"));
    insert_clashing_user(&db, "USER", "user");

    let server = Server::try_start(&db, "debug", "").expect("a clash does not stop the start");
    let log = &server.startup_log;
    assert!(log.contains("\"user\" and \"USER\""), "{log}");
    assert!(log.contains("jwtapp user rename"), "{log}");
    let login = |name: &str| {
        server
            .post_json("/api/auth/login", &credentials(name, "user"))
            .status
            .code
    };
    assert_eq!(login("user"), 401);
    assert_eq!(login("USER"), 401);

    let renamed = jwtapp_cli(&db, &["user", "rename", "USER", "user2"], None);
    assert!(renamed.status.success(), "{}", text(&renamed.stderr));
    assert_eq!(login("user"), 200);
    assert_eq!(login("user2"), 200);
}

#[rocket::async_test]
async fn renaming_a_user_keeps_the_account_and_ends_its_sessions() {
    let app = TestApp::spawn().await;
    let tokens = app.login("user", "user").await;
    assert!(app.accepts(&tokens.access).await);
    let out = jwtapp_cli(&app.database(), &["user", "rename", "user", "Ursula"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let committed = Instant::now();

    // The tokens name the old spelling: their sessions ended (401), the account lives on.
    let reply = within_change_bound(
        committed,
        "renamed from the CLI",
        async || app.get("/api/auth/info", Some(&tokens.access)).await,
        |reply| reply.status != Status::Ok,
    )
    .await;
    reply.assert_error(401);
    assert_eq!(reply.json()["description"], SESSION_ENDED);
    app.try_login("user", "user").await.assert_error(401);
    let tokens = app.login("ursula", "user").await;
    let info = app.get("/api/auth/info", Some(&tokens.access)).await;
    assert_eq!(info.json()["username"], "Ursula");

    // A rename onto another account's canonical form is refused.
    let out = jwtapp_cli(
        &app.database(),
        &["user", "rename", "Ursula", "ADMIN"],
        None,
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        text(&out.stderr)
    );
}

// ----- 3. sessions per user -----

#[rocket::async_test]
async fn sixty_logins_keep_at_most_fifty_sessions_and_end_the_least_recently_used() {
    let app = TestApp::spawn().await;
    let mut logins = Vec::new();
    for _ in 0..60 {
        logins.push(app.login("user", "user").await);
    }
    let newest = &logins[59];
    let listed = app.get("/api/auth/sessions", Some(&newest.access)).await;
    assert_eq!(listed.status, Status::Ok);
    let sessions = listed.json();
    assert_eq!(sessions.as_array().map(Vec::len), Some(50));
    // The ten least recently used logins ended, and are refused like any ended session.
    for ended in &logins[..10] {
        app.get("/api/auth/info", Some(&ended.access))
            .await
            .assert_error(401);
    }
    for live in &logins[10..] {
        let reply = app.get("/api/auth/info", Some(&live.access)).await;
        assert_eq!(reply.status, Status::Ok);
    }
    // The sessions page is bounded the same way.
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    let page = browser.get("/sessions").await;
    assert_eq!(page.body.matches("name=\"id\"").count(), 50);
}

#[rocket::async_test]
async fn a_session_that_is_used_is_kept_over_older_unused_ones() {
    let app = TestApp::spawn_with(|f| f.merge(("auth.max_sessions_per_user", 3))).await;
    let first = app.login("user", "user").await;
    let second = app.login("user", "user").await;
    // A second later the first login is used again (a refresh), so the second is the least
    // recently used.
    app.clock().advance(1);
    let refreshed = app
        .send(app.client.post("/api/auth/refresh").header(Header::new(
            "Authorization",
            format!("Bearer {}", first.refresh),
        )))
        .await;
    assert_eq!(refreshed.status, Status::Ok);
    app.login("user", "user").await;
    app.login("user", "user").await;

    app.get("/api/auth/info", Some(&second.access))
        .await
        .assert_error(401);
    let kept = app.get("/api/auth/info", Some(&first.access)).await;
    assert_eq!(kept.status, Status::Ok, "{}", kept.body);
}

// ----- 4. parallel logins -----

#[rocket::async_test]
async fn concurrent_logins_with_the_right_password_all_succeed() {
    let app = TestApp::spawn().await;
    for n in [10, 20, 50] {
        let replies = join_all((0..n).map(|_| app.login_from(address(3), "user", "user"))).await;
        let ok = replies.iter().filter(|r| r.status == Status::Ok).count();
        assert_eq!(ok, n, "{n} concurrent logins");
    }
}

#[rocket::async_test]
async fn concurrent_guesses_evaluate_only_the_passwords_the_budget_has_left() {
    let app = TestApp::spawn().await;
    app.login_from(address(4), "user", "guess 0")
        .await
        .assert_error(401);
    // Four failures are left: exactly four guesses are checked, the other sixteen get 429.
    let guesses: Vec<String> = (1..=20).map(|i| format!("guess {i}")).collect();
    let replies = join_all(
        guesses
            .iter()
            .map(|guess| app.login_from(address(4), "user", guess)),
    )
    .await;
    let unauthorized = replies.iter().filter(|r| r.status.code == 401).count();
    let throttled = replies.iter().filter(|r| r.status.code == 429).count();
    assert_eq!((unauthorized, throttled), (4, 16));
    app.login_from(address(4), "user", "user")
        .await
        .assert_error(429);
}

// ----- the Bearer rule -----

#[rocket::async_test]
async fn a_bearer_header_is_always_the_credential_even_a_broken_one() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    let token = app.login("user", "user").await.access;
    for value in [
        "Bearer".to_owned(),
        "bearer".to_owned(),
        "Bearer ".to_owned(),
        format!("Bearer\t{token}"),
        format!("Bearer  {token}"),
        format!("BEARER\t{token}"),
    ] {
        let request = app
            .client
            .get("/api/auth/info")
            .header(Header::new("Authorization", value.clone()));
        let reply = browser.send(request).await;
        reply.assert_error(401);
        // A page with the same header is not served on the strength of the cookies either.
        let request = app
            .client
            .get("/user-content")
            .header(Header::new("Authorization", value.clone()));
        let reply = browser.send(request).await;
        assert_eq!(reply.status, Status::SeeOther, "{value:?}");
    }
    // Any case of the scheme works with one space.
    let reply = app
        .send(
            app.client
                .get("/api/auth/info")
                .header(Header::new("Authorization", format!("bEaReR {token}"))),
        )
        .await;
    assert_eq!(reply.status, Status::Ok);
    // Another scheme leaves the cookies in charge.
    let reply = browser
        .send(
            app.client
                .get("/api/auth/info")
                .header(Header::new("Authorization", "Basic dXNlcjp1c2Vy")),
        )
        .await;
    assert_eq!(reply.status, Status::Ok);
}

// ----- Origin and its scheme, public_origin -----

#[rocket::async_test]
async fn public_origin_is_the_only_origin_a_browser_write_may_come_from() {
    let app =
        TestApp::spawn_with(|f| f.merge(("auth.public_origin", "https://auth.example.com"))).await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    let page = browser.get("/user-content").await;
    let token = csrf_field(&page.body);
    let post = |origin: &str| {
        app.client
            .post("/user-content")
            .header(ContentType::Form)
            .header(Header::new("Host", "auth.example.com"))
            .header(Header::new("Origin", origin.to_owned()))
            .body(form_encode(&[("example", "2"), ("csrf_token", &token)]))
    };
    assert_eq!(
        browser.send(post("https://auth.example.com")).await.status,
        Status::Ok
    );
    for other in [
        "http://auth.example.com",
        "https://auth.example.com:8443",
        "https://other.example.com",
        "null",
    ] {
        assert_eq!(
            browser.send(post(other)).await.status,
            Status::Forbidden,
            "{other}"
        );
    }
}

// ----- _method -----

#[rocket::async_test]
async fn a_method_override_to_a_safe_method_is_refused_and_others_are_checked_as_posts() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    let page = browser.get("/logout").await;
    let token = csrf_field(&page.body);
    for method in ["get", "GET", "head"] {
        let body = form_encode(&[("_method", method), ("csrf_token", &token)]);
        let request = app
            .client
            .post("/logout")
            .header(ContentType::Form)
            .body(body.clone());
        let reply = browser.send(request).await;
        assert_eq!(reply.status, Status::BadRequest, "{method}: {}", reply.body);
        assert!(reply.body.contains("_method"), "{}", reply.body);
        let request = app
            .client
            .post("/api/auth/info")
            .header(ContentType::Form)
            .body(body);
        browser.send(request).await.assert_error(400);
    }
    // Still signed in.
    assert_eq!(browser.get("/").await.status, Status::Ok);

    // An override to an unsafe method is a write like the POST it came as: refused cross-site
    // and without the CSRF token.
    let sessions = browser.get("/api/auth/sessions").await.json();
    let id = sessions[0]["id"].as_str().expect("a session id").to_owned();
    let request = app
        .client
        .post(format!("/api/auth/sessions/{id}"))
        .header(ContentType::Form)
        .header(Header::new("Sec-Fetch-Site", "cross-site"))
        .body("_method=delete");
    browser.send(request).await.assert_error(403);
    assert_eq!(browser.get("/").await.status, Status::Ok);
}

// ----- HSTS -----

#[rocket::async_test]
async fn hsts_is_sent_with_secure_cookies_and_can_be_turned_off() {
    let secure = TestApp::spawn_with(|f| f.merge(("auth.cookie_secure", true))).await;
    for path in ["/login", "/api/auth/info", "/health/live", "/nowhere"] {
        let reply = secure.get(path, None).await;
        assert_eq!(
            reply.header("Strict-Transport-Security"),
            Some("max-age=31536000"),
            "{path}"
        );
    }
    let shorter = TestApp::spawn_with(|f| {
        f.merge(("auth.cookie_secure", true))
            .merge(("auth.hsts_max_age_secs", 600))
    })
    .await;
    let reply = shorter.get("/login", None).await;
    assert_eq!(
        reply.header("Strict-Transport-Security"),
        Some("max-age=600")
    );
    let off = TestApp::spawn_with(|f| {
        f.merge(("auth.cookie_secure", true))
            .merge(("auth.hsts_max_age_secs", 0))
    })
    .await;
    assert_eq!(
        off.get("/login", None)
            .await
            .header("Strict-Transport-Security"),
        None
    );
    let plain = TestApp::spawn().await;
    assert_eq!(
        plain
            .get("/login", None)
            .await
            .header("Strict-Transport-Security"),
        None
    );
}

// ----- release traps -----

#[test]
fn a_release_server_refuses_the_demo_accounts_of_an_earlier_debug_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("jwtapp.sqlite3");
    let debug = Server::try_start(&db, "debug", "").expect("debug start");
    let reply = debug.post_json("/api/auth/login", &credentials("admin", "admin"));
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    drop(debug);

    let release =
        Server::try_start(&db, "release", &format!("secret={SECRET:?}")).expect("release start");
    for (name, password) in [("admin", "admin"), ("user", "user")] {
        let reply = release.post_json("/api/auth/login", &credentials(name, password));
        assert_eq!(reply.status, Status::Unauthorized, "{name}: {}", reply.body);
    }
    let log = &release.startup_log;
    assert!(log.contains("demo account"), "{log}");
    assert!(log.contains("`jwtapp user delete admin`"), "{log}");
    assert!(log.contains("`jwtapp user delete user`"), "{log}");
}

#[test]
fn demo_passwords_made_by_an_older_jwtapp_are_recognised_and_a_new_password_ends_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("jwtapp.sqlite3");
    drop(Server::try_start(&db, "debug", "").expect("debug start"));
    // An older jwtapp did not mark its demo accounts.
    rusqlite::Connection::open(&db)
        .and_then(|c| c.execute("UPDATE users SET is_demo = 0", []))
        .expect("unmark");

    let release =
        Server::try_start(&db, "release", &format!("secret={SECRET:?}")).expect("release start");
    let reply = release.post_json("/api/auth/login", &credentials("admin", "admin"));
    assert_eq!(reply.status, Status::Unauthorized, "{}", reply.body);
    drop(release);

    // An administrator who gives the account a password of their own makes it a real account.
    let out = jwtapp_cli(
        &db,
        &["user", "passwd", "admin"],
        Some("a private password\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let release =
        Server::try_start(&db, "release", &format!("secret={SECRET:?}")).expect("release start");
    let reply = release.post_json(
        "/api/auth/login",
        &credentials("admin", "a private password"),
    );
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
}

#[test]
fn jwtapp_config_refuses_what_serve_refuses() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("jwtapp.sqlite3").display().to_string();
    let cases = [
        ("release", format!("{{database={db:?}}}"), "auth.secret"),
        (
            "release",
            format!("{{database={db:?},secret={SECRET:?},demo_users=true}}"),
            "auth.demo_users",
        ),
    ];
    for (profile, auth, key) in cases {
        let env = [
            ("ROCKET_PROFILE", profile.to_owned()),
            ("ROCKET_AUTH", auth.clone()),
        ];
        let (ok, out) = run(&["config"], &env);
        assert!(!ok, "config accepted {auth}: {out}");
        assert!(out.contains(key), "{out}");
        let (ok, out) = run(&[], &env);
        assert!(!ok, "serve accepted {auth}: {out}");
        assert!(out.contains(key), "{out}");
    }
    let (ok, out) = run(
        &["config"],
        &[
            ("ROCKET_PROFILE", "release".to_owned()),
            (
                "ROCKET_AUTH",
                format!("{{database={db:?},secret={SECRET:?}}}"),
            ),
        ],
    );
    assert!(ok, "{out}");
}

#[test]
fn no_error_repeats_a_secret() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("jwtapp.sqlite3").display().to_string();
    let private_key = "-----BEGIN PRIVATE KEY-----\\nMC4CAQAwBQYDK2VwBCIEIPRIVATEKEYMATERIAL\\n-----END PRIVATE KEY-----";
    let broken = [
        // Unparseable: the whole value arrives as one string.
        format!("{{secret={SECRET:?},database={db:?},access_ttl_secs=\"soon\""),
        format!("{{secret={SECRET:?},database={db:?},access_ttl_secs=\"soon\"}}"),
        format!("{{secret=[{SECRET:?}],database={db:?}}}"),
        format!("{{algorithm=\"EdDSA\",private_key=\"{private_key}\",database={db:?}}}"),
        format!("{{retired_keys=[{{secret={SECRET:?},kid=7}}],database={db:?}}}"),
        format!("{{retired_keys={SECRET:?},database={db:?}}}"),
    ];
    for auth in broken {
        for args in [&["config"][..], &[]] {
            let (ok, out) = run(args, &[("ROCKET_AUTH", auth.clone())]);
            assert!(!ok, "{auth} accepted: {out}");
            assert!(out.contains("auth"), "names the setting: {out}");
            assert!(!out.contains(&SECRET[..20]), "{out}");
            assert!(!out.contains("PRIVATEKEYMATERIAL"), "{out}");
        }
    }
}
