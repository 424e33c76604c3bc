//! Backtest jobs: load each asset's candles, make the walk-forward forecasts a model
//! strategy reads (through the device's batcher), align the assets on shared bar
//! times, simulate (one point or a sweep over the machine's cores, off the async
//! runtime), then store the summary JSON and the equity, trades (and sweep) Parquet in
//! the object store and record the summary as the job's result.

use std::{collections::BTreeMap, sync::Arc};

use crate::error::Error as SharedError;
use bytes::Bytes;
use chrono::Duration;
use kronos_backtest::{
    align::align,
    engine::Simulation,
    payload::BacktestPayload,
    performance::Metrics,
    report,
    summary::{BacktestSummary, ModelUse, SweepSummary},
    sweep,
    sweep::SweepPoint,
    Bars, Series,
};
use kronos_db::{artifacts, candles, jobs::Claimed};
use kronos_storage::{BacktestFile, StorageKey};
use kronos_types::Candle;

use super::{JobFailure, Outcome};
use crate::{
    backtest::walk_forward::{self, Plan, Stopped},
    pool::PoolContext,
    progress::{Progress, Reporter},
};

/// What the simulation produced.
struct Outputs {
    series: Vec<Series>,
    sim: Simulation,
    metrics: Metrics,
    strategy: String,
    sweep: Option<(Vec<SweepPoint>, usize)>,
}

/// Runs one claimed backtest job.
pub async fn run(ctx: &PoolContext, job: &Claimed) -> Result<Outcome, JobFailure> {
    let payload: BacktestPayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobFailure::permanent(format!("unreadable backtest payload: {e}")))?;
    let (strategies, skipped) = payload.validate()?;
    if payload.asset_ids.len() != payload.symbols.len() {
        return Err(JobFailure::permanent("the payload's assets were not resolved"));
    }
    let progress = Arc::new(Progress::default());
    let _reporter = Reporter::start(ctx.pool.clone(), job.id, job.attempts, Arc::clone(&progress));
    progress.stage("loading", payload.symbols.len());
    let mut loaded = Vec::with_capacity(payload.symbols.len());
    for i in 0..payload.symbols.len() {
        loaded.push(load(ctx, &payload, i).await?);
        progress.advance();
    }
    if let Some(settings) = &payload.model {
        let total = loaded.iter().map(|(c, first)| walk_forward::windows(settings, c.len(), *first).len()).sum();
        progress.stage("forecasting", total);
    }
    let mut series = Vec::with_capacity(loaded.len());
    let mut failed_windows = 0;
    for (i, (symbol, (candles, first))) in payload.symbols.iter().zip(loaded).enumerate() {
        let forecasts = match &payload.model {
            None => None,
            Some(settings) => {
                let calendar = payload.calendars.get(i).copied().unwrap_or_default();
                let plan = Plan { settings, interval: payload.interval, calendar };
                match walk_forward::forecasts(ctx, plan, &candles, first, &progress).await {
                    Ok((f, failed)) => {
                        failed_windows += failed;
                        Some(f)
                    }
                    Err(Stopped::Cancelled) => return super::end_unowned(ctx, job).await,
                    Err(Stopped::Failed(f)) => return Err(f),
                }
            }
        };
        let bars = Bars::from_candles(&candles[first..]);
        series.push(Series { symbol: symbol.clone(), bars, forecasts });
    }
    if progress.cancelled() {
        return super::end_unowned(ctx, job).await;
    }
    progress.stage("simulating", strategies.len());
    let run_payload = payload.clone();
    let counter = Arc::clone(&progress);
    let outputs = tokio::task::spawn_blocking(move || simulate(run_payload, series, strategies, skipped, &counter))
        .await
        .map_err(|e| JobFailure::transient(format!("the simulation stopped: {e}")))??;
    progress.stage("storing", 1);
    let summary = store(ctx, job, &payload, &outputs, failed_windows).await?;
    super::succeed_with(ctx, job, &summary).await
}

/// Asset `i`'s candles in the payload's range, preceded by the `context + every − 2`
/// earlier ones a model's first forecasts need; the index of the first traded bar.
async fn load(ctx: &PoolContext, payload: &BacktestPayload, i: usize) -> Result<(Vec<Candle>, usize), JobFailure> {
    let (asset_id, symbol, interval) = (payload.asset_ids[i], &payload.symbols[i], payload.interval);
    let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
    let range = candles::range(&mut conn, asset_id, interval, payload.from, payload.to, i64::MAX).await?;
    let Some(first) = range.first() else {
        return Err(JobFailure::permanent(format!("symbols[{i}]: {symbol} has no {interval} candles in the range")));
    };
    // the first traded bar has a forecast: one made at it or, every N bars, up to N − 1 before
    let earlier = payload.model.as_ref().map_or(0, |m| m.context.saturating_sub(1) + m.every - 1) as i64;
    if earlier == 0 {
        return Ok((range, 0));
    }
    let mut candles =
        candles::range(&mut conn, asset_id, interval, None, Some(first.ts - Duration::seconds(1)), earlier).await?;
    let first = candles.len();
    candles.extend(range);
    Ok((candles, first))
}

