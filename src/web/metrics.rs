//! Metrics over HTTP: every response counted and timed by route template, and `GET /metrics` in
//! the Prometheus text format for the holder of `metrics_token`.

use std::time::Instant;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{ContentType, Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Responder, Response, State, get};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::auth::Auth;
use crate::metrics::Metrics;

/// Who may read `/metrics`: the holder of the configured token (kept as its SHA-256, so the
/// comparison takes the same time whatever the guess). No token, no endpoint.
pub struct MetricsAccess {
    token_digest: Option<[u8; 32]>,
}

impl MetricsAccess {
    pub fn new(token: Option<&SecretString>) -> MetricsAccess {
        MetricsAccess {
            token_digest: token.map(|token| digest(token.expose_secret())),
        }
    }
}

/// Whether `presented` is the token whose digest is `expected`. Both are hashed and compared
/// without an early exit: the time taken tells nothing about how much of a guess was right.
fn admits(expected: &[u8; 32], presented: &str) -> bool {
    let presented = digest(presented);
    expected
        .iter()
        .zip(presented.iter())
        .fold(0u8, |differ, (a, b)| differ | (a ^ b))
        == 0
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// A request for `/metrics` that may be answered: forwarded (a 404, as for any unknown path)
/// when no token is configured.
pub struct MetricsCaller {
    authorized: bool,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for MetricsCaller {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let Some(access) = req.rocket().state::<MetricsAccess>() else {
            return Outcome::Forward(Status::NotFound);
        };
        let Some(expected) = &access.token_digest else {
            return Outcome::Forward(Status::NotFound);
        };
        let presented = req
            .headers()
            .get_one("Authorization")
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
            .map(|(_, token)| token.trim());
        Outcome::Success(MetricsCaller {
            authorized: presented.is_some_and(|token| admits(expected, token)),
        })
    }
}

/// What `/metrics` answers.
#[derive(Responder)]
pub enum MetricsResponse {
    #[response(status = 200)]
    Text(String, ContentType),
    #[response(status = 401, content_type = "plain")]
    Unauthorized(&'static str, Header<'static>),
    #[response(status = 500, content_type = "plain")]
    Failed(&'static str),
}

#[get("/metrics")]
pub fn metrics(caller: MetricsCaller, auth: &State<Auth>) -> MetricsResponse {
    if !caller.authorized {
        return MetricsResponse::Unauthorized(
            "send Authorization: Bearer <metrics_token>\n",
            Header::new("WWW-Authenticate", "Bearer realm=\"metrics\""),
        );
    }
    match auth.metrics().render() {
        Ok(text) => MetricsResponse::Text(
            text,
            ContentType::new("text", "plain")
                .with_params([("version", "0.0.4"), ("charset", "utf-8")]),
        ),
        Err(e) => {
            log::error!("the metrics cannot be rendered: {e}");
            MetricsResponse::Failed("the metrics cannot be rendered\n")
        }
    }
}

/// Counts and times every response by the template of the route that answered it (never by the
/// raw path, so the number of series stays bounded) and its status; a request no route matched
/// is `unmatched`.
pub struct HttpMetrics;

/// When the request arrived.
struct Arrived(Instant);

#[rocket::async_trait]
impl Fairing for HttpMetrics {
    fn info(&self) -> Info {
        Info {
            name: "HTTP metrics",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut rocket::Data<'_>) {
        req.local_cache(|| Arrived(Instant::now()));
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let Some(metrics) = req.rocket().state::<Auth>().map(|auth| auth.metrics()) else {
            return;
        };
        let elapsed = req.local_cache(|| Arrived(Instant::now())).0.elapsed();
        let route = req.route().map_or("unmatched", |route| route.uri.path());
        record(metrics, route, res.status(), elapsed.as_secs_f64());
    }
}

fn record(metrics: &Metrics, route: &str, status: Status, seconds: f64) {
    let code = status.code.to_string();
    metrics
        .http_requests
        .with_label_values(&[route, code.as_str()])
        .inc();
    metrics
        .http_duration
        .with_label_values(&[route])
        .observe(seconds);
}
