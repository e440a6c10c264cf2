//! What ends up in the database, and the live-state cache under concurrent load.

use std::sync::Arc;

use rocket::http::Status;

use crate::helpers::{TestApp, jwtapp_cli, now};
use jwtapp::store::{NewSession, NewUser, SqliteStore, Store};
use rusqlite::Connection;

fn temp_db() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("db.sqlite3");
    (dir, path)
}

/// A new user row as the CLI would write it.
fn user(name: &str) -> NewUser {
    NewUser {
        username: name.into(),
        canonical: jwtapp::auth::usernames::canonical(name),
        password_hash: "hash".into(),
        is_admin: false,
        is_demo: false,
        now: 1,
    }
}

fn schema_version(path: &std::path::Path) -> i64 {
    Connection::open(path)
        .and_then(|c| c.pragma_query_value(None, "user_version", |r| r.get(0)))
        .expect("user_version")
}

#[test]
fn opening_twice_keeps_the_data_and_the_schema_version() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).expect("first open");
    store.create_user(&user("alice")).expect("create");
    let version = schema_version(&path);
    drop(store);

    let store = SqliteStore::open(&path).expect("second open");

    assert!(version >= 1);
    assert_eq!(schema_version(&path), version);
    let alice = store.find_user("alice").expect("find");
    assert_eq!(alice.map(|u| u.username), Some("alice".to_owned()));
}

#[test]
fn a_schema_newer_than_this_build_is_refused() {
    let (_dir, path) = temp_db();
    drop(SqliteStore::open(&path).expect("create"));
    Connection::open(&path)
        .and_then(|c| c.pragma_update(None, "user_version", 99))
        .expect("bump");

    let error = SqliteStore::open(&path)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();

    assert!(error.contains("newer than this jwtapp knows"), "{error}");
}

#[test]
fn the_change_marker_moves_when_another_connection_commits() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).expect("open");
    let before = store.change_marker().expect("marker");
    assert_eq!(
        store.change_marker().expect("marker"),
        before,
        "nothing changed yet"
    );

    let other = SqliteStore::open(&path).expect("another connection");
    other.create_user(&user("bob")).expect("create");

    assert_ne!(store.change_marker().expect("marker"), before);
}

#[test]
fn deleting_a_user_deletes_their_sessions_and_ids_are_not_reused() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).expect("open");
    let alice = store.create_user(&user("alice")).expect("create");
    let session = NewSession {
        id: "s1".into(),
        user_id: alice.id,
        created_at: 1,
        expires_at: 2,
        user_agent: None,
        address: None,
        refresh_jti: "r1".into(),
    };
    store.create_session(&session, 50, 3600).expect("session");

    store.delete_user("alice").expect("delete");
    let again = store.create_user(&user("alice")).expect("re-create");

    assert_eq!(store.find_session("s1").expect("find"), None);
    assert_ne!(
        again.id, alice.id,
        "a re-created user never inherits an old id"
    );
}

#[rocket::async_test]
async fn passwords_are_stored_as_argon2id_with_the_owasp_parameters() {
    // The configured defaults from Rocket.toml, not the cheap test parameters.
    let app = TestApp::spawn_with(|f| {
        f.merge(("auth.argon2_memory_kib", 19456))
            .merge(("auth.argon2_iterations", 2))
            .merge(("auth.argon2_parallelism", 1))
    })
    .await;
    let store = SqliteStore::open(&app.database()).expect("open");

    let hash = store
        .find_user("user")
        .expect("query")
        .expect("demo user")
        .password_hash;

    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(
        !hash.contains("user$") && hash.len() > 60,
        "a salted hash, not the password: {hash}"
    );
}

#[rocket::async_test]
async fn the_cli_hashes_with_the_configured_parameters() {
    let app = TestApp::spawn().await;

    jwtapp_cli(
        &app.database(),
        &["user", "add", "carol"],
        Some("a-fine-password\n"),
    );

    let store = SqliteStore::open(&app.database()).expect("open");
    let hash = store
        .find_user("carol")
        .expect("query")
        .expect("created")
        .password_hash;
    // jwtapp_cli configures m=1024, t=1 through ROCKET_AUTH.
    assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{hash}");
}

