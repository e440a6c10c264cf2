//! [`SqliteStore`] behind the `Store` trait: what ends up in the database file.

use jwtapp::store::{
    FamilyUpdate, NewSession, SessionLimits, SqliteStore, Store, StoreError, reason,
};
use rusqlite::Connection;

use super::{new_session, new_user, temp_db};
use crate::support::{TestApp, jwtapp_cli};

const LIMITS: SessionLimits = SessionLimits {
    max_per_user: 50,
    idle_secs: 3600,
};

fn schema_version(path: &std::path::Path) -> i64 {
    Connection::open(path)
        .and_then(|c| c.pragma_query_value(None, "user_version", |r| r.get(0)))
        .expect("user_version")
}

#[rocket::async_test]
async fn opening_twice_keeps_the_data_and_the_schema_version() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).expect("first open");
    store.create_user(new_user("alice")).await.expect("create");
    let version = schema_version(&path);
    drop(store);

    let store = SqliteStore::open(&path).expect("second open");

    assert_eq!(version, jwtapp::store::schema_version() as i64);
    assert_eq!(schema_version(&path), version);
    let alice = store.find_user("alice").await.expect("find");
    assert_eq!(alice.map(|u| u.username), Some("alice".to_owned()));
    store
        .ping()
        .await
        .expect("a healthy database answers the ping");
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

#[rocket::async_test]
async fn users_are_told_apart_by_their_canonical_form() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).expect("open");
    let alice = store.create_user(new_user("Alice")).await.expect("create");

    let taken = store.create_user(new_user("ALICE")).await;

    assert!(
        matches!(&taken, Err(StoreError::UsernameTaken { existing }) if existing == "Alice"),
        "{taken:?}"
    );
    let found = store.find_users_by_canonical("alice").await.expect("find");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0], alice);
    assert_eq!(store.find_user("alice").await.expect("find"), None);
    assert_eq!(store.count_users().await.expect("count"), 1);
    let status = store.user_status("Alice").await.expect("status");
    assert_eq!(status, Some((&alice).into()));
    assert_eq!(store.user_status("nobody").await.expect("status"), None);
}

#[rocket::async_test]
async fn disabling_a_user_ends_their_sessions_and_says_which() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).expect("open");
    let alice = store.create_user(new_user("alice")).await.expect("alice");
    let bob = store.create_user(new_user("bob")).await.expect("bob");
    for (id, user) in [("a1", &alice), ("a2", &alice), ("b1", &bob)] {
        store
            .create_session(new_session(id, user.id, 100), LIMITS)
            .await
            .expect("session");
    }

    let mut ended = store
        .set_enabled("alice", false, 200)
        .await
        .expect("disable");

    ended.sort();
    assert_eq!(ended, ["a1", "a2"]);
    let status = store.user_status("alice").await.expect("status").unwrap();
    assert!(!status.enabled);
    for id in ["a1", "a2"] {
        let session = store.session_status(id).await.expect("status").unwrap();
        assert!(session.revoked, "{id}");
        let row = store.find_session(id).await.expect("find").unwrap();
        assert_eq!(row.revoked_reason.as_deref(), Some(reason::DISABLED));
    }
    let b1 = store.session_status("b1").await.expect("status").unwrap();
    assert!(
        b1.is_active(200, LIMITS.idle_secs),
        "another user's session"
    );
    // Enabling brings no session back.
    assert_eq!(
        store.set_enabled("alice", true, 300).await.expect("enable"),
        Vec::<String>::new()
    );
    assert!(store.session_status("a1").await.unwrap().unwrap().revoked);
}

#[rocket::async_test]
async fn a_session_is_revoked_once_and_its_family_rotates_in_the_store() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).expect("open");
    let alice = store.create_user(new_user("alice")).await.expect("alice");
    store
        .create_session(new_session("s1", alice.id, 100), LIMITS)
        .await
        .expect("session");

    let rotated = store
        .update_family(
            "s1",
            150,
            Box::new(|family| FamilyUpdate::Rotate {
                previous: family.refresh_jti.clone().unwrap_or_default(),
                jti: "r2".into(),
            }),
        )
        .await
        .expect("rotate")
        .expect("the session");
    assert_eq!(rotated.refresh_jti.as_deref(), Some("r2"));
    assert_eq!(rotated.previous_jti.as_deref(), Some("r-s1"));
    assert_eq!(
        (rotated.refresh_issued_at, rotated.last_used_at),
        (150, 150)
    );
    assert_eq!(rotated.expires_at, 100 + 3600, "rotation never extends it");

    assert!(
        store
            .revoke_session("s1", 160, reason::LOGOUT)
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_session("s1", 170, reason::LOGOUT)
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_session("nope", 170, reason::LOGOUT)
            .await
            .unwrap()
    );
    let none = store
        .update_family("nope", 180, Box::new(|_| FamilyUpdate::Touch))
        .await
        .expect("update");
    assert_eq!(none, None);
}

