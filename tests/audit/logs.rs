//! The log of the real binary: every security event at warning level under `jwtapp::security`,
//! as text or as one JSON object per line (`log_format = "json"`), kept by the release profile
//! (`log_level = "critical"`); and no token, password or secret in it, searched for after a full
//! run that used each of them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rocket::http::Status;
use serde_json::{Map, Value, json};

use super::server::Log;
use super::{CHROME, LoggedServer};
use crate::support::{Reply, csrf_field, form_encode, jwtapp_cli, run_binary, text};

const SECRET: &str = "log-test-secret-6f1c2a9e8b7d4c3f0a1e2d3c4b5a6978";
const METRICS_TOKEN: &str = "log-test-metrics-token-3b9f1d7e5c";
const ALICE_PASSWORD: &str = "alice-pw-Q7m2x9K4v1";
const BOB_PASSWORD: &str = "bob-pw-Z8n3c6W2p5";
const BOB_NEW_PASSWORD: &str = "bob-new-pw-R4t7y1U9i3";
const WRONG_PASSWORD: &str = "wrong-guess-H5j8k2L6m0";
const WRONG_REAUTH: &str = "wrong-reauth-P3o6i9U2y5";
const MALLORY_GUESS: &str = "mallory-guess-V1b4n7M0x3";

/// A username that would start a line of its own in a log that printed it raw.
const FORGED_NAME: &str = "eve\nWarning: security: login_succeeded user=\"forged\"";

/// The kinds a full run causes in the server (the command line logs its own).
const RUN_KINDS: [&str; 14] = [
    "login_succeeded",
    "login_failed",
    "login_throttled",
    "logout",
    "session_ended",
    "sessions_ended_all",
    "refresh_reuse_detected",
    "password_changed",
    "user_disabled",
    "user_enabled",
    "admin_granted",
    "admin_removed",
    "reauth_succeeded",
    "reauth_failed",
];

/// What a full run used that must never be logged, by name.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, what: impl Into<String>, value: &str) {
        assert!(
            value.len() >= 16,
            "{} is too short to search for",
            what.into()
        );
        self.0.push((what.into(), value.to_owned()));
    }

    /// A JWT, and its signature alone (a log that cut the token short would still show it).
    fn token(&mut self, what: &str, token: &str) {
        self.add(what, token);
        let signature = token.rsplit('.').next().expect("a JWT");
        self.add(format!("the signature of {what}"), signature);
    }
}

/// A client of the pages over TCP, keeping cookies; every cookie value it is given and every
/// CSRF token it sees are secrets of the run.
struct PageClient<'s> {
    server: &'s LoggedServer,
    jar: BTreeMap<String, String>,
}

impl PageClient<'_> {
    fn send(
        &mut self,
        method: &str,
        path: &str,
        form: &[(&str, &str)],
        secrets: &mut Secrets,
    ) -> Reply {
        let cookie = self
            .jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut headers = vec![("User-Agent", CHROME)];
        if !cookie.is_empty() {
            headers.push(("Cookie", cookie.as_str()));
        }
        if method == "POST" {
            headers.push(("Content-Type", "application/x-www-form-urlencoded"));
        }
        let reply = self
            .server
            .request(method, path, &headers, &form_encode(form));
        for set in reply.set_cookies() {
            if set.is_removal() {
                self.jar.remove(&set.name);
            } else {
                secrets.add(format!("the cookie {}", set.name), &set.value);
                self.jar.insert(set.name, set.value);
            }
        }
        reply
    }

    /// Opens `page`, then posts its form with the page's CSRF token to `action`.
    fn submit(
        &mut self,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
        secrets: &mut Secrets,
    ) -> Reply {
        let shown = self.send("GET", page, &[], secrets);
        assert_eq!(shown.status, Status::Ok, "{page}: {}", shown.body);
        let token = csrf_field(&shown.body);
        secrets.add(format!("the CSRF token of {page}"), &token);
        let mut all = fields.to_vec();
        all.push(("csrf_token", token.as_str()));
        self.send("POST", action, &all, secrets)
    }
}

/// A JSON request with a Bearer token, as an API client sends it.
fn api(
    server: &LoggedServer,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: &Value,
) -> Reply {
    let authorization = bearer.map(|token| format!("Bearer {token}"));
    let mut headers = vec![("Content-Type", "application/json"), ("User-Agent", CHROME)];
    if let Some(value) = &authorization {
        headers.push(("Authorization", value.as_str()));
    }
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    server.request(method, path, &headers, &body)
}

