//! Kronos platform: pure market-data work on candles, with polars where it pays.
//!
//! Import parsing (CSV and Parquet, gzip allowed), indicators, resampling and the
//! quality analysis of a series. No I/O besides reading the file it is given: no
//! database, queue, store or network.

pub mod batch_files;
pub mod error;
pub mod frame;
pub mod import;
pub mod indicators;
pub mod quality;
pub mod resample;

pub use error::{Error, Result};
