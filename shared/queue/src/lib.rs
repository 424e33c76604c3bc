//! Kronos platform: moving jobs from PostgreSQL (the system of record) into Redis (the
//! transport) and back: enqueue, the apalis-redis transport, the dispatcher, the
//! reconciler and retry backoff. The only crate besides the worker that names apalis
//! types.

pub mod backoff;
pub mod dispatcher;
pub mod enqueue;
pub mod error;
pub mod polling;
pub mod reconciler;
pub mod transport;

pub use error::{Error, Result};
