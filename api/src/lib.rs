//! The Kronos HTTP API: thin handlers (one file per action) over the platform crates
//! under `shared/` (types, db, queue, storage, market data, exchanges, backtest, auth,
//! email, billing). Every request is authorized against its route's class (`auth`) before its
//! handler runs; `live` follows jobs for the server-sent event streams, and `web`
//! serves the web application at `/`. No model inference or other slow work runs on the request path.

pub mod accounts;
pub mod auth;
pub mod batches;
pub mod billing;
pub mod dto;
pub mod error;
pub mod extract;
pub mod heavy;
pub mod large_json;
pub mod live;
pub mod openapi;
pub mod request_id;
pub mod responses;
pub mod routes;
pub mod server;
pub mod sse;
pub mod state;
pub mod submit;
pub mod unread_body;
pub mod web;

pub use routes::{api_document, router};
pub use state::AppState;
