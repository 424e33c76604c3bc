//! The public `/v1` contract: request bodies, query parameters and response bodies,
//! with their OpenAPI schemas. Requests are converted here into the internal job
//! payloads (`kronos_types::jobs`, `kronos_backtest::payload`), so what a worker reads
//! can change without changing what clients send, and a payload field only the
//! platform sets (resolved ids, calendars, model ids) has no place in a request.

pub mod accuracy;
pub mod admin;
pub mod alerts;
pub mod auth;
pub mod backtests;
pub mod batches;
pub mod billing;
pub mod catalogue;
pub mod error;
pub mod evaluations;
pub mod health;
pub mod history;
pub mod jobs;
pub mod me;
pub mod models;
pub mod predictions;
pub mod results;
pub mod sampling;
pub mod trainings;
pub mod verifications;
pub mod walk_forward;
