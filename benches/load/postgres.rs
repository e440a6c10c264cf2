//! The PostgreSQL side of the benchmark: fresh databases with the same fixtures as the SQLite
//! ones, on the server `JWTAPP_BENCH_POSTGRES` names (default: the local one, as root), and the
//! cross-instance lag (a logout on one instance, until the other refuses the session).

use std::time::Instant;

use jwtapp::store::PgStore;
use sqlx::Connection as _;
use sqlx::postgres::PgConnection;

use crate::Failure;
use crate::harness::{Connection, Server};
use crate::report::percentile;

/// The server the PostgreSQL rows use, without a database name.
pub fn server_url() -> String {
    std::env::var("JWTAPP_BENCH_POSTGRES")
        .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432".into())
        .trim_end_matches('/')
        .to_owned()
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Whether the server answers (the rows are skipped, and say so, when it does not).
pub fn reachable() -> Result<(), Failure> {
    runtime()?.block_on(async {
        PgConnection::connect(&format!("{}/postgres", server_url())).await?;
        Ok(())
    })
}

/// A new, empty database `name` (dropped first if a previous run left it), with jwtapp's
/// schema, `users` users named `user{i}` with the password hash `hash`, and `sessions` sessions
/// spread over them, every other one revoked. Returns its URL.
pub fn fixture(name: &str, hash: &str, users: usize, sessions: usize) -> Result<String, Failure> {
    let server = server_url();
    let url = format!("{server}/{name}");
    runtime()?.block_on(async {
        let mut admin = PgConnection::connect(&format!("{server}/postgres")).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
        drop(PgStore::open(&url, 2).await?); // creates the schema
        let mut db = PgConnection::connect(&url).await?;
        let now = jsonwebtoken::get_current_timestamp() as i64;
        sqlx::query(
            "INSERT INTO users (username, canonical, password_hash, enabled, is_admin, \
             created_at, updated_at) \
             SELECT 'user' || i, 'user' || i, $1, TRUE, FALSE, $2, $2 \
             FROM generate_series(0, $3 - 1) AS i",
        )
        .bind(hash)
        .bind(now)
        .bind(users as i64)
        .execute(&mut db)
        .await?;
        if sessions > 0 {
            sqlx::query(
                "INSERT INTO sessions (id, user_id, created_at, expires_at, last_used_at, \
                 revoked_at, revoked_reason, user_agent, address, refresh_jti, \
                 refresh_issued_at, seq) \
                 SELECT 'bench-session-' || lpad(i::text, 8, '0'), (i % $2) + 1, $1, $1 + 2592000, \
                 $1, CASE WHEN i % 2 = 1 THEN $1 END, CASE WHEN i % 2 = 1 THEN 'logout' END, \
                 'bench', '127.0.0.1', 'bench-jti-' || i, $1, i \
                 FROM generate_series(0, $3 - 1) AS i",
            )
            .bind(now)
            .bind(users as i64)
            .bind(sessions as i64)
            .execute(&mut db)
            .await?;
            sqlx::query("ANALYZE").execute(&mut db).await?;
        }
        Ok::<_, Failure>(())
    })?;
    Ok(url)
}

/// The cross-instance lag, `samples` times: a fresh login's access token, used on B until B has
/// it cached; then a logout on A, and B asked again and again until it refuses the token. The
/// lag is from the logout's answer to B's first refusal.
pub fn lag(a: &Server, b: &Server, samples: usize) -> Result<Lag, Failure> {
    let mut lags = Vec::with_capacity(samples);
    let mut polls = 0u64;
    let mut on_b = Connection::open(b.port)?;
    for _ in 0..samples {
        let tokens = a.login("user1")?;
        let bearer = format!("Bearer {}", tokens.access);
        let refresh = format!("Bearer {}", tokens.refresh);
        for _ in 0..3 {
            let reply = on_b.send("GET", "/api/auth/info", &[("Authorization", &bearer)], None)?;
            if reply.status != 200 {
                return Err(format!("instance B refused a fresh token: {}", reply.status).into());
            }
        }
        let logout = a.request(
            "POST",
            "/api/auth/logout",
            &[("Authorization", &refresh)],
            None,
        )?;
        if logout.status != 200 {
            return Err(format!("logout on instance A: {}", logout.status).into());
        }
        let logged_out = Instant::now();
        loop {
            polls += 1;
            let reply = on_b.send("GET", "/api/auth/info", &[("Authorization", &bearer)], None)?;
            if reply.status == 401 {
                break;
            }
            if logged_out.elapsed().as_secs() > 5 {
                return Err("instance B still accepts a logged-out session after 5 s".into());
            }
        }
        lags.push(logged_out.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(Lag {
        p50_ms: percentile(&lags, 0.50),
        p99_ms: percentile(&lags, 0.99),
        max_ms: lags.iter().copied().fold(0.0, f64::max),
        samples,
        polls,
    })
}

pub struct Lag {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub samples: usize,
    pub polls: u64,
}