/// Aligns the assets and runs the strategy (or the sweep, then its best point again
/// for the curve and the trades).
fn simulate(
    payload: BacktestPayload,
    series: Vec<Series>,
    strategies: Vec<kronos_backtest::strategy::Strategy>,
    skipped: usize,
    progress: &Progress,
) -> Result<Outputs, JobFailure> {
    let series = align(series)?;
    let periods = payload.periods_per_year.unwrap_or(252.0);
    let (best, sweep) = match &payload.sweep {
        None => (payload.strategy.clone(), None),
        Some(spec) => {
            let rank_by = spec.rank_by.parse()?;
            let ranked = sweep::run(&series, &strategies, &payload.engine, periods, rank_by, Some(progress.counter()))?;
            let best = ranked
                .first()
                .and_then(|p| strategies.iter().find(|s| s.describe() == p.strategy))
                .cloned()
                .ok_or_else(|| JobFailure::permanent("the sweep ranked nothing"))?;
            (best, Some((ranked, skipped)))
        }
    };
    let (sim, metrics) = kronos_backtest::evaluate(&series, &best, &payload.engine, periods)?;
    Ok(Outputs { series, sim, metrics, strategy: best.describe(), sweep })
}

/// Writes the Parquet tables and the summary; returns the summary.
async fn store(
    ctx: &PoolContext,
    job: &Claimed,
    payload: &BacktestPayload,
    out: &Outputs,
    failed_windows: usize,
) -> Result<BacktestSummary, JobFailure> {
    let mut tables = vec![
        (BacktestFile::Equity, report::equity_frame(&out.sim, &out.series)?),
        (BacktestFile::Trades, report::trades_frame(&out.sim, &out.series)?),
    ];
    if let Some((points, _)) = &out.sweep {
        tables.push((BacktestFile::Sweep, report::sweep_frame(points)?));
    }
    let mut artifacts = BTreeMap::new();
    for (file, mut frame) in tables {
        let bytes = report::parquet_bytes(&mut frame)?;
        let key = put(ctx, job, file, bytes, report::PARQUET_CONTENT_TYPE).await?;
        artifacts.insert(file.name().to_owned(), key);
    }
    let summary_key = StorageKey::BacktestFile { job_id: job.id, file: BacktestFile::Summary }.path();
    artifacts.insert(BacktestFile::Summary.name().to_owned(), summary_key);
    let bars = &out.series[0].bars;
    let model = payload.model.as_ref().map(|settings| ModelUse {
        settings: settings.clone(),
        bars_with_forecast: out
            .series
            .iter()
            .filter_map(|s| s.forecasts.as_ref())
            .map(|f| f.prob_up.iter().filter(|p| !p.is_nan()).count())
            .sum(),
        failed_windows,
    });
    let sweep = match (&out.sweep, &payload.sweep) {
        (Some((points, skipped)), Some(spec)) => Some(SweepSummary {
            points: points.len(),
            skipped: *skipped,
            rank_by: spec.rank_by.clone(),
            top: points.iter().take(spec.top).cloned().collect(),
        }),
        _ => None,
    };
    let summary = BacktestSummary {
        symbols: out.series.iter().map(|s| s.symbol.clone()).collect(),
        interval: payload.interval,
        bars: bars.len(),
        first_bar: chrono::DateTime::from_timestamp(bars.time.first().copied().unwrap_or_default(), 0),
        last_bar: chrono::DateTime::from_timestamp(bars.time.last().copied().unwrap_or_default(), 0),
        strategy: out.strategy.clone(),
        engine: payload.engine,
        periods_per_year: out.metrics.periods_per_year,
        metrics: out.metrics.clone(),
        trades: out.sim.trades.len(),
        model,
        sweep,
        artifacts,
    };
    let body = serde_json::to_vec(&summary).map_err(SharedError::from)?;
    put(ctx, job, BacktestFile::Summary, body, "application/json").await?;
    Ok(summary)
}

async fn put(
    ctx: &PoolContext,
    job: &Claimed,
    file: BacktestFile,
    bytes: Vec<u8>,
    content_type: &str,
) -> Result<String, JobFailure> {
    let stored = ctx.storage.put(&StorageKey::BacktestFile { job_id: job.id, file }, Bytes::from(bytes)).await?;
    let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
    artifacts::upsert(
        &mut conn,
        &artifacts::NewArtifact {
            key: stored.key.clone(),
            job_id: Some(job.id),
            kind: format!("backtest_{}", file.name()),
            content_type: content_type.into(),
            size_bytes: stored.size,
            sha256: stored.sha256,
        },
    )
    .await?;
    Ok(stored.key)
}
