use std::{fmt, str::FromStr};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A candle interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Interval {
    /// One minute.
    M1,
    /// Five minutes.
    M5,
    /// Fifteen minutes.
    M15,
    /// Thirty minutes.
    M30,
    /// One hour.
    H1,
    /// Four hours.
    H4,
    /// One day.
    D1,
    /// One week.
    W1,
}

impl Interval {
    /// Every interval, shortest first.
    pub const ALL: [Interval; 8] = [Self::M1, Self::M5, Self::M15, Self::M30, Self::H1, Self::H4, Self::D1, Self::W1];

    /// The canonical spelling (`1m`, `1h`, `1d`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::M1 => "1m",
            Self::M5 => "5m",
            Self::M15 => "15m",
            Self::M30 => "30m",
            Self::H1 => "1h",
            Self::H4 => "4h",
            Self::D1 => "1d",
            Self::W1 => "1w",
        }
    }

    /// Length of one bar.
    pub fn duration(self) -> Duration {
        match self {
            Self::M1 => Duration::minutes(1),
            Self::M5 => Duration::minutes(5),
            Self::M15 => Duration::minutes(15),
            Self::M30 => Duration::minutes(30),
            Self::H1 => Duration::hours(1),
            Self::H4 => Duration::hours(4),
            Self::D1 => Duration::days(1),
            Self::W1 => Duration::weeks(1),
        }
    }

    /// Start of the bar holding `ts` (UTC grid; weeks start on Monday, as on
    /// Binance and OKX's UTC bars).
    pub fn bar_start(self, ts: DateTime<Utc>) -> DateTime<Utc> {
        let step = self.duration().num_seconds();
        // 1970-01-05 was a Monday
        let origin = if self == Self::W1 { 4 * 86_400 } else { 0 };
        let start = (ts.timestamp() - origin).div_euclid(step) * step + origin;
        DateTime::from_timestamp(start, 0).unwrap_or(ts)
    }

    /// Whether `ts` is a bar start (see [`Interval::bar_start`]).
    pub fn is_bar_start(self, ts: DateTime<Utc>) -> bool {
        ts.timestamp_subsec_nanos() == 0 && self.bar_start(ts) == ts
    }

    /// Where bars of this interval start, in words.
    pub fn grid_rule(self) -> &'static str {
        match self {
            Self::M1 => "whole minutes",
            Self::M5 => "multiples of 5 minutes",
            Self::M15 => "multiples of 15 minutes",
            Self::M30 => "multiples of 30 minutes",
            Self::H1 => "whole hours (UTC)",
            Self::H4 => "00:00, 04:00, … UTC",
            Self::D1 => "00:00 UTC",
            Self::W1 => "Mondays 00:00 UTC",
        }
    }

    /// The `n` bar times after `last`, one interval apart.
    pub fn future_timestamps(self, last: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        (1..=n as i32).map(|k| last + self.duration() * k).collect()
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Interval {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL.into_iter().find(|i| i.as_str() == s.trim()).ok_or_else(|| {
            Error::invalid(
                "interval",
                format!("unknown interval {s:?}; expected one of 1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w"),
            )
        })
    }
}

impl TryFrom<String> for Interval {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<Interval> for String {
    fn from(i: Interval) -> String {
        i.as_str().to_owned()
    }
}

/// Its OpenAPI schema: one of the canonical spellings.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Interval {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::{schema::Type, ObjectBuilder};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(Self::ALL.iter().map(|i| i.as_str())))
            .description(Some("Candle interval"))
            .examples(["1d"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Interval {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_every_interval() {
        for i in Interval::ALL {
            assert_eq!(i.as_str().parse::<Interval>().unwrap(), i);
        }
        assert!("2h".parse::<Interval>().is_err());
    }

    #[test]
    fn future_timestamps_step_by_the_interval() {
        let last = DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        let ts = Interval::H4.future_timestamps(last, 2);
        assert_eq!(ts[0].to_rfc3339(), "2024-01-01T04:00:00+00:00");
        assert_eq!(ts[1].to_rfc3339(), "2024-01-01T08:00:00+00:00");
    }
}
