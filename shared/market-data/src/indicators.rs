//! Technical indicators over candles, computed with polars expressions.
//!
//! Conventions (each is also how pandas computes it with the options named):
//! - `sma_N`: mean of the last N closes (`rolling(N).mean()`).
//! - `ema_N`: `ewm(span=N, adjust=False, min_periods=N).mean()` — α = 2/(N+1), seeded
//!   with the first close.
//! - `rsi_N`: Wilder's RSI: gains and losses of close-to-close changes smoothed with
//!   `ewm(alpha=1/N, adjust=False, min_periods=N)`; 100 when there are no losses, 50
//!   on a flat series.
//! - `macd` / `macd_F_S_G` (12, 26, 9): `ema_F − ema_S`, its signal line (an EMA of span
//!   G over the defined MACD values) and the histogram.
//! - `bbands_N` / `bbands_N_K` (20, 2): SMA ± K population standard deviations (ddof 0).
//! - `atr_N`: true range (high−low, |high−prev close|, |low−prev close|; high−low on the
//!   first bar) smoothed like RSI.
//! - `volume_ratio_N`: volume over its N-bar mean.
//!
//! Values are `None` until enough bars exist (the warm-up).

use std::str::FromStr;

use polars::prelude::*;

use kronos_types::Candle;

use crate::error::{Error, Result};
use crate::frame::candles_frame;

/// Longest period accepted.
pub const MAX_PERIOD: usize = 500;

/// One indicator with its parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Indicator {
    /// Simple moving average of the close.
    Sma(usize),
    /// Exponential moving average of the close.
    Ema(usize),
    /// Relative strength index.
    Rsi(usize),
    /// Moving-average convergence/divergence: fast, slow, signal spans.
    Macd(usize, usize, usize),
    /// Bollinger bands: period, width in standard deviations.
    Bollinger(usize, f64),
    /// Average true range.
    Atr(usize),
    /// Volume over its moving average.
    VolumeRatio(usize),
}

impl FromStr for Indicator {
    type Err = Error;

    fn from_str(raw: &str) -> Result<Self> {
        let name = raw.trim().to_ascii_lowercase();
        let bad = || {
            Error::invalid(
                "names",
                format!(
                    "unknown indicator {raw:?}; expected sma_N, ema_N, rsi_N, macd[_F_S_G], bbands_N[_K], atr_N or volume_ratio_N (N from 1 to {MAX_PERIOD})"
                ),
            )
        };
        let (kind, params) = match name.strip_prefix("volume_ratio") {
            Some(rest) => ("volume_ratio", rest.trim_start_matches('_')),
            None => name.split_once('_').unwrap_or((name.as_str(), "")),
        };
        let numbers: Vec<f64> = if params.is_empty() {
            Vec::new()
        } else {
            params.split('_').map(|p| p.parse::<f64>().map_err(|_| bad())).collect::<Result<_>>()?
        };
        let period = |i: usize| -> Result<usize> {
            let v = *numbers.get(i).ok_or_else(bad)?;
            if v.fract() != 0.0 || v < 1.0 || v > MAX_PERIOD as f64 {
                return Err(bad());
            }
            Ok(v as usize)
        };
        let indicator = match (kind, numbers.len()) {
            ("sma", 1) => Self::Sma(period(0)?),
            ("ema", 1) => Self::Ema(period(0)?),
            ("rsi", 1) => Self::Rsi(period(0)?),
            ("atr", 1) => Self::Atr(period(0)?),
            ("volume_ratio", 1) => Self::VolumeRatio(period(0)?),
            ("macd", 0) => Self::Macd(12, 26, 9),
            ("macd", 3) if period(0)? < period(1)? => Self::Macd(period(0)?, period(1)?, period(2)?),
            ("bbands", 1) => Self::Bollinger(period(0)?, 2.0),
            ("bbands", 2) if numbers[1] > 0.0 && numbers[1] <= 10.0 => Self::Bollinger(period(0)?, numbers[1]),
            _ => return Err(bad()),
        };
        Ok(indicator)
    }
}

impl Indicator {
    /// Bars before the first defined value, roughly: used to fetch enough history.
    pub fn lookback(&self) -> usize {
        match *self {
            Self::Sma(n) | Self::Ema(n) | Self::Rsi(n) | Self::Atr(n) | Self::VolumeRatio(n) => n,
            Self::Bollinger(n, _) => n,
            Self::Macd(_, slow, signal) => slow + signal,
        }
    }

    /// Whether values depend on all earlier bars (exponential smoothing), not just the
    /// window.
    pub fn is_recursive(&self) -> bool {
        matches!(self, Self::Ema(_) | Self::Rsi(_) | Self::Atr(_) | Self::Macd(..))
    }