#[rocket::async_test]
async fn a_new_login_beyond_the_cap_ends_the_least_recently_used() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).expect("open");
    let alice = store.create_user(new_user("alice")).await.expect("alice");
    let cap = SessionLimits {
        max_per_user: 2,
        idle_secs: 3600,
    };
    store
        .create_session(new_session("old", alice.id, 100), cap)
        .await
        .unwrap();
    store
        .create_session(new_session("used", alice.id, 101), cap)
        .await
        .unwrap();
    store
        .update_family("old", 110, Box::new(|_| FamilyUpdate::Touch))
        .await
        .unwrap();

    let ended = store
        .create_session(new_session("new", alice.id, 120), cap)
        .await
        .unwrap();

    assert_eq!(ended, ["used"]);
    let active = store
        .active_sessions(alice.id, 120, 3600, 10)
        .await
        .unwrap();
    let ids: Vec<&str> = active.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["new", "old"], "most recently used first");
    let counts = store.active_session_counts(120, 3600).await.unwrap();
    assert_eq!(counts.get(&alice.id), Some(&2));
}

#[rocket::async_test]
async fn pruning_deletes_only_sessions_that_can_never_be_used_again() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).expect("open");
    let alice = store.create_user(new_user("alice")).await.expect("alice");
    for (id, at) in [("live", 1000), ("idle", 100), ("revoked", 1000)] {
        store
            .create_session(new_session(id, alice.id, at), LIMITS)
            .await
            .unwrap();
    }
    store
        .revoke_session("revoked", 1001, reason::LOGOUT)
        .await
        .unwrap();
    let expired = NewSession {
        expires_at: 1100,
        ..new_session("expired", alice.id, 1000)
    };
    store.create_session(expired, LIMITS).await.unwrap();

    let pruned = store.prune_sessions(1200, 500, 1200).await.unwrap();
    let again = store.prune_sessions(1200, 500, 1200).await.unwrap();

    assert_eq!(pruned.sessions, 3);
    assert_eq!(again.sessions, 0, "idempotent");
    for (id, kept) in [
        ("live", true),
        ("idle", false),
        ("revoked", false),
        ("expired", false),
    ] {
        assert_eq!(
            store.find_session(id).await.unwrap().is_some(),
            kept,
            "{id}"
        );
    }
}

#[rocket::async_test]
async fn deleting_a_user_deletes_their_sessions_and_ids_are_not_reused() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).expect("open");
    let alice = store.create_user(new_user("alice")).await.expect("create");
    store
        .create_session(new_session("s1", alice.id, 1), LIMITS)
        .await
        .expect("session");

    let ended = store.delete_user("alice").await.expect("delete");
    let again = store
        .create_user(new_user("alice"))
        .await
        .expect("re-create");

    assert_eq!(ended, ["s1"]);
    assert_eq!(store.find_session("s1").await.expect("find"), None);
    assert_eq!(store.session_status("s1").await.expect("status"), None);
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
        .await
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

    let out = jwtapp_cli(
        &app.database(),
        &["user", "add", "carol"],
        Some("a-fine-password\n"),
    );

    assert!(out.status.success());
    let store = SqliteStore::open(&app.database()).expect("open");
    let hash = store
        .find_user("carol")
        .await
        .expect("query")
        .expect("created")
        .password_hash;
    // jwtapp_cli configures m=1024, t=1 through ROCKET_AUTH.
    assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{hash}");
}

/// SQLite marks a database "in use" with POSIX locks on its `-shm` file, and closing *any*
/// descriptor of that file in the process drops them all. Watching for commits must not (a CLI
/// run next to the server would then rebuild the shared memory under the server's feet).
#[cfg(target_os = "linux")]
#[rocket::async_test]
async fn watching_commits_keeps_sqlites_locks_on_the_shared_memory() {
    use std::os::unix::fs::MetadataExt;
    use std::time::Duration;

    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).expect("open");
    let feed = store
        .watch_commits(Duration::from_millis(10))
        .expect("watch");
    // Several polls, and a commit of another connection that they see.
    let before = feed.state();
    let other = SqliteStore::open(&path).expect("another connection");
    other.create_user(new_user("bob")).await.expect("commit");
    drop(other);
    super::feed::wait_for_move(&feed, before).await;
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
    drop((feed, store));
}
