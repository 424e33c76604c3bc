//! Kronos worker pools: one pool per device (cpu, cuda:0, …), each taking jobs from
//! the Redis queues with apalis, running compute on dedicated threads (never on the
//! async runtime), batching prediction work across jobs, and recording every outcome
//! in PostgreSQL with guarded updates.

pub mod backtest;
pub mod batcher;
pub mod callback_bodies;
pub mod decoder;
pub mod error;
pub mod executor;
pub mod handler;
pub mod heartbeat;
pub mod identity;
pub mod mailer;
pub mod model_library;
pub mod notices;
pub mod pool;
pub mod progress;
pub mod recorder;
pub mod runner;
pub mod training;