    /// Output columns and their expressions.
    fn columns(&self) -> Vec<(String, Expr)> {
        let close = || col("close");
        match *self {
            Self::Sma(n) => vec![(format!("sma_{n}"), close().rolling_mean(window(n, None)))],
            Self::Ema(n) => vec![(format!("ema_{n}"), ema(close(), n))],
            Self::Rsi(n) => {
                let delta = close().diff(lit(1), Default::default());
                let gain = when(delta.clone().gt(lit(0.0))).then(delta.clone()).otherwise(lit(0.0));
                let loss = when(delta.clone().lt(lit(0.0))).then(-delta.clone()).otherwise(lit(0.0));
                // keep the first bar's missing change missing
                let gain = when(delta.clone().is_null()).then(lit(NULL)).otherwise(gain);
                let loss = when(delta.is_null()).then(lit(NULL)).otherwise(loss);
                let (avg_gain, avg_loss) = (wilder(gain, n), wilder(loss, n));
                let rsi = when(avg_loss.clone().eq(lit(0.0)).and(avg_gain.clone().eq(lit(0.0))))
                    .then(lit(50.0))
                    .when(avg_loss.clone().eq(lit(0.0)))
                    .then(lit(100.0))
                    .otherwise(lit(100.0) - lit(100.0) / (lit(1.0) + avg_gain / avg_loss));
                vec![(format!("rsi_{n}"), rsi)]
            }
            Self::Macd(fast, slow, signal) => {
                let line = ema(close(), fast) - ema(close(), slow);
                let signal_line = ema(line.clone(), signal);
                let suffix = if (fast, slow, signal) == (12, 26, 9) {
                    String::new()
                } else {
                    format!("_{fast}_{slow}_{signal}")
                };
                vec![
                    (format!("macd{suffix}"), line.clone()),
                    (format!("macd_signal{suffix}"), signal_line.clone()),
                    (format!("macd_hist{suffix}"), line - signal_line),
                ]
            }
            Self::Bollinger(n, k) => {
                let mid = close().rolling_mean(window(n, None));
                let sd = close().rolling_std(window(n, Some(RollingFnParams::Var(RollingVarParams { ddof: 0 }))));
                let suffix = if k == 2.0 { format!("{n}") } else { format!("{n}_{k}") };
                vec![
                    (format!("bb_upper_{suffix}"), mid.clone() + lit(k) * sd.clone()),
                    (format!("bb_middle_{suffix}"), mid.clone()),
                    (format!("bb_lower_{suffix}"), mid - lit(k) * sd),
                ]
            }
            Self::Atr(n) => {
                let prev = close().shift(lit(1));
                // the first bar has no previous close: its gaps count as 0 (ranges are >= 0)
                let high_gap = (col("high") - prev.clone()).abs().fill_null(lit(0.0));
                let low_gap = (col("low") - prev).abs().fill_null(lit(0.0));
                let tr = larger(larger(col("high") - col("low"), high_gap), low_gap);
                vec![(format!("atr_{n}"), wilder(tr, n))]
            }
            Self::VolumeRatio(n) => {
                vec![(format!("volume_ratio_{n}"), col("volume") / col("volume").rolling_mean(window(n, None)))]
            }
        }
    }
}

fn larger(a: Expr, b: Expr) -> Expr {
    when(a.clone().gt_eq(b.clone())).then(a).otherwise(b)
}

fn window(n: usize, fn_params: Option<RollingFnParams>) -> RollingOptionsFixedWindow {
    RollingOptionsFixedWindow { window_size: n, min_periods: n, weights: None, center: false, fn_params }
}

fn ewm(x: Expr, alpha: f64, n: usize) -> Expr {
    x.ewm_mean(EWMOptions { alpha, adjust: false, bias: false, min_periods: n, ignore_nulls: true })
}

fn ema(x: Expr, span: usize) -> Expr {
    ewm(x, 2.0 / (span as f64 + 1.0), span)
}

fn wilder(x: Expr, n: usize) -> Expr {
    ewm(x, 1.0 / n as f64, n)
}

/// One output column.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorSeries {
    /// Column name, e.g. `rsi_14`, `bb_upper_20`.
    pub name: String,
    /// One value per candle; `None` during the warm-up.
    pub values: Vec<Option<f64>>,
}

/// Computes `indicators` over `candles` (oldest first).
pub fn compute(candles: &[Candle], indicators: &[Indicator]) -> Result<Vec<IndicatorSeries>> {
    let frame = candles_frame(candles)?;
    let columns: Vec<(String, Expr)> = indicators.iter().flat_map(Indicator::columns).collect();
    let exprs: Vec<Expr> = columns.iter().map(|(name, e)| e.clone().alias(name.as_str())).collect();
    let out = frame.lazy().select(exprs).collect()?;
    columns
        .iter()
        .map(|(name, _)| {
            let series = out.column(name)?.as_materialized_series().cast(&DataType::Float64)?;
            let values = series.f64()?.into_iter().map(|v| v.filter(|x| x.is_finite())).collect();
            Ok(IndicatorSeries { name: name.clone(), values })
        })
        .collect()
}
