//! Integration tests against real PostgreSQL, Redis and object stores, each in an
//! isolated database and Redis key prefix.

mod accounts;
mod alerts;
mod api;
mod authorization;
mod backtest;
mod backtest_jobs;
mod batches;
mod billing;
mod candles_cli;
mod catalogue;
mod config_file;
mod dependency_rules;
mod doc_examples;
mod evaluation;
mod exchanges;
mod forecast_jobs;
mod hostile;
mod hub_pull;
mod import;
mod job_events;
mod kronos_flow;
mod lifecycle;
mod market_data_api;
mod migrations;
mod openapi_spec;
mod prediction_flow;
mod quality;
mod quotas;
mod refresh;
mod request_ids;
mod scheduler;
mod slow_clients;
mod training;
mod verification;
mod web_app;
