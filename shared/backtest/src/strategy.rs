//! Strategies: entry and exit signals computed from bars up to and including bar t
//! (never later ones), to be filled by the engine. Model signals read forecasts made
//! walk-forward (`walk_forward`): the forecast at bar t saw candles up to t only.

use serde::{Deserialize, Serialize};

use kronos_types::ranges::{check_f64, check_int};

use crate::error::{Error, Result};

/// Longest indicator window a strategy takes (bars).
pub const MAX_PERIOD: usize = 5000;

use super::{walk_forward::ModelForecasts, Bars};

/// Entry and exit signals per bar (computed at that bar's close).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signals {
    /// Open (or keep) a long position.
    pub long_entry: Vec<bool>,
    /// Close a long position.
    pub long_exit: Vec<bool>,
    /// Open a short position (only with shorting enabled).
    pub short_entry: Vec<bool>,
    /// Close a short position.
    pub short_exit: Vec<bool>,
}

impl Signals {
    fn empty(n: usize) -> Self {
        Self {
            long_entry: vec![false; n],
            long_exit: vec![false; n],
            short_entry: vec![false; n],
            short_exit: vec![false; n],
        }
    }
}

/// A strategy and its parameters (JSON: `{"kind": "sma_cross", "fast": 10, "slow": 50}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Strategy {
    /// Long when the fast SMA of the close crosses above the slow one, out when it
    /// crosses below (short on the way down when shorting is enabled).
    SmaCross {
        /// Fast window.
        #[serde(default = "defaults::fast")]
        fast: usize,
        /// Slow window.
        #[serde(default = "defaults::slow")]
        slow: usize,
    },
    /// Long when Wilder's RSI crosses below `lower` (oversold), out when it crosses
    /// above `upper` (short on the upper cross when shorting is enabled).
    #[serde(rename = "rsi")]
    RsiThreshold {
        /// RSI period.
        #[serde(default = "defaults::rsi_period")]
        period: usize,
        /// Oversold level.
        #[serde(default = "defaults::lower")]
        lower: f64,
        /// Overbought level.
        #[serde(default = "defaults::upper")]
        upper: f64,
    },
    /// Mean reversion: long when the close crosses below the lower Bollinger band, out
    /// when it crosses above the middle band (short on the upper band's cross).
    #[serde(rename = "bollinger")]
    BollingerReversion {
        /// SMA window.
        #[serde(default = "defaults::bollinger_period")]
        period: usize,
        /// Band width in population standard deviations.
        #[serde(default = "defaults::k")]
        k: f64,
    },
    /// Trade on a model's walk-forward forecasts: long while the forecast at bar t is at
    /// or above `entry`, out once it falls below `exit`; short on the mirror image
    /// (`prob_up ≤ 1 − entry`, or an expected return ≤ −entry) when shorting is enabled.
    /// Bars without a forecast signal nothing.
    #[serde(rename = "model")]
    ModelSignal {
        /// What the thresholds apply to.
        #[serde(default = "defaults::rule")]
        rule: ModelRule,
        /// Entry threshold (default: 0.55 for `prob_up`, 0 for `expected_return`).
        #[serde(default)]
        entry: Option<f64>,
        /// Exit threshold (default: 0.5 for `prob_up`, 0 for `expected_return`).
        #[serde(default)]
        exit: Option<f64>,
    },
}

/// What a model-signal strategy thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ModelRule {
    /// The share of sample paths ending above the last close.
    ProbUp,
    /// The mean path's final close over the last close, minus 1.
    ExpectedReturn,
}

mod defaults {
    pub fn fast() -> usize {
        10
    }
    pub fn slow() -> usize {
        50
    }
    pub fn rsi_period() -> usize {
        14
    }
    pub fn lower() -> f64 {
        30.0
    }
    pub fn upper() -> f64 {
        70.0
    }
    pub fn bollinger_period() -> usize {
        20
    }
    pub fn k() -> f64 {
        2.0
    }
    pub fn rule() -> super::ModelRule {
        super::ModelRule::ProbUp
    }
}

