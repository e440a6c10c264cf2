//! `GET /metrics`: served only with `metrics_token`, to its holder; the Prometheus text format
//! with the metrics issue 13 names, their labels, and values that move as the requests did;
//! and an exposition `promtool check metrics` accepts.

use std::io::Write;
use std::process::{Command, Stdio};

use rocket::http::{Header, Status};

use super::api::ISSUE_KINDS;
use super::exposition::{METRICS_TOKEN, hits, misses, scrape, until_cached, with_metrics};
use super::{CHROME, Caller, Exposition, FIREFOX, sid};
use crate::support::{Browser, TestApp, Tokens, with_bearer};

async fn metrics_with(app: &TestApp, authorization: Option<&str>) -> crate::support::Reply {
    let mut request = app.client.get("/metrics");
    if let Some(value) = authorization {
        request = request.header(Header::new("Authorization", value.to_owned()));
    }
    app.send(request).await
}

#[rocket::async_test]
async fn without_a_metrics_token_there_is_no_metrics_endpoint() {
    let app = TestApp::spawn().await;

    let plain = metrics_with(&app, None).await;
    let bearer = metrics_with(&app, Some("Bearer anything")).await;
    let unknown = app.get("/no-such-page", None).await;

    for reply in [&plain, &bearer] {
        assert_eq!(reply.status, Status::NotFound, "{}", reply.body);
        assert_eq!(reply.body, unknown.body, "like any unknown path");
        assert!(!reply.body.contains("jwtapp_"));
    }
}

