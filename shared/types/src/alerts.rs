//! Alerts: rules on an asset that email their owner when the market or a forecast
//! crosses a threshold. Price rules are read after each refresh of the asset's candles
//! and fire when the condition becomes true (a crossing, not while it stays true);
//! forecast rules are read after each forecast of the asset and fire on a forecast that
//! meets them. A rule fires at most once per cooldown, and never twice for one event.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::{accounts::Tier, error::Error, words::word_enum};

word_enum!(
    /// What an alert watches.
    AlertKind, "kind" {
        /// The last close rises above the threshold (a price).
        PriceAbove => "price_above",
        /// The last close falls below the threshold (a price).
        PriceBelow => "price_below",
        /// The close moved more than the threshold (percent, either way) over 24 hours.
        Change24h => "change_24h",
        /// A forecast's probability of ending higher is at least the threshold (0–1).
        ProbUpAbove => "prob_up_above",
        /// A forecast's probability of ending higher is at most the threshold (0–1).
        ProbUpBelow => "prob_up_below",
        /// A forecast's expected move over its horizon is beyond the threshold
        /// (percent, either way).
        ExpectedMove => "expected_move",
    }
);

impl AlertKind {
    /// Whether the rule reads forecasts (else candles).
    pub fn on_forecasts(self) -> bool {
        matches!(self, Self::ProbUpAbove | Self::ProbUpBelow | Self::ExpectedMove)
    }

    /// Checks a threshold for this kind (the error names `threshold`).
    pub fn check_threshold(self, threshold: f64) -> Result<(), Error> {
        let ok = threshold.is_finite()
            && match self {
                Self::PriceAbove | Self::PriceBelow => threshold > 0.0,
                Self::Change24h | Self::ExpectedMove => threshold > 0.0 && threshold <= 1000.0,
                Self::ProbUpAbove | Self::ProbUpBelow => (0.0..=1.0).contains(&threshold),
            };
        if ok {
            return Ok(());
        }
        let rule = match self {
            Self::PriceAbove | Self::PriceBelow => "a price above 0",
            Self::Change24h | Self::ExpectedMove => "a percentage above 0 and at most 1000",
            Self::ProbUpAbove | Self::ProbUpBelow => "a probability from 0 to 1",
        };
        Err(Error::invalid("threshold", format!("{} needs {rule}", self.as_str())))
    }

    /// Whether `value` (a close, a 24 h change in percent, a `prob_up`, an expected
    /// move in percent) meets the rule at `threshold`.
    pub fn met(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::PriceAbove | Self::ProbUpAbove => value >= threshold,
            Self::PriceBelow | Self::ProbUpBelow => value <= threshold,
            Self::Change24h | Self::ExpectedMove => value.abs() >= threshold,
        }
    }
}

impl Tier {
    /// Most alerts a user of this tier may keep.
    pub fn alert_limit(self) -> usize {
        match self {
            Self::Free => 3,
            Self::Basic => 20,
            Self::Pro => 100,
            Self::Enterprise => 500,
        }
    }
}

/// Cooldown bounds, in seconds: a minute to thirty days.
pub const COOLDOWN_SECS: std::ops::RangeInclusive<i32> = 60..=30 * 86_400;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_checked_per_kind_and_met_as_documented() {
        assert!(AlertKind::PriceAbove.check_threshold(101.5).is_ok());
        assert!(AlertKind::PriceAbove.check_threshold(0.0).is_err());
        assert!(AlertKind::ProbUpAbove.check_threshold(1.2).is_err());
        assert!(AlertKind::Change24h.check_threshold(f64::NAN).is_err());
        assert!(AlertKind::PriceAbove.met(101.0, 100.0) && !AlertKind::PriceAbove.met(99.0, 100.0));
        assert!(AlertKind::PriceBelow.met(99.0, 100.0));
        assert!(AlertKind::Change24h.met(-5.5, 5.0) && !AlertKind::Change24h.met(4.9, 5.0));
        assert!(AlertKind::ExpectedMove.met(2.0, 1.5));
        assert!(AlertKind::ProbUpBelow.met(0.3, 0.35));
        assert!(AlertKind::ExpectedMove.on_forecasts() && !AlertKind::Change24h.on_forecasts());
        assert!(Tier::Free.alert_limit() < Tier::Pro.alert_limit());
    }
}
