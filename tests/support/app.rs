//! The application in this process, on a database of its own and a clock the test moves.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jwtapp::{Clock, ManualClock, SystemClock};
use rocket::figment::Figment;
use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::{Client, LocalRequest};
use serde_json::json;
use tempfile::TempDir;

use super::Reply;

/// The signing secret of every test app, so tests can forge tokens the server would accept.
pub const SECRET: &str = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

/// Rocket.toml's debug profile on a fresh database in `dir` (`jwtapp.sqlite3`), quiet, with
/// cheap argon2 parameters (the real cost is tested separately) and no secret of its own.
pub fn debug_figment(dir: &Path) -> Figment {
    rocket::Config::figment()
        .merge(("log_level", "off"))
        .merge(("auth.database", dir.join("jwtapp.sqlite3")))
        .merge(("auth.argon2_memory_kib", 1024))
        .merge(("auth.argon2_iterations", 1))
}

/// The settings every test app starts from: [`debug_figment`] with the known [`SECRET`].
pub fn base_figment(dir: &Path) -> Figment {
    debug_figment(dir).merge(("auth.secret", SECRET))
}

/// A running jwtapp with its own temporary database.
///
/// It tells time by a [`ManualClock`] that starts at the system's time and stands still until
/// the test moves it ([`TestApp::clock`]): token lifetimes, idle and absolute session ends,
/// grace and throttling windows and cookie lifetimes all follow it. What runs on intervals
/// (pruning, the change feed's poll) runs in real time.
pub struct TestApp {
    pub client: Client,
    pub dir: TempDir,
    /// `None` for an app on the system clock, as in production.
    clock: Option<ManualClock>,
}

/// Access and refresh token of one login.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

/// A client address of the documentation range (RFC 5737), for the throttling tests.
pub fn address(last: u8) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, last], 40000))
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|figment| figment).await
    }

    /// An app on [`base_figment`] changed by `configure`.
    pub async fn spawn_with(configure: impl FnOnce(Figment) -> Figment) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let figment = configure(base_figment(dir.path()));
        TestApp::start(dir, figment, Some(ManualClock::new()))
            .await
            .unwrap_or_else(|e| panic!("jwtapp should start: {e}"))
    }

    /// An app on the system clock, exactly as `jwtapp::rocket` builds it for production: for
    /// the one real-time test of each time-based mechanism.
    pub async fn spawn_on_system_clock(configure: impl FnOnce(Figment) -> Figment) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let figment = configure(base_figment(dir.path()));
        TestApp::start(dir, figment, None)
            .await
            .unwrap_or_else(|e| panic!("jwtapp should start: {e}"))
    }

    /// Starts with exactly `figment` (whose database should be in `dir`); the manual clock, or
    /// the system clock when `clock` is `None`. Rocket's error when the start is refused.
    pub async fn start(
        dir: TempDir,
        figment: Figment,
        clock: Option<ManualClock>,
    ) -> Result<TestApp, rocket::Error> {
        let rocket = match &clock {
            Some(clock) => jwtapp::rocket_with_clock(figment, Arc::new(clock.clone())),
            None => jwtapp::rocket(figment),
        };
        let client = Client::untracked(rocket).await?;
        Ok(TestApp { client, dir, clock })
    }

    /// The app's clock, to move it. Panics for an app on the system clock.
    #[track_caller]
    pub fn clock(&self) -> &ManualClock {
        self.clock
            .as_ref()
            .expect("this app runs on the system clock; spawn it with a manual one to move time")
    }

    /// The time by the app's clock.
    pub fn now(&self) -> u64 {
        match &self.clock {
            Some(clock) => clock.now(),
            None => SystemClock.now(),
        }
    }

    pub fn database(&self) -> PathBuf {
        self.dir.path().join("jwtapp.sqlite3")
    }

    pub async fn send(&self, request: LocalRequest<'_>) -> Reply {
        Reply::read(request.dispatch().await).await
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

    pub async fn delete(&self, path: &str, bearer: Option<&str>) -> Reply {
        self.send(with_bearer(self.client.delete(path.to_owned()), bearer))
            .await
    }

    pub async fn try_login(&self, username: &str, password: &str) -> Reply {
        let body = json!({"username": username, "password": password}).to_string();
        self.post_json("/api/auth/login", None, &body).await
    }

    /// A JSON login from the client address `from`.
    pub async fn login_from(&self, from: SocketAddr, username: &str, password: &str) -> Reply {
        let body = json!({"username": username, "password": password}).to_string();
        let request = self
            .client
            .post("/api/auth/login")
            .header(ContentType::JSON)
            .remote(from)
            .body(body);
        self.send(request).await
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

    /// `POST /api/auth/refresh` with `refresh` as the Bearer token.
    pub async fn refresh(&self, refresh: &str) -> Reply {
        self.post_json("/api/auth/refresh", Some(refresh), "{}")
            .await
    }

    /// True when the access token `access` is accepted by an access-token route.
    pub async fn accepts(&self, access: &str) -> bool {
        self.get("/api/user-sample", Some(access)).await.status == Status::Ok
    }
}

pub fn with_bearer<'c>(request: LocalRequest<'c>, bearer: Option<&str>) -> LocalRequest<'c> {
    match bearer {
        Some(token) => request.header(Header::new("Authorization", format!("Bearer {token}"))),
        None => request,
    }
}

/// Whether jwtapp refuses to start on `figment`, and why.
///
/// Asks twice: Rocket's ignition in this process must fail, and `jwtapp config`'s checks (the
/// same checks, run by [`jwtapp::run_command`]) give the reason, which must name `key`. A test
/// pairs this with a start that succeeds on the same settings without the bad one, so the
/// refusal cannot come from anything else.
pub async fn assert_refused_at_start(figment: Figment, key: &str) {
    let reason = {
        let figment = figment.clone();
        rocket::tokio::task::spawn_blocking(move || {
            jwtapp::run_command(jwtapp::Command::Config, &figment).map_err(|e| e.describe())
        })
        .await
        .expect("the check ran")
    };
    let started = Client::untracked(jwtapp::rocket_with_clock(
        figment,
        Arc::new(ManualClock::new()),
    ))
    .await;
    match started {
        Ok(_) => panic!("jwtapp started although {key} is wrong"),
        // Rocket panics on an error nobody looked at.
        Err(error) => {
            let _ = error.kind();
        }
    }
    match reason {
        Ok(out) => panic!("the checks accept what the start refused ({key}): {out}"),
        Err(reason) => assert!(reason.contains(key), "{key} is not named: {reason}"),
    }
}

/// Asserts that jwtapp starts on `figment` (and drops it again).
pub async fn assert_starts(figment: Figment) {
    if let Err(error) = Client::untracked(jwtapp::rocket_with_clock(
        figment,
        Arc::new(ManualClock::new()),
    ))
    .await
    {
        panic!("jwtapp did not start: {error}");
    }
}
