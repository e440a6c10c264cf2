//! Running the `jwtapp` binary as a command, from the package root (so it reads Rocket.toml).

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long a command that should end (a check, a refused start) may run before it counts as a
/// server that started after all.
const COMMAND_DEADLINE: Duration = Duration::from_secs(30);

/// Runs `jwtapp ARGS` against `database` with the test apps' cheap argon2 parameters, `stdin`
/// piped in: a `jwtapp user …` command from another process.
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

/// Runs `jwtapp ARGS` with these `ROCKET_*` variables (and `ROCKET_PORT=0`, so a server that
/// starts by mistake takes no fixed port): whether it succeeded, and stdout and stderr together.
/// A command still running after a deadline is killed and reported as a success, with a note:
/// it is a server that started.
pub fn run_binary(args: &[&str], env: &[(&str, String)]) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jwtapp"));
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("ROCKET_PORT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("run jwtapp");
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut out);
            }
            text(&out)
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + COMMAND_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for jwtapp") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut out = format!(
        "{}{}",
        stdout.join().expect("stdout"),
        stderr.join().expect("stderr")
    );
    match status {
        Some(status) => (status.success(), out),
        None => {
            out.push_str("\n[still running after the deadline: killed]");
            (true, out)
        }
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
