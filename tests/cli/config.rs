//! Configuration: Rocket.toml profiles, ROCKET_AUTH overrides, refusals that name the key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rocket::http::Status;
use serde_json::Value;

use crate::support::{
    SECRET, Server, TestApp, UNKNOWN_KEY, assert_refused_at_start, assert_starts, base_figment,
    claims_of, debug_figment, header_of, run_binary as run, server_kid,
};

fn temp_db() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("db.sqlite3").display().to_string();
    (dir, db)
}

#[test]
fn rocket_auth_overrides_single_keys_and_keeps_the_rest() {
    let (_dir, db) = temp_db();

    let (ok, out) = run(
        &["config"],
        &[(
            "ROCKET_AUTH",
            format!("{{access_ttl_secs=2,leeway_secs=0,database={db:?}}}"),
        )],
    );

    assert!(ok, "{out}");
    assert!(out.contains("access_ttl_secs: 2,"), "{out}");
    assert!(out.contains("leeway_secs: 0,"), "{out}");
    assert!(
        out.contains("refresh_ttl_secs: 2592000,"),
        "kept from Rocket.toml: {out}"
    );
    assert!(
        out.contains("demo_users: true,"),
        "kept from [debug.auth]: {out}"
    );
}

#[test]
fn an_invalid_value_stops_the_start_naming_the_key() {
    let (_dir, db) = temp_db();

    for (setting, key) in [
        ("access_ttl_secs=\"soon\"", "auth.access_ttl_secs"),
        ("access_ttl_secs=0", "auth.access_ttl_secs"),
        ("leeway_secs=-1", "auth.leeway_secs"),
        ("cors_origins=[\"*\"]", "auth.cors_origins"),
        ("argon2_memory_kib=1", "auth.argon2"),
        ("secret=\"short\"", "auth.secret"),
    ] {
        let env = [
            ("ROCKET_AUTH", format!("{{{setting},database={db:?}}}")),
            ("ROCKET_PORT", "0".to_owned()),
        ];
        let (ok, out) = run(&["config"], &env);
        assert!(!ok, "{setting} accepted: {out}");
        assert!(out.contains(key), "{setting}: {out}");
        let (ok, out) = run(&[], &env);
        assert!(!ok, "the server started with {setting}: {out}");
        assert!(out.contains(key), "{setting}: {out}");
    }
}

#[test]
fn an_unknown_key_is_a_warning_naming_it() {
    let (_dir, db) = temp_db();

    let (ok, out) = run(
        &["config"],
        &[(
            "ROCKET_AUTH",
            format!("{{acces_ttl_secs=5,database={db:?}}}"),
        )],
    );

    assert!(ok, "{out}");
    assert!(out.contains("auth.acces_ttl_secs"), "{out}");
}

#[test]
fn the_release_profile_refuses_to_start_without_a_secret() {
    let (_dir, db) = temp_db();

    let (ok, out) = run(
        &[],
        &[
            ("ROCKET_PROFILE", "release".into()),
            ("ROCKET_PORT", "0".into()),
            ("ROCKET_AUTH", format!("{{database={db:?}}}")),
        ],
    );

    assert!(!ok, "{out}");
    assert!(out.contains("auth.secret"), "{out}");
    assert!(out.contains("openssl rand"), "says how to make one: {out}");
}

#[rocket::async_test]
async fn the_release_profile_refuses_a_short_secret_and_demo_users() {
    let dir = tempfile::tempdir().expect("temp dir");
    let release = || {
        base_figment(dir.path())
            .select("release")
            .merge(("log_level", "off"))
    };

    assert_refused_at_start(release().merge(("auth.secret", "too-short")), "auth.secret").await;
    assert_refused_at_start(
        release().merge(("auth.demo_users", true)),
        "auth.demo_users",
    )
    .await;
    // A release with a good secret and no demo accounts starts.
    assert_starts(release()).await;
}

#[rocket::async_test]
async fn the_release_profile_creates_no_demo_users() {
    let app = TestApp::spawn_with(|f| f.select("release").merge(("log_level", "off"))).await;

    app.try_login("admin", "admin").await.assert_error(401);
    app.try_login("user", "user").await.assert_error(401);
}

/// Without `auth.secret`, the debug profile signs with a random secret of its own: it starts and
/// works, and its tokens are valid nowhere else (nor after a restart).
#[rocket::async_test]
async fn the_debug_profile_starts_without_a_secret() {
    let start = || async {
        let dir = tempfile::tempdir().expect("temp dir");
        let figment = debug_figment(dir.path());
        TestApp::start(dir, figment, Some(jwtapp::ManualClock::new()))
            .await
            .unwrap_or_else(|e| panic!("the debug profile should start without a secret: {e}"))
    };
    let first = start().await;
    let second = start().await;

    let tokens = first.login("user", "user").await;
    assert!(first.accepts(&tokens.access).await, "it signs and verifies");
    let kid = header_of(&tokens.access)["kid"].clone();
    assert_ne!(kid, server_kid(), "not the tests' known secret");
    assert_ne!(
        kid,
        header_of(&second.login("user", "user").await.access)["kid"],
        "another secret for every run"
    );
    let elsewhere = second.get("/api/user-sample", Some(&tokens.access)).await;
    elsewhere.assert_error(401);
    assert_eq!(elsewhere.json()["description"], UNKNOWN_KEY);
}

