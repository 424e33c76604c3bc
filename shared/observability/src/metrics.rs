//! Prometheus metrics, one registry per process, passed explicitly.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Every metric the platform exports.
#[derive(Clone, Debug)]
pub struct Metrics {
    /// The registry they live in.
    pub registry: Registry,
    /// Jobs pushed into Redis, by kind.
    pub dispatched: IntCounterVec,
    /// Jobs found missing from Redis and pushed again, by kind.
    pub redispatched: IntCounterVec,
    /// Running jobs whose worker stopped heart-beating.
    pub leases_expired: IntCounter,
    /// Jobs in PostgreSQL by kind and status (refreshed at scrape time).
    pub jobs: IntGaugeVec,
    /// Tasks waiting in Redis by kind (refreshed at scrape time).
    pub queue_depth: IntGaugeVec,
    /// Job attempts finished by a worker, by kind, device and outcome.
    pub job_outcomes: IntCounterVec,
    /// Job attempt durations in seconds, by kind and outcome.
    pub job_duration: HistogramVec,
    /// HTTP requests by method, route and status.
    pub http_requests: IntCounterVec,
    /// HTTP request durations in seconds, by method and route.
    pub http_duration: HistogramVec,
}

impl Metrics {
    /// Creates and registers every metric.
    #[expect(
        clippy::expect_used,
        reason = "the definitions are constants: a bad one is a bug the tests catch at start-up"
    )]
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("kronos".into()), None).unwrap_or_default();
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            let m = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry.register(Box::new(m.clone())).expect("unique metric");
            m
        };
        let gauge_vec = |name: &str, help: &str, labels: &[&str]| {
            let m = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry.register(Box::new(m.clone())).expect("unique metric");
            m
        };
        let histogram_vec = |name: &str, help: &str, labels: &[&str], buckets: Vec<f64>| {
            let m = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels).expect("valid metric");
            registry.register(Box::new(m.clone())).expect("unique metric");
            m
        };
        let leases_expired = IntCounter::new("leases_expired_total", "Running jobs whose worker stopped heart-beating")
            .expect("valid metric");
        registry.register(Box::new(leases_expired.clone())).expect("unique metric");
        Self {
            dispatched: counter_vec("jobs_dispatched_total", "Jobs pushed into Redis", &["kind"]),
            redispatched: counter_vec("jobs_redispatched_total", "Jobs lost from Redis and pushed again", &["kind"]),
            leases_expired,
            jobs: gauge_vec("jobs", "Jobs in PostgreSQL by kind and status", &["kind", "status"]),
            queue_depth: gauge_vec("queue_depth", "Tasks waiting in Redis by kind", &["kind"]),
            job_outcomes: counter_vec("job_attempts_total", "Job attempts finished", &["kind", "device", "outcome"]),
            job_duration: histogram_vec(
                "job_duration_seconds",
                "Job attempt duration",
                &["kind", "outcome"],
                prometheus::exponential_buckets(0.001, 2.5, 16).unwrap_or_default(),
            ),
            http_requests: counter_vec("http_requests_total", "HTTP requests", &["method", "route", "status"]),
            http_duration: histogram_vec(
                "http_request_duration_seconds",
                "HTTP request duration",
                &["method", "route"],
                prometheus::exponential_buckets(0.0001, 2.0, 18).unwrap_or_default(),
            ),
            registry,
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
