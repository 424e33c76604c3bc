//! Kronos platform: observability shared by the services: tracing set-up and the
//! Prometheus metrics registry.

pub mod metrics;
pub mod telemetry;

pub use metrics::Metrics;
