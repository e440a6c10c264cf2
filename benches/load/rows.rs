//! The rows that need more than two `wrk` runs side by side: the reissue load, login latency,
//! and the in-process timings of where one authenticated request's time goes.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwtapp::SystemClock;
use jwtapp::auth::{
    Auth, ClientInfo, Clock, EventLog, KeyRing, KeySettings, Passwords, Sealer, SigningAlgorithm,
    ThrottleSettings, TokenKeys, TokenSettings, TokenType,
};
use jwtapp::metrics::Metrics;
use jwtapp::store::{CachingStore, ChangeFeed, SqliteStore, Store};
use serde_json::Value;

use crate::harness::{Connection, Jar, Server, Tokens};
use crate::report::median;
use crate::{Failure, PASSWORD, SECRET, Settings};

// ----- reissue: each connection keeps the refresh cookie it is given -----

pub struct Rate {
    pub per_sec: f64,
    pub errors: u64,
}

const ACCESS_COOKIE: &str = "__Host-jwtapp_access";
const REFRESH_COOKIE: &str = "__Host-jwtapp_refresh";

/// The settings the server's tokens are made with (the release profile's defaults).
pub fn token_settings() -> TokenSettings {
    TokenSettings {
        issuer: "jwtapp".into(),
        audience: "jwtapp".into(),
        leeway_secs: 5,
        access_ttl_secs: 900,
        refresh_ttl_secs: 2_592_000,
    }
}

/// The server's signing keys: HS256 with [`SECRET`].
pub fn server_keys() -> Result<TokenKeys, Failure> {
    let ring = KeyRing::load(&KeySettings {
        algorithm: SigningAlgorithm::Hs256,
        secret: SECRET.as_bytes().to_vec().into(),
        private_key: None,
        key_id: None,
        retired: Vec::new(),
    })?;
    Ok(TokenKeys::new(&ring, token_settings())?)
}

/// The argon2 parameters of the release profile (OWASP's).
pub fn argon2_params() -> argon2::Params {
    argon2::Params::default()
}

/// An access token of `login` that expired a while ago, signed like the server signs.
fn expired_access_token(login: &Tokens) -> Result<String, Failure> {
    let payload = login.access.split('.').nth(1).ok_or("not a JWT")?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?;
    let sid = claims["sid"].as_str().ok_or("no sid")?;
    let keys = server_keys()?;
    let issued = jsonwebtoken::get_current_timestamp() - 3600;
    Ok(keys
        .mint(TokenType::Access, "user0", sid, "expired", issued, u64::MAX)?
        .token)
}

pub fn reissue_load(server: &Server, settings: &Settings) -> Result<Rate, Failure> {
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

pub struct Logins {
    pub login_ms: f64,
    pub argon2_ms: f64,
    pub unknown_ms: f64,
    pub wrong_ms: f64,
    pub errors: u64,
}

pub fn login_latencies(server: &Server) -> Result<Logins, Failure> {
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
    let passwords = Passwords::new(argon2_params(), 1)?;
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

pub struct Micro {
    pub label: &'static str,
    pub nanos: f64,
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

pub fn micro_benchmarks(database: &Path) -> Result<Vec<Micro>, Failure> {
    let keys = server_keys()?;
    let now = jsonwebtoken::get_current_timestamp();
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
        label: "verify a token (decode, HS256, claims): what the verified-token cache saves",
        nanos: time_per_call(18_000, || {
            if let Some(token) = next.next() {
                let _ = std::hint::black_box(keys.verify(token, TokenType::Access, now));
            }
        }),
    });
    let feed = ChangeFeed::manual();
    results.push(Micro {
        label: "has another process committed? the change feed (every request)",
        nanos: time_per_call(1_000_000, || {
            let _ = std::hint::black_box(feed.state());
        }),
    });
    let conn = rusqlite::Connection::open(database)?;
    let mut pragma = conn.prepare_cached("PRAGMA data_version")?;
    results.push(Micro {
        label: "PRAGMA data_version (what the feed's poller asks every change_poll_ms)",
        nanos: time_per_call(200_000, || {
            let _ = std::hint::black_box(pragma.query_row([], |row| row.get::<_, i64>(0)));
        }),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let sqlite = SqliteStore::open(database)?;
    results.push(Micro {
        label: "a session's status from SQLite, on the blocking pool (a cache miss)",
        nanos: time_per_call(20_000, || {
            let _ = std::hint::black_box(
                runtime.block_on(sqlite.session_status("bench-session-00000001")),
            );
        }),
    });
    let cache = CachingStore::new(
        Arc::new(sqlite.clone()),
        ChangeFeed::manual(),
        Metrics::new(),
    );
    runtime.block_on(cache.user_status("user0"))?;
    runtime.block_on(cache.session_status("bench-session-00000001"))?;
    results.push(Micro {
        label: "a user's and a session's status from the cache (a hit)",
        nanos: time_per_call(1_000_000, || {
            let _ = std::hint::black_box(cache.peek("user0", "bench-session-00000001"));
        }),
    });
    results.push(Micro {
        label: "the whole check of a Bearer request: Auth::authenticate, warm",
        nanos: whole_check(&runtime, sqlite)?,
    });
    for micro in &results {
        println!("   {:<74} {:>10.0} ns", micro.label, micro.nanos);
    }
    Ok(results)
}

/// `Auth::authenticate` on a real login's access token, after the first call: what an
/// authenticated request pays on top of an anonymous one, minus Rocket's own guard plumbing.
fn whole_check(runtime: &tokio::runtime::Runtime, sqlite: SqliteStore) -> Result<f64, Failure> {
    let settings = jwtapp::auth::Settings {
        tokens: token_settings(),
        throttle: ThrottleSettings {
            failures_per_window: 5,
            address_ceiling: 50,
            window_secs: 300,
        },
        refresh_grace_secs: 10,
        refresh_idle_secs: 604_800,
        api_refresh_rotation: false,
        reissue_threshold_secs: 60,
        max_sessions_per_user: 50,
        demo_accounts_allowed: false,
        argon2: argon2_params(),
        prune_interval: Duration::from_secs(3600),
        event_retention: Duration::from_secs(90 * 86_400),
        fresh_secs: 300,
        totp_issuer: "jwtapp".into(),
    };
    let metrics = Metrics::new();
    let store = CachingStore::new(Arc::new(sqlite), ChangeFeed::manual(), Arc::clone(&metrics));
    // The event writer is a task: it starts inside the runtime.
    let auth = runtime.block_on(async {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let events = EventLog::start(
            Arc::clone(&store) as Arc<dyn Store>,
            Arc::clone(&clock),
            metrics,
        );
        Ok::<_, Failure>(Auth::new(
            settings,
            server_keys()?,
            store,
            clock,
            events,
            Sealer::new(SECRET.as_bytes(), &[]),
        )?)
    })?;
    runtime.block_on(async {
        let login = auth
            .login("user0", PASSWORD.into(), None, ClientInfo::default())
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
