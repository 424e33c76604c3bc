//! The backtest job's payload: which assets, which bars, which strategy (or grid of
//! strategies), which engine settings, and for model strategies the model and how it
//! forecasts walk-forward.
//!
//! The API validates it ([`BacktestPayload::validate`] names the offending field, as
//! `strategy.fast` or `engine.fee`) and resolves the assets, the model and the
//! annualisation before enqueueing, so a job is reproducible from its payload.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use kronos_types::walk_forward::ModelSettings;
use kronos_types::{
    jobs::payload::{validate_sampling, validate_seed},
    ranges::check_f64,
    Calendar, Interval,
};

use crate::{
    engine::EngineConfig,
    error::{Error, Result},
    strategy::Strategy,
    sweep::RankBy,
};

/// Most assets in one backtest.
pub const MAX_SYMBOLS: usize = 50;
/// Most grid points in one sweep.
pub const MAX_GRID: usize = 100_000;

/// A backtest job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BacktestPayload {
    /// Assets; several make a portfolio sharing one cash balance, traded on the bar
    /// times they share.
    pub symbols: Vec<String>,
    /// Asset ids of `symbols` (resolved by the API).
    #[serde(default)]
    pub asset_ids: Vec<i64>,
    /// Trading calendars of `symbols` (resolved by the API; the future bar times of a
    /// model's forecasts).
    #[serde(default)]
    pub calendars: Vec<Calendar>,
    /// Candle interval.
    #[serde(default = "default_interval")]
    pub interval: Interval,
    /// First bar traded (default: all stored history).
    #[serde(default, deserialize_with = "kronos_types::time::optional")]
    pub from: Option<DateTime<Utc>>,
    /// Last bar traded (default: the latest).
    #[serde(default, deserialize_with = "kronos_types::time::optional")]
    pub to: Option<DateTime<Utc>>,
    /// The strategy (the base point of a sweep).
    pub strategy: Strategy,
    /// How a model strategy's forecasts are made (required by, and only by, it).
    #[serde(default)]
    pub model: Option<ModelSettings>,
    /// Engine settings (default: the notes' convention, 10,000 cash, no fees).
    #[serde(default)]
    pub engine: EngineConfig,
    /// Bars per year for annualising (default from the interval: 252 trading days for
    /// stocks, 365 days when every asset trades around the clock).
    #[serde(default)]
    pub periods_per_year: Option<f64>,
    /// Run a grid of the strategy's parameters instead of one point.
    #[serde(default)]
    pub sweep: Option<SweepSpec>,
}

fn default_interval() -> Interval {
    Interval::D1
}

/// A parameter grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SweepSpec {
    /// Values per strategy parameter (`{"fast": [5, 10], "slow": [50, 100]}`); other
    /// parameters keep the strategy's value. Every combination runs; combinations the
    /// strategy refuses (fast ≥ slow) are skipped and counted.
    pub grid: BTreeMap<String, Vec<serde_json::Value>>,
    /// Metric to rank by: sharpe, sortino, calmar, total_return, max_drawdown or
    /// win_rate.
    #[serde(default = "default_rank_by")]
    pub rank_by: String,
    /// Points listed in the job's result (all of them are in the sweep's Parquet).
    #[serde(default = "default_top")]
    pub top: usize,
}

fn default_rank_by() -> String {
    "sharpe".into()
}
fn default_top() -> usize {
    20
}

/// An error's field under `prefix` (`fee` → `engine.fee`).
fn under(prefix: &str, e: impl Into<Error>) -> Error {
    match e.into() {
        Error::Invalid { field, message } => Error::invalid(format!("{prefix}.{field}"), message),
        other => other,
    }
}

