//! How events are recorded: never failing the request that caused them, nothing written for a
//! request the cache answered, and kept `event_retention_days`, pruned with the rest.

use std::path::Path;
use std::time::{Duration, Instant};

use rocket::http::Status;

use super::exposition::{hits, misses, scrape, until_cached, with_metrics};
use super::{CHROME, Caller, FIREFOX, Visitor, auth, kinds, trail};
use crate::support::TestApp;

/// Makes every later insert into the trail fail, as a database would that cannot take the
/// write: the app's own connection gets an error from its batch.
fn refuse_event_writes(database: &Path) {
    let conn = rusqlite::Connection::open(database).expect("open the database");
    conn.busy_timeout(Duration::from_secs(5)).expect("timeout");
    conn.execute_batch(
        "CREATE TRIGGER test_trail_read_only BEFORE INSERT ON security_events \
         BEGIN SELECT RAISE(ABORT, 'the audit trail cannot be written'); END;",
    )
    .expect("create the trigger");
}

#[rocket::async_test]
async fn a_trail_that_cannot_be_written_fails_no_request() {
    let app = TestApp::spawn_with(with_metrics).await;
    trail(&app).await;
    refuse_event_writes(&app.database());
    let phone = Caller::new(80, CHROME);
    let laptop = Visitor::new(&app, Caller::new(81, FIREFOX));

    let tokens = phone.login(&app, "user", "user").await;
    laptop.sign_in("user", "user").await;
    let refused = phone.try_login(&app, "user", "a-guess").await;
    let own = phone
        .get(&app, "/api/auth/events", Some(&tokens.access))
        .await;
    let activity = laptop.get("/activity").await;

    assert!(app.accepts(&tokens.access).await);
    refused.assert_error(401);
    // The trail answers with what it has: the events of before.
    assert_eq!(own.status, Status::Ok, "{}", own.body);
    assert_eq!(
        kinds(own.json().as_array().expect("a list")),
        ["user_created"]
    );
    assert_eq!(activity.status, Status::Ok, "{}", activity.body);
    // Counted all the same (and logged: see the log tests).
    let metrics = scrape(&app).await;
    let counted = |kind: &str| metrics.get("jwtapp_security_events_total", &[("kind", kind)]);
    assert_eq!(counted("login_succeeded"), 2.0);
    assert_eq!(counted("login_failed"), 1.0);
}

/// `PRAGMA data_version` of a connection of our own: it moves whenever another connection
/// (the app's) commits anything.
fn data_version(conn: &rusqlite::Connection) -> i64 {
    conn.query_row("PRAGMA data_version", [], |row| row.get(0))
        .expect("data_version")
}

fn stored_events(conn: &rusqlite::Connection) -> i64 {
    conn.query_row("SELECT count(*) FROM security_events", [], |row| row.get(0))
        .expect("count")
}

/// Requests authenticated from the cache write nothing: no event, no commit of any kind.
#[rocket::async_test]
async fn requests_authenticated_from_the_cache_write_nothing() {
    let app = TestApp::spawn_with(with_metrics).await;
    let tokens = Caller::new(82, CHROME).login(&app, "user", "user").await;
    let conn = rusqlite::Connection::open(app.database()).expect("open");
    until_cached(&app, &tokens.access).await;
    let (version, events, before) = (
        data_version(&conn),
        stored_events(&conn),
        scrape(&app).await,
    );

    for _ in 0..10 {
        for path in ["/api/auth/info", "/api/user-sample", "/api/auth/sessions"] {
            let reply = app.get(path, Some(&tokens.access)).await;
            assert_eq!(reply.status, Status::Ok, "{path}: {}", reply.body);
        }
    }
    auth(&app).events().flush().await;

    let after = scrape(&app).await;
    assert_eq!(stored_events(&conn), events, "an event was recorded");
    assert_eq!(
        data_version(&conn),
        version,
        "a request answered from the cache wrote to the database"
    );
    assert_eq!(misses(&after), misses(&before), "a lookup missed the cache");
    assert!(
        hits(&after) >= hits(&before) + 30.0,
        "hits {} -> {}",
        hits(&before),
        hits(&after)
    );
}

// ----- retention -----

#[rocket::async_test]
async fn events_past_event_retention_days_are_pruned_by_housekeeping() {
    let app = TestApp::spawn_with(|f| f.merge(("auth.event_retention_days", 2))).await;
    let phone = Caller::new(83, CHROME);
    phone.login(&app, "user", "user").await;
    app.clock().advance(86_400);
    phone
        .try_login(&app, "user", "a-guess")
        .await
        .assert_error(401);
    let housekeeping = auth(&app).housekeeping();
    let kinds = async || -> Vec<String> { trail(&app).await.into_iter().map(|e| e.kind).collect() };

    // Two days less a second after the first events: all kept.
    app.clock().advance(86_399);
    housekeeping.prune().await.expect("prune");
    assert_eq!(
        kinds().await,
        [
            "login_failed",
            "login_succeeded",
            "user_created",
            "user_created"
        ]
    );
    // Two days and a second: the first day's events go.
    app.clock().advance(2);
    housekeeping.prune().await.expect("prune");
    assert_eq!(kinds().await, ["login_failed"]);
    // And the second day's a day later.
    app.clock().advance(86_400);
    housekeeping.prune().await.expect("prune");
    assert!(kinds().await.is_empty());
}

#[rocket::async_test]
async fn events_are_kept_90_days_by_default() {
    let app = TestApp::spawn().await;
    Caller::new(85, CHROME).login(&app, "user", "user").await;
    let housekeeping = auth(&app).housekeeping();

    app.clock().advance(90 * 86_400 - 1);
    housekeeping.prune().await.expect("prune");
    let kept = trail(&app).await.len();
    app.clock().advance(2);
    housekeeping.prune().await.expect("prune");
    let left = trail(&app).await.len();

    assert_eq!((kept, left), (3, 0), "before and after 90 days");
}

/// The same in the background, every `prune_interval_secs` (real time), by the app's clock.
#[rocket::async_test]
async fn housekeeping_prunes_old_events_on_its_interval() {
    // `event_retention_days` at the top level of the profile, as `ROCKET_EVENT_RETENTION_DAYS`.
    let app = TestApp::spawn_with(|f| {
        f.merge(("event_retention_days", 1))
            .merge(("auth.prune_interval_secs", 1))
    })
    .await;
    let phone = Caller::new(84, CHROME);
    phone.login(&app, "user", "user").await;
    app.clock().advance(86_401);
    let fresh = phone.login(&app, "user", "user").await;

    let deadline = Instant::now() + Duration::from_secs(10);
    let left = loop {
        let left = trail(&app).await;
        if left.len() == 1 || Instant::now() > deadline {
            break left;
        }
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    };

    assert_eq!(left.len(), 1, "not pruned: {left:?}");
    assert_eq!(left[0].kind, "login_succeeded");
    assert_eq!(
        left[0].session_id.as_deref(),
        Some(super::sid(&fresh).as_str())
    );
}