#[rocket::async_test]
async fn the_metrics_need_the_metrics_token_as_a_bearer_token() {
    let app = TestApp::spawn_with(with_metrics).await;
    let admin = app.login("admin", "admin").await;

    let refusals = [
        metrics_with(&app, None).await,
        metrics_with(&app, Some("Bearer not-the-token")).await,
        metrics_with(&app, Some(&format!("Bearer {METRICS_TOKEN}x"))).await,
        metrics_with(&app, Some(&format!("Basic {METRICS_TOKEN}"))).await,
        metrics_with(&app, Some(&format!("Bearer {}", admin.access))).await,
    ];
    let answer = metrics_with(&app, Some(&format!("Bearer {METRICS_TOKEN}"))).await;

    for refused in &refusals {
        assert_eq!(refused.status, Status::Unauthorized, "{}", refused.body);
        assert!(
            refused
                .header("WWW-Authenticate")
                .is_some_and(|value| value.starts_with("Bearer")),
            "{:?}",
            refused.headers
        );
        assert!(!refused.body.contains("jwtapp_"));
    }
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    assert_eq!(
        answer.header("Content-Type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(answer.body.contains("# TYPE jwtapp_logins_total counter"));
}

#[rocket::async_test]
async fn the_metrics_token_may_be_set_at_the_top_level() {
    let app = TestApp::spawn_with(|f| f.merge(("metrics_token", METRICS_TOKEN))).await;

    let answer = metrics_with(&app, Some(&format!("Bearer {METRICS_TOKEN}"))).await;

    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
}

/// Every outcome and every kind exists from the start, at zero (the demo accounts made two
/// `user_created` already), and each metric has its type.
#[rocket::async_test]
async fn every_outcome_and_kind_is_there_from_the_start() {
    let app = TestApp::spawn_with(with_metrics).await;
    // The HTTP series are per route: they appear with the first request.
    let live = app.get("/health/live", None).await;
    assert_eq!(live.status, Status::Ok);

    let metrics = scrape(&app).await;

    for outcome in ["succeeded", "failed", "throttled"] {
        assert_eq!(
            metrics.get("jwtapp_logins_total", &[("outcome", outcome)]),
            0.0
        );
    }
    for outcome in ["rotated", "reused", "refused"] {
        assert_eq!(
            metrics.get("jwtapp_refreshes_total", &[("outcome", outcome)]),
            0.0
        );
    }
    for kind in ISSUE_KINDS {
        let expected = if kind == "user_created" { 2.0 } else { 0.0 };
        assert_eq!(
            metrics.get("jwtapp_security_events_total", &[("kind", kind)]),
            expected,
            "{kind}"
        );
    }
    for (name, kind) in [
        ("jwtapp_logins_total", "counter"),
        ("jwtapp_refreshes_total", "counter"),
        ("jwtapp_security_events_total", "counter"),
        ("jwtapp_http_requests_total", "counter"),
        ("jwtapp_http_request_duration_seconds", "histogram"),
        ("jwtapp_cache_hits_total", "counter"),
        ("jwtapp_cache_misses_total", "counter"),
    ] {
        assert_eq!(metrics.type_of(name), Some(kind), "{name}");
    }
}

/// A run that moves every counter: logins that work, fail and are throttled; a refresh rotated,
/// a spent token reused, a token of the ended family refused; sessions ended by id (known and
/// unknown); unknown paths; repeated Bearer requests. Returns the scrape before and after, and
/// the session id that was ended.
async fn run_moving_every_counter(app: &TestApp) -> (Exposition, Exposition, String) {
    let before = scrape(app).await;
    let (phone, guesser) = (Caller::new(90, CHROME), Caller::new(91, FIREFOX));
    let first = phone.login(app, "user", "user").await;
    for guess in 0..5 {
        guesser
            .try_login(app, "user", &format!("guess-{guess}"))
            .await
            .assert_error(401);
    }
    let throttled = guesser.try_login(app, "user", "user").await;
    assert_eq!(throttled.status, Status::TooManyRequests);
    let rotated = phone
        .post(app, "/api/auth/refresh", Some(&first.refresh), "{}")
        .await;
    let successor = rotated.json()["refreshToken"]
        .as_str()
        .expect("a rotated refresh token")
        .to_owned();
    app.clock().advance(11);
    phone
        .post(app, "/api/auth/refresh", Some(&first.refresh), "{}")
        .await
        .assert_error(401);
    phone
        .post(app, "/api/auth/refresh", Some(&successor), "{}")
        .await
        .assert_error(401);
    let second: Tokens = phone.login(app, "user", "user").await;
    let other = phone.login(app, "user", "user").await;
    until_cached(app, &second.access).await;
    for _ in 0..3 {
        assert!(app.accepts(&second.access).await);
    }
    let ended = sid(&other);
    let gone = phone
        .delete(
            app,
            "/api/auth/sessions/no-such-session",
            Some(&second.access),
        )
        .await;
    assert_eq!(gone.status, Status::NotFound, "{}", gone.body);
    let deleted = phone
        .delete(
            app,
            &format!("/api/auth/sessions/{ended}"),
            Some(&second.access),
        )
        .await;
    assert_eq!(deleted.status, Status::Ok, "{}", deleted.body);
    for path in ["/no/such/page", "/api/no-such-endpoint"] {
        assert_eq!(app.get(path, None).await.status, Status::NotFound);
    }
    super::auth(app).events().flush().await;
    (before, scrape(app).await, ended)
}

fn moved(before: &Exposition, after: &Exposition, name: &str, labels: &[(&str, &str)]) -> f64 {
    after.value(name, labels).unwrap_or(0.0) - before.value(name, labels).unwrap_or(0.0)
}

#[rocket::async_test]
async fn logins_refreshes_and_security_events_count_by_outcome_and_kind() {
    let app =
        TestApp::spawn_with(|f| with_metrics(f).merge(("auth.api_refresh_rotation", true))).await;

    let (before, after, _) = run_moving_every_counter(&app).await;

    let delta =
        |name: &str, label: &str, value: &str| moved(&before, &after, name, &[(label, value)]);
    for (outcome, expected) in [("succeeded", 3.0), ("failed", 5.0), ("throttled", 1.0)] {
        assert_eq!(
            delta("jwtapp_logins_total", "outcome", outcome),
            expected,
            "{outcome}"
        );
    }
    for outcome in ["rotated", "reused", "refused"] {
        assert_eq!(
            delta("jwtapp_refreshes_total", "outcome", outcome),
            1.0,
            "{outcome}"
        );
    }
    for kind in ISSUE_KINDS {
        let expected = match kind {
            "login_succeeded" => 3.0,
            "login_failed" => 5.0,
            "login_throttled" | "refresh_reuse_detected" | "session_ended" => 1.0,
            _ => 0.0,
        };
        assert_eq!(
            delta("jwtapp_security_events_total", "kind", kind),
            expected,
            "{kind}"
        );
    }
}

#[rocket::async_test]
async fn http_requests_count_by_route_template_and_status_never_by_raw_path() {
    let app =
        TestApp::spawn_with(|f| with_metrics(f).merge(("auth.api_refresh_rotation", true))).await;

    let (before, after, ended) = run_moving_every_counter(&app).await;

    let requests = |route: &str, status: &str| {
        moved(
            &before,
            &after,
            "jwtapp_http_requests_total",
            &[("route", route), ("status", status)],
        )
    };
    for (route, status, expected) in [
        ("/api/auth/login", "200", 3.0),
        ("/api/auth/login", "401", 5.0),
        ("/api/auth/login", "429", 1.0),
        ("/api/auth/refresh", "200", 1.0),
        ("/api/auth/refresh", "401", 2.0),
        ("/api/auth/sessions/<id>", "200", 1.0),
        ("/api/auth/sessions/<id>", "404", 1.0),
        ("unmatched", "404", 2.0),
    ] {
        assert_eq!(requests(route, status), expected, "{route} {status}");
    }
    let routes = after.label_values("jwtapp_http_requests_total", "route");
    for route in &routes {
        assert!(
            route == "unmatched" || route.starts_with('/'),
            "not a template: {route}"
        );
    }
    for raw in [
        ended.as_str(),
        "no-such-session",
        "/no/such/page",
        "no-such-endpoint",
    ] {
        assert!(!after.text.contains(raw), "a raw path in a label: {raw}");
    }
    // The histogram: by the same route templates, a count per request, cumulative buckets.
    for route in &routes {
        let count = after.get(
            "jwtapp_http_request_duration_seconds_count",
            &[("route", route)],
        );
        let answered: f64 = after
            .samples("jwtapp_http_requests_total")
            .into_iter()
            .filter(|s| s.labels.get("route") == Some(route))
            .map(|s| s.value)
            .sum();
        assert_eq!(count, answered, "{route}");
        let mut buckets: Vec<(f64, f64)> = after
            .samples("jwtapp_http_request_duration_seconds_bucket")
            .into_iter()
            .filter(|s| s.labels.get("route") == Some(route))
            .map(|s| (s.labels["le"].parse::<f64>().expect("le"), s.value))
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(
            buckets.windows(2).all(|w| w[0].1 <= w[1].1),
            "{route}: {buckets:?}"
        );
        assert_eq!(buckets.last(), Some(&(f64::INFINITY, count)), "{route}");
        assert!(
            after.get(
                "jwtapp_http_request_duration_seconds_sum",
                &[("route", route)]
            ) > 0.0
        );
    }
}

/// `rotated` counts new tokens issued, rotated or not: the API's refresh without rotation, and
/// the cookie flow's reissue of an expired access cookie.
#[rocket::async_test]
async fn refreshes_count_the_apis_refresh_and_the_cookie_flows_reissue() {
    let app = TestApp::spawn_with(|f| with_metrics(f).merge(("auth.leeway_secs", 0))).await;
    let tokens = app.login("user", "user").await;
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;
    let before = scrape(&app).await;

    let api = app.refresh(&tokens.refresh).await;
    app.clock().advance(901);
    let page = browser.get("/user-content").await;

    assert_eq!(api.status, Status::Ok, "{}", api.body);
    assert!(api.json().get("refreshToken").is_none(), "{}", api.body);
    assert_eq!(page.status, Status::Ok, "{}", page.body);
    assert!(page.set_cookie("jwtapp_access").is_some(), "reissued");
    let after = scrape(&app).await;
    let rotated = [("outcome", "rotated")];
    assert_eq!(
        moved(&before, &after, "jwtapp_refreshes_total", &rotated),
        2.0
    );
}

/// A repeated Bearer request is answered from memory: it moves the hits, never the misses.
#[rocket::async_test]
async fn a_repeated_bearer_request_moves_cache_hits_not_misses() {
    let app = TestApp::spawn_with(with_metrics).await;
    let tokens = app.login("user", "user").await;
    let fresh = scrape(&app).await;
    assert!(app.accepts(&tokens.access).await);
    assert!(
        misses(&scrape(&app).await) > misses(&fresh),
        "the first request reads the database"
    );
    until_cached(&app, &tokens.access).await;
    let before = scrape(&app).await;

    for _ in 0..5 {
        assert!(app.accepts(&tokens.access).await);
    }

    let after = scrape(&app).await;
    assert_eq!(misses(&after), misses(&before));
    // Two lookups each: the user's status and the session's.
    assert_eq!(hits(&after) - hits(&before), 10.0);
}

/// The exposition after a run that moved every counter, for `promtool check metrics`: written
/// to `$JWTAPP_METRICS_DUMP` when set (for CI), and checked here when `promtool` is on the PATH
/// (required with `JWTAPP_REQUIRE_PROMTOOL=1`).
#[rocket::async_test]
async fn the_exposition_after_a_full_run_passes_promtool() {
    let app =
        TestApp::spawn_with(|f| with_metrics(f).merge(("auth.api_refresh_rotation", true))).await;
    let (_, after, _) = run_moving_every_counter(&app).await;
    let text = app
        .send(with_bearer(app.client.get("/metrics"), Some(METRICS_TOKEN)))
        .await
        .body;
    for family in [
        "jwtapp_logins_total",
        "jwtapp_refreshes_total",
        "jwtapp_security_events_total",
        "jwtapp_http_requests_total",
        "jwtapp_http_request_duration_seconds_count",
        "jwtapp_cache_hits_total",
        "jwtapp_cache_misses_total",
    ] {
        assert!(
            after.samples(family).iter().any(|s| s.value > 0.0),
            "the run did not move {family}"
        );
    }

    if let Some(path) = std::env::var_os("JWTAPP_METRICS_DUMP") {
        std::fs::write(&path, &text)
            .unwrap_or_else(|e| panic!("write {}: {e}", path.to_string_lossy()));
    }
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var("JWTAPP_REQUIRE_PROMTOOL").as_deref() != Ok("1"),
                "JWTAPP_REQUIRE_PROMTOOL=1 but promtool is not on the PATH"
            );
            println!("skipped: promtool is not on the PATH (Debian: apt-get install prometheus)");
            return;
        }
        Err(e) => panic!("run promtool: {e}"),
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let checked = child.wait_with_output().expect("promtool ran");
    assert!(
        checked.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}