impl Strategy {
    /// Checks each parameter's own range (windows up to [`MAX_PERIOD`], thresholds
    /// inside their scale), without the relations between parameters: a sweep refuses a
    /// grid value out of range, and skips combinations that break a relation.
    pub fn check_ranges(&self) -> Result<()> {
        match self {
            Self::SmaCross { fast, slow } => {
                check_int("fast", *fast, 1, MAX_PERIOD)?;
                Ok(check_int("slow", *slow, 2, MAX_PERIOD)?)
            }
            Self::RsiThreshold { period, lower, upper } => {
                check_int("period", *period, 2, MAX_PERIOD)?;
                check_f64("lower", *lower, 0.0, 100.0)?;
                Ok(check_f64("upper", *upper, 0.0, 100.0)?)
            }
            Self::BollingerReversion { period, k } => {
                check_int("period", *period, 2, MAX_PERIOD)?;
                Ok(check_f64("k", *k, 0.0, 10.0)?)
            }
            Self::ModelSignal { entry, exit, .. } => {
                for (field, v) in [("entry", entry), ("exit", exit)] {
                    if let Some(v) = v {
                        check_f64(field, *v, -1.0, 10.0)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// Checks the parameters; the error names the bad one.
    pub fn validate(&self) -> Result<()> {
        self.check_ranges()?;
        match self {
            Self::SmaCross { fast, slow } => {
                if fast >= slow {
                    return Err(Error::invalid("fast", format!("fast ({fast}) must be less than slow ({slow})")));
                }
                Ok(())
            }
            Self::RsiThreshold { lower, upper, .. } => {
                if !(0.0 < *lower && lower < upper && *upper < 100.0) {
                    return Err(Error::invalid("lower", "thresholds need 0 < lower < upper < 100"));
                }
                Ok(())
            }
            Self::BollingerReversion { k, .. } => {
                if !(k.is_finite() && *k > 0.0 && *k <= 10.0) {
                    return Err(Error::invalid("k", "k must be above 0 and at most 10 standard deviations"));
                }
                Ok(())
            }
            Self::ModelSignal { rule, .. } => {
                let (entry, exit) = (self.model_entry(), self.model_exit());
                match rule {
                    ModelRule::ProbUp if !(entry > 0.5 && entry <= 1.0) => {
                        return Err(Error::invalid("entry", "a prob_up entry threshold must be in (0.5, 1]"))
                    }
                    ModelRule::ExpectedReturn if !(entry.is_finite() && entry > -1.0 && entry <= 10.0) => {
                        return Err(Error::invalid("entry", "an expected-return threshold must be in (-1, 10]"))
                    }
                    _ => {}
                }
                if !(exit.is_finite() && exit <= entry && exit >= -1.0) {
                    return Err(Error::invalid("exit", "exit must be a number no greater than entry"));
                }
                Ok(())
            }
        }
    }

    /// A model strategy's entry threshold (its default when not given).
    fn model_entry(&self) -> f64 {
        match self {
            Self::ModelSignal { rule, entry, .. } => entry.unwrap_or(match rule {
                ModelRule::ProbUp => 0.55,
                ModelRule::ExpectedReturn => 0.0,
            }),
            _ => f64::NAN,
        }
    }

    /// A model strategy's exit threshold (its default when not given).
    fn model_exit(&self) -> f64 {
        match self {
            Self::ModelSignal { rule, exit, .. } => exit.unwrap_or(match rule {
                ModelRule::ProbUp => 0.5,
                ModelRule::ExpectedReturn => 0.0,
            }),
            _ => f64::NAN,
        }
    }

    /// Whether the strategy trades on model forecasts.
    pub fn needs_forecasts(&self) -> bool {
        matches!(self, Self::ModelSignal { .. })
    }

    /// The strategy and its parameters as text (`sma-cross fast=10 slow=50`).
    pub fn describe(&self) -> String {
        match self {
            Self::SmaCross { fast, slow } => format!("sma-cross fast={fast} slow={slow}"),
            Self::RsiThreshold { period, lower, upper } => format!("rsi period={period} lower={lower} upper={upper}"),
            Self::BollingerReversion { period, k } => format!("bollinger period={period} k={k}"),
            Self::ModelSignal { rule, .. } => {
                let rule = match rule {
                    ModelRule::ProbUp => "prob_up",
                    ModelRule::ExpectedReturn => "expected_return",
                };
                format!("model rule={rule} entry={} exit={}", self.model_entry(), self.model_exit())
            }
        }
    }

    /// The signals on `bars` (model strategies read `forecasts`, made walk-forward on
    /// the same bars).
    pub fn signals(&self, bars: &Bars, forecasts: Option<&ModelForecasts>) -> Result<Signals> {
        self.validate()?;
        match *self {
            Self::ModelSignal { rule, .. } => {
                let forecasts = forecasts
                    .ok_or_else(|| Error::invalid("strategy", "a model strategy needs walk-forward forecasts"))?;
                if forecasts.len() != bars.len() {
                    return Err(Error::invalid("bars", "forecasts and bars differ in length"));
                }
                Ok(model_signals(forecasts, rule, self.model_entry(), self.model_exit()))
            }
            Self::SmaCross { fast, slow } => Ok(sma_cross(&bars.close, fast, slow)),
            Self::RsiThreshold { period, lower, upper } => {
                let r = rsi(&bars.close, period);
                let mut out = Signals::empty(bars.len());
                for t in 1..bars.len() {
                    let down = crossed_below(r[t - 1], r[t], lower, lower);
                    let up = crossed_above(r[t - 1], r[t], upper, upper);
                    (out.long_entry[t], out.short_exit[t]) = (down, down);
                    (out.long_exit[t], out.short_entry[t]) = (up, up);
                }
                Ok(out)
            }
            Self::BollingerReversion { period, k } => {
                let (mid, sd) = (sma(&bars.close, period), rolling_population_std(&bars.close, period));
                let c = &bars.close;
                let mut out = Signals::empty(bars.len());
                for t in 1..bars.len() {
                    let (lo0, lo1) = (mid[t - 1] - k * sd[t - 1], mid[t] - k * sd[t]);
                    let (hi0, hi1) = (mid[t - 1] + k * sd[t - 1], mid[t] + k * sd[t]);
                    out.long_entry[t] = crossed_below(c[t - 1], c[t], lo0, lo1);
                    out.long_exit[t] = crossed_above(c[t - 1], c[t], mid[t - 1], mid[t]);
                    out.short_entry[t] = crossed_above(c[t - 1], c[t], hi0, hi1);
                    out.short_exit[t] = crossed_below(c[t - 1], c[t], mid[t - 1], mid[t]);
                }
                Ok(out)
            }
        }
    }
}

/// Threshold signals on forecasts; a bar without a forecast (`NaN`) signals nothing.
fn model_signals(forecasts: &ModelForecasts, rule: ModelRule, entry: f64, exit: f64) -> Signals {
    let (values, mirror): (&[f64], fn(f64) -> f64) = match rule {
        ModelRule::ProbUp => (&forecasts.prob_up, |x| 1.0 - x),
        ModelRule::ExpectedReturn => (&forecasts.expected_return, |x| -x),
    };
    let mut out = Signals::empty(values.len());
    for (t, v) in values.iter().copied().enumerate() {
        if v.is_nan() {
            continue;
        }
        out.long_entry[t] = v >= entry;
        out.long_exit[t] = v < exit;
        out.short_entry[t] = v <= mirror(entry);
        out.short_exit[t] = v > mirror(exit);
    }
    out
}

/// Simple rolling mean; `NaN` until the window is full.
pub fn sma(values: &[f64], window: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; values.len()];
    if window == 0 || values.len() < window {
        return out;
    }
    let mut sum: f64 = values[..window].iter().sum();
    out[window - 1] = sum / window as f64;
    for i in window..values.len() {
        sum += values[i] - values[i - window];
        out[i] = sum / window as f64;
    }
    out
}

/// `x` went from at or above `level` to below it (`NaN` never crosses).
fn crossed_below(x0: f64, x1: f64, level0: f64, level1: f64) -> bool {
    x1 < level1 && x0 >= level0
}

/// `x` went from at or below `level` to above it.
fn crossed_above(x0: f64, x1: f64, level0: f64, level1: f64) -> bool {
    x1 > level1 && x0 <= level0
}

/// Rolling population standard deviation (ddof 0); `NaN` until the window is full.
pub fn rolling_population_std(values: &[f64], window: usize) -> Vec<f64> {
    let mean = sma(values, window);
    let mut out = vec![f64::NAN; values.len()];
    for t in window.saturating_sub(1)..values.len() {
        if window == 0 {
            break;
        }
        let m = mean[t];
        out[t] = (values[t + 1 - window..=t].iter().map(|v| (v - m).powi(2)).sum::<f64>() / window as f64).sqrt();
    }
    out
}

/// Wilder's RSI as `market_data::indicators` defines it: close-to-close gains and
/// losses smoothed with α = 1/period from the first change, defined from bar `period`
/// on; 100 without losses, 50 on a flat series.
pub fn rsi(close: &[f64], period: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; close.len()];
    let alpha = 1.0 / period as f64;
    let (mut gain, mut loss) = (0.0, 0.0);
    for t in 1..close.len() {
        let d = close[t] - close[t - 1];
        let (g, l) = (d.max(0.0), (-d).max(0.0));
        if t == 1 {
            (gain, loss) = (g, l);
        } else {
            gain += alpha * (g - gain);
            loss += alpha * (l - loss);
        }
        if t >= period {
            out[t] = match (gain == 0.0, loss == 0.0) {
                (true, true) => 50.0,
                (_, true) => 100.0,
                _ => 100.0 - 100.0 / (1.0 + gain / loss),
            };
        }
    }
    out
}

/// Crossovers: up when `fast[t] > slow[t]` and `fast[t-1] <= slow[t-1]`, down the mirror.
fn sma_cross(close: &[f64], fast: usize, slow: usize) -> Signals {
    let (f, s) = (sma(close, fast), sma(close, slow));
    let mut out = Signals::empty(close.len());
    for t in 1..close.len() {
        let up = crossed_above(f[t - 1], f[t], s[t - 1], s[t]);
        let down = crossed_below(f[t - 1], f[t], s[t - 1], s[t]);
        out.long_entry[t] = up;
        out.short_exit[t] = up;
        out.long_exit[t] = down;
        out.short_entry[t] = down;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sma_is_a_rolling_mean_defined_once_the_window_is_full() {
        let v = sma(&[1.0, 2.0, 3.0, 4.0], 2);
        assert!(v[0].is_nan());
        assert_eq!(&v[1..], &[1.5, 2.5, 3.5]);
    }

    #[test]
    fn crosses_fire_on_the_bar_they_happen() {
        // fast(1) = close, slow(2): close 3,2,1,2,3,2
        let bars = Bars { close: vec![3.0, 2.0, 1.0, 2.0, 3.0, 2.0], ..Bars::default() };
        let s = Strategy::SmaCross { fast: 1, slow: 2 }.signals(&bars, None).unwrap();
        // slow: -, 2.5, 1.5, 1.5, 2.5, 2.5 → fast > slow at 3 (2 > 1.5) after ≤ at 2: up at 3
        assert_eq!(s.long_entry, vec![false, false, false, true, false, false]);
        // at 5: 2 < 2.5 after 3 > 2.5: down
        assert_eq!(s.long_exit, vec![false, false, false, false, false, true]);
        assert!(Strategy::SmaCross { fast: 5, slow: 5 }.validate().is_err());
    }

    #[test]
    fn rsi_and_bands_equal_the_platform_indicators() {
        use kronos_market_data::indicators::{compute, Indicator};
        use kronos_types::Candle;
        let close: Vec<f64> = (0..120).map(|i| 100.0 + (i as f64 / 5.0).sin() * 8.0 + (i % 7) as f64).collect();
        let candles: Vec<Candle> = close
            .iter()
            .enumerate()
            .map(|(i, c)| Candle {
                ts: chrono::DateTime::from_timestamp(i as i64 * 86_400, 0).unwrap(),
                open: *c,
                high: c + 1.0,
                low: c - 1.0,
                close: *c,
                volume: 1.0,
                amount: 0.0,
            })
            .collect();
        let reference = compute(&candles, &[Indicator::Rsi(14), Indicator::Bollinger(20, 2.0)]).unwrap();
        let ours = [rsi(&close, 14), {
            let (m, sd) = (sma(&close, 20), rolling_population_std(&close, 20));
            m.iter().zip(&sd).map(|(m, s)| m + 2.0 * s).collect()
        }];
        for (series, mine) in [(&reference[0], &ours[0]), (&reference[1], &ours[1])] {
            for (r, m) in series.values.iter().zip(mine.iter()) {
                match r {
                    None => assert!(m.is_nan(), "{}: warm-up differs", series.name),
                    Some(r) => assert!((r - m).abs() < 1e-9, "{}: {r} vs {m}", series.name),
                }
            }
        }
    }

    #[test]
    fn model_signals_threshold_the_forecasts_and_skip_bars_without_one() {
        let bars =
            Bars { time: vec![0; 5], open: vec![1.0; 5], high: vec![1.0; 5], low: vec![1.0; 5], close: vec![1.0; 5] };
        let f = ModelForecasts {
            prob_up: vec![f64::NAN, 0.7, 0.55, 0.3, 0.5],
            expected_return: vec![f64::NAN, 0.01, -0.02, 0.0, 0.005],
        };
        let s = Strategy::ModelSignal { rule: ModelRule::ProbUp, entry: Some(0.6), exit: None }
            .signals(&bars, Some(&f))
            .unwrap();
        assert_eq!(s.long_entry, vec![false, true, false, false, false]);
        assert_eq!(s.long_exit, vec![false, false, false, true, false]);
        assert_eq!(s.short_entry, vec![false, false, false, true, false]);
        assert_eq!(s.short_exit, vec![false, true, true, false, false]);
        let s = Strategy::ModelSignal { rule: ModelRule::ExpectedReturn, entry: Some(0.004), exit: Some(-0.01) }
            .signals(&bars, Some(&f))
            .unwrap();
        assert_eq!(s.long_entry, vec![false, true, false, false, true]);
        assert_eq!(s.long_exit, vec![false, false, true, false, false]);
        assert!(Strategy::ModelSignal { rule: ModelRule::ProbUp, entry: Some(0.6), exit: None }
            .signals(&bars, None)
            .is_err());
        let json: Strategy =
            serde_json::from_str(r#"{"kind": "model", "rule": "expected_return", "entry": 0.01}"#).unwrap();
        assert_eq!(json.describe(), "model rule=expected_return entry=0.01 exit=0");
    }
}
