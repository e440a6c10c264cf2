//! jwtapp's performance budget, measured: `cargo bench --bench load`.
//!
//! Builds in release mode (cargo's bench profile), starts the real `jwtapp` binary on 127.0.0.1
//! with temporary databases, drives it with `wrk` (installed with apt-get when missing and run as
//! root) and, where a load generator must keep per-connection cookies, with the small HTTP/1.1
//! client below. Every comparison is a ratio measured within one run, alternating the two sides
//! several times, because absolute numbers drift on a shared machine. Prints one table and writes
//! it to `target/bench/results.md`.
//!
//! Environment: `JWTAPP_BENCH_SECS` (seconds per throughput run, default 10, at least 10 for
//! figures worth quoting), `JWTAPP_BENCH_ROUNDS` (alternations, default 3),
//! `JWTAPP_BENCH_CONNECTIONS` (default 32); `JWTAPP_BENCH_ONLY=micro` runs only the in-process
//! timings.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwtapp::auth::passwords::Passwords;
use jwtapp::auth::tokens::{TokenKeys, TokenType};
use jwtapp::auth::{Auth, ClientInfo};
use jwtapp::config::AuthConfig;
use jwtapp::store::{SqliteStore, Store};
use serde_json::Value;

const SECRET: &str = "benchmark-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
const PASSWORD: &str = "benchmark-password";

type Failure = Box<dyn std::error::Error>;

fn main() {
    // `cargo bench` passes `--bench`; this harness takes no arguments of its own.
    if let Err(e) = run() {
        eprintln!("benchmark failed: {e}");
        std::process::exit(1);
    }
}

