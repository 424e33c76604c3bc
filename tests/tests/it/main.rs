//! Integration tests against real PostgreSQL, Redis and object stores, each in an
//! isolated database and Redis key prefix.

mod api;
mod import;
mod lifecycle;
mod migrations;
mod prediction_flow;
