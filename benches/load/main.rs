//! jwtapp's performance budget, measured: `cargo bench --bench load`.
//!
//! Builds in release mode (cargo's bench profile), starts the real `jwtapp` binary on 127.0.0.1
//! with temporary databases, drives it with `wrk` (which must be installed: the benchmark says so
//! and exits with an error otherwise) and, where a load generator must keep per-connection
//! cookies, with the small HTTP/1.1 client of the [`harness`]. Every comparison is a ratio measured
//! within one run, alternating the two sides several times, because absolute numbers drift on a
//! shared machine. The [`rows`] measure, the [`report`] prints one table and writes it to
//! `target/bench/results.md`.
//!
//! The same rows run on PostgreSQL too (the server `JWTAPP_BENCH_POSTGRES` names, by default
//! the local one as root; fresh `jwtapp_bench_*` databases), with the cross-instance lag of two
//! servers on one database. Without a reachable server those rows are skipped and say so;
//! `JWTAPP_BENCH_REQUIRE_POSTGRES=1` makes that an error.
//!
//! Environment: `JWTAPP_BENCH_SECS` (seconds per throughput run, default 10, at least 10 for
//! figures worth quoting), `JWTAPP_BENCH_ROUNDS` (alternations, default 3),
//! `JWTAPP_BENCH_CONNECTIONS` (default 32); `JWTAPP_BENCH_ONLY=micro` runs only the in-process
//! timings. Every server runs with `/metrics` on (`metrics_token`), as a production one would.

mod harness;
mod postgres;
mod report;
mod rows;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use jwtapp::auth::Passwords;

use harness::{Server, Side, add_sessions, alternate, create_users, find_wrk, no_headers};
use report::{Budget, Report, mib};
use rows::{argon2_params, login_latencies, micro_benchmarks, reissue_load};

pub const SECRET: &str = "benchmark-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
pub const PASSWORD: &str = "benchmark-password";

pub type Failure = Box<dyn std::error::Error>;

fn main() {
    // `cargo bench` passes `--bench`; this harness takes no arguments of its own.
    if let Err(e) = run() {
        eprintln!("benchmark failed: {e}");
        std::process::exit(1);
    }
}

