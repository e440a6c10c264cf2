//! The audit trail as stored (every column, the user id and session id included, which the API
//! does not show), the command line that writes to it from another process, and a restart of
//! the app on the same database.

use std::time::{SystemTime, UNIX_EPOCH};

use jwtapp::ManualClock;
use jwtapp::auth::Auth;
use jwtapp::store::{EventFilter, NewEvent, SqliteStore, Store};
use rocket::figment::Figment;
use serde_json::Value;

use crate::support::{TestApp, Tokens, base_figment, claims_of, jwtapp_cli, text};

/// The app's authentication service, as Rocket manages it.
pub fn auth(app: &TestApp) -> &Auth {
    app.client
        .rocket()
        .state::<Auth>()
        .expect("jwtapp manages its Auth service")
}

/// Every stored event, newest first, once the app has written everything it recorded.
pub async fn trail(app: &TestApp) -> Vec<NewEvent> {
    auth(app).events().flush().await;
    let store = SqliteStore::open(&app.database()).expect("open the database");
    let filter = EventFilter {
        limit: 100_000,
        ..EventFilter::default()
    };
    let events = store.events(filter).await.expect("read the trail");
    events.into_iter().map(|e| e.event).collect()
}

/// The newest event of `kind` in `trail`.
#[track_caller]
pub fn newest<'t>(trail: &'t [NewEvent], kind: &str) -> &'t NewEvent {
    trail.iter().find(|e| e.kind == kind).unwrap_or_else(|| {
        panic!(
            "no {kind} event; the trail has {:?}",
            trail.iter().map(|e| &e.kind).collect::<Vec<_>>()
        )
    })
}

/// Every event of `kind` in `trail`, newest first.
pub fn all_of<'t>(trail: &'t [NewEvent], kind: &str) -> Vec<&'t NewEvent> {
    trail.iter().filter(|e| e.kind == kind).collect()
}

/// An event of `kind` recorded now by the app's clock, every other field empty: the start of
/// an expected event (`NewEvent { actor: .., ..event(&app, "logout") }`).
pub fn event(app: &TestApp, kind: &str) -> NewEvent {
    NewEvent {
        at: app.now() as i64,
        kind: kind.to_owned(),
        ..NewEvent::default()
    }
}

/// The id of the account named `name`.
pub async fn user_id(app: &TestApp, name: &str) -> i64 {
    SqliteStore::open(&app.database())
        .expect("open the database")
        .find_user(name)
        .await
        .expect("read users")
        .unwrap_or_else(|| panic!("no user {name}"))
        .id
}

/// The session (`sid`) of a login's tokens.
pub fn sid(tokens: &Tokens) -> String {
    claims_of(&tokens.access)["sid"]
        .as_str()
        .expect("sid")
        .to_owned()
}

/// The system clock's seconds: the command line tells time by it.
pub fn system_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// Runs `jwtapp ARGS` against the app's database, as an operator would, and asserts it worked.
/// Returns what it printed.
pub fn cli(app: &TestApp, args: &[&str], stdin: Option<&str>) -> String {
    let output = jwtapp_cli(&app.database(), args, stdin);
    assert!(
        output.status.success(),
        "jwtapp {}: {}",
        args.join(" "),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// An event the command line recorded between `before` and now (its own clock): the event with
/// `at` cleared, to compare the rest exactly.
#[track_caller]
pub fn recorded_since(before: i64, event: &NewEvent) -> NewEvent {
    assert!(
        (before..=system_now()).contains(&event.at),
        "recorded at {} outside {before}..now: {event:?}",
        event.at
    );
    NewEvent {
        at: 0,
        ..event.clone()
    }
}

/// The kinds of API event items, in order.
pub fn kinds(items: &[Value]) -> Vec<&str> {
    items
        .iter()
        .map(|item| item["kind"].as_str().expect("kind"))
        .collect()
}

/// Stops `app` and starts it again on the same database, with its settings changed by
/// `configure` (and a new clock at the system's time).
pub async fn restart(app: TestApp, configure: impl FnOnce(Figment) -> Figment) -> TestApp {
    let TestApp { client, dir, .. } = app;
    drop(client);
    let figment = configure(base_figment(dir.path()));
    TestApp::start(dir, figment, Some(ManualClock::new()))
        .await
        .unwrap_or_else(|e| panic!("jwtapp should start again: {e}"))
}
