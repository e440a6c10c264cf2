//! Issue 15, step-up and a second factor: fresh logins (`auth_time`, `fresh_secs`, re-entering
//! the password), TOTP codes (RFC 6238) and recovery codes, on the API, the pages, the command
//! line and in a real browser.
//!
//! Codes are computed by the tests' own implementation of the RFCs ([`otp`]). Time is the test
//! apps' manual clock: a test moves it to the start of a time step and from step to step, so
//! which code is current, and when a login stops being fresh, is exact.

mod admin;
mod browser;
mod codes;
mod enrolment;
mod events;
mod fresh_api;
mod fresh_pages;
mod login_pages;
mod otp;
mod recovery;
mod storage;

use std::net::SocketAddr;
use std::path::Path;

use rocket::http::{ContentType, Status};
use serde_json::{Value, json};

use crate::support::{Browser, Reply, TestApp, Tokens, csrf_field};
use otp::{STEP_SECS, base32_decode, step_of, totp_of_step};

/// `fresh_secs` by default: a sensitive action needs the password entered this recently.
pub const FRESH_SECS: u64 = 300;

/// A user whose second factor is on.
pub struct Enrolled {
    /// The TOTP secret, as the authenticator app holds it.
    pub secret: Vec<u8>,
    /// The ten recovery codes shown when it was turned on.
    pub recovery_codes: Vec<String>,
    /// The login that turned it on.
    pub tokens: Tokens,
}

impl Enrolled {
    /// The code the app shows at `app`'s time.
    pub fn code(&self, app: &TestApp) -> String {
        totp_of_step(&self.secret, step_of(app.now()))
    }

    /// The code of the step `offset` steps from the current one.
    pub fn code_off(&self, app: &TestApp, offset: i64) -> String {
        let step = step_of(app.now())
            .checked_add_signed(offset)
            .expect("a step");
        totp_of_step(&self.secret, step)
    }
}

/// Moves `app`'s clock to the first second of the next time step: the next code is new, and
/// the test has the whole step before it changes again.
pub fn next_step(app: &TestApp) {
    let now = app.now();
    app.clock().advance(STEP_SECS - now % STEP_SECS);
}

/// `POST /api/auth/totp/setup` with `access`: the new secret, decoded from its base32 text.
pub async fn setup(app: &TestApp, access: &str) -> Vec<u8> {
    let reply = app
        .post_json("/api/auth/totp/setup", Some(access), "{}")
        .await;
    assert_eq!(reply.status, Status::Ok, "setup: {}", reply.body);
    let text = reply.json()["secret"].as_str().expect("secret").to_owned();
    base32_decode(&text).unwrap_or_else(|| panic!("the secret is not base32: {text}"))
}

/// Turns the second factor of `username` on over the API, as a client would: a login, a setup,
/// the code of the current step. Then moves to the next step, so the next code is a new one.
pub async fn enrol(app: &TestApp, username: &str, password: &str) -> Enrolled {
    let tokens = app.login(username, password).await;
    let secret = setup(app, &tokens.access).await;
    let code = totp_of_step(&secret, step_of(app.now()));
    let reply = app
        .post_json(
            "/api/auth/totp/enable",
            Some(&tokens.access),
            &json!({ "code": code }).to_string(),
        )
        .await;
    assert_eq!(reply.status, Status::Ok, "enable: {}", reply.body);
    let recovery_codes = strings(&reply.json()["recoveryCodes"]);
    assert_eq!(recovery_codes.len(), 10, "{}", reply.body);
    next_step(app);
    Enrolled {
        secret,
        recovery_codes,
        tokens,
    }
}

/// The strings of a JSON array.
pub fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

/// `POST /api/auth/login` with a code.
pub async fn login_with_code(app: &TestApp, username: &str, password: &str, code: &str) -> Reply {
    let body = json!({"username": username, "password": password, "code": code});
    app.post_json("/api/auth/login", None, &body.to_string())
        .await
}

/// `POST /api/auth/login` with a code, from the client address `from`.
pub async fn login_from_with_code(
    app: &TestApp,
    from: SocketAddr,
    username: &str,
    password: &str,
    code: &str,
) -> Reply {
    let body = json!({"username": username, "password": password, "code": code});
    let request = app
        .client
        .post("/api/auth/login")
        .header(ContentType::JSON)
        .remote(from)
        .body(body.to_string());
    app.send(request).await
}