pub struct Settings {
    pub secs: u64,
    pub rounds: usize,
    pub connections: usize,
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A scrape of `/metrics` that fails is an error of the run: the rows were measured with the
/// metrics on, and they must be readable.
fn scrape_errors(server: &Server) -> u64 {
    let bearer = format!("Bearer {}", harness::METRICS_TOKEN);
    match server.request("GET", "/metrics", &[("Authorization", &bearer)], None) {
        Ok(reply) if reply.status == 200 && reply.body.contains("jwtapp_http_requests_total") => 0,
        _ => 1,
    }
}

/// The rows again on PostgreSQL, and the lag between two instances on one database.
fn postgres_rows(
    wrk: &std::path::Path,
    settings: &Settings,
    hash: &str,
    report: &mut Report,
) -> Result<(), Failure> {
    if let Err(e) = postgres::reachable() {
        if std::env::var("JWTAPP_BENCH_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            return Err(format!("PostgreSQL at {}: {e}", postgres::server_url()).into());
        }
        println!(
            "== PostgreSQL rows skipped: no server at {} ({e}); set JWTAPP_BENCH_POSTGRES",
            postgres::server_url()
        );
        report.skipped(
            "PostgreSQL rows",
            &format!("no server at {}", postgres::server_url()),
        );
        return Ok(());
    }
    println!("== PostgreSQL fixtures");
    let started = Instant::now();
    let small_url = postgres::fixture("jwtapp_bench_small", hash, 2, 0)?;
    let big_url = postgres::fixture("jwtapp_bench_big", hash, 100_000, 1_000_000)?;
    println!(
        "   2 users; 100,000 users and 1,000,000 sessions (half revoked) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let small = Server::start_on(&small_url)?;
    let big = Server::start_on(&big_url)?;

    println!("== pg api-auth");
    let bearer = small.login("user0")?.access;
    let bearer_header = || -> Result<Vec<(String, String)>, Failure> {
        Ok(vec![("Authorization".into(), format!("Bearer {bearer}"))])
    };
    let api = alternate(
        wrk,
        settings,
        &Side {
            label: "GET /health/live (PostgreSQL)",
            server: &small,
            path: "/health/live",
            headers: &no_headers,
            tokens: &[],
        },
        &Side {
            label: "GET /api/user-sample (Bearer, PostgreSQL)",
            server: &small,
            path: "/api/user-sample",
            headers: &bearer_header,
            tokens: &[],
        },
    )?;
    report.ratio(
        "pg api-auth",
        "as api-auth, on PostgreSQL",
        &api,
        Budget::AtLeast(0.90),
    );

    println!("== pg login");
    let logins = login_latencies(&small)?;
    report.ratio_value(
        "pg login",
        "as login, on PostgreSQL (the throttle's read and the account's, side by side)",
        logins.login_ms / logins.argon2_ms,
        format!("{:.1} ms vs {:.1} ms", logins.login_ms, logins.argon2_ms),
        Budget::AtMost(1.10),
    );
    report.errors += logins.errors;

    println!("== pg scale");
    const TOKENS: usize = 200;
    let few: Vec<String> = (0..TOKENS)
        .map(|i| small.login(&format!("user{}", i % 2)).map(|t| t.access))
        .collect::<Result<_, _>>()?;
    let many: Vec<String> = (0..TOKENS)
        .map(|i| big.login(&format!("user{}", i * 499)).map(|t| t.access))
        .collect::<Result<_, _>>()?;
    let scale = alternate(
        wrk,
        settings,
        &Side {
            label: "api-auth, 2 users (PostgreSQL)",
            server: &small,
            path: "/api/user-sample",
            headers: &no_headers,
            tokens: &few,
        },
        &Side {
            label: "api-auth, 100k users / 1M sessions (PostgreSQL)",
            server: &big,
            path: "/api/user-sample",
            headers: &no_headers,
            tokens: &many,
        },
    )?;
    report.ratio(
        "pg scale",
        "as scale, on PostgreSQL",
        &scale,
        Budget::AtLeast(0.95),
    );
    report.errors += api.errors + scale.errors + scrape_errors(&small);
    drop(big);

    println!("== pg lag");
    let second = Server::start_on(&small_url)?;
    let lag = postgres::lag(&small, &second, 200)?;
    println!(
        "   p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} logouts ({} polls)",
        lag.p50_ms, lag.p99_ms, lag.max_ms, lag.samples, lag.polls
    );
    report.ratio_value(
        "pg lag",
        "a logout on instance A until instance B refuses the session (two servers on one          database), p99 in ms",
        lag.p99_ms,
        format!(
            "p50 {:.1} ms, max {:.1} ms, {} logouts",
            lag.p50_ms, lag.max_ms, lag.samples
        ),
        Budget::AtMost(100.0),
    );
    Ok(())
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
        let hash = Passwords::new(argon2_params(), 1)?.hash(PASSWORD)?;
        create_users(&database, &hash, 2)?;
        add_sessions(&database, 10)?;
        println!("== where the time goes (in-process, one core)");
        micro_benchmarks(&database)?;
        return Ok(());
    }
    let wrk = find_wrk()?;
    let mut report = Report::new(&settings);

    println!("== fixtures");
    let small_db = work.path().join("small.sqlite3");
    let big_db = work.path().join("big.sqlite3");
    let hash = Passwords::new(argon2_params(), 1)?.hash(PASSWORD)?;
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
    report.errors += scrape_errors(&small);

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

    drop((small, big));
    postgres_rows(&wrk, &settings, &hash, &mut report)?;

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
