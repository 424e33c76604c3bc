//! A backtest's tables as Parquet (polars): the equity curve, the trade list and a
//! sweep's ranking, for clients that chart or analyse them.

use polars::prelude::*;

use super::{
    engine::{Direction, ExitReason, Simulation},
    performance::{benchmark_value, Metrics},
    sweep::SweepPoint,
    Series,
};
use crate::error::Result;

/// Parquet's MIME type.
pub const PARQUET_CONTENT_TYPE: &str = "application/vnd.apache.parquet";

fn datetime(name: &str, seconds: impl Iterator<Item = Option<i64>>) -> Result<Column> {
    let ms: Vec<Option<i64>> = seconds.map(|s| s.map(|s| s * 1000)).collect();
    Ok(Column::new(name.into(), ms).cast(&DataType::Datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC)))?)
}

/// One row per bar: `time`, `equity`, `cash`, `gross_exposure`, `drawdown` (equity /
/// running peak − 1) and `benchmark_equity` (equal-weight buy-and-hold of the same
/// starting cash); for model strategies also what the model said at each bar,
/// `prob_up` and `expected_return` (suffixed `_{symbol}` in a portfolio).
pub fn equity_frame(sim: &Simulation, series: &[Series]) -> Result<DataFrame> {
    let times = series.first().map(|s| s.bars.time.clone()).unwrap_or_default();
    let bars: Vec<&super::Bars> = series.iter().map(|s| &s.bars).collect();
    let benchmark: Vec<f64> = benchmark_value(&bars).iter().map(|v| v * sim.init_cash).collect();
    let mut peak = sim.init_cash;
    let drawdown: Vec<f64> = sim
        .equity
        .iter()
        .map(|e| {
            peak = peak.max(*e);
            e / peak - 1.0
        })
        .collect();
    let mut columns = vec![
        datetime("time", times.into_iter().map(Some))?,
        Column::new("equity".into(), &sim.equity),
        Column::new("cash".into(), &sim.cash),
        Column::new("gross_exposure".into(), &sim.gross_exposure),
        Column::new("drawdown".into(), drawdown),
        Column::new("benchmark_equity".into(), benchmark),
    ];
    for s in series {
        if let Some(f) = &s.forecasts {
            let suffix = if series.len() > 1 { format!("_{}", s.symbol) } else { String::new() };
            columns.push(Column::new(format!("prob_up{suffix}").into(), &f.prob_up));
            columns.push(Column::new(format!("expected_return{suffix}").into(), &f.expected_return));
        }
    }
    Ok(DataFrame::new(columns)?)
}

/// One row per trade, in entry order; open trades have no exit time or reason, and
/// their P&L is marked at the last close.
pub fn trades_frame(sim: &Simulation, series: &[Series]) -> Result<DataFrame> {
    let t = &sim.trades;
    let f = |get: fn(&super::engine::Trade) -> f64| t.iter().map(get).collect::<Vec<f64>>();
    let symbol: Vec<&str> = t.iter().map(|x| series.get(x.asset).map_or("", |s| s.symbol.as_str())).collect();
    let direction: Vec<&str> =
        t.iter().map(|x| if x.direction == Direction::Long { "long" } else { "short" }).collect();
    let reason: Vec<Option<&str>> = t.iter().map(|x| x.exit_reason.map(ExitReason::as_str)).collect();
    Ok(DataFrame::new(vec![
        Column::new("symbol".into(), symbol),
        Column::new("direction".into(), direction),
        Column::new("size".into(), f(|x| x.size)),
        datetime("entry_time", t.iter().map(|x| Some(x.entry_time)))?,
        Column::new("entry_price".into(), f(|x| x.entry_price)),
        Column::new("entry_fees".into(), f(|x| x.entry_fees)),
        datetime("exit_time", t.iter().map(|x| x.exit_time))?,
        Column::new("exit_price".into(), f(|x| x.exit_price)),
        Column::new("exit_fees".into(), f(|x| x.exit_fees)),
        Column::new("pnl".into(), f(|x| x.pnl)),
        Column::new("return_fraction".into(), f(|x| x.return_fraction)),
        Column::new("exit_reason".into(), reason),
    ])?)
}

