//! Incremental refresh of one stored series from the exchanges: fetch pages of bars
//! from the last stored bar (or a backfill start) up to now, check each bar, store the
//! good ones with their source, quarantine the rest with the reason, and report the
//! quality of what arrived. Used by refresh jobs and `kronos backfill`.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use kronos_db::{assets::Asset, candles, quarantine, DbPool, Result};
use kronos_market_data::quality::analyse;
use kronos_types::{Candle, Interval, RejectedRow};

use crate::{aggregator::MarketData, SourceAsset};

/// How far a refresh reaches.
#[derive(Debug, Clone, Copy)]
pub struct RefreshLimits {
    /// Bars fetched when nothing is stored yet and no start is given.
    pub initial_bars: usize,
    /// Bars asked for per request (sources cap it further).
    pub page: usize,
    /// Most requests per series in one refresh.
    pub max_pages: usize,
}

impl Default for RefreshLimits {
    fn default() -> Self {
        Self { initial_bars: 1000, page: 1000, max_pages: 500 }
    }
}

/// Quality of the refreshed window.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WindowQuality {
    /// Gaps against the asset's calendar.
    pub gaps: usize,
    /// Bars missing in those gaps.
    pub missing_bars: i64,
    /// Return outliers (robust z-score).
    pub outliers: usize,
    /// Runs of identical bars.
    pub stale_runs: usize,
}

/// What one series' refresh did.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeriesRefresh {
    /// Asset symbol.
    pub symbol: String,
    /// Interval.
    pub interval: String,
    /// First bar asked for.
    pub since: DateTime<Utc>,
    /// Sources that answered, in order of use.
    pub sources: Vec<String>,
    /// Bars received.
    pub fetched: usize,
    /// Bars stored (new or updated).
    pub stored: usize,
    /// Bars refused and quarantined.
    pub quarantined: usize,
    /// Newest stored bar after the refresh.
    pub last: Option<DateTime<Utc>>,
    /// Quality of the refreshed window.
    pub quality: WindowQuality,
    /// Why the refresh stopped early, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A refresh job's result: every series it refreshed and the totals.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefreshResult {
    /// Interval refreshed.
    pub interval: Interval,
    /// Per series.
    pub series: Vec<SeriesRefresh>,
    /// Series whose refresh stopped with an error.
    pub failed: usize,
    /// Bars stored over every series.
    pub stored: usize,
    /// Bars quarantined over every series.
    pub quarantined: usize,
}

impl RefreshResult {
    /// The totals of `series`.
    pub fn of(interval: Interval, series: Vec<SeriesRefresh>) -> Self {
        Self {
            interval,
            failed: series.iter().filter(|r| r.error.is_some()).count(),
            stored: series.iter().map(|r| r.stored).sum(),
            quarantined: series.iter().map(|r| r.quarantined).sum(),
            series,
        }
    }
}

