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

/// The `kid` the test apps' signing key ([`SECRET`]) carries.
pub fn server_kid() -> String {
    jwtapp::auth::hs256_key_id(SECRET.as_bytes())
}

/// Signs arbitrary claims with `secret` and `alg`, under the server's `kid`: the server then
/// picks its own key, and the refusal is about the signature or the algorithm.
pub fn forge_with(claims: &Value, alg: Algorithm, secret: &[u8]) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(server_kid());
    forge_with_header(
        &header,
        claims,
        &EncodingKey::from_secret(secret).expect("key"),
    )
}

/// Signs arbitrary claims under any header with any key.
pub fn forge_with_header(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, claims, key).expect("sign")
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
        // A command that reads no input may have exited already: a broken pipe is no failure.
        match pipe.write_all(stdin.unwrap_or("").as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("write stdin: {e}"),
            _ => {}
        }
    }
    child.wait_with_output().expect("jwtapp finished")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Percent-encodes a form field the way a browser does (`application/x-www-form-urlencoded`).
pub fn form_encode(fields: &[(&str, &str)]) -> String {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                other => format!("%{other:02X}"),
            })
            .collect()
    };
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The value of the hidden `csrf_token` field of the (first) form on a page.
pub fn csrf_field(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).map(|at| at + marker.len());
    let start = start.unwrap_or_else(|| panic!("no csrf_token field in: {html}"));
    let end = html[start..].find('"').expect("closing quote") + start;
    html[start..end].to_owned()
}

/// One `Set-Cookie` header, parsed.
#[derive(Debug, Clone)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
    /// The attributes after the value, lower-cased names (`httponly`, `max-age`, ...).
    pub attributes: Vec<(String, Option<String>)>,
}

impl SetCookie {
    pub fn parse(header: &str) -> SetCookie {
        let mut parts = header.split(';').map(str::trim);
        let (name, value) = parts
            .next()
            .and_then(|pair| pair.split_once('='))
            .unwrap_or_else(|| panic!("bad Set-Cookie: {header}"));
        let attributes = parts
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.to_ascii_lowercase(), Some(v.to_owned())),
                None => (p.to_ascii_lowercase(), None),
            })
            .collect();
        SetCookie {
            name: name.to_owned(),
            value: value.to_owned(),
            attributes,
        }
    }

    pub fn has(&self, attribute: &str) -> bool {
        self.attributes.iter().any(|(k, _)| k == attribute)
    }

    pub fn attribute(&self, attribute: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == attribute)
            .and_then(|(_, v)| v.as_deref())
    }

    pub fn max_age(&self) -> Option<i64> {
        self.attribute("max-age")
            .map(|v| v.parse().expect("numeric Max-Age"))
    }

    /// True for a cookie that tells the browser to delete it.
    pub fn is_removal(&self) -> bool {
        self.max_age() == Some(0)
    }
}

impl Reply {
    /// Every `Set-Cookie` of the response.
    pub fn set_cookies(&self) -> Vec<SetCookie> {
        self.header_values("Set-Cookie")
            .into_iter()
            .map(SetCookie::parse)
            .collect()
    }

    pub fn set_cookie(&self, name: &str) -> Option<SetCookie> {
        self.set_cookies().into_iter().find(|c| c.name == name)
    }
}