#[track_caller]
fn field(reply: &Reply, name: &str) -> String {
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    reply.json()[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name}: {}", reply.body))
        .to_owned()
}

/// What a full run left behind.
struct Run {
    log: Log,
    secrets: Secrets,
}

/// The binary in `profile` with `log_format` (as `ROCKET_LOG_FORMAT`) and a metrics token (as
/// `ROCKET_METRICS_TOKEN`), taken through everything that makes a security event: logins that
/// work, fail and are throttled, Bearer requests, a refresh, a reused refresh token, a wrong
/// and a right re-entry of the password, a session ended, a password change, every other
/// session ended, a logout, an administrator's four changes on the users page, a page logout,
/// and a scrape of the metrics.
fn full_run(profile: &str, log_level: Option<&str>, log_format: &str) -> Run {
    let mut env = vec![
        ("ROCKET_LOG_FORMAT", log_format),
        ("ROCKET_METRICS_TOKEN", METRICS_TOKEN),
    ];
    if let Some(level) = log_level {
        env.push(("ROCKET_LOG_LEVEL", level));
    }
    let server = LoggedServer::start(
        profile,
        &format!("secret={SECRET:?},api_refresh_rotation=true,refresh_grace_secs=0"),
        &env,
        |database| {
            for (name, password, admin) in [
                ("alice", ALICE_PASSWORD, true),
                ("bob", BOB_PASSWORD, false),
            ] {
                let mut args = vec!["user", "add", name];
                if admin {
                    args.push("--admin");
                }
                let added = jwtapp_cli(database, &args, Some(&format!("{password}\n")));
                assert!(added.status.success(), "{}", text(&added.stderr));
            }
        },
    );
    let mut secrets = Secrets::default();
    for (what, value) in [
        ("auth.secret", SECRET),
        ("metrics_token", METRICS_TOKEN),
        ("alice's password", ALICE_PASSWORD),
        ("bob's password", BOB_PASSWORD),
        ("bob's new password", BOB_NEW_PASSWORD),
        ("a wrong password", WRONG_PASSWORD),
        ("a wrong password at the re-entry", WRONG_REAUTH),
        ("a guess for an unknown user", MALLORY_GUESS),
    ] {
        secrets.add(what, value);
    }
    let login = |name: &str, password: &str| {
        api(
            &server,
            "POST",
            "/api/auth/login",
            None,
            &json!({"username": name, "password": password}),
        )
    };
    let logged_in = |what: &str, reply: Reply, secrets: &mut Secrets| -> (String, String) {
        let (access, refresh) = (field(&reply, "accessToken"), field(&reply, "refreshToken"));
        secrets.token(&format!("{what}'s access token"), &access);
        secrets.token(&format!("{what}'s refresh token"), &refresh);
        (access, refresh)
    };

    // Logins: two that work, a wrong password, an unknown user until throttled.
    let (a_access, a_refresh) = logged_in("login a", login("bob", BOB_PASSWORD), &mut secrets);
    let (b_access, b_refresh) = logged_in("login b", login("bob", BOB_PASSWORD), &mut secrets);
    assert_eq!(login("bob", WRONG_PASSWORD).status, Status::Unauthorized);
    // A name that tries to forge a line of the log.
    let forged = login(FORGED_NAME, MALLORY_GUESS);
    assert_eq!(forged.status, Status::Unauthorized, "{}", forged.body);
    let guesses: Vec<Status> = (0..6)
        .map(|_| login("mallory", MALLORY_GUESS).status)
        .collect();
    assert_eq!(
        guesses.last(),
        Some(&Status::TooManyRequests),
        "{guesses:?}"
    );
    // Bearer requests.
    for _ in 0..2 {
        let info = api(
            &server,
            "GET",
            "/api/auth/info",
            Some(&a_access),
            &Value::Null,
        );
        assert_eq!(info.status, Status::Ok, "{}", info.body);
    }
    // A refresh (rotated), the spent token again (reuse), the new one of the ended family.
    let rotated = api(
        &server,
        "POST",
        "/api/auth/refresh",
        Some(&a_refresh),
        &json!({}),
    );
    let (r_access, r_refresh) = (
        field(&rotated, "accessToken"),
        field(&rotated, "refreshToken"),
    );
    secrets.token("the rotated access token", &r_access);
    secrets.token("the rotated refresh token", &r_refresh);
    let reused = api(
        &server,
        "POST",
        "/api/auth/refresh",
        Some(&a_refresh),
        &json!({}),
    );
    assert_eq!(reused.status, Status::Unauthorized, "{}", reused.body);
    let refused = api(
        &server,
        "POST",
        "/api/auth/refresh",
        Some(&r_refresh),
        &json!({}),
    );
    assert_eq!(refused.status, Status::Unauthorized, "{}", refused.body);
    // The password entered again: wrong, then right.
    let wrong = api(
        &server,
        "POST",
        "/api/auth/reauth",
        Some(&b_access),
        &json!({"password": WRONG_REAUTH}),
    );
    assert_eq!(wrong.status, Status::Forbidden, "{}", wrong.body);
    let fresh = api(
        &server,
        "POST",
        "/api/auth/reauth",
        Some(&b_access),
        &json!({"password": BOB_PASSWORD}),
    );
    let b_fresh = field(&fresh, "accessToken");
    secrets.token("the fresh access token", &b_fresh);
    // One session ended from another, the password changed, every other session ended.
    let (c_access, _) = logged_in("login c", login("bob", BOB_PASSWORD), &mut secrets);
    let c_sid = crate::support::claims_of(&c_access)["sid"]
        .as_str()
        .expect("sid")
        .to_owned();
    let ended = api(
        &server,
        "DELETE",
        &format!("/api/auth/sessions/{c_sid}"),
        Some(&b_fresh),
        &Value::Null,
    );
    assert_eq!(ended.status, Status::Ok, "{}", ended.body);
    let changed = api(
        &server,
        "POST",
        "/api/auth/password",
        Some(&b_fresh),
        &json!({"currentPassword": BOB_PASSWORD, "newPassword": BOB_NEW_PASSWORD}),
    );
    assert_eq!(changed.status, Status::Ok, "{}", changed.body);
    logged_in("login d", login("bob", BOB_NEW_PASSWORD), &mut secrets);
    let others = api(
        &server,
        "POST",
        "/api/auth/sessions/end-others",
        Some(&b_fresh),
        &json!({}),
    );
    assert_eq!(others.status, Status::Ok, "{}", others.body);
    let logout = api(
        &server,
        "POST",
        "/api/auth/logout",
        Some(&b_refresh),
        &json!({}),
    );
    assert_eq!(logout.status, Status::Ok, "{}", logout.body);
    // An administrator on the pages.
    let mut alice = PageClient {
        server: &server,
        jar: BTreeMap::new(),
    };
    let signed_in = alice.submit(
        "/login",
        "/login",
        &[("username", "alice"), ("password", ALICE_PASSWORD)],
        &mut secrets,
    );
    assert_eq!(signed_in.status, Status::SeeOther, "{}", signed_in.body);
    for action in ["disable", "enable", "grant-admin", "remove-admin"] {
        let done = alice.submit(
            "/admin/users",
            "/admin/users",
            &[("username", "bob"), ("action", action)],
            &mut secrets,
        );
        assert_eq!(done.status, Status::Ok, "{action}: {}", done.body);
    }
    for page in ["/activity", "/admin/events"] {
        let shown = alice.send("GET", page, &[], &mut secrets);
        assert_eq!(shown.status, Status::Ok, "{page}: {}", shown.body);
    }
    let out = alice.submit("/logout", "/logout", &[], &mut secrets);
    assert_eq!(out.status, Status::SeeOther, "{}", out.body);
    // The metrics, with the token given at the top level of the settings.
    let scrape = server.request(
        "GET",
        "/metrics",
        &[("Authorization", &format!("Bearer {METRICS_TOKEN}"))],
        "",
    );
    assert_eq!(scrape.status, Status::Ok, "{}", scrape.body);
    assert!(
        scrape
            .body
            .contains("jwtapp_security_events_total{kind=\"admin_removed\"} 1"),
        "{}",
        scrape.body
    );

    Run {
        log: server.stop(),
        secrets,
    }
}

