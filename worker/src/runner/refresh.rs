//! Refresh jobs: bring stored series up to date from the exchanges, one asset at a
//! time, recording per-series counts and quality in the job's result.

use crate::error::Error as SharedError;
use kronos_db::{assets, assets::AssetFilter, jobs, jobs::Claimed};
use kronos_exchanges::{
    refresh::{refresh_series, RefreshLimits, RefreshResult},
    SourceAsset,
};
use kronos_types::jobs::payload::RefreshPayload;
use tracing::info;

use super::{JobFailure, Outcome};
use crate::pool::PoolContext;

/// Runs one claimed refresh job. It fails (to be retried) only when every series
/// failed; a series whose sources all failed is reported in the result.
pub async fn run(ctx: &PoolContext, job: &Claimed) -> Result<Outcome, JobFailure> {
    let payload: RefreshPayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobFailure::permanent(format!("unreadable refresh payload: {e}")))?;
    let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
    let targets = if payload.symbols.is_empty() {
        let filter = AssetFilter { active: Some(true), ..AssetFilter::default() };
        assets::list_filtered(&mut conn, &filter)
            .await?
            .into_iter()
            .filter(|a| ctx.market.has_candle_source(&SourceAsset::from(a)))
            .collect()
    } else {
        let mut found = Vec::new();
        for symbol in &payload.symbols {
            match assets::find_by_symbol(&mut conn, symbol).await? {
                Some(asset) => found.push(asset),
                None => return Err(JobFailure::permanent(format!("unknown symbol {symbol:?}"))),
            }
        }
        found
    };
    drop(conn);
    let mut reports = Vec::with_capacity(targets.len());
    for (i, asset) in targets.iter().enumerate() {
        let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
        if jobs::cancel_requested(&mut conn, job.id).await? {
            return super::end_unowned(ctx, job).await;
        }
        drop(conn);
        let report =
            refresh_series(&ctx.pool, &ctx.market, asset, payload.interval, payload.since, RefreshLimits::default())
                .await?;
        info!(symbol = %asset.symbol, interval = %payload.interval, stored = report.stored,
              quarantined = report.quarantined, error = report.error.as_deref().unwrap_or(""), "series refreshed");
        // every refresh: a rule made since the last one reads the latest bar too
        if report.error.is_none() {
            let watched = kronos_notify::alerts::Watched { asset_id: asset.id, symbol: &asset.symbol };
            crate::notices::after_refresh(ctx, watched, payload.interval).await;
        }
        reports.push(report);
        let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
        jobs::set_progress(&mut conn, job.id, job.attempts, (i + 1) as f32 / targets.len() as f32).await?;
    }
    let result = RefreshResult::of(payload.interval, reports);
    if result.failed > 0 && result.failed == result.series.len() {
        let first = result.series[0].error.clone().unwrap_or_default();
        return Err(JobFailure::transient(format!("every series failed to refresh; first: {first}")));
    }
    super::succeed_with(ctx, job, &result).await
}