struct Settings {
    secs: u64,
    rounds: usize,
    connections: usize,
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn run() -> Result<(), Failure> {
    // Runs stay under 10 minutes: a page session's access cookie is renewed after 14, which
    // would change what the page-auth row measures.
    let settings = Settings {
        secs: env_number("JWTAPP_BENCH_SECS", 10).clamp(1, 600),
        rounds: env_number("JWTAPP_BENCH_ROUNDS", 3).max(1) as usize,
        connections: env_number("JWTAPP_BENCH_CONNECTIONS", 32).max(2) as usize,
    };
    let work = tempfile::tempdir()?;
    if std::env::var("JWTAPP_BENCH_ONLY").as_deref() == Ok("micro") {
        let database = work.path().join("micro.sqlite3");
        let hash = Passwords::new(AuthConfig::default().argon2_params())?.hash(PASSWORD)?;
        create_users(&database, &hash, 2)?;
        add_sessions(&database, 10)?;
        println!("== where the time goes (in-process, one core)");
        micro_benchmarks(&database)?;
        return Ok(());
    }
    let wrk = ensure_wrk()?;
    let mut report = Report::new(&settings);

    println!("== fixtures");
    let small_db = work.path().join("small.sqlite3");
    let big_db = work.path().join("big.sqlite3");
    let hash = Passwords::new(AuthConfig::default().argon2_params())?.hash(PASSWORD)?;
    create_users(&small_db, &hash, 2)?;
    let started = Instant::now();
    create_users(&big_db, &hash, 100_000)?;
    add_sessions(&big_db, 1_000_000)?;
    println!(
        "   100,000 users and 1,000,000 sessions (half revoked) in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    println!("== servers");
    let small = Server::start(&small_db)?;
    let big = Server::start(&big_db)?;
    let start_rss_big = big.memory()?.rss_kib;
    println!(
        "   RSS at start with the 1M-session database: {}",
        mib(start_rss_big)
    );

    let bearer = small.login("user0")?.access;
    let bearer_header = || -> Result<Vec<(String, String)>, Failure> {
        Ok(vec![("Authorization".into(), format!("Bearer {bearer}"))])
    };
    let page_cookies = || -> Result<Vec<(String, String)>, Failure> {
        Ok(vec![("Cookie".into(), small.page_cookies()?)])
    };

    // api-auth: the same guarded JSON route against the cheapest route there is.
    println!("== api-auth");
    let api = alternate(
        &wrk,
        &settings,
        &Side {
            label: "GET /health/live",
            server: &small,
            path: "/health/live",
            headers: &no_headers,
            tokens: &[],
        },
        &Side {
            label: "GET /api/user-sample (Bearer)",
            server: &small,
            path: "/api/user-sample",
            headers: &bearer_header,
            tokens: &[],
        },
    )?;
    let api_peak = small.memory()?.peak_kib;
    report.ratio(
        "api-auth",
        "`GET /api/user-sample` with a Bearer token vs `GET /health/live`",
        &api,
        Budget::AtLeast(0.90),
    );

    println!("== page-auth");
    let page = alternate(
        &wrk,
        &settings,
        &Side {
            label: "GET /login (anonymous)",
            server: &small,
            path: "/login",
            headers: &no_headers,
            tokens: &[],
        },
        &Side {
            label: "GET /user-content (cookies)",
            server: &small,
            path: "/user-content",
            headers: &page_cookies,
            tokens: &[],
        },
    )?;
    report.ratio(
        "page-auth",
        "`GET /user-content` with auth cookies vs `GET /login`",
        &page,
        Budget::AtLeast(0.85),
    );

    println!("== reissue");
    let reissue = reissue_load(&small, &settings)?;
    println!("   {:.0} req/s, {} errors", reissue.per_sec, reissue.errors);
    report.rate(
        "reissue",
        "page requests with an expired access cookie and a valid refresh cookie: each one reissues and rotates (req/s)",
        &reissue,
        1000.0,
    );

    println!("== login and enumeration");
    let logins = login_latencies(&small)?;
    report.ratio_value(
        "login",
        "`POST /api/auth/login` median latency vs one argon2id verify in-process",
        logins.login_ms / logins.argon2_ms,
        format!("{:.1} ms vs {:.1} ms", logins.login_ms, logins.argon2_ms),
        Budget::AtMost(1.10),
    );
    report.ratio_value(
        "enumeration",
        "login median: unknown user vs wrong password for a known user",
        logins.unknown_ms / logins.wrong_ms,
        format!("{:.1} ms vs {:.1} ms", logins.unknown_ms, logins.wrong_ms),
        Budget::Between(0.90, 1.10),
    );
    report.errors += logins.errors;

    // scale: many distinct users and logins in turn, so the caches hold more than one of each;
    // the same number of tokens on both sides.
    println!("== scale");
    const TOKENS: usize = 200;
    let few: Vec<String> = (0..TOKENS)
        .map(|i| small.login(&format!("user{}", i % 2)).map(|t| t.access))
        .collect::<Result<_, _>>()?;
    let many: Vec<String> = (0..TOKENS)
        .map(|i| big.login(&format!("user{}", i * 499)).map(|t| t.access))
        .collect::<Result<_, _>>()?;
    let scale = alternate(
        &wrk,
        &settings,
        &Side {
            label: "api-auth, 2 users",
            server: &small,
            path: "/api/user-sample",
            headers: &no_headers,
            tokens: &few,
        },
        &Side {
            label: "api-auth, 100k users / 1M sessions",
            server: &big,
            path: "/api/user-sample",
            headers: &no_headers,
            tokens: &many,
        },
    )?;
    report.ratio(
        "scale",
        "api-auth throughput with 100,000 users and 1,000,000 sessions (half revoked) vs 2 users",
        &scale,
        Budget::AtLeast(0.95),
    );
    let api_peak = api_peak.max(big.memory()?.peak_kib);

    // The most memory the server holds: as many logins at once as it hashes in parallel, each
    // with its argon2 working memory, which it keeps for the next logins.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let failed_logins = std::thread::scope(|scope| {
        let logins: Vec<_> = (0..cores)
            .map(|_| scope.spawn(|| small.login("user0").is_ok()))
            .collect();
        logins
            .into_iter()
            .map(|login| login.join())
            .filter(|joined| !matches!(joined, Ok(true)))
            .count()
    });
    report.errors += failed_logins as u64;
    std::thread::sleep(Duration::from_millis(200));
    let after_burst = small.memory()?;
    report.memory(
        api_peak,
        start_rss_big,
        (after_burst.peak_kib, after_burst.rss_kib),
        cores,
        64 * 1024,
    );
    report.errors += api.errors + page.errors + scale.errors + reissue.errors;

    println!("== where the time goes (in-process, one core)");
    let micro = micro_benchmarks(&small_db)?;

