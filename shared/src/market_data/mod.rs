//! Market-data types (candles, intervals) and the CSV/Parquet importer.

pub mod frame;
pub mod import;
pub mod indicators;
mod interval;
pub mod quality;
pub mod refresh;
pub mod resample;

pub use interval::Interval;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One OHLCV(+amount) bar. `amount` is the traded value; 0 where the source has none.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Candle {
    /// Bar open time (UTC).
    #[serde(alias = "timestamp", alias = "time")]
    pub ts: DateTime<Utc>,
    /// Open price.
    pub open: f64,
    /// High price.
    pub high: f64,
    /// Low price.
    pub low: f64,
    /// Close price.
    pub close: f64,
    /// Traded volume.
    #[serde(default)]
    pub volume: f64,
    /// Traded value (price × volume).
    #[serde(default)]
    pub amount: f64,
}

impl Candle {
    /// Why this candle cannot be stored, or `None` when it is valid.
    pub fn validation_error(&self) -> Option<String> {
        let prices = [("open", self.open), ("high", self.high), ("low", self.low), ("close", self.close)];
        for (name, value) in prices {
            if !value.is_finite() {
                return Some(format!("{name} is missing or not a number"));
            }
            if value <= 0.0 {
                return Some(format!("{name} must be positive (got {value})"));
            }
        }
        if self.high < self.low {
            return Some(format!("high {} is below low {}", self.high, self.low));
        }
        if self.high < self.open.max(self.close) || self.low > self.open.min(self.close) {
            return Some(format!(
                "open/close outside the high-low range (o={} h={} l={} c={})",
                self.open, self.high, self.low, self.close
            ));
        }
        for (name, value) in [("volume", self.volume), ("amount", self.amount)] {
            if !value.is_finite() || value < 0.0 {
                return Some(format!("{name} must be a non-negative number (got {value})"));
            }
        }
        None
    }
}
