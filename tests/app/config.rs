//! Configuration: Rocket.toml profiles, ROCKET_AUTH overrides, refusals that name the key.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

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
