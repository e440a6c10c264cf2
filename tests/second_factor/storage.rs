//! Second factors at rest, read straight from the SQLite file: TOTP secrets sealed with a key
//! derived from `auth.secret` (never in the clear, not in the file nor in its log), recovery
//! codes hashed; under a new `auth.secret` a factor opens only while the old secret is listed
//! in `retired_keys`.

use std::path::Path;

use jwtapp::ManualClock;
use rocket::figment::Figment;
use rocket::http::Status;
use serde_json::json;

use super::otp::{step_of, totp_of_step};
use super::{contains, database_bytes, enrol, login_with_code, open_database, setup};
use crate::support::{SECRET, TestApp, base_figment};

const NEW_SECRET: &str = "a-new-secret-after-rotation-0123456789-abcdefghijklmn";

/// The stored TOTP columns of `username`: the secret in use, and the one waiting for its code.
fn stored_secrets(database: &Path, username: &str) -> (Option<String>, Option<String>) {
    open_database(database)
        .query_row(
            "SELECT totp_secret, totp_pending FROM users WHERE username = ?1",
            [username],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .expect("the user's row")
}

/// Asserts that nothing in the database file (or its log) gives the secret away, in any of the
/// forms it exists in: raw, base32 as shown (and in lower case), hex.
#[track_caller]
fn assert_nowhere_in_the_clear(database: &Path, secret: &[u8], shown: &str) {
    let bytes = database_bytes(database);
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    for (form, needle) in [
        ("raw", secret.to_vec()),
        ("base32", shown.as_bytes().to_vec()),
        ("base32, lower case", shown.to_lowercase().into_bytes()),
        ("hex", hex.into_bytes()),
        ("HEX", hex_upper(secret).into_bytes()),
    ] {
        assert!(
            !contains(&bytes, &needle),
            "the secret ({form}) is in the file"
        );
    }
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Asserts the shape of a sealed value: the format's prefix, and not the secret.
#[track_caller]
fn assert_sealed(value: &str, shown: &str) {
    assert!(value.starts_with("v1."), "{value}");
    assert!(!value.contains(shown), "{value}");
    assert!(!value.to_uppercase().contains(shown), "{value}");
}

#[rocket::async_test]
async fn totp_secrets_are_stored_sealed_never_in_the_clear() {
    let app = TestApp::spawn().await;
    let database = app.database();
    let tokens = app.login("user", "user").await;

    let secret = setup(&app, &tokens.access).await;
    let shown = jwtapp::auth::TotpSecret::from_bytes(secret.clone()).base32();
    let (on, pending) = stored_secrets(&database, "user");
    assert_eq!(on, None, "not on before its code");
    assert_sealed(&pending.expect("the pending secret is stored"), &shown);
    assert_nowhere_in_the_clear(&database, &secret, &shown);

    let code = totp_of_step(&secret, step_of(app.now()));
    let enabled = app
        .post_json(
            "/api/auth/totp/enable",
            Some(&tokens.access),
            &json!({ "code": code }).to_string(),
        )
        .await;
    assert_eq!(enabled.status, Status::Ok, "{}", enabled.body);

    let (on, pending) = stored_secrets(&database, "user");
    assert_sealed(&on.expect("the secret in use is stored"), &shown);
    assert_eq!(pending, None);
    assert_nowhere_in_the_clear(&database, &secret, &shown);
}

#[rocket::async_test]
async fn recovery_codes_are_stored_hashed() {
    let app = TestApp::spawn().await;
    let database = app.database();
    let user = enrol(&app, "user", "user").await;

    let stored: Vec<(String, Option<i64>)> = {
        let conn = open_database(&database);
        let mut query = conn
            .prepare(
                "SELECT code_hash, used_at FROM recovery_codes r JOIN users u ON u.id = r.user_id \
                 WHERE u.username = 'user'",
            )
            .expect("prepare");
        query
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    };

    assert_eq!(stored.len(), 10, "{stored:?}");
    let file = database_bytes(&database);
    for code in &user.recovery_codes {
        let bare = code.replace('-', "");
        for (hash, used_at) in &stored {
            assert_eq!(*used_at, None);
            assert!(
                hash.len() >= 32 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
                "a digest: {hash}"
            );
            assert!(!hash.contains(&bare), "{hash} holds {code}");
        }
        for form in [code.clone(), bare.clone(), bare.to_uppercase()] {
            assert!(!contains(&file, form.as_bytes()), "{form} is in the file");
        }
    }

    // Using one marks it used in the database.
    let login = login_with_code(&app, "user", "user", &user.recovery_codes[3]).await;
    assert_eq!(login.status, Status::Ok, "{}", login.body);
    let used: i64 = open_database(&database)
        .query_row(
            "SELECT COUNT(*) FROM recovery_codes WHERE used_at IS NOT NULL",
            [],
            |row| row.get(0),
        )
        .expect("count");
    assert_eq!(used, 1);
}

/// Another start of jwtapp on `database`, at the time `at`, configured by `configure`.
async fn restart_on(
    database: &Path,
    at: u64,
    configure: impl FnOnce(Figment) -> Figment,
) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let figment = configure(base_figment(dir.path()).merge(("auth.database", database)));
    TestApp::start(dir, figment, Some(ManualClock::at(at)))
        .await
        .unwrap_or_else(|e| panic!("jwtapp should start: {e}"))
}

#[rocket::async_test]
async fn a_new_auth_secret_opens_the_factor_only_with_the_old_one_retired() {
    let before = TestApp::spawn().await;
    let user = enrol(&before, "user", "user").await;
    let database = before.database();
    let now = before.now();

    // The secret replaced and the old one forgotten: the factor cannot be read, so the right
    // code does not sign in.
    let forgotten = restart_on(&database, now, |f| f.merge(("auth.secret", NEW_SECRET))).await;
    let refused = login_with_code(&forgotten, "user", "user", &user.code(&forgotten)).await;

    assert_eq!(
        refused.status,
        Status::InternalServerError,
        "{}",
        refused.body
    );
    refused.assert_error(500);
    assert!(refused.json().get("accessToken").is_none());

    // The old secret listed in retired_keys: it opens again, and the same code signs in.
    let retired = restart_on(&database, now, |f| {
        f.merge(("auth.secret", NEW_SECRET))
            .merge(("auth.retired_keys", json!([{ "secret": SECRET }])))
    })
    .await;
    let login = login_with_code(&retired, "user", "user", &user.code(&retired)).await;

    assert_eq!(login.status, Status::Ok, "{}", login.body);
}