/// `cargo run` in miniature: the binary serves over TCP with Rocket.toml's debug profile, the
/// demo accounts and a ROCKET_AUTH override.
#[test]
fn the_binary_serves_with_environment_overrides() {
    let server = Server::start("access_ttl_secs=2,change_poll_ms=250,not_a_key=1");
    let log = server.startup_log.clone();

    let reply = server.post_json(
        "/api/auth/login",
        r#"{"username":"admin","password":"admin"}"#,
    );
    drop(server);

    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    let tokens: Value = reply.json();
    let claims = claims_of(tokens["accessToken"].as_str().expect("accessToken"));
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        2,
        "ROCKET_AUTH applied"
    );
    assert!(
        log.contains("demo accounts"),
        "the demo accounts are announced: {log}"
    );
    assert!(
        log.contains("random signing secret"),
        "the random secret is announced: {log}"
    );
    assert!(
        log.contains("auth.not_a_key"),
        "unknown keys are warned about: {log}"
    );
    assert!(
        log.contains("commits are seen within 250 ms"),
        "the change feed's bound is announced: {log}"
    );
}

/// An Ed25519 key as `openssl genpkey -algorithm ed25519` writes it, its public half as
/// `openssl pkey -pubout` writes it, and that public key as a JWK `x`.
const OPENSSL_PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIOkSm2ufkhgumX7IgGFtGktZM18AvXQQGoK/30q3kDDP
-----END PRIVATE KEY-----
";
const OPENSSL_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAp5gvPEfw0XcxXh98YVgS4M3hnpmOHL8W//Qrz1NKU6Y=
-----END PUBLIC KEY-----
";
const OPENSSL_PUBLIC_X: &str = "p5gvPEfw0XcxXh98YVgS4M3hnpmOHL8W__Qrz1NKU6Y";

/// The openssl key pair as files in `dir`: (private, public).
fn key_files(dir: &std::path::Path) -> (String, String) {
    let private = dir.join("jwtapp-ed25519.pem");
    let public = dir.join("jwtapp-ed25519.pub.pem");
    std::fs::write(&private, OPENSSL_PRIVATE_PEM).expect("write key");
    std::fs::write(&public, OPENSSL_PUBLIC_PEM).expect("write key");
    (private.display().to_string(), public.display().to_string())
}

#[test]
fn a_bad_key_setting_stops_the_start_naming_the_key() {
    let (dir, db) = temp_db();
    let (private, public) = key_files(dir.path());
    let missing = dir.path().join("missing.pem").display().to_string();
    let (a, b) = ("a".repeat(40), "b".repeat(40));

    for (setting, key) in [
        ("algorithm=\"RS256\"".to_owned(), "auth.algorithm"),
        ("algorithm=\"none\"".to_owned(), "auth.algorithm"),
        ("algorithm=\"EdDSA\"".to_owned(), "auth.private_key"),
        (
            "algorithm=\"EdDSA\",private_key=\"not a key\"".to_owned(),
            "auth.private_key",
        ),
        (
            format!("algorithm=\"EdDSA\",private_key_file={missing:?}"),
            "auth.private_key_file",
        ),
        (
            format!("algorithm=\"EdDSA\",private_key_file={public:?}"),
            "auth.private_key_file",
        ),
        (
            format!("algorithm=\"EdDSA\",private_key=\"x\",private_key_file={private:?}"),
            "auth.private_key",
        ),
        (format!("private_key_file={private:?}"), "auth.private_key"),
        ("key_id=\"../../etc/passwd\"".to_owned(), "auth.key_id"),
        ("key_id=\"\"".to_owned(), "auth.key_id"),
        ("retired_keys=\"old\"".to_owned(), "auth.retired_keys"),
        (
            "retired_keys=[{secret=\"short\"}]".to_owned(),
            "auth.retired_keys[0].secret",
        ),
        (
            "retired_keys=[{kid=\"old\"}]".to_owned(),
            "auth.retired_keys[0]",
        ),
        (
            format!("retired_keys=[{{secret={a:?},public_key_file={public:?}}}]"),
            "auth.retired_keys[0]",
        ),
        (
            format!("retired_keys=[{{secret={a:?},kid=\"a/b\"}}]"),
            "auth.retired_keys[0].kid",
        ),
        (
            "retired_keys=[{public_key=\"garbage\"}]".to_owned(),
            "auth.retired_keys[0].public_key",
        ),
        (
            format!("retired_keys=[{{public_key_file={private:?}}}]"),
            "auth.retired_keys[0].public_key_file",
        ),
        (
            format!("retired_keys=[{{private_key_file={missing:?}}}]"),
            "auth.retired_keys[0].private_key_file",
        ),
        // The active key again, under the kid it already has.
        (
            format!("secret={SECRET:?},retired_keys=[{{secret={SECRET:?}}}]"),
            "auth.retired_keys[0]",
        ),
        (
            format!("retired_keys=[{{secret={a:?},kid=\"old\"}},{{secret={b:?},kid=\"old\"}}]"),
            "auth.retired_keys[1]",
        ),
    ] {
        let env = [
            ("ROCKET_AUTH", format!("{{{setting},database={db:?}}}")),
            ("ROCKET_PORT", "0".to_owned()),
        ];
        let (ok, out) = run(&["config"], &env);
        assert!(!ok, "{setting} accepted: {out}");
        assert!(out.contains(key), "{setting}: {out}");
        assert_eq!(out.trim().lines().count(), 1, "one line: {out}");
        let (ok, out) = run(&[], &env);
        assert!(!ok, "the server started with {setting}: {out}");
        assert!(out.contains(key), "{setting}: {out}");
    }
}

