//! The real binary with its whole log kept: everything it writes to standard output and
//! standard error, from the first line to the last, for the tests that read the log.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::support::{Reply, http};

/// A running `jwtapp` on a free port and a database of its own; what it logs is kept.
pub struct LoggedServer {
    child: Child,
    pub port: u16,
    pub database: PathBuf,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    _dir: TempDir,
}

/// What a stopped server wrote.
#[derive(Debug, Clone)]
pub struct Log {
    pub stdout: String,
    pub stderr: String,
}

impl Log {
    /// Both streams.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl LoggedServer {
    /// Starts the binary in `profile` with `auth` (TOML inline-table entries) added to
    /// `ROCKET_AUTH` and these other variables; `prepare` runs on the database path first (to
    /// add users with the CLI, say).
    pub fn start(
        profile: &str,
        auth: &str,
        env: &[(&str, &str)],
        prepare: impl FnOnce(&std::path::Path),
    ) -> LoggedServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = dir.path().join("jwtapp.sqlite3");
        prepare(&database);
        let mut command = Command::new(env!("CARGO_BIN_EXE_jwtapp"));
        command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("ROCKET_PROFILE", profile)
            .env("ROCKET_PORT", "0")
            .env("ROCKET_CLI_COLORS", "false")
            .env(
                "ROCKET_AUTH",
                format!(
                    "{{database={:?},argon2_memory_kib=1024,argon2_iterations=1,{auth}}}",
                    database.display().to_string()
                ),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start jwtapp");
        let (stdout, stderr) = (Arc::default(), Arc::default());
        let (port_tx, port_rx) = mpsc::channel();
        let readers = vec![
            keep(
                child.stdout.take().expect("stdout"),
                &stdout,
                port_tx.clone(),
            ),
            keep(child.stderr.take().expect("stderr"), &stderr, port_tx),
        ];
        let port = match port_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(port) => port,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "jwtapp did not launch: {}{}",
                    stdout.lock().expect("log"),
                    stderr.lock().expect("log")
                );
            }
        };
        LoggedServer {
            child,
            port,
            database,
            stdout,
            stderr,
            readers,
            _dir: dir,
        }
    }

    /// One request on a connection of its own.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        http(self.port, method, path, headers, body)
    }

    /// Waits until the log so far satisfies `seen` (a line is written by a background task, or
    /// the pipe is read a moment after it was written); fails after a while, showing the log.
    pub fn wait_for_log(&self, what: &str, seen: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = format!(
                "{}{}",
                self.stdout.lock().expect("log"),
                self.stderr.lock().expect("log")
            );
            if seen(&log) {
                return;
            }
            assert!(Instant::now() < deadline, "never logged {what}: {log}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server and returns everything it wrote.
    pub fn stop(mut self) -> Log {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for reader in std::mem::take(&mut self.readers) {
            reader.join().expect("log reader");
        }
        Log {
            stdout: self.stdout.lock().expect("log").clone(),
            stderr: self.stderr.lock().expect("log").clone(),
        }
    }
}

impl Drop for LoggedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Copies `pipe` into `into`, line by line, and sends the port of the launch line once.
fn keep(
    pipe: impl Read + Send + 'static,
    into: &Arc<Mutex<String>>,
    port: mpsc::Sender<u16>,
) -> JoinHandle<()> {
    let into = Arc::clone(into);
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if let Some(found) = launch_port(&line) {
                let _ = port.send(found);
            }
            let mut log = into.lock().expect("log");
            log.push_str(&line);
            log.push('\n');
        }
    })
}

/// The port of Rocket's launch line ("... launched from http://127.0.0.1:PORT"), in either log
/// format.
fn launch_port(line: &str) -> Option<u16> {
    let address = line.split("launched from http://").nth(1)?;
    let address: String = address
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ':' | '[' | ']'))
        .collect();
    address.rsplit(':').next()?.parse().ok()
}