/// Promote, demote, disable and delete from another connection while other requests keep the
/// server busy: the first request after each change must see it.
#[rocket::async_test]
async fn changes_are_seen_on_the_next_request_under_concurrent_load() {
    let app = Arc::new(TestApp::spawn().await);
    let tokens = app.login("user", "user").await;
    let admin = app.login("admin", "admin").await;
    let store = SqliteStore::open(&app.database()).expect("open");

    let mut load = Vec::new();
    for _ in 0..4 {
        let app = Arc::clone(&app);
        let (user_token, admin_token) = (tokens.access.clone(), admin.access.clone());
        load.push(rocket::tokio::spawn(async move {
            let mut statuses = Vec::new();
            for i in 0..200 {
                let token = if i % 2 == 0 {
                    &user_token
                } else {
                    &admin_token
                };
                statuses.push(app.get("/api/user-sample", Some(token)).await.status);
            }
            statuses
        }));
    }
    for round in 0..20 {
        store
            .set_admin("user", true, now() as i64)
            .expect("promote");
        assert_eq!(
            app.get("/api/admin-sample", Some(&tokens.access))
                .await
                .status,
            Status::Ok,
            "promoted, round {round}"
        );
        store
            .set_admin("user", false, now() as i64)
            .expect("demote");
        assert_eq!(
            app.get("/api/admin-sample", Some(&tokens.access))
                .await
                .status,
            Status::Forbidden,
            "demoted, round {round}"
        );
    }
    store
        .set_enabled("user", false, now() as i64)
        .expect("disable");
    assert_eq!(
        app.get("/api/user-sample", Some(&tokens.access))
            .await
            .status,
        Status::Forbidden,
        "disabled"
    );
    store.delete_user("admin").expect("delete");
    assert_eq!(
        app.get("/api/user-sample", Some(&admin.access))
            .await
            .status,
        Status::Forbidden,
        "deleted"
    );
    for task in load {
        let statuses = task.await.expect("load task");
        // A request racing the disable may see the account still enabled but its session
        // already ended (401) rather than the account disabled (403): refused either way.
        assert!(
            statuses.iter().all(|s| [200, 401, 403].contains(&s.code)),
            "{statuses:?}"
        );
    }
}

#[rocket::async_test]
async fn logout_is_seen_by_concurrent_requests_at_once() {
    let app = Arc::new(TestApp::spawn().await);
    let tokens = app.login("user", "user").await;
    assert_eq!(
        app.get("/api/user-sample", Some(&tokens.access))
            .await
            .status,
        Status::Ok
    );

    let logout = app
        .post_json("/api/auth/logout", Some(&tokens.refresh), "{}")
        .await;
    assert_eq!(logout.status, Status::Ok);

    let mut checks = Vec::new();
    for _ in 0..8 {
        let app = Arc::clone(&app);
        let token = tokens.access.clone();
        checks.push(rocket::tokio::spawn(async move {
            app.get("/api/user-sample", Some(&token)).await.status
        }));
    }
    for check in checks {
        assert_eq!(check.await.expect("task"), Status::Unauthorized);
    }
}

#[test]
fn commits_of_other_connections_move_the_change_marker_read_from_the_wal_index() {
    let (_dir, path) = temp_db();
    let server = SqliteStore::open(&path).expect("open");
    assert_eq!(server.change_detection(), "wal-index");
    let cli = SqliteStore::open(&path).expect("open again, as the CLI would");

    let before = server.change_marker().expect("marker");
    assert_eq!(server.change_marker().expect("marker"), before, "stable");
    cli.create_user(&user("alice")).expect("create");
    let after_create = server.change_marker().expect("marker");
    assert_ne!(after_create, before, "a commit elsewhere is seen");
    cli.set_admin("alice", true, 2).expect("promote");
    assert_ne!(server.change_marker().expect("marker"), after_create);
    // The server's own commits move it too.
    let mark = server.change_marker().expect("marker");
    server.set_admin("alice", false, 3).expect("demote");
    assert_ne!(server.change_marker().expect("marker"), mark);
}

/// SQLite marks a database "in use" with POSIX locks on its `-shm` file, and closing *any*
/// descriptor of that file in the process drops them all. Watching the wal-index must not (a
/// CLI run next to the server would then rebuild the shared memory under the server's feet).
#[cfg(target_os = "linux")]
#[test]
fn watching_commits_keeps_sqlites_locks_on_the_shared_memory() {
    use std::os::unix::fs::MetadataExt;

    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).expect("open");
    assert_eq!(store.change_detection(), "wal-index");
    let mut shm = path.clone().into_os_string();
    shm.push("-shm");
    let inode = std::fs::metadata(&shm).expect("the -shm file").ino();
    let pid = std::process::id().to_string();
    let locks = std::fs::read_to_string("/proc/locks").expect("/proc/locks");
    let held = locks.lines().any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // "1: POSIX  ADVISORY  READ 1234 08:01:5678 128 128"
        fields.get(1) == Some(&"POSIX")
            && fields.get(4) == Some(&pid.as_str())
            && fields
                .get(5)
                .and_then(|dev_inode| dev_inode.rsplit(':').next())
                == Some(inode.to_string().as_str())
    });
    assert!(held, "no POSIX lock of ours on {shm:?}:\n{locks}");
    drop(store);
}