impl BacktestPayload {
    /// Checks everything but the names (assets and models are looked up by the API);
    /// returns the strategies to run (a sweep's grid, else the one strategy) and how many
    /// grid combinations were skipped as invalid.
    pub fn validate(&self) -> Result<(Vec<Strategy>, usize)> {
        if self.symbols.is_empty() || self.symbols.len() > MAX_SYMBOLS {
            return Err(Error::invalid("symbols", format!("give 1 to {MAX_SYMBOLS} symbols")));
        }
        for (i, s) in self.symbols.iter().enumerate() {
            if self.symbols[..i].contains(s) {
                return Err(Error::invalid(format!("symbols[{i}]"), format!("{s:?} is listed twice")));
            }
        }
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from >= to {
                return Err(Error::invalid("from", "from must be before to"));
            }
        }
        self.engine.validate().map_err(|e| under("engine", e))?;
        if let Some(p) = self.periods_per_year {
            // one bar a year up to one a minute (a leap year has 527,040 minutes)
            check_f64("periods_per_year", p, 1.0, 527_040.0)?;
        }
        match (&self.model, self.strategy.needs_forecasts()) {
            (None, true) => return Err(Error::invalid("model", "a model strategy needs model settings")),
            (Some(_), false) => {
                return Err(Error::invalid("model", "model settings are only read by a model strategy"))
            }
            (Some(m), true) => {
                if m.name.trim().is_empty() {
                    return Err(Error::invalid("model.name", "name a registered model, naive or drift"));
                }
                m.plan().validate().map_err(|e| under("model", e))?;
                validate_sampling(m.samples, m.temperature, m.top_k, m.top_p).map_err(|e| under("model", e))?;
                validate_seed("model.seed", m.seed)?;
            }
            (None, false) => {}
        }
        match &self.sweep {
            None => {
                self.strategy.validate().map_err(|e| under("strategy", e))?;
                Ok((vec![self.strategy.clone()], 0))
            }
            Some(sweep) => {
                self.strategy.check_ranges().map_err(|e| under("strategy", e))?;
                sweep.rank_by.parse::<RankBy>().map_err(|e| under("sweep", e))?;
                if !(1..=1000).contains(&sweep.top) {
                    return Err(Error::invalid("sweep.top", "top must be from 1 to 1000"));
                }
                self.grid(sweep)
            }
        }
    }

    /// The sweep's strategies and how many combinations were skipped as invalid.
    fn grid(&self, sweep: &SweepSpec) -> Result<(Vec<Strategy>, usize)> {
        let base = serde_json::to_value(&self.strategy)?;
        let serde_json::Value::Object(base) = base else {
            return Err(Error::Data("a strategy serialises as an object".into()));
        };
        let mut size = 1usize;
        for (name, values) in &sweep.grid {
            if name == "kind" || !base.contains_key(name) {
                return Err(Error::invalid(
                    format!("sweep.grid.{name}"),
                    format!("{} has no parameter {name:?}", self.strategy.describe()),
                ));
            }
            if values.is_empty() {
                return Err(Error::invalid(format!("sweep.grid.{name}"), "give at least one value"));
            }
            // each value must fit its parameter on its own; combinations that break a
            // relation between parameters (fast ≥ slow) are skipped and counted
            for (i, value) in values.iter().enumerate() {
                let mut point = base.clone();
                point.insert(name.clone(), value.clone());
                let field = format!("sweep.grid.{name}[{i}]");
                let strategy: Strategy = serde_json::from_value(serde_json::Value::Object(point))
                    .map_err(|e| Error::invalid(&field, format!("{value} does not fit {name}: {e}")))?;
                strategy.check_ranges().map_err(|e| Error::invalid(&field, e.to_string()))?;
            }
            size = size.saturating_mul(values.len());
        }
        if sweep.grid.is_empty() {
            return Err(Error::invalid("sweep.grid", "the grid names no parameter"));
        }
        if size > MAX_GRID {
            return Err(Error::invalid("sweep.grid", format!("{size} combinations; at most {MAX_GRID}")));
        }
        let mut points = vec![base];
        for (name, values) in &sweep.grid {
            points = points
                .into_iter()
                .flat_map(|point| {
                    values.iter().map(move |v| {
                        let mut p = point.clone();
                        p.insert(name.clone(), v.clone());
                        p
                    })
                })
                .collect();
        }
        let mut strategies = Vec::with_capacity(points.len());
        let mut skipped = 0;
        for point in points {
            let strategy: Strategy = serde_json::from_value(serde_json::Value::Object(point))
                .map_err(|e| Error::invalid("sweep.grid", format!("a value does not fit its parameter: {e}")))?;
            match strategy.validate() {
                Ok(()) => strategies.push(strategy),
                Err(_) => skipped += 1,
            }
        }
        if strategies.is_empty() {
            return Err(Error::invalid("sweep.grid", "every combination is invalid for the strategy"));
        }
        Ok((strategies, skipped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(body: serde_json::Value) -> BacktestPayload {
        serde_json::from_value(body).unwrap()
    }

    fn field(p: &BacktestPayload) -> String {
        match p.validate() {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_grid_expands_every_valid_combination() {
        let p = payload(serde_json::json!({
            "symbols": ["GOOG"], "strategy": {"kind": "sma_cross"},
            "sweep": {"grid": {"fast": [5, 10, 60], "slow": [20, 50]}}
        }));
        let (grid, skipped) = p.validate().unwrap();
        // fast 5 and 10 fit both slows; fast 60 fits neither
        assert_eq!((grid.len(), skipped), (4, 2));
        assert!(grid.contains(&Strategy::SmaCross { fast: 10, slow: 20 }));
    }

    #[test]
    fn refusals_name_the_field() {
        let cases = [
            (serde_json::json!({"symbols": [], "strategy": {"kind": "sma_cross"}}), "symbols"),
            (serde_json::json!({"symbols": ["A", "A"], "strategy": {"kind": "sma_cross"}}), "symbols[1]"),
            (
                serde_json::json!({"symbols": ["A"], "strategy": {"kind": "sma_cross", "fast": 50, "slow": 10}}),
                "strategy.fast",
            ),
            (
                serde_json::json!({"symbols": ["A"], "strategy": {"kind": "sma_cross"}, "engine": {"fee": -0.1}}),
                "engine.fee",
            ),
            (serde_json::json!({"symbols": ["A"], "strategy": {"kind": "model", "entry": 0.6}}), "model"),
            (
                serde_json::json!({"symbols": ["A"], "strategy": {"kind": "sma_cross"}, "model": {"name": "drift"}}),
                "model",
            ),
            (
                serde_json::json!({"symbols": ["A"], "strategy": {"kind": "model", "entry": 0.6}, "model": {"name": "drift", "context": 1}}),
                "model.context",
            ),
            (
                serde_json::json!({"symbols": ["A"], "strategy": {"kind": "model", "entry": 0.4}, "model": {"name": "drift"}}),
                "strategy.entry",
            ),
            (
                serde_json::json!({"symbols": ["A"], "strategy": {"kind": "sma_cross"}, "sweep": {"grid": {"period": [1]}}}),
                "sweep.grid.period",
            ),
            (
                serde_json::json!({"symbols": ["A"], "strategy": {"kind": "sma_cross"}, "sweep": {"grid": {"fast": [60]}}}),
                "sweep.grid",
            ),
            (
                serde_json::json!({"symbols": ["A"], "strategy": {"kind": "sma_cross"}, "sweep": {"grid": {"fast": [5]}, "rank_by": "luck"}}),
                "sweep.rank_by",
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(field(&payload(body.clone())), expected, "{body}");
        }
    }
}