/// The tokens of a successful login answer.
#[track_caller]
pub fn tokens_of(reply: &Reply) -> Tokens {
    assert_eq!(reply.status, Status::Ok, "login: {}", reply.body);
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

/// `POST /api/auth/reauth` with `access` and `body`.
pub async fn reauth(app: &TestApp, access: &str, body: Value) -> Reply {
    app.post_json("/api/auth/reauth", Some(access), &body.to_string())
        .await
}

/// The keys of a JSON object, sorted.
pub fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// Asserts the refusal of a sensitive action without a fresh login: 401
/// `{"statusCode":401,"name":"Unauthorized","description":"…","freshRequired":true}`.
#[track_caller]
pub fn assert_fresh_required(reply: &Reply, case: &str) {
    assert_eq!(reply.status, Status::Unauthorized, "{case}: {}", reply.body);
    reply.assert_error(401);
    let body = reply.json();
    assert_eq!(
        keys(&body),
        ["description", "freshRequired", "name", "statusCode"],
        "{case}: {body}"
    );
    assert_eq!(body["name"], "Unauthorized", "{case}");
    assert_eq!(body["freshRequired"], true, "{case}");
}

/// Asserts the answer to a missing or wrong code: 401
/// `{"statusCode":401,"name":"Unauthorized","description":"…","mfaRequired":true}`.
#[track_caller]
pub fn assert_mfa_required(reply: &Reply, case: &str) {
    assert_eq!(reply.status, Status::Unauthorized, "{case}: {}", reply.body);
    reply.assert_error(401);
    let body = reply.json();
    assert_eq!(
        keys(&body),
        ["description", "mfaRequired", "name", "statusCode"],
        "{case}: {body}"
    );
    assert_eq!(body["name"], "Unauthorized", "{case}");
    assert_eq!(body["mfaRequired"], true, "{case}");
}

/// Asserts a throttled answer (429 with `Retry-After`); returns `Retry-After`.
#[track_caller]
pub fn assert_throttled(reply: &Reply, case: &str) -> u64 {
    assert_eq!(
        reply.status,
        Status::TooManyRequests,
        "{case}: {}",
        reply.body
    );
    let retry_after: u64 = reply
        .header("Retry-After")
        .unwrap_or_else(|| panic!("{case}: no Retry-After"))
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=300).contains(&retry_after), "{case}: {retry_after}");
    retry_after
}

/// `GET /api/auth/totp` with `access`.
pub async fn totp_state(app: &TestApp, access: &str) -> Value {
    let reply = app.get("/api/auth/totp", Some(access)).await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    reply.json()
}

/// The caller's security events, newest first.
pub async fn events(app: &TestApp, access: &str) -> Vec<Value> {
    let reply = app.get("/api/auth/events?limit=500", Some(access)).await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    reply.json().as_array().expect("an array").clone()
}

/// The events of `kind` among `events`.
pub fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"] == kind).collect()
}

/// A connection to the SQLite database at `path`, as an operator with the file would open it.
pub fn open_database(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("open the database")
}

/// The sessions of `username` that have not been revoked, as the database holds them.
pub fn unrevoked_sessions(database: &Path, username: &str) -> i64 {
    open_database(database)
        .query_row(
            "SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE u.username = ?1 AND s.revoked_at IS NULL",
            [username],
            |row| row.get(0),
        )
        .expect("count sessions")
}

/// Every byte of the database at `path` as it lies on disk: the file, its write-ahead log and
/// its shared memory index.
pub fn database_bytes(path: &Path) -> Vec<u8> {
    let name = path.file_name().expect("a file").to_string_lossy();
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(path.parent().expect("a folder")).expect("read dir") {
        let entry = entry.expect("dir entry");
        if entry.file_name().to_string_lossy().starts_with(&*name) {
            bytes.extend(std::fs::read(entry.path()).expect("read"));
        }
    }
    bytes
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The session's CSRF token of a signed-in [`Browser`], as its pages carry it.
pub fn csrf_of(browser: &Browser<'_>) -> String {
    browser.cookie("jwtapp_csrf").expect("a CSRF cookie")
}

/// Posts a form of a signed-in page, with the session's CSRF token.
pub async fn post_page_form(browser: &Browser<'_>, path: &str, fields: &[(&str, &str)]) -> Reply {
    let token = csrf_of(browser);
    let mut all = fields.to_vec();
    all.push(("csrf_token", token.as_str()));
    browser.post_form(path, &all).await
}

/// The value of the hidden field `name` of a page's form.
pub fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .map(|at| at + marker.len())
        .unwrap_or_else(|| panic!("no field {name} in: {html}"));
    let end = html[start..].find('"').expect("closing quote") + start;
    html[start..end].to_owned()
}

/// The text inside the first element of `html` that opens with `opening` (up to the next `<`).
pub fn text_after(html: &str, opening: &str) -> String {
    let start = html
        .find(opening)
        .map(|at| at + opening.len())
        .unwrap_or_else(|| panic!("no {opening} in: {html}"));
    let end = html[start..].find('<').expect("the element ends") + start;
    html[start..end].trim().to_owned()
}

/// Opens the login page in `browser` and submits the password: the answer to the POST (for an
/// account with a second factor, the code form).
pub async fn password_step(browser: &Browser<'_>, username: &str, password: &str) -> Reply {
    browser.try_sign_in(username, password, None).await
}

/// Submits the code form of a login's second step: its step token, its pre-session CSRF token,
/// and `code`.
pub async fn code_step(browser: &Browser<'_>, code_page: &str, code: &str) -> Reply {
    let step = hidden_field(code_page, "step");
    let token = csrf_field(code_page);
    browser
        .post_form(
            "/login/code",
            &[("step", &step), ("code", code), ("csrf_token", &token)],
        )
        .await
}
