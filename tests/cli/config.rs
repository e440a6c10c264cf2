//! Configuration: Rocket.toml profiles, ROCKET_AUTH overrides, refusals that name the key.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rocket::local::asynchronous::Client;
use serde_json::Value;

use crate::helpers::{SECRET, Server, TestApp, base_figment, claims_of, text};

/// Runs `jwtapp ARGS` from the package root with the given `ROCKET_*` variables.
fn run(args: &[&str], env: &[(&str, String)]) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jwtapp"));
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null());
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command.output().expect("run jwtapp");
    (
        out.status.success(),
        format!("{}{}", text(&out.stdout), text(&out.stderr)),
    )
}

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

    let short = Client::untracked(jwtapp::rocket(
        release().merge(("auth.secret", "too-short")),
    ))
    .await;
    let demo = Client::untracked(jwtapp::rocket(release().merge(("auth.demo_users", true)))).await;
    let fine = Client::untracked(jwtapp::rocket(release())).await;

    assert!(refused(short));
    assert!(refused(demo));
    assert!(!refused(fine), "a release with a good secret starts");
}

#[rocket::async_test]
async fn the_release_profile_creates_no_demo_users() {
    let app = TestApp::spawn_with(|f| f.select("release").merge(("log_level", "off"))).await;

    app.try_login("admin", "admin").await.assert_error(401);
    app.try_login("user", "user").await.assert_error(401);
}

#[rocket::async_test]
async fn the_debug_profile_starts_without_a_secret() {
    let dir = tempfile::tempdir().expect("temp dir");
    let figment = rocket::Config::figment()
        .merge(("log_level", "off"))
        .merge(("auth.database", dir.path().join("db.sqlite3")))
        .merge(("auth.argon2_memory_kib", 1024))
        .merge(("auth.argon2_iterations", 1));

    let client = Client::untracked(jwtapp::rocket(figment)).await;

    assert!(!refused(client));
    assert_ne!(SECRET, "", "tests elsewhere use a known secret");
}

/// True when the application refused to start. (Rocket panics on an error nobody looked at.)
fn refused(client: Result<Client, rocket::Error>) -> bool {
    match client {
        Ok(_) => false,
        Err(error) => {
            let _ = error.kind();
            true
        }
    }
}

/// A raw HTTP/1.1 exchange with the real server.
fn http(port: u16, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// `cargo run` in miniature: the binary serves over TCP with Rocket.toml's debug profile, the
/// demo accounts and a ROCKET_AUTH override.
#[test]
fn the_binary_serves_with_environment_overrides() {
    let server = Server::start("access_ttl_secs=2,not_a_key=1");
    let port = server.port;
    let log = server.startup_log.clone();

    let body = r#"{"username":"admin","password":"admin"}"#;
    let (status, reply) = http(
        port,
        &format!(
            "POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    drop(server);

    assert_eq!(status, 200, "{reply}");
    let tokens: Value = serde_json::from_str(&reply).expect("JSON");
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
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(tokens.access.split('.').next().expect("header"))
            .expect("base64url"),
    )
    .expect("JSON");
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