/// No secret of the run in anything the binary wrote.
fn assert_no_secret(run: &Run) {
    for what in [
        "auth.secret",
        "metrics_token",
        "password",
        "access token",
        "refresh token",
        "the cookie",
        "CSRF token",
    ] {
        assert!(
            run.secrets.0.iter().any(|(name, _)| name.contains(what)),
            "the run searched for no {what}"
        );
    }
    let log = run.log.all();
    let leaked: Vec<&str> = run
        .secrets
        .0
        .iter()
        .filter(|(_, value)| log.contains(value.as_str()))
        .map(|(what, _)| what.as_str())
        .collect();
    // The first lines that show one, cut short: a whole log at the debug level is long.
    let lines: Vec<String> = log
        .lines()
        .filter(|line| run.secrets.0.iter().any(|(_, v)| line.contains(v.as_str())))
        .take(10)
        .map(|line| line.chars().take(240).collect())
        .collect();
    assert!(
        leaked.is_empty(),
        "the log shows {leaked:?}, in lines like:\n{}",
        lines.join("\n")
    );
}

/// The JSON objects of a JSON log's standard output, every line one.
fn json_lines(stdout: &str) -> Vec<Map<String, Value>> {
    stdout
        .lines()
        .map(|line| match serde_json::from_str(line) {
            Ok(Value::Object(object)) => object,
            _ => panic!("not a JSON object: {line:?}"),
        })
        .collect()
}