    let table = report.render(&micro);
    println!("\n{table}");
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("results.md"), &table)?;
    println!("(also written to target/bench/results.md)");
    if !report.all_met {
        // Printed, and a failing exit status, so a script running the benchmark notices.
        println!("\nSome budgets are not met: see the table.");
        std::process::exit(2);
    }
    Ok(())
}

// ----- wrk -----

fn ensure_wrk() -> Result<PathBuf, Failure> {
    if let Some(path) = which("wrk") {
        return Ok(path);
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    if root && which("apt-get").is_some() {
        println!("== installing wrk (apt-get install -y wrk)");
        let status = Command::new("apt-get")
            .args(["install", "-y", "wrk"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()?;
        if status.success()
            && let Some(path) = which("wrk")
        {
            return Ok(path);
        }
    }
    Err(
        "wrk is needed: install it (`apt-get install wrk` on Debian and Ubuntu) and run again"
            .into(),
    )
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())
    })
}

/// One wrk run's figures.
#[derive(Debug, Clone, Copy, Default)]
struct WrkRun {
    per_sec: f64,
    errors: u64,
}

/// One side of a comparison: what wrk asks of which server.
struct Side<'a> {
    label: &'a str,
    server: &'a Server,
    path: &'a str,
    /// Headers of every request, made afresh before each run (a page login for the cookies, so
    /// that no run outlives them).
    headers: &'a dyn Fn() -> Result<Vec<(String, String)>, Failure>,
    /// Bearer tokens the requests take turns with (through a wrk Lua script); empty for none.
    tokens: &'a [String],
}

fn no_headers() -> Result<Vec<(String, String)>, Failure> {
    Ok(Vec::new())
}

/// A wrk script that sends each request with the next of `tokens`.
fn token_script(dir: &Path, tokens: &[String]) -> Result<PathBuf, Failure> {
    let list: Vec<String> = tokens.iter().map(|t| format!("\"{t}\"")).collect();
    let script = format!(
        "local tokens = {{{}}}\n\
         local n = 0\n\
         function request()\n\
           n = n + 1\n\
           return wrk.format(nil, nil, {{[\"Host\"] = \"127.0.0.1\", \
         [\"Authorization\"] = \"Bearer \" .. tokens[(n % #tokens) + 1]}})\n\
         end\n",
        list.join(", ")
    );
    let path = dir.join(format!("tokens-{}.lua", tokens.len()));
    std::fs::write(&path, script)?;
    Ok(path)
}

