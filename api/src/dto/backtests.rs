//! `POST /v1/backtests`.

use chrono::{DateTime, Utc};
use kronos_backtest::{
    engine::EngineConfig,
    payload::{BacktestPayload, SweepSpec},
    strategy::Strategy,
};
use kronos_types::Interval;
use serde::Deserialize;
use utoipa::ToSchema;

use super::walk_forward::ModelSettingsRequest;

/// A backtest: assets, bars, a strategy (or a grid of strategies), engine settings
/// and, for a model strategy, the model and how it forecasts walk-forward.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "symbols": ["AAPL"], "interval": "1d", "from": "2010-01-01", "to": "2012-12-31",
    "strategy": {"kind": "sma_cross", "fast": 10, "slow": 50},
    "engine": {"init_cash": 10000, "fee": 0.001}
}))]
pub struct CreateBacktest {
    /// Assets (1–50); several make a portfolio sharing one cash balance, traded on the
    /// bar times they share.
    pub symbols: Vec<String>,
    /// Candle interval (default `1d`).
    pub interval: Option<Interval>,
    /// First bar traded (RFC 3339, `YYYY-MM-DD` or Unix seconds; default: all history).
    #[serde(default, deserialize_with = "kronos_types::time::optional")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub from: Option<DateTime<Utc>>,
    /// Last bar traded (default: the latest).
    #[serde(default, deserialize_with = "kronos_types::time::optional")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub to: Option<DateTime<Utc>>,
    /// The strategy (the base point of a sweep).
    pub strategy: Strategy,
    /// How a model strategy's forecasts are made (required by, and only by, it).
    pub model: Option<ModelSettingsRequest>,
    /// Engine settings (default: 10,000 cash, no fees, fills at the next open).
    #[serde(default)]
    pub engine: EngineConfig,
    /// Bars per year for annualising (default: 252 trading days for stocks, 365 days
    /// when every asset trades around the clock).
    pub periods_per_year: Option<f64>,
    /// Run a grid of the strategy's parameters instead of one point.
    pub sweep: Option<SweepSpec>,
}

impl CreateBacktest {
    /// The job's payload, before the handler resolves assets, calendars, the model's
    /// registry id and the annualisation.
    pub fn into_payload(self) -> BacktestPayload {
        BacktestPayload {
            symbols: self.symbols,
            asset_ids: Vec::new(),
            calendars: Vec::new(),
            interval: self.interval.unwrap_or(Interval::D1),
            from: self.from,
            to: self.to,
            strategy: self.strategy,
            model: self.model.map(ModelSettingsRequest::into_settings),
            engine: self.engine,
            periods_per_year: self.periods_per_year,
            sweep: self.sweep,
        }
    }
}