/// One row per grid point, best first: `rank`, `strategy` and every metric.
pub fn sweep_frame(points: &[SweepPoint]) -> Result<DataFrame> {
    let m = |get: fn(&Metrics) -> f64| points.iter().map(|p| get(&p.metrics)).collect::<Vec<f64>>();
    let u = |get: fn(&Metrics) -> usize| points.iter().map(|p| get(&p.metrics) as u64).collect::<Vec<u64>>();
    Ok(DataFrame::new(vec![
        Column::new("rank".into(), points.iter().map(|p| p.rank as u64).collect::<Vec<_>>()),
        Column::new("strategy".into(), points.iter().map(|p| p.strategy.as_str()).collect::<Vec<_>>()),
        Column::new("final_equity".into(), m(|x| x.final_equity)),
        Column::new("total_return".into(), m(|x| x.total_return)),
        Column::new("cagr".into(), m(|x| x.cagr)),
        Column::new("volatility".into(), m(|x| x.volatility)),
        Column::new("sharpe".into(), m(|x| x.sharpe)),
        Column::new("sortino".into(), m(|x| x.sortino)),
        Column::new("calmar".into(), m(|x| x.calmar)),
        Column::new("max_drawdown".into(), m(|x| x.max_drawdown)),
        Column::new("max_drawdown_bars".into(), u(|x| x.max_drawdown_bars)),
        Column::new("win_rate".into(), m(|x| x.win_rate)),
        Column::new("profit_factor".into(), m(|x| x.profit_factor)),
        Column::new("expectancy".into(), m(|x| x.expectancy)),
        Column::new("exposure".into(), m(|x| x.exposure)),
        Column::new("trades_closed".into(), u(|x| x.trades_closed)),
        Column::new("trades_open".into(), u(|x| x.trades_open)),
        Column::new("total_fees".into(), m(|x| x.total_fees)),
        Column::new("benchmark_return".into(), m(|x| x.benchmark_return)),
        Column::new("alpha".into(), m(|x| x.alpha)),
        Column::new("beta".into(), m(|x| x.beta)),
    ])?)
}

/// The frame as Parquet bytes (zstd).
pub fn parquet_bytes(frame: &mut DataFrame) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    ParquetWriter::new(&mut out).with_compression(ParquetCompression::Zstd(None)).finish(frame)?;
    Ok(out)
}

/// Reads Parquet bytes back into a frame.
pub fn read_parquet(bytes: Vec<u8>) -> Result<DataFrame> {
    Ok(ParquetReader::new(std::io::Cursor::new(bytes)).finish()?)
}

/// A frame as an array of row objects (times as RFC 3339): the JSON form of the
/// tables, shared by the API and `kronos backtest --json`.
pub fn json_rows(frame: &DataFrame) -> serde_json::Value {
    let columns = frame.get_columns();
    let out: Vec<serde_json::Value> = (0..frame.height())
        .map(|i| {
            let mut row = serde_json::Map::with_capacity(columns.len());
            for column in columns {
                let value = match column.get(i) {
                    Ok(AnyValue::Float64(v)) => {
                        serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number)
                    }
                    Ok(AnyValue::UInt64(v)) => serde_json::Value::from(v),
                    Ok(AnyValue::Int64(v)) => serde_json::Value::from(v),
                    Ok(AnyValue::String(s)) => serde_json::Value::from(s),
                    Ok(AnyValue::StringOwned(s)) => serde_json::Value::from(s.as_str()),
                    Ok(AnyValue::Datetime(ms, _, _)) | Ok(AnyValue::DatetimeOwned(ms, _, _)) => {
                        chrono::DateTime::from_timestamp_millis(ms)
                            .map_or(serde_json::Value::Null, |t| serde_json::Value::from(kronos_types::rfc3339(t)))
                    }
                    _ => serde_json::Value::Null,
                };
                row.insert(column.name().to_string(), value);
            }
            serde_json::Value::Object(row)
        })
        .collect();
    serde_json::Value::Array(out)
}
