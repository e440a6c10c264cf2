//! The harness: the real server on temporary databases, a small HTTP/1.1 client, and `wrk`
//! runs compared side by side.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jwtapp::store::SqliteStore;
use serde_json::Value;

use crate::{Failure, PASSWORD, SECRET, Settings};

// ----- wrk -----

/// The `wrk` on the PATH. The benchmark installs nothing: without wrk it says what to install.
pub fn find_wrk() -> Result<PathBuf, Failure> {
    which("wrk").ok_or_else(|| {
        "wrk is needed and not installed: install it (`apt-get install wrk` on Debian and \
         Ubuntu) and run again"
            .into()
    })
}

pub fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())
    })
}

/// One wrk run's figures.
#[derive(Debug, Clone, Copy, Default)]
pub struct WrkRun {
    pub per_sec: f64,
    pub errors: u64,
}

/// One side of a comparison: what wrk asks of which server.
pub struct Side<'a> {
    pub label: &'a str,
    pub server: &'a Server,
    pub path: &'a str,
    /// Headers of every request, made afresh before each run (a page login for the cookies, so
    /// that no run outlives them).
    pub headers: &'a dyn Fn() -> Result<Vec<(String, String)>, Failure>,
    /// Bearer tokens the requests take turns with (through a wrk Lua script); empty for none.
    pub tokens: &'a [String],
}

pub fn no_headers() -> Result<Vec<(String, String)>, Failure> {
    Ok(Vec::new())
}

/// A wrk script that sends each request with the next of `tokens`.
pub fn token_script(dir: &Path, tokens: &[String]) -> Result<PathBuf, Failure> {
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

pub fn wrk_run(wrk: &Path, settings: &Settings, side: &Side<'_>) -> Result<WrkRun, Failure> {
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
pub struct Comparison {
    pub baseline: Vec<f64>,
    pub measured: Vec<f64>,
    pub errors: u64,
}

impl Comparison {
    pub fn ratios(&self) -> Vec<f64> {
        self.measured
            .iter()
            .zip(&self.baseline)
            .map(|(m, b)| m / b)
            .collect()
    }
}

/// Measures both sides `rounds` times, taking turns at going first.
pub fn alternate(
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

pub fn create_users(path: &Path, hash: &str, count: usize) -> Result<(), Failure> {
    drop(SqliteStore::open(path)?); // creates the schema
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
pub fn add_sessions(path: &Path, count: usize) -> Result<(), Failure> {
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

pub struct Server {
    child: Child,
    pub port: u16,
}

pub struct Memory {
    pub rss_kib: u64,
    pub peak_kib: u64,
}

pub fn free_port() -> Result<u16, Failure> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The token that turns `/metrics` on: every server of the benchmark counts its requests, as a
/// production one would.
pub const METRICS_TOKEN: &str = "benchmark-metrics-token";

impl Server {
    /// The release build on `database` (a SQLite file).
    pub fn start(database: &Path) -> Result<Server, Failure> {
        Server::start_on(&database.display().to_string())
    }

    /// The release build on `database`: a SQLite path or a `postgres://` URL.
    pub fn start_on(database: &str) -> Result<Server, Failure> {
        let port = free_port()?;
        // The release profile with its defaults (argon2, lifetimes, secure cookies), metrics on,
        // and login throttling and the session cap set out of the way: the login rows send many
        // failed logins on purpose, and the scale row logs two users in 100 times each.
        let auth = format!(
            "{{secret=\"{SECRET}\",database=\"{database}\",login_failures_per_window=1000000,\
             login_address_ceiling=1000000,max_sessions_per_user=1000,prune_interval_secs=86400,\
             metrics_token=\"{METRICS_TOKEN}\"}}"
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

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn memory(&self) -> Result<Memory, Failure> {
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
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Result<Reply, Failure> {
        let mut connection = Connection::open(self.port)?;
        connection.send(method, path, headers, body)
    }

    pub fn login(&self, username: &str) -> Result<Tokens, Failure> {
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
    pub fn page_cookies(&self) -> Result<String, Failure> {
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

pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

// ----- a small HTTP/1.1 client: one keep-alive connection, cookies kept by the caller -----

pub struct Reply {
    pub status: u16,
    pub set_cookies: Vec<String>,
    pub body: String,
}

pub struct Connection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Connection {
    pub fn open(port: u16) -> Result<Connection, Failure> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Connection {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        })
    }

    pub fn send(
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
pub struct Jar {
    cookies: Vec<(String, String)>,
}

impl Jar {
    pub fn take(&mut self, reply: &Reply) {
        for set in &reply.set_cookies {
            let pair = set.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                self.set(name.trim(), value.trim());
            }
        }
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.cookies.retain(|(n, _)| n != name);
        if !value.is_empty() {
            self.cookies.push((name.to_owned(), value.to_owned()));
        }
    }

    pub fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}
