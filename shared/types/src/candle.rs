//! The candle (one OHLCV bar), the finite ranges its values and times must lie in,
//! and the one spelling of times in answers.

use chrono::{DateTime, Utc};

use crate::{ranges::show, Interval};
use serde::{Deserialize, Serialize};

/// One OHLCV(+amount) bar. `amount` is the traded value; 0 where the source has none.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// Lowest price accepted (sub-micro-cent tokens included).
pub const MIN_PRICE: f64 = 1e-12;
/// Highest price accepted. Forecasting normalises each series in 32-bit floats; prices,
/// volumes and their products stay far inside that range with these bounds.
pub const MAX_PRICE: f64 = 1e12;
/// Highest volume or amount accepted.
pub const MAX_VOLUME: f64 = 1e18;
/// The earliest bar time accepted (1970-01-01, the Unix epoch).
pub const EARLIEST_BAR_SECS: i64 = 0;

impl Candle {
    /// Why this candle cannot be stored, or `None` when it is valid: prices from
    /// [`MIN_PRICE`] to [`MAX_PRICE`] with high ≥ open, close ≥ low; volume and amount
    /// from 0 to [`MAX_VOLUME`]; a bar time from 1970 that has already begun (at most a
    /// day ahead of this machine's clock, for skew).
    pub fn validation_error(&self) -> Option<String> {
        let prices = [("open", self.open), ("high", self.high), ("low", self.low), ("close", self.close)];
        for (name, value) in prices {
            if !value.is_finite() {
                return Some(format!("{name} is missing or not a number"));
            }
            if value <= 0.0 {
                return Some(format!("{name} must be positive (got {})", show(value)));
            }
            if !(MIN_PRICE..=MAX_PRICE).contains(&value) {
                return Some(format!("{name} must be from {MIN_PRICE:e} to {MAX_PRICE:e} (got {})", show(value)));
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
                return Some(format!("{name} must be a non-negative number (got {})", show(value)));
            }
            if value > MAX_VOLUME {
                return Some(format!("{name} must be at most {MAX_VOLUME:e} (got {})", show(value)));
            }
        }
        let latest = chrono::Utc::now() + chrono::Duration::days(1);
        if self.ts.timestamp() < EARLIEST_BAR_SECS || self.ts > latest {
            return Some(format!("time {} must be from 1970 and not in the future", rfc3339(self.ts)));
        }
        None
    }

    /// [`Candle::validation_error`], or why the bar time is not a bar start of
    /// `interval` (bars start on the UTC grid: days at 00:00, weeks on Mondays).
    pub fn validation_error_for(&self, interval: Interval) -> Option<String> {
        self.validation_error().or_else(|| {
            (!interval.is_bar_start(self.ts)).then(|| {
                format!(
                    "time {} is not on the {interval} grid (bars start at {})",
                    rfc3339(self.ts),
                    interval.grid_rule()
                )
            })
        })
    }
}

/// RFC 3339 with `Z`, the one spelling of times in answers and messages.
pub fn rfc3339(ts: DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// A row that could not be imported.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedRow {
    /// 1-based data row number (the header is row 0).
    pub row: usize,
    /// Why.
    pub reason: String,
    /// The series it belongs to, when known.
    pub symbol: Option<String>,
    /// Its time, when it could be read.
    pub ts: Option<DateTime<Utc>>,
    /// The row as read, column name → text.
    pub raw: serde_json::Value,
}