fn wrk_run(wrk: &Path, settings: &Settings, side: &Side<'_>) -> Result<WrkRun, Failure> {
    let headers = (side.headers)()?;
    let mut command = Command::new(wrk);
    command.args([
        "-t2".to_owned(),
        format!("-c{}", settings.connections),
        format!("-d{}s", settings.secs),
    ]);
    for (name, value) in &headers {
        command.arg("-H").arg(format!("{name}: {value}"));
    }
    let scripts = tempfile::tempdir()?;
    if !side.tokens.is_empty() {
        command
            .arg("-s")
            .arg(token_script(scripts.path(), side.tokens)?);
    }
    let output = command.arg(side.server.url(side.path)).output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "wrk failed: {text}{}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let mut run = WrkRun::default();
    for line in text.lines() {
        let line = line.trim();
        if let Some(rate) = line.strip_prefix("Requests/sec:") {
            run.per_sec = rate.trim().parse()?;
        } else if let Some(count) = line.strip_prefix("Non-2xx or 3xx responses:") {
            run.errors += count.trim().parse::<u64>()?;
        } else if let Some(socket) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            run.errors += socket
                .split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    // wrk counts a redirect as a success, and a page whose session failed answers 303: the same
    // request once more must still be a 200, or the run is not what it claims to be.
    let headers: Vec<(String, String)> = match side.tokens.first() {
        Some(token) => vec![("Authorization".into(), format!("Bearer {token}"))],
        None => headers,
    };
    let header_refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let after = side.server.request("GET", side.path, &header_refs, None)?;
    if after.status != 200 {
        println!("   {}: answers {} after the run", side.label, after.status);
        run.errors += 1;
    }
    Ok(run)
}

/// Two sides measured in turn, `rounds` times each.
struct Comparison {
    baseline: Vec<f64>,
    measured: Vec<f64>,
    errors: u64,
}

impl Comparison {
    fn ratios(&self) -> Vec<f64> {
        self.measured
            .iter()
            .zip(&self.baseline)
            .map(|(m, b)| m / b)
            .collect()
    }
}

/// Measures both sides `rounds` times, taking turns at going first.
fn alternate(
    wrk: &Path,
    settings: &Settings,
    baseline: &Side<'_>,
    measured: &Side<'_>,
) -> Result<Comparison, Failure> {
    let mut comparison = Comparison {
        baseline: Vec::new(),
        measured: Vec::new(),
        errors: 0,
    };
    for round in 1..=settings.rounds {
        let order = if round % 2 == 1 {
            [(false, baseline), (true, measured)]
        } else {
            [(true, measured), (false, baseline)]
        };
        for (is_measured, side) in order {
            let run = wrk_run(wrk, settings, side)?;
            println!(
                "   round {round}: {:<40} {:>9.0} req/s  errors {}",
                side.label, run.per_sec, run.errors
            );
            comparison.errors += run.errors;
            if is_measured {
                comparison.measured.push(run.per_sec);
            } else {
                comparison.baseline.push(run.per_sec);
            }
        }
    }
    Ok(comparison)
}

// ----- fixtures -----

fn create_users(path: &Path, hash: &str, count: usize) -> Result<(), Failure> {
    let store = SqliteStore::open(path)?;
    drop(store); // creates the schema
    let mut conn = rusqlite::Connection::open(path)?;
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO users (username, canonical, password_hash, enabled, is_admin, \
             created_at, updated_at) VALUES (?1, ?1, ?2, 1, 0, ?3, ?3)",
        )?;
        let now = jsonwebtoken::get_current_timestamp() as i64;
        // `user{i}` is its own canonical form.
        for i in 0..count {
            insert.execute(rusqlite::params![format!("user{i}"), hash, now])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// `count` sessions spread over the users, every other one revoked; all still within their
/// lifetime, so nothing about them is cheaper than a live row.
fn add_sessions(path: &Path, count: usize) -> Result<(), Failure> {
    let mut conn = rusqlite::Connection::open(path)?;
    let users: i64 = conn.query_row("SELECT COUNT(*) FROM users", [], |row| row.get(0))?;
    let now = jsonwebtoken::get_current_timestamp() as i64;
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO sessions (id, user_id, created_at, expires_at, last_used_at, revoked_at, \
             revoked_reason, user_agent, address, refresh_jti, refresh_issued_at) \
             VALUES (?1, ?2, ?3, ?4, ?3, ?5, ?6, 'bench', '127.0.0.1', ?7, ?3)",
        )?;
        for i in 0..count {
            let revoked = i % 2 == 1;
            insert.execute(rusqlite::params![
                format!("bench-session-{i:08}"),
                (i as i64 % users) + 1,
                now,
                now + 2_592_000,
                revoked.then_some(now),
                revoked.then_some("logout"),
                format!("bench-jti-{i:08}"),
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

// ----- the server -----

struct Server {
    child: Child,
    port: u16,
}

struct Memory {
    rss_kib: u64,
    peak_kib: u64,
}

fn free_port() -> Result<u16, Failure> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Server {
    fn start(database: &Path) -> Result<Server, Failure> {
        let port = free_port()?;
        // The release profile with its defaults (argon2, lifetimes, secure cookies), and login
        // throttling set out of the way: the login rows send many failed logins on purpose.
        let auth = format!(
            "{{secret=\"{SECRET}\",database=\"{}\",login_failures_per_window=1000000,\
             login_address_ceiling=1000000,prune_interval_secs=86400}}",
            database.display()
        );
        let child = Command::new(env!("CARGO_BIN_EXE_jwtapp"))
            .env("ROCKET_PROFILE", "release")
            .env("ROCKET_ADDRESS", "127.0.0.1")
            .env("ROCKET_PORT", port.to_string())
            .env("ROCKET_AUTH", auth)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(reply) = server.request("GET", "/health/ready", &[], None)
                && reply.status == 200
            {
                return Ok(server);
            }
            if Instant::now() > deadline {
                return Err("the server did not become ready".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn memory(&self) -> Result<Memory, Failure> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        Ok(Memory {
            rss_kib: field("VmRSS:"),
            peak_kib: field("VmHWM:"),
        })
    }

    /// One request on a fresh connection.
    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Result<Reply, Failure> {
        let mut connection = Connection::open(self.port)?;
        connection.send(method, path, headers, body)
    }

    fn login(&self, username: &str) -> Result<Tokens, Failure> {
        let body = format!(r#"{{"username":"{username}","password":"{PASSWORD}"}}"#);
        let reply = self.request(
            "POST",
            "/api/auth/login",
            &[("Content-Type", "application/json")],
            Some(&body),
        )?;
        if reply.status != 200 {
            return Err(format!("login as {username}: {}", reply.status).into());
        }
        let json: Value = serde_json::from_str(&reply.body)?;
        Ok(Tokens {
            access: json["accessToken"].as_str().unwrap_or_default().to_owned(),
            refresh: json["refreshToken"].as_str().unwrap_or_default().to_owned(),
        })
    }

    /// The `Cookie` header of a browser signed in as `user0` through the login page.
    fn page_cookies(&self) -> Result<String, Failure> {
        let mut jar = Jar::default();
        let form = self.request("GET", "/login", &[], None)?;
        jar.take(&form);
        let token = form
            .body
            .split("name=\"csrf_token\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .ok_or("no CSRF token on the login page")?
            .to_owned();
        let body = format!("username=user0&password={PASSWORD}&csrf_token={token}");
        let cookie = jar.header();
        let reply = self.request(
            "POST",
            "/login",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Cookie", &cookie),
            ],
            Some(&body),
        )?;
        if reply.status != 303 {
            return Err(format!("page login: {}", reply.status).into());
        }
        jar.take(&reply);
        Ok(jar.header())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Tokens {
    access: String,
    refresh: String,
}

// ----- a small HTTP/1.1 client: one keep-alive connection, cookies kept by the caller -----

struct Reply {
    status: u16,
    set_cookies: Vec<String>,
    body: String,
}

struct Connection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Connection {
    fn open(port: u16) -> Result<Connection, Failure> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Connection {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        })
    }

    fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Result<Reply, Failure> {
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        let body = body.unwrap_or("");
        request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        self.writer.write_all(request.as_bytes())?;

        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .ok_or("no status line")?
            .parse()?;
        let mut length = 0usize;
        let mut set_cookies = Vec::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse()?;
                } else if name.eq_ignore_ascii_case("set-cookie") {
                    set_cookies.push(value.to_owned());
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    return Err("chunked responses are not expected here".into());
                }
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok(Reply {
            status,
            set_cookies,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

/// Cookies as a browser keeps them: the latest value of each name.
#[derive(Default)]
struct Jar {
    cookies: Vec<(String, String)>,
}

impl Jar {
    fn take(&mut self, reply: &Reply) {
        for set in &reply.set_cookies {
            let pair = set.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                self.set(name.trim(), value.trim());
            }
        }
    }

    fn set(&mut self, name: &str, value: &str) {
        self.cookies.retain(|(n, _)| n != name);
        if !value.is_empty() {
            self.cookies.push((name.to_owned(), value.to_owned()));
        }
    }

    fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

// ----- reissue: each connection keeps the refresh cookie it is given -----

struct Rate {
    per_sec: f64,
    errors: u64,
}

const ACCESS_COOKIE: &str = "__Host-jwtapp_access";
const REFRESH_COOKIE: &str = "__Host-jwtapp_refresh";

/// An access token of `login` that expired a while ago, signed like the server signs.
fn expired_access_token(login: &Tokens) -> Result<String, Failure> {
    let payload = login.access.split('.').nth(1).ok_or("not a JWT")?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?;
    let sid = claims["sid"].as_str().ok_or("no sid")?;
    let config = AuthConfig::default();
    let keys = TokenKeys::new(SECRET.as_bytes(), &config)?;
    let issued = jsonwebtoken::get_current_timestamp() - 3600;
    Ok(keys
        .mint(TokenType::Access, "user0", sid, "expired", issued, u64::MAX)?
        .token)
}

fn reissue_load(server: &Server, settings: &Settings) -> Result<Rate, Failure> {
    // One login (one token family) per connection, each rotated by its own connection only.
    let mut sessions = Vec::new();
    for _ in 0..settings.connections.max(16) {
        let login = server.login("user0")?;
        let expired = expired_access_token(&login)?;
        sessions.push((expired, login.refresh));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let port = server.port;
    let workers: Vec<_> = sessions
        .into_iter()
        .map(|(expired, refresh)| {
            let (stop, done, errors) = (Arc::clone(&stop), Arc::clone(&done), Arc::clone(&errors));
            std::thread::spawn(move || {
                let mut jar = Jar::default();
                jar.set(REFRESH_COOKIE, &refresh);
                let Ok(mut connection) = Connection::open(port) else {
                    errors.fetch_add(1, Ordering::Relaxed);
                    return;
                };
                while !stop.load(Ordering::Relaxed) {
                    // Always the expired access cookie, so every request reissues; the refresh
                    // cookie is whatever the last response set, as a browser would keep it.
                    jar.set(ACCESS_COOKIE, &expired);
                    let cookie = jar.header();
                    match connection.send("GET", "/user-content", &[("Cookie", &cookie)], None) {
                        Ok(reply)
                            if reply.status == 200
                                && reply
                                    .set_cookies
                                    .iter()
                                    .any(|c| c.starts_with(REFRESH_COOKIE)) =>
                        {
                            jar.take(&reply);
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    }
                }
            })
        })
        .collect();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(settings.secs));
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.join();
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(Rate {
        per_sec: done.load(Ordering::Relaxed) as f64 / elapsed,
        errors: errors.load(Ordering::Relaxed),
    })
}

// ----- login latency -----

struct Logins {
    login_ms: f64,
    argon2_ms: f64,
    unknown_ms: f64,
    wrong_ms: f64,
    errors: u64,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn login_latencies(server: &Server) -> Result<Logins, Failure> {
    const SAMPLES: usize = 31;
    let mut errors = 0;
    let mut time_login = |username: &str, password: &str, expected: u16| -> Result<f64, Failure> {
        let body = format!(r#"{{"username":"{username}","password":"{password}"}}"#);
        let mut connection = Connection::open(server.port)?;
        let started = Instant::now();
        let reply = connection.send(
            "POST",
            "/api/auth/login",
            &[("Content-Type", "application/json")],
            Some(&body),
        )?;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        if reply.status != expected {
            errors += 1;
        }
        Ok(elapsed)
    };
    // Interleaved, so drift affects all three alike.
    let (mut ok, mut unknown, mut wrong) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..SAMPLES {
        ok.push(time_login("user0", PASSWORD, 200)?);
        unknown.push(time_login("nobody-at-all", "wrong-password", 401)?);
        wrong.push(time_login("user0", "wrong-password", 401)?);
    }
    // The same verification in-process, with the same parameters and the same stored hash.
    let passwords = Passwords::new(AuthConfig::default().argon2_params())?;
    let hash = passwords.hash(PASSWORD)?;
    let argon2: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(passwords.verify(PASSWORD, Some(&hash)));
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    Ok(Logins {
        login_ms: median(ok),
        argon2_ms: median(argon2),
        unknown_ms: median(unknown),
        wrong_ms: median(wrong),
        errors,
    })
}

// ----- micro-benchmarks: where the time of one authenticated request goes -----

struct Micro {
    label: &'static str,
    nanos: f64,
}

fn time_per_call(iterations: u32, mut call: impl FnMut()) -> f64 {
    for _ in 0..iterations / 10 {
        call();
    }
    let started = Instant::now();
    for _ in 0..iterations {
        call();
    }
    started.elapsed().as_nanos() as f64 / f64::from(iterations)
}

fn micro_benchmarks(database: &Path) -> Result<Vec<Micro>, Failure> {
    let config = AuthConfig::default();
    let keys = TokenKeys::new(SECRET.as_bytes(), &config)?;
    let now = jsonwebtoken::get_current_timestamp();
    let token = keys
        .mint(TokenType::Access, "user0", "sid", "jti", now, u64::MAX)?
        .token;
    let mut results = Vec::new();
    let mut fresh = 0u64;
    results.push(Micro {
        label: "mint an access token (HS256)",
        nanos: time_per_call(20_000, || {
            fresh += 1;
            let _ = std::hint::black_box(keys.mint(
                TokenType::Access,
                "user0",
                "sid",
                &fresh.to_string(),
                now,
                u64::MAX,
            ));
        }),
    });
    // A new TokenKeys per call would measure setup; instead verify tokens never seen before.
    let unseen: Vec<String> = (0..20_000)
        .filter_map(|i| {
            keys.mint(
                TokenType::Access,
                "user0",
                "sid",
                &format!("u{i}"),
                now,
                u64::MAX,
            )
            .ok()
            .map(|m| m.token)
        })
        .collect();
    let mut next = unseen.iter().cycle();
    results.push(Micro {
        label: "verify a token seen for the first time (decode, HS256, claims)",
        nanos: time_per_call(18_000, || {
            if let Some(token) = next.next() {
                let _ = std::hint::black_box(keys.verify(token, TokenType::Access, now));
            }
        }),
    });
    let _ = keys.verify(&token, TokenType::Access, now);
    results.push(Micro {
        label: "verify the same token again (remembered by signature)",
        nanos: time_per_call(200_000, || {
            let _ = std::hint::black_box(keys.verify(&token, TokenType::Access, now));
        }),
    });
    let store = SqliteStore::open(database)?;
    results.push(Micro {
        label: "has anyone committed? wal-index header (every request)",
        nanos: time_per_call(1_000_000, || {
            let _ = std::hint::black_box(store.change_marker());
        }),
    });
    let conn = rusqlite::Connection::open(database)?;
    let mut pragma = conn.prepare_cached("PRAGMA data_version")?;
    results.push(Micro {
        label: "the same with PRAGMA data_version (what it replaced)",
        nanos: time_per_call(200_000, || {
            let _ = std::hint::black_box(pragma.query_row([], |row| row.get::<_, i64>(0)));
        }),
    });
    results.push(Micro {
        label: "a session row from SQLite (a cache miss)",
        nanos: time_per_call(100_000, || {
            let _ = std::hint::black_box(store.find_session("bench-session-00000001"));
        }),
    });
    results.push(Micro {
        label: "the whole check of a Bearer request: Auth::authenticate, warm",
        nanos: whole_check(database)?,
    });
    for micro in &results {
        println!("   {:<64} {:>10.0} ns", micro.label, micro.nanos);
    }
    Ok(results)
}

/// `Auth::authenticate` on a real login's access token, after the first call: what an
/// authenticated request pays on top of an anonymous one, minus Rocket's own guard plumbing.
fn whole_check(database: &Path) -> Result<f64, Failure> {
    let config = AuthConfig::default();
    let keys = TokenKeys::new(SECRET.as_bytes(), &config)?;
    let passwords = Passwords::new(config.argon2_params())?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(database)?);
    let auth = Auth::new(keys, passwords, store, &config, false);
    let runtime = rocket::tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let login = auth
            .login("user0".into(), PASSWORD.into(), ClientInfo::default())
            .await?;
        let token = login.access.token;
        const CALLS: u32 = 200_000;
        for _ in 0..CALLS / 10 {
            auth.authenticate(&token).await?;
        }
        let started = Instant::now();
        for _ in 0..CALLS {
            std::hint::black_box(auth.authenticate(&token).await?);
        }
        Ok(started.elapsed().as_nanos() as f64 / f64::from(CALLS))
    })
}

// ----- the report -----

enum Budget {
    AtLeast(f64),
    AtMost(f64),
    Between(f64, f64),
}

impl Budget {
    fn met(&self, value: f64) -> bool {
        match *self {
            Budget::AtLeast(min) => value >= min,
            Budget::AtMost(max) => value <= max,
            Budget::Between(min, max) => (min..=max).contains(&value),
        }
    }

    fn describe(&self) -> String {
        match *self {
            Budget::AtLeast(min) => format!("≥ {min:.2}"),
            Budget::AtMost(max) => format!("≤ {max:.2}"),
            Budget::Between(min, max) => format!("{min:.2}–{max:.2}"),
        }
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

struct Report {
    rows: Vec<[String; 5]>,
    errors: u64,
    all_met: bool,
    settings: String,
}

impl Report {
    fn new(settings: &Settings) -> Report {
        Report {
            rows: Vec::new(),
            errors: 0,
            all_met: true,
            settings: format!(
                "wrk -t2 -c{} -d{}s, {} alternating rounds per comparison{}",
                settings.connections,
                settings.secs,
                settings.rounds,
                if settings.secs < 10 || settings.connections < 16 {
                    " (shorter runs or fewer connections than the budget asks: not figures to quote)"
                } else {
                    ""
                }
            ),
        }
    }

    fn push(&mut self, row: &str, measures: &str, result: String, budget: String, met: bool) {
        self.all_met &= met;
        self.rows.push([
            row.to_owned(),
            measures.to_owned(),
            result,
            budget,
            if met { "met" } else { "**not met**" }.to_owned(),
        ]);
    }

    fn ratio(&mut self, row: &str, measures: &str, comparison: &Comparison, budget: Budget) {
        let ratios = comparison.ratios();
        let value = median(ratios.clone());
        let detail = format!(
            "**{value:.3}** (rounds: {}; {:.0} vs {:.0} req/s)",
            ratios
                .iter()
                .map(|r| format!("{r:.3}"))
                .collect::<Vec<_>>()
                .join(", "),
            median(comparison.measured.clone()),
            median(comparison.baseline.clone()),
        );
        let met = budget.met(value);
        self.push(row, measures, detail, budget.describe(), met);
    }

    fn ratio_value(
        &mut self,
        row: &str,
        measures: &str,
        value: f64,
        detail: String,
        budget: Budget,
    ) {
        let met = budget.met(value);
        self.push(
            row,
            measures,
            format!("**{value:.3}** ({detail})"),
            budget.describe(),
            met,
        );
    }

    fn rate(&mut self, row: &str, measures: &str, rate: &Rate, floor: f64) {
        let met = rate.per_sec >= floor;
        self.push(
            row,
            measures,
            format!("**{:.0} req/s**", rate.per_sec),
            format!("≥ {floor:.0}/s"),
            met,
        );
    }

    /// The budget covers the api-auth runs, the start with the big database, and the size the
    /// server settles at after a burst of logins; the burst's own peak is shown for what it is:
    /// argon2 needs its working memory for every hash in flight.
    fn memory(
        &mut self,
        api_peak_kib: u64,
        start_big_kib: u64,
        (burst_peak_kib, after_burst_kib): (u64, u64),
        logins: usize,
        limit_kib: u64,
    ) {
        let met = [api_peak_kib, start_big_kib, after_burst_kib]
            .iter()
            .all(|&kib| kib <= limit_kib);
        self.push(
            "memory",
            &format!(
                "peak RSS of the server during the api-auth runs; RSS at start with the 1M-session \
                 database; RSS after {logins} logins at once (their peak, argon2's memory for each \
                 hash in flight, in brackets)"
            ),
            format!(
                "**{}**; **{}**; **{}** ({})",
                mib(api_peak_kib),
                mib(start_big_kib),
                mib(after_burst_kib),
                mib(burst_peak_kib)
            ),
            format!("≤ {}", mib(limit_kib)),
            met,
        );
    }

    fn render(&mut self, micro: &[Micro]) -> String {
        let errors = self.errors;
        self.push(
            "errors",
            "non-2xx responses and socket errors in every run above",
            format!("**{errors}**"),
            "0".into(),
            errors == 0,
        );
        let mut out =
            String::from("| Row | Measures | Result | Budget | |\n|---|---|---|---|---|\n");
        for row in &self.rows {
            out.push_str(&format!("| {} |\n", row.join(" | ")));
        }
        out.push_str(&format!("\n{}; {}.\n", self.settings, machine()));
        out.push_str("\n| In-process, one call | Time |\n|---|---|\n");
        for m in micro {
            out.push_str(&format!("| {} | {} |\n", m.label, nanos(m.nanos)));
        }
        out
    }
}

fn nanos(value: f64) -> String {
    if value >= 1000.0 {
        format!("{:.1} µs", value / 1000.0)
    } else {
        format!("{value:.0} ns")
    }
}

/// Cores, memory and CPU model, from /proc.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kib| format!("{:.0} GiB", kib as f64 / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown memory".into());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cores} cores ({model}), {memory}; wrk and the server share the cores")
}
