//! Data-quality report of a stored series: gaps against the asset's calendar, return
//! outliers by robust z-score, stale runs of identical bars, and rows that break the
//! candle rules (which import and refresh quarantine, so stored rows should have none).
//!
//! Gaps are the bars the asset's [`Calendar`] expects between two stored bars (see
//! `calendar`: crypto every bar; US stocks and indices their weekday session; FX its
//! week; other stocks weekdays, intraday gaps within a day only). Exchange holidays
//! show up as one-bar gaps.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use kronos_types::Calendar;
use kronos_types::{Candle, Interval};

/// Robust z-score beyond which a return is reported.
pub const OUTLIER_Z: f64 = 8.0;

/// Identical consecutive bars from which a run is reported.
pub const STALE_RUN: usize = 5;

/// Most items listed per category (counts are always complete).
pub const MAX_LISTED: usize = 100;

/// Missing bars between two stored ones.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Gap {
    /// Last bar before the gap.
    pub after: DateTime<Utc>,
    /// First bar after it.
    pub before: DateTime<Utc>,
    /// Bars the calendar expects in between.
    pub missing: i64,
}

/// A return far from the series' typical returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Outlier {
    /// Bar whose close-to-close log return it is.
    pub ts: DateTime<Utc>,
    /// The log return.
    pub log_return: f64,
    /// `0.6745 (r − median) / MAD`.
    pub robust_z: f64,
}

/// Consecutive identical bars (same OHLCV), typical of a feed that stopped updating.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StaleRun {
    /// First bar of the run.
    pub from: DateTime<Utc>,
    /// Last bar.
    pub to: DateTime<Utc>,
    /// Bars in the run.
    pub bars: usize,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QualityReport {
    /// Calendar used for gaps.
    pub calendar: Calendar,
    /// Stored bars.
    pub candles: usize,
    /// First bar.
    pub first: Option<DateTime<Utc>>,
    /// Last bar.
    pub last: Option<DateTime<Utc>>,
    /// Bars the calendar expected but are missing, in total.
    pub missing_bars: i64,
    /// The gaps (first `MAX_LISTED`).
    pub gaps: Vec<Gap>,
    /// Gaps in total.
    pub gap_count: usize,
    /// Return outliers (first `MAX_LISTED`).
    pub outliers: Vec<Outlier>,
    /// Outliers in total.
    pub outlier_count: usize,
    /// Stale runs (first `MAX_LISTED`).
    pub stale_runs: Vec<StaleRun>,
    /// Stale runs in total.
    pub stale_run_count: usize,
    /// Stored bars that break the candle rules (OHLC consistency, positive prices).
    pub invalid_rows: usize,
}

/// Analyses `candles` (oldest first, unique times).
pub fn analyse(candles: &[Candle], interval: Interval, calendar: Calendar) -> QualityReport {
    let gaps = find_gaps(candles, interval, calendar);
    let outliers = find_outliers(candles);
    let stale = find_stale_runs(candles);
    QualityReport {
        calendar,
        candles: candles.len(),
        first: candles.first().map(|c| c.ts),
        last: candles.last().map(|c| c.ts),
        missing_bars: gaps.iter().map(|g| g.missing).sum(),
        gap_count: gaps.len(),
        gaps: gaps.into_iter().take(MAX_LISTED).collect(),
        outlier_count: outliers.len(),
        outliers: outliers.into_iter().take(MAX_LISTED).collect(),
        stale_run_count: stale.len(),
        stale_runs: stale.into_iter().take(MAX_LISTED).collect(),
        invalid_rows: candles.iter().filter(|c| c.validation_error().is_some()).count(),
    }
}

fn find_gaps(candles: &[Candle], interval: Interval, calendar: Calendar) -> Vec<Gap> {
    candles
        .windows(2)
        .filter_map(|w| {
            let (a, b) = (w[0].ts, w[1].ts);
            let missing = calendar.bars_between(interval, a, b);
            (missing > 0).then_some(Gap { after: a, before: b, missing })
        })
        .collect()
}

/// Median by selection (linear time; reorders `values`). `values` is not empty.
fn median(values: &mut [f64]) -> f64 {
    let n = values.len();
    let (lower, upper, _) = values.select_nth_unstable_by(n / 2, f64::total_cmp);
    if n % 2 == 1 {
        *upper
    } else {
        // the other middle value is the largest of the lower part
        let below = lower.iter().copied().max_by(f64::total_cmp).unwrap_or(*upper);
        (below + *upper) / 2.0
    }
}

fn find_outliers(candles: &[Candle]) -> Vec<Outlier> {
    let returns: Vec<(DateTime<Utc>, f64)> = candles
        .windows(2)
        .filter(|w| w[0].close > 0.0 && w[1].close > 0.0)
        .map(|w| (w[1].ts, (w[1].close / w[0].close).ln()))
        .collect();
    if returns.len() < 10 {
        return Vec::new();
    }
    let mut values: Vec<f64> = returns.iter().map(|r| r.1).collect();
    let m = median(&mut values);
    let mut deviations: Vec<f64> = values.iter().map(|r| (r - m).abs()).collect();
    let mad = median(&mut deviations);
    if mad <= 0.0 {
        // over half the returns are identical: any other return is an outlier only if large
        return Vec::new();
    }
    returns
        .into_iter()
        .map(|(ts, r)| Outlier { ts, log_return: r, robust_z: 0.6745 * (r - m) / mad })
        .filter(|o| o.robust_z.abs() > OUTLIER_Z)
        .collect()
}

