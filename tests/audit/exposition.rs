//! The Prometheus text format, read back: samples by name and labels; and scraping a test
//! app's `/metrics`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rocket::figment::Figment;
use rocket::http::Status;

use super::auth;
use crate::support::{CHANGE_BOUND, TestApp, with_bearer};

/// The `metrics_token` of the test apps that serve metrics.
pub const METRICS_TOKEN: &str = "audit-metrics-token-5e0c7b2a91";

/// Settings with [`METRICS_TOKEN`] as `auth.metrics_token`.
pub fn with_metrics(figment: Figment) -> Figment {
    figment.merge(("auth.metrics_token", METRICS_TOKEN))
}

/// `GET /metrics` with the right token.
pub async fn scrape(app: &TestApp) -> Exposition {
    let reply = app
        .send(with_bearer(app.client.get("/metrics"), Some(METRICS_TOKEN)))
        .await;
    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    Exposition::parse(&reply.body)
}

pub fn misses(metrics: &Exposition) -> f64 {
    metrics.get("jwtapp_cache_misses_total", &[])
}

pub fn hits(metrics: &Exposition) -> f64 {
    metrics.get("jwtapp_cache_hits_total", &[])
}

/// Waits until a Bearer request is answered from the cache alone. The login's event is written
/// after the response, and the change feed, seeing that commit within [`CHANGE_BOUND`], has the
/// cache read once more: past that bound, with nothing written since, a request that does not
/// miss is answered from memory, and so are the ones after it.
pub async fn until_cached(app: &TestApp, access: &str) {
    auth(app).events().flush().await;
    let written = Instant::now();
    loop {
        let before = misses(&scrape(app).await);
        assert!(app.accepts(access).await);
        let missed = misses(&scrape(app).await) > before;
        if !missed && written.elapsed() > CHANGE_BOUND {
            return;
        }
        assert!(
            written.elapsed() < CHANGE_BOUND * 20,
            "a repeated Bearer request never came from the cache"
        );
        rocket::tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One scrape of `/metrics`.
#[derive(Debug, Clone)]
pub struct Exposition {
    pub text: String,
    samples: Vec<Sample>,
}

/// `name{label="value",...} value`
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Exposition {
    pub fn parse(text: &str) -> Exposition {
        let samples = text
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| parse_sample(line).unwrap_or_else(|| panic!("not a sample: {line:?}")))
            .collect();
        Exposition {
            text: text.to_owned(),
            samples,
        }
    }

    /// Every sample of the metric `name` (exactly: a histogram's `_bucket`, `_sum` and `_count`
    /// are names of their own).
    pub fn samples(&self, name: &str) -> Vec<&Sample> {
        self.samples.iter().filter(|s| s.name == name).collect()
    }

    /// The value of the sample of `name` with exactly these labels.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == wanted)
            .map(|s| s.value)
    }

    /// Like [`Exposition::value`], failing when the sample is missing.
    #[track_caller]
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels).unwrap_or_else(|| {
            panic!(
                "no sample {name}{labels:?}; the series of {name}: {:?}",
                self.samples(name)
            )
        })
    }

    /// Every value the label `label` takes in the samples of `name`.
    pub fn label_values(&self, name: &str, label: &str) -> Vec<String> {
        let mut values: Vec<String> = self
            .samples(name)
            .into_iter()
            .filter_map(|s| s.labels.get(label).cloned())
            .collect();
        values.sort();
        values.dedup();
        values
    }

    /// The `# TYPE` line's type of `name`.
    pub fn type_of(&self, name: &str) -> Option<&str> {
        let prefix = format!("# TYPE {name} ");
        self.text
            .lines()
            .find_map(|line| line.strip_prefix(prefix.as_str()))
    }
}

fn parse_sample(line: &str) -> Option<Sample> {
    let (series, value) = line.rsplit_once(' ')?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().ok()?,
    };
    let (name, labels) = match series.split_once('{') {
        None => (series, BTreeMap::new()),
        Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}')?)?),
    };
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// `a="x",b="y \"quoted\""`
fn parse_labels(text: &str) -> Option<BTreeMap<String, String>> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            let (at, c) = chars.next()?;
            match c {
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                '"' => break at,
                other => value.push(other),
            }
        };
        labels.insert(name.trim_start_matches(',').to_owned(), value);
        rest = after[end + 1..].trim_start_matches(',');
    }
    Some(labels)
}