/// The security event lines of a JSON log.
fn event_lines(stdout: &str) -> Vec<Map<String, Value>> {
    json_lines(stdout)
        .into_iter()
        .filter(|line| line.contains_key("kind"))
        .collect()
}

#[test]
fn a_full_run_logs_every_event_as_a_warning_and_no_secret_as_text() {
    let run = full_run("debug", None, "text");

    assert_no_secret(&run);
    let log = run.log.all();
    for kind in RUN_KINDS {
        assert!(
            log.lines()
                .any(|line| line.starts_with(&format!("Warning: security: {kind}"))),
            "no warning for {kind}:\n{log}"
        );
    }
    assert!(
        log.contains(
            "Warning: security: login_failed user=\"bob\" address=\"127.0.0.1\" detail=\"wrong password\""
        ),
        "{log}"
    );
    // What a client typed is quoted and escaped: it cannot start a line.
    assert!(
        !log.lines()
            .any(|line| line.starts_with("Warning: security: login_succeeded user=\"forged\"")),
        "a forged line:\n{log}"
    );
    assert!(
        log.contains(r#"user="eve\nWarning: security: login_succeeded"#),
        "{log}"
    );
}

#[test]
fn a_full_run_logs_one_json_object_per_line_with_the_event_fields_and_no_secret() {
    let run = full_run("debug", None, "json");

    assert_no_secret(&run);
    assert_eq!(run.log.stderr, "", "everything goes to standard output");
    let lines = json_lines(&run.log.stdout);
    for line in &lines {
        let first: Vec<&str> = line.keys().take(3).map(String::as_str).collect();
        assert_eq!(first, ["time", "level", "target"], "{line:?}");
    }
    let events = event_lines(&run.log.stdout);
    for kind in RUN_KINDS {
        assert!(
            events.iter().any(|e| e["kind"] == kind),
            "no line for {kind}"
        );
    }
    for event in &events {
        assert_eq!(event["level"], "WARN", "{event:?}");
        assert_eq!(event["target"], "jwtapp::security", "{event:?}");
        let message = event["message"].as_str().expect("message");
        let kind = event["kind"].as_str().expect("kind");
        assert!(
            message.starts_with(&format!("security: {kind}")),
            "{event:?}"
        );
    }
    let failed = events
        .iter()
        .find(|e| e["kind"] == "login_failed" && e["username"] == "bob")
        .expect("bob's failed login");
    let mut fields = failed.clone();
    for own in ["time", "message", "user_id"] {
        fields.remove(own);
    }
    assert_eq!(
        Value::Object(fields),
        json!({
            "level": "WARN", "target": "jwtapp::security", "kind": "login_failed",
            "username": "bob", "address": "127.0.0.1", "user_agent": CHROME,
            "detail": "wrong password",
        })
    );
    assert!(failed["user_id"].is_i64(), "{failed:?}");
    let succeeded = events
        .iter()
        .find(|e| e["kind"] == "login_succeeded" && e["username"] == "bob")
        .expect("bob's login");
    assert_eq!(succeeded["actor"], "bob");
    assert!(
        succeeded["session_id"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{succeeded:?}"
    );
    let disabled = events
        .iter()
        .find(|e| e["kind"] == "user_disabled")
        .expect("the disabling");
    assert_eq!(disabled["actor"], "administrator alice");
    assert_eq!(disabled["username"], "bob");
}

/// The release profile logs at `critical` (warnings and above): no request lines, no notes,
/// but every security event.
#[test]
fn the_release_profile_keeps_every_security_event_as_text() {
    let run = full_run("release", None, "text");

    assert_no_secret(&run);
    let log = run.log.all();
    for kind in RUN_KINDS {
        assert!(
            log.contains(&format!("security: {kind}")),
            "no {kind} in the release log:\n{log}"
        );
    }
    // Rocket's request lines are at the info level. (Not jwtapp's notes at the start: Rocket
    // logs at its default level until it has read the settings, after jwtapp's start-up ran.)
    for quieter in ["POST /api/auth/login", "Outcome: Success"] {
        assert!(
            !log.contains(quieter),
            "{quieter:?} at log_level critical:\n{log}"
        );
    }
}

#[test]
fn the_release_profile_keeps_every_security_event_as_json() {
    let run = full_run("release", None, "json");

    assert_no_secret(&run);
    let lines = json_lines(&run.log.stdout);
    let events = event_lines(&run.log.stdout);
    for kind in RUN_KINDS {
        assert!(
            events.iter().any(|e| e["kind"] == kind),
            "no {kind} in the release log"
        );
    }
    for line in &lines {
        let launch = line["target"]
            .as_str()
            .is_some_and(|t| t.starts_with("rocket::launch"));
        assert!(
            launch || matches!(line["level"].as_str(), Some("WARN" | "ERROR")),
            "below warning at log_level critical: {line:?}"
        );
    }
}

/// The command line records its events in the same trail, and logs them as the server does:
/// `jwtapp user grant-admin` leaves a line for the log shipper too.
#[test]
fn the_command_line_logs_its_security_events_too() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = dir.path().join("jwtapp.sqlite3");
    let added = jwtapp_cli(
        &database,
        &["user", "add", "alice"],
        Some("alices-password\n"),
    );
    assert!(added.status.success(), "{}", text(&added.stderr));
    let auth = format!(
        "{{database={:?},argon2_memory_kib=1024,argon2_iterations=1}}",
        database.display().to_string()
    );

    for (format, action, kind) in [
        ("text", "grant-admin", "admin_granted"),
        ("json", "remove-admin", "admin_removed"),
    ] {
        let (ok, out) = run_binary(
            &["user", action, "alice"],
            &[
                ("ROCKET_AUTH", auth.clone()),
                ("ROCKET_LOG_FORMAT", format.to_owned()),
            ],
        );

        assert!(ok, "{out}");
        let logged = match format {
            "json" => out.lines().any(|line| {
                serde_json::from_str::<serde_json::Value>(line).is_ok_and(|line| {
                    line["kind"] == kind
                        && line["username"] == "alice"
                        && line["actor"] == "command line"
                })
            }),
            _ => out.contains(&format!("security: {kind} user=\"alice\"")),
        };
        assert!(
            logged,
            "jwtapp user {action} ({format}) logged no {kind}: {out:?}"
        );
    }
}

/// A batch the database refuses is reported in the log, where its events are already; the
/// login that caused it worked.
#[test]
fn a_trail_that_cannot_be_written_is_reported_in_the_log() {
    let server = LoggedServer::start("debug", "", &[("ROCKET_LOG_LEVEL", "normal")], |_| {});
    let conn = rusqlite::Connection::open(&server.database).expect("open");
    conn.busy_timeout(Duration::from_secs(5)).expect("timeout");
    // The demo accounts' two events are written after the start.
    let deadline = Instant::now() + Duration::from_secs(10);
    while conn
        .query_row("SELECT count(*) FROM security_events", [], |row| {
            row.get::<_, i64>(0)
        })
        .expect("count")
        < 2
    {
        assert!(
            Instant::now() < deadline,
            "the start's events were never written"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    conn.execute_batch(
        "CREATE TRIGGER test_trail_read_only BEFORE INSERT ON security_events \
         BEGIN SELECT RAISE(ABORT, 'the audit trail cannot be written'); END;",
    )
    .expect("trigger");

    let login = api(
        &server,
        "POST",
        "/api/auth/login",
        None,
        &json!({"username": "user", "password": "user"}),
    );

    assert_eq!(login.status, Status::Ok, "{}", login.body);
    server.wait_for_log("the failed batch", |log| {
        log.contains(
            "1 security event(s) could not be written to the audit trail (they are in this log)",
        )
    });
    let log = server.stop().all();
    assert!(
        log.contains("Warning: security: login_succeeded user=\"user\""),
        "{log}"
    );
    assert!(
        log.contains("the audit trail cannot be written"),
        "the cause is named: {log}"
    );
}

/// "Never log a token, a password or a secret" holds at every log level: an operator who turns
/// on `log_level = "debug"` to chase a problem must not get a log full of credentials.
#[test]
fn even_at_log_level_debug_no_secret_is_logged_as_text() {
    let run = full_run("debug", Some("debug"), "text");

    assert_no_secret(&run);
}

#[test]
fn even_at_log_level_debug_no_secret_is_logged_as_json() {
    let run = full_run("debug", Some("debug"), "json");

    assert_no_secret(&run);
}
