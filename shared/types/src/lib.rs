//! Kronos platform: the plain types every crate shares.
//!
//! Candles and their finite ranges, intervals, trading calendars, catalogue
//! specifications, job kinds and statuses, job payloads, walk-forward plans, the one
//! time parser and the range checks. No I/O: no database, queue, store or network.

pub mod accounts;
pub mod alerts;
pub mod batches;
pub mod billing;
pub mod calendar;
pub mod candle;
pub mod catalogue;
pub mod error;
pub mod interval;
pub mod jobs;
pub mod ranges;
pub mod registry;
pub mod time;
pub mod walk_forward;
mod words;

pub use calendar::Calendar;
pub use candle::{rfc3339, Candle, RejectedRow};
pub use error::{Error, Result};
pub use interval::Interval;
