//! Kronos platform: the code every process shares.
//!
//! Configuration, the PostgreSQL schema and queries, job payloads and the
//! enqueue/dispatch machinery, object-store keys, market-data types and import,
//! metrics and tracing set-up. No HTTP handlers and no apalis worker code live here.

pub mod backtest;
pub mod batching;
pub mod catalogue;
pub mod config;
pub mod db;
pub mod error;
pub mod exchanges;
pub mod jobs;
pub mod market_data;
pub mod metrics;
pub mod model_files;
pub mod ranges;
pub mod storage;
pub mod telemetry;
pub mod time;

pub use config::Config;
pub use error::{Error, Result};