/// A client that keeps cookies the way a browser does: it stores what `Set-Cookie` sets,
/// forgets what it deletes, and sends the rest with every request.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    jar: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Browser<'a> {
        Browser {
            app,
            jar: Default::default(),
        }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.lock().expect("jar").get(name).cloned()
    }

    pub fn set(&self, name: &str, value: &str) {
        self.jar
            .lock()
            .expect("jar")
            .insert(name.to_owned(), value.to_owned());
    }

    pub fn remove(&self, name: &str) {
        self.jar.lock().expect("jar").remove(name);
    }

    pub fn cookie_names(&self) -> Vec<String> {
        self.jar.lock().expect("jar").keys().cloned().collect()
    }

    /// Sends `request` with the stored cookies and stores what the response sets.
    pub async fn send(&self, request: LocalRequest<'_>) -> Reply {
        let cookies: Vec<rocket::http::Cookie<'static>> = self
            .jar
            .lock()
            .expect("jar")
            .iter()
            .map(|(n, v)| rocket::http::Cookie::new(n.clone(), v.clone()))
            .collect();
        let reply = self.app.send(request.cookies(cookies)).await;
        let mut jar = self.jar.lock().expect("jar");
        for cookie in reply.set_cookies() {
            if cookie.is_removal() {
                jar.remove(&cookie.name);
            } else {
                jar.insert(cookie.name, cookie.value);
            }
        }
        reply
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.app.client.get(path.to_owned())).await
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let request = self
            .app
            .client
            .post(path.to_owned())
            .header(ContentType::Form)
            .body(form_encode(fields));
        self.send(request).await
    }

    /// Opens the login page and submits it; returns the answer to the POST.
    pub async fn try_sign_in(&self, username: &str, password: &str, next: Option<&str>) -> Reply {
        let page = self.get("/login").await;
        assert_eq!(page.status, Status::Ok, "{}", page.body);
        let token = csrf_field(&page.body);
        let mut fields = vec![
            ("username", username),
            ("password", password),
            ("csrf_token", token.as_str()),
        ];
        if let Some(next) = next {
            fields.push(("next", next));
        }
        self.post_form("/login", &fields).await
    }

    /// Signs in and asserts it worked.
    pub async fn sign_in(&self, username: &str, password: &str) {
        let reply = self.try_sign_in(username, password, None).await;
        assert_eq!(
            reply.status,
            Status::SeeOther,
            "sign in as {username}: {}",
            reply.body
        );
        assert_eq!(reply.header("Location"), Some("/"));
    }

    /// Posts a page form with the CSRF token of the page it is on, as a browser would.
    pub async fn submit(&self, page_path: &str, fields: &[(&str, &str)]) -> Reply {
        let page = self.get(page_path).await;
        assert_eq!(page.status, Status::Ok, "{page_path}: {}", page.body);
        let token = csrf_field(&page.body);
        let mut all = fields.to_vec();
        all.push(("csrf_token", token.as_str()));
        self.post_form(page_path, &all).await
    }
}

/// The real `jwtapp` binary serving over TCP on a free port, as `cargo run` would (Rocket.toml's
/// debug profile, the demo accounts), on a temporary database. Killed when dropped.
pub struct Server {
    child: std::process::Child,
    pub port: u16,
    /// What the server logged up to its launch line.
    pub startup_log: String,
    _dir: Option<TempDir>,
}

impl Server {
    /// Starts the binary with `auth_overrides` (TOML inline-table entries) added to `ROCKET_AUTH`.
    pub fn start(auth_overrides: &str) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("jwtapp.sqlite3");
        Server::try_start(&db, "debug", auth_overrides)
            .map(|server| server.keeping(dir))
            .unwrap_or_else(|log| panic!("jwtapp exited before launching: {log}"))
    }

    /// Starts the binary in `profile` on the database `db`; the log up to the failure when it
    /// stops before launching.
    pub fn try_start(db: &Path, profile: &str, auth_overrides: &str) -> Result<Server, String> {
        use std::io::{BufRead, BufReader};
        use std::time::{Duration, Instant};

        let db = db.display().to_string();
        let mut child = Command::new(env!("CARGO_BIN_EXE_jwtapp"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("ROCKET_PROFILE", profile)
            .env("ROCKET_PORT", "0")
            .env("ROCKET_LOG_LEVEL", "normal")
            .env("ROCKET_CLI_COLORS", "false")
            .env(
                "ROCKET_AUTH",
                format!(
                    "{{database={db:?},argon2_memory_kib=1024,argon2_iterations=1,{auth_overrides}}}"
                ),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start jwtapp");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut log = String::new();
        let port = loop {
            let line = match lines.next() {
                Some(Ok(line)) => line,
                _ => {
                    let _ = child.kill();
                    let output = child.wait_with_output().expect("jwtapp's output");
                    log.push_str(&text(&output.stderr));
                    return Err(log);
                }
            };
            log.push_str(&line);
            log.push('\n');
            if let Some(address) = line.split("launched from http://").nth(1) {
                break address
                    .trim()
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse::<u16>().ok())
                    .expect("port");
            }
            assert!(Instant::now() < deadline, "no launch line: {log}");
        };
        // Keep draining the logs so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        if let Some(stderr) = child.stderr.take() {
            std::thread::spawn(move || for _ in BufReader::new(stderr).lines() {});
        }
        Ok(Server {
            child,
            port,
            startup_log: log,
            _dir: None,
        })
    }

    fn keeping(mut self, dir: TempDir) -> Server {
        self._dir = Some(dir);
        self
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