#[test]
fn eddsa_still_needs_the_secret_outside_debug_for_csrf() {
    let (dir, db) = temp_db();
    let (private, _) = key_files(dir.path());

    let (ok, out) = run(
        &[],
        &[
            ("ROCKET_PROFILE", "release".into()),
            ("ROCKET_PORT", "0".into()),
            (
                "ROCKET_AUTH",
                format!("{{algorithm=\"EdDSA\",private_key_file={private:?},database={db:?}}}"),
            ),
        ],
    );

    assert!(!ok, "{out}");
    assert!(out.contains("auth.secret"), "{out}");
}

#[test]
fn keys_are_listed_by_kid_and_their_secrets_never_printed() {
    let (dir, db) = temp_db();
    let (private, public) = key_files(dir.path());
    let retired_secret = "retired-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
    let env = [(
        "ROCKET_AUTH",
        format!(
            "{{secret={SECRET:?},algorithm=\"EdDSA\",private_key_file={private:?},\
             retired_keys=[{{secret={retired_secret:?}}},{{public_key_file={public:?},kid=\"old-ed\"}}],\
             database={db:?}}}"
        ),
    )];

    let (ok, keys) = run(&["keys"], &env);
    let (config_ok, config) = run(&["config"], &env);

    assert!(ok, "{keys}");
    // RFC 7638: the required members in lexicographic order, no whitespace, SHA-256.
    let thumbprint = {
        use sha2::Digest;
        let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{OPENSSL_PUBLIC_X}"}}"#);
        URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical.as_bytes()))
    };
    assert!(
        keys.contains(&format!("active   EdDSA  kid={thumbprint}")),
        "{keys}"
    );
    let retired_kid = jwtapp::auth::hs256_key_id(retired_secret.as_bytes());
    assert!(
        keys.contains(&format!("retired  HS256  kid={retired_kid}")),
        "{keys}"
    );
    assert!(keys.contains("retired  EdDSA  kid=old-ed"), "{keys}");
    assert!(keys.contains(OPENSSL_PUBLIC_X), "the JWK Set: {keys}");
    assert!(config_ok, "{config}");
    for out in [&keys, &config] {
        assert!(!out.contains(SECRET), "{out}");
        assert!(!out.contains(retired_secret), "{out}");
        assert!(!out.contains("MC4CAQAw"), "no private key: {out}");
    }
    assert!(config.contains("[REDACTED]"), "{config}");
}

#[test]
fn an_unknown_setting_in_a_retired_key_is_a_warning_naming_it() {
    let (_dir, db) = temp_db();
    let secret = "retired-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

    let (ok, out) = run(
        &["config"],
        &[(
            "ROCKET_AUTH",
            format!("{{retired_keys=[{{secret={secret:?},kdi=\"old\"}}],database={db:?}}}"),
        )],
    );

    assert!(ok, "{out}");
    assert!(out.contains("auth.retired_keys[0].kdi"), "{out}");
}

#[rocket::async_test]
async fn an_ed25519_key_made_by_openssl_signs_and_is_published() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("auth.algorithm", "EdDSA"))
            .merge(("auth.private_key", OPENSSL_PRIVATE_PEM))
    })
    .await;

    let jwks = app.get("/.well-known/jwks.json", None).await.json();
    let tokens = app.login("user", "user").await;

    assert_eq!(jwks["keys"][0]["x"], OPENSSL_PUBLIC_X);
    let header = header_of(&tokens.access);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], jwks["keys"][0]["kid"]);
    assert_eq!(
        app.get("/api/user-sample", Some(&tokens.access))
            .await
            .status
            .code,
        200
    );
}
