//! Parameter sweeps: one backtest per strategy of a grid, spread over the machine's
//! cores, ranked by a chosen metric (best first; a metric that is not a number ranks
//! last).

use std::{
    num::NonZeroUsize,
    str::FromStr,
    sync::atomic::{AtomicUsize, Ordering},
};

use serde::Serialize;

use super::{engine::EngineConfig, performance::Metrics, strategy::Strategy, Series};
use crate::error::{Error, Result};

/// What a sweep ranks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankBy {
    /// Sharpe ratio (higher is better).
    Sharpe,
    /// Sortino ratio.
    Sortino,
    /// Calmar ratio.
    Calmar,
    /// Total return.
    TotalReturn,
    /// Maximum drawdown (the shallowest first).
    MaxDrawdown,
    /// Win rate.
    WinRate,
}

impl FromStr for RankBy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "sharpe" => Self::Sharpe,
            "sortino" => Self::Sortino,
            "calmar" => Self::Calmar,
            "total_return" => Self::TotalReturn,
            "max_drawdown" => Self::MaxDrawdown,
            "win_rate" => Self::WinRate,
            other => {
                return Err(Error::invalid(
                    "rank_by",
                    format!("unknown metric {other:?}; expected sharpe, sortino, calmar, total_return, max_drawdown or win_rate"),
                ))
            }
        })
    }
}

impl RankBy {
    fn value(self, m: &Metrics) -> f64 {
        match self {
            Self::Sharpe => m.sharpe,
            Self::Sortino => m.sortino,
            Self::Calmar => m.calmar,
            Self::TotalReturn => m.total_return,
            // drawdowns are ≤ 0: the largest is the shallowest
            Self::MaxDrawdown => m.max_drawdown,
            Self::WinRate => m.win_rate,
        }
    }
}

/// One point of the grid.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SweepPoint {
    /// Rank, from 1.
    pub rank: usize,
    /// The strategy's parameters, as text (`sma-cross fast=10 slow=50`).
    pub strategy: String,
    /// Its metrics.
    pub metrics: Metrics,
}

/// Backtests every strategy on `series` (one asset or a portfolio) and ranks them by
/// `rank_by`; `done`, when given, counts the points as they finish.
pub fn run(
    series: &[Series],
    strategies: &[Strategy],
    config: &EngineConfig,
    periods_per_year: f64,
    rank_by: RankBy,
    done: Option<&AtomicUsize>,
) -> Result<Vec<SweepPoint>> {
    if strategies.is_empty() {
        return Err(Error::invalid("grid", "the grid is empty"));
    }
    for s in strategies {
        s.validate()?;
    }
    config.validate()?;
    let threads = std::thread::available_parallelism().map_or(1, NonZeroUsize::get).min(strategies.len());
    let chunk = strategies.len().div_ceil(threads);
    let results: Vec<Result<Vec<(String, Metrics)>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = strategies
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|s| {
                            let (_, metrics) = super::evaluate(series, s, config, periods_per_year)?;
                            if let Some(done) = done {
                                done.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok((s.describe(), metrics))
                        })
                        .collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(Error::Data("a sweep thread panicked".into()))))
            .collect()
    });
    let mut points: Vec<(String, Metrics)> = Vec::with_capacity(strategies.len());
    for part in results {
        points.extend(part?);
    }
    let key = |m: &Metrics| {
        let v = rank_by.value(m);
        if v.is_nan() {
            f64::NEG_INFINITY
        } else {
            v
        }
    };
    points.sort_by(|a, b| key(&b.1).total_cmp(&key(&a.1)));
    Ok(points
        .into_iter()
        .enumerate()
        .map(|(i, (strategy, metrics))| SweepPoint { rank: i + 1, strategy, metrics })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{engine, performance, Bars};

    #[test]
    fn ranks_every_grid_point_by_the_metric() {
        let close: Vec<f64> = (0..400).map(|i| 100.0 + (i as f64 / 9.0).sin() * 10.0 + i as f64 * 0.05).collect();
        let bars = Bars {
            time: (0..400).collect(),
            open: close.clone(),
            high: close.iter().map(|c| c + 1.0).collect(),
            low: close.iter().map(|c| c - 1.0).collect(),
            close,
        };
        let grid: Vec<Strategy> =
            (2..8).flat_map(|fast| (10..16).map(move |slow| Strategy::SmaCross { fast, slow })).collect();
        let series = [Series { symbol: "X".into(), bars: bars.clone(), forecasts: None }];
        let done = AtomicUsize::new(0);
        let ranked = run(&series, &grid, &EngineConfig::default(), 252.0, RankBy::TotalReturn, Some(&done)).unwrap();
        assert_eq!(done.load(Ordering::Relaxed), 36);
        assert_eq!(ranked.len(), 36);
        assert!(ranked.windows(2).all(|w| w[0].metrics.total_return >= w[1].metrics.total_return));
        assert_eq!(ranked[0].rank, 1);
        // each point equals a single run
        let best = &ranked[0];
        let single = grid.iter().find(|s| s.describe() == best.strategy).unwrap();
        let sim = engine::run(&bars, &single.signals(&bars, None).unwrap(), &EngineConfig::default()).unwrap();
        assert_eq!(performance::metrics(&sim, &bars, 252.0).final_equity, best.metrics.final_equity);
        assert!("bogus".parse::<RankBy>().is_err());
        assert!(run(&series, &[], &EngineConfig::default(), 252.0, RankBy::Sharpe, None).is_err());
    }
}
