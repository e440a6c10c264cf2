//! The real `jwtapp` binary serving over TCP, and the one raw HTTP client that talks to it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rocket::http::Status;
use tempfile::TempDir;

use super::{Reply, text};

/// The real `jwtapp` binary serving over TCP on a free port, as `cargo run` would (Rocket.toml's
/// debug profile, the demo accounts), on a temporary database. Killed when dropped.
pub struct Server {
    child: Child,
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
        let mut server = Server::try_start(&db, "debug", auth_overrides)
            .unwrap_or_else(|log| panic!("jwtapp exited before launching: {log}"));
        server._dir = Some(dir);
        server
    }

    /// Starts the binary in `profile` on the database `db`; the log up to the failure when it
    /// stops before launching.
    pub fn try_start(db: &Path, profile: &str, auth_overrides: &str) -> Result<Server, String> {
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

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `POST path` with a JSON body, over a connection of its own.
    pub fn post_json(&self, path: &str, body: &str) -> Reply {
        http(
            self.port,
            "POST",
            path,
            &[("Content-Type", "application/json")],
            body,
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 exchange with a server on this machine, on a connection of its own
/// (`Connection: close`): what a plain client like curl sends, and the whole answer.
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of headers: {answer}"));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .and_then(Status::from_code)
        .unwrap_or_else(|| panic!("no status line: {answer}"));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}