fn same_bar(a: &Candle, b: &Candle) -> bool {
    a.open == b.open && a.high == b.high && a.low == b.low && a.close == b.close && a.volume == b.volume
}

fn find_stale_runs(candles: &[Candle]) -> Vec<StaleRun> {
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 1..=candles.len() {
        if i == candles.len() || !same_bar(&candles[i], &candles[start]) {
            let bars = i - start;
            if bars >= STALE_RUN {
                runs.push(StaleRun { from: candles[start].ts, to: candles[i - 1].ts, bars });
            }
            start = i;
        }
    }
    runs
}

/// The data-quality report of a stored series: the analysis of its candles plus what
/// was quarantined on the way in.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeriesQuality {
    /// Asset symbol.
    pub symbol: String,
    /// Interval.
    pub interval: String,
    /// The analysis of the stored bars.
    #[serde(flatten)]
    pub report: QualityReport,
    /// Rows refused on import or refresh, by reason.
    pub quarantined: BTreeMap<String, i64>,
}

impl SeriesQuality {
    /// Analyses `bars` (the series' latest bars, oldest first) on `calendar`.
    pub fn build(
        symbol: &str,
        interval: Interval,
        calendar: Calendar,
        bars: &[Candle],
        quarantined: impl IntoIterator<Item = (String, i64)>,
    ) -> Self {
        Self {
            symbol: symbol.to_owned(),
            interval: interval.as_str().to_owned(),
            report: analyse(bars, interval, calendar),
            quarantined: quarantined.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    #[test]
    fn median_by_selection_matches_sorting() {
        let mut state = 7u64;
        for n in [1usize, 2, 3, 10, 11, 1000, 1001] {
            let mut values: Vec<f64> = (0..n)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
                })
                .collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let want = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
            assert_eq!(median(&mut values), want, "n = {n}");
        }
    }

    fn bar(ts: DateTime<Utc>, close: f64) -> Candle {
        Candle { ts, open: close, high: close * 1.01, low: close * 0.99, close, volume: 10.0, amount: 0.0 }
    }

    /// A random walk with returns uniform in ±1 %.
    fn walk(start: DateTime<Utc>, step: Duration, n: usize) -> Vec<Candle> {
        let mut state = 7u64;
        let mut close = 100.0;
        (0..n)
            .map(|i| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                close *= 1.0 + ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.02;
                bar(start + step * i as i32, close)
            })
            .collect()
    }

    #[test]
    fn crypto_gaps_count_every_missing_bar() {
        let start = Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap();
        let mut bars = walk(start, Duration::hours(1), 48);
        bars.drain(10..13); // three missing hours
        let report = analyse(&bars, Interval::H1, Calendar::AlwaysOpen);
        assert_eq!(report.gap_count, 1);
        assert_eq!(report.missing_bars, 3);
        assert_eq!(report.gaps[0].after, start + Duration::hours(9));
    }

    #[test]
    fn stock_gaps_skip_weekends_and_nights() {
        // 2024-03-01 is a Friday: Fri, Mon, Tue, (Wed missing), Thu
        let d = |day| Utc.with_ymd_and_hms(2024, 3, day, 0, 0, 0).unwrap();
        let daily: Vec<Candle> = [1, 4, 5, 7].iter().map(|&day| bar(d(day), 100.0)).collect();
        let report = analyse(&daily, Interval::D1, Calendar::Weekdays);
        assert_eq!((report.gap_count, report.missing_bars), (1, 1));
        assert_eq!(report.gaps[0].after, d(5));
        // intraday: overnight is not a gap, a missing hour within the day is
        let h = |day, hour| Utc.with_ymd_and_hms(2024, 3, day, hour, 0, 0).unwrap();
        let hourly: Vec<Candle> = [h(4, 14), h(4, 15), h(5, 14), h(5, 16)].iter().map(|&t| bar(t, 100.0)).collect();
        let report = analyse(&hourly, Interval::H1, Calendar::Weekdays);
        assert_eq!((report.gap_count, report.missing_bars), (1, 1));
        assert_eq!(report.gaps[0].after, h(5, 14));
    }

    #[test]
    fn outliers_and_stale_runs_are_found() {
        let start = Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap();
        let mut bars = walk(start, Duration::hours(1), 200);
        bars[120].close *= 1.5; // a spike up and back down
        let template = bars[149];
        for b in &mut bars[150..158] {
            *b = Candle { ts: b.ts, ..template };
        }
        let report = analyse(&bars, Interval::H1, Calendar::AlwaysOpen);
        let spikes: Vec<DateTime<Utc>> = report.outliers.iter().map(|o| o.ts).collect();
        assert_eq!(spikes, vec![bars[120].ts, bars[121].ts]);
        assert!(report.outliers[0].robust_z > OUTLIER_Z && report.outliers[1].robust_z < -OUTLIER_Z);
        assert_eq!(report.stale_run_count, 1);
        assert_eq!(report.stale_runs[0].bars, 9); // bar 149 and its 8 copies
        assert_eq!(report.invalid_rows, 1); // the spiked close is above its high
    }
}
