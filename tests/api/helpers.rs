//! Starts the real application for a test, on a database of its own.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rocket::figment::Figment;
use rocket::http::{ContentType, Header as HttpHeader, Status};
use rocket::local::asynchronous::{Client, LocalRequest, LocalResponse};
use serde_json::{Value, json};
use tempfile::TempDir;

/// The signing secret of every test app, so tests can forge tokens the server would accept.
pub const SECRET: &str = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

/// A running jwtapp with its own temporary database.
pub struct TestApp {
    pub client: Client,
    pub dir: TempDir,
}

/// What a test looks at in a response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: Status,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Asserts the original example's error shape with this status.
    #[track_caller]
    pub fn assert_error(&self, code: u16) {
        assert_eq!(self.status.code, code, "body: {}", self.body);
        let body = self.json();
        assert_eq!(body["statusCode"], code, "body: {}", self.body);
        assert!(
            body["name"].as_str().is_some_and(|n| !n.is_empty()),
            "body: {}",
            self.body
        );
        assert!(
            body["description"].as_str().is_some_and(|d| !d.is_empty()),
            "body: {}",
            self.body
        );
        assert_eq!(self.header("Content-Type"), Some("application/json"));
        if code == 401 {
            assert_eq!(self.header("WWW-Authenticate"), Some("Bearer"));
        }
    }
}

pub async fn reply(response: LocalResponse<'_>) -> Reply {
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .map(|h| (h.name().to_string(), h.value().to_string()))
        .collect();
    let body = response.into_string().await.unwrap_or_default();
    Reply {
        status,
        headers,
        body,
    }
}

/// Access and refresh token of one login.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

/// The settings every test starts from: Rocket.toml's debug profile, a fresh database, a known
/// secret and cheap argon2 parameters (the cost is tested separately).
pub fn base_figment(dir: &Path) -> Figment {
    rocket::Config::figment()
        .merge(("log_level", "off"))
        .merge(("auth.database", dir.join("jwtapp.sqlite3")))
        .merge(("auth.secret", SECRET))
        .merge(("auth.argon2_memory_kib", 1024))
        .merge(("auth.argon2_iterations", 1))
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|figment| figment).await
    }

    pub async fn spawn_with(configure: impl FnOnce(Figment) -> Figment) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let figment = configure(base_figment(dir.path()));
        let client = Client::untracked(jwtapp::rocket(figment))
            .await
            .expect("jwtapp should start");
        TestApp { client, dir }
    }

    pub fn database(&self) -> PathBuf {
        self.dir.path().join("jwtapp.sqlite3")
    }

    pub async fn send(&self, request: LocalRequest<'_>) -> Reply {
        reply(request.dispatch().await).await
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Reply {
        self.send(with_bearer(self.client.get(path.to_owned()), bearer))
            .await
    }

    pub async fn post_json(&self, path: &str, bearer: Option<&str>, body: &str) -> Reply {
        let request = self
            .client
            .post(path.to_owned())
            .header(ContentType::JSON)
            .body(body);
        self.send(with_bearer(request, bearer)).await
    }

    pub async fn try_login(&self, username: &str, password: &str) -> Reply {
        let body = json!({"username": username, "password": password}).to_string();
        self.post_json("/api/auth/login", None, &body).await
    }

    pub async fn login(&self, username: &str, password: &str) -> Tokens {
        let reply = self.try_login(username, password).await;
        assert_eq!(
            reply.status,
            Status::Ok,
            "login as {username}: {}",
            reply.body
        );
        let body = reply.json();
        Tokens {
            access: body["accessToken"]
                .as_str()
                .expect("accessToken")
                .to_owned(),
            refresh: body["refreshToken"]
                .as_str()
                .expect("refreshToken")
                .to_owned(),
        }
    }
}

pub fn with_bearer<'c>(request: LocalRequest<'c>, bearer: Option<&str>) -> LocalRequest<'c> {
    match bearer {
        Some(token) => request.header(HttpHeader::new("Authorization", format!("Bearer {token}"))),
        None => request,
    }
}

/// The claims of a token, read without verification.
pub fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url"))
        .expect("JSON claims")
}

pub fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// Signs arbitrary claims with `secret` and `alg`.
pub fn forge_with(claims: &Value, alg: Algorithm, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret).expect("key"),
    )
    .expect("sign")
}

/// Signs arbitrary claims the way the server does.
pub fn forge(claims: &Value) -> String {
    forge_with(claims, Algorithm::HS256, SECRET.as_bytes())
}

/// A JWT with any header, payload and signature text.
pub fn raw_token(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        signature
    )
}

/// Runs the `jwtapp` binary from the package root (so it reads Rocket.toml) against `database`.
pub fn jwtapp_cli(database: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_jwtapp"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env(
            "ROCKET_AUTH",
            format!(
                "{{database={:?},argon2_memory_kib=1024,argon2_iterations=1}}",
                database.display().to_string()
            ),
        )
        .env("ROCKET_LOG_LEVEL", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run jwtapp");
    if let Some(mut pipe) = child.stdin.take() {
        pipe.write_all(stdin.unwrap_or("").as_bytes())
            .expect("write stdin");
    }
    child.wait_with_output().expect("jwtapp finished")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