/// Refreshes `asset`'s `interval` series from `since` (default: after the last stored
/// bar, or `initial_bars` back from now). Failures of every source stop the refresh
/// and are reported in `error`, with whatever was stored before them kept.
pub async fn refresh_series(
    pool: &DbPool,
    market: &MarketData,
    asset: &Asset,
    interval: Interval,
    since: Option<DateTime<Utc>>,
    limits: RefreshLimits,
) -> Result<SeriesRefresh> {
    let step = interval.duration();
    let mut conn = pool.get().await?;
    let last_stored = candles::latest(&mut conn, asset.id, interval, 1).await?.pop().map(|c| c.ts);
    drop(conn);
    let start = since
        .or(last_stored.map(|t| t + step))
        .unwrap_or_else(|| interval.bar_start(Utc::now() - step * limits.initial_bars.min(100_000) as i32));
    let source_asset = SourceAsset::from(asset);
    let mut report = SeriesRefresh {
        symbol: asset.symbol.clone(),
        interval: interval.as_str().to_owned(),
        since: start,
        sources: Vec::new(),
        fetched: 0,
        stored: 0,
        quarantined: 0,
        last: last_stored,
        quality: WindowQuality::default(),
        error: None,
    };
    let mut cursor = start;
    let mut first_stored: Option<DateTime<Utc>> = None;
    for _ in 0..limits.max_pages {
        if cursor + step > Utc::now() {
            break; // the next bar has not closed yet
        }
        let page = match market.candles(&source_asset, interval, Some(cursor), limits.page).await {
            Ok(page) => page,
            Err(e) => {
                report.error = Some(e.to_string());
                break;
            }
        };
        let Some(newest) = page.candles.last().map(|c| c.ts) else { break };
        if !report.sources.contains(&page.source) {
            report.sources.push(page.source.clone());
        }
        report.fetched += page.candles.len();
        let (good, bad) = check(&page.candles, interval, &asset.symbol);
        let mut conn = pool.get().await?;
        report.stored += candles::upsert(&mut conn, asset.id, interval, &good, &page.source).await?;
        report.quarantined += quarantine::insert(&mut conn, &bad, interval, &page.source).await?;
        if let Some(first) = good.first() {
            first_stored.get_or_insert(first.ts);
            report.last = report.last.max(good.last().map(|c| c.ts));
        }
        if newest < cursor {
            break; // no progress: a source ignoring the start time
        }
        cursor = newest + step;
    }
    if let Some(first) = first_stored {
        let mut conn = pool.get().await?;
        // a little history before the window, so its first returns and gaps are seen
        let window = candles::range(&mut conn, asset.id, interval, Some(first - step * 50), None, 200_000).await?;
        let analysis = analyse(&window, interval, asset.calendar());
        let in_window = |t: DateTime<Utc>| t >= first;
        report.quality = WindowQuality {
            gaps: analysis.gaps.iter().filter(|g| in_window(g.before)).count(),
            missing_bars: analysis.gaps.iter().filter(|g| in_window(g.before)).map(|g| g.missing).sum(),
            outliers: analysis.outliers.iter().filter(|o| in_window(o.ts)).count(),
            stale_runs: analysis.stale_runs.iter().filter(|s| in_window(s.to)).count(),
        };
    }
    Ok(report)
}

/// Splits fetched bars into storable ones and refused ones (with the reason): broken
/// OHLC rules or prices, times off the interval's grid, repeated times.
pub fn check(bars: &[Candle], interval: Interval, symbol: &str) -> (Vec<Candle>, Vec<RejectedRow>) {
    let mut good = Vec::with_capacity(bars.len());
    let mut bad = Vec::new();
    let mut seen = HashSet::new();
    for (i, bar) in bars.iter().enumerate() {
        let reason = bar
            .validation_error_for(interval)
            .or_else(|| (!seen.insert(bar.ts)).then(|| format!("duplicate timestamp {}", bar.ts)));
        match reason {
            None => good.push(*bar),
            Some(reason) => bad.push(RejectedRow {
                row: i + 1,
                reason,
                symbol: Some(symbol.to_owned()),
                ts: Some(bar.ts),
                raw: serde_json::to_value(bar).unwrap_or_default(),
            }),
        }
    }
    (good, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(ts: i64, close: f64) -> Candle {
        Candle {
            ts: DateTime::from_timestamp(ts, 0).unwrap(),
            open: close,
            high: close,
            low: close,
            close,
            volume: 1.0,
            amount: close,
        }
    }

    #[test]
    fn bad_bars_are_refused_with_reasons() {
        let mut broken = bar(7200, 10.0);
        broken.low = 11.0;
        let bars = [bar(3600, 10.0), broken, bar(9000, 10.0), bar(3600, 10.0), bar(10_800, -1.0), bar(14_400, 10.0)];
        let (good, bad) = check(&bars, Interval::H1, "BTCUSDT");
        assert_eq!(good.iter().map(|c| c.ts.timestamp()).collect::<Vec<_>>(), [3600, 14_400]);
        let reasons: Vec<&str> = bad.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(reasons.len(), 4);
        assert!(reasons[1].contains("grid") && reasons[2].contains("duplicate"), "{reasons:?}");
        assert!(bad.iter().all(|r| r.symbol.as_deref() == Some("BTCUSDT")));
        // weeks start on Monday 1970-01-05
        assert!(Interval::W1.is_bar_start(DateTime::from_timestamp(4 * 86_400, 0).unwrap()));
        assert!(!Interval::W1.is_bar_start(DateTime::from_timestamp(0, 0).unwrap()));
    }
}
