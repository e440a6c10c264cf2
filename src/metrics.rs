//! The Prometheus metrics: one registry, the counters and histograms every layer updates, and
//! the text exposition `GET /metrics` serves. A leaf: it imports nothing of the crate, so every
//! layer may be handed it.

use std::sync::Arc;

use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry, TextEncoder,
};

/// Every metric jwtapp exports, registered under the `jwtapp_` prefix.
pub struct Metrics {
    registry: Registry,
    /// `jwtapp_logins_total{outcome="succeeded|failed|throttled"}`
    pub logins: IntCounterVec,
    /// `jwtapp_refreshes_total{outcome="rotated|reused|refused"}`
    pub refreshes: IntCounterVec,
    /// `jwtapp_security_events_total{kind}`
    pub security_events: IntCounterVec,
    /// `jwtapp_http_requests_total{route,status}`: by route template, never by raw path.
    pub http_requests: IntCounterVec,
    /// `jwtapp_http_request_duration_seconds{route}`
    pub http_duration: HistogramVec,
    /// `jwtapp_cache_hits_total`: status lookups answered from memory.
    pub cache_hits: IntCounter,
    /// `jwtapp_cache_misses_total`: status lookups that read the database.
    pub cache_misses: IntCounter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let registry =
            Registry::new_custom(Some("jwtapp".into()), None).unwrap_or_else(|_| Registry::new());
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            let counter = IntCounterVec::new(Opts::new(name, help), labels)
                .unwrap_or_else(|e| unreachable!("a fixed metric definition is valid: {e}"));
            registry.register(Box::new(counter.clone())).ok();
            counter
        };
        let counter = |name: &str, help: &str| {
            let counter = IntCounter::new(name, help)
                .unwrap_or_else(|e| unreachable!("a fixed metric definition is valid: {e}"));
            registry.register(Box::new(counter.clone())).ok();
            counter
        };
        let logins = counter_vec("logins_total", "Login attempts, by outcome.", &["outcome"]);
        let refreshes = counter_vec(
            "refreshes_total",
            "Uses of refresh tokens, by outcome.",
            &["outcome"],
        );
        let security_events = counter_vec(
            "security_events_total",
            "Security events recorded, by kind.",
            &["kind"],
        );
        let http_requests = counter_vec(
            "http_requests_total",
            "HTTP requests answered, by route template and status.",
            &["route", "status"],
        );
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer an HTTP request, by route template.",
            )
            .buckets(vec![
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                1.0, 2.5,
            ]),
            &["route"],
        )
        .unwrap_or_else(|e| unreachable!("a fixed metric definition is valid: {e}"));
        registry.register(Box::new(http_duration.clone())).ok();
        let cache_hits = counter(
            "cache_hits_total",
            "User and session status lookups answered from memory.",
        );
        let cache_misses = counter(
            "cache_misses_total",
            "User and session status lookups that read the database.",
        );
        // Every outcome from the start, so a dashboard sees zeros rather than nothing.
        for outcome in ["succeeded", "failed", "throttled"] {
            logins.with_label_values(&[outcome]);
        }
        for outcome in ["rotated", "reused", "refused"] {
            refreshes.with_label_values(&[outcome]);
        }
        Arc::new(Metrics {
            registry,
            logins,
            refreshes,
            security_events,
            http_requests,
            http_duration,
            cache_hits,
            cache_misses,
        })
    }

    /// The metrics in the Prometheus text format (version 0.0.4).
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut text = String::new();
        TextEncoder::new().encode_utf8(&self.registry.gather(), &mut text)?;
        Ok(text)
    }

    /// The content type of [`Metrics::render`]'s text.
    pub fn content_type() -> &'static str {
        prometheus::TEXT_FORMAT
    }
}
