//! `kronos quality --symbol S --interval I [--json]`: the data-quality report.

use anyhow::Context;
use clap::Args;
use kronos_config::Config;
use kronos_db::{assets, quality};
use kronos_market_data::quality::SeriesQuality;
use kronos_types::{rfc3339, Interval};

/// Arguments of `kronos quality`.
#[derive(Debug, Args)]
pub struct QualityArgs {
    /// Asset symbol.
    #[arg(long)]
    symbol: String,
    /// Interval.
    #[arg(long)]
    interval: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Prints the report.
pub async fn run(config: &Config, args: QualityArgs) -> anyhow::Result<()> {
    let interval: Interval = args.interval.parse()?;
    let pool = kronos_db::pool(&config.database_url, 2)?;
    let mut conn = pool.get().await?;
    let asset = assets::find_by_symbol(&mut conn, &args.symbol)
        .await?
        .with_context(|| format!("--symbol: unknown symbol {:?}", args.symbol))?;
    let stored = quality::inputs(&mut conn, &asset, interval).await?;
    let q = SeriesQuality::build(&asset.symbol, interval, asset.calendar(), &stored.bars, stored.quarantined);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&q)?);
        return Ok(());
    }
    let r = &q.report;
    println!("{} {} ({:?} calendar): {} bars", q.symbol, q.interval, r.calendar, r.candles);
    if let (Some(first), Some(last)) = (r.first, r.last) {
        println!("  from {} to {}", rfc3339(first), rfc3339(last));
    }
    println!("  gaps: {} ({} missing bars)", r.gap_count, r.missing_bars);
    for g in r.gaps.iter().take(10) {
        println!("    {} missing between {} and {}", g.missing, rfc3339(g.after), rfc3339(g.before));
    }
    println!("  return outliers (|robust z| > {}): {}", kronos_market_data::quality::OUTLIER_Z, r.outlier_count);
    for o in r.outliers.iter().take(10) {
        println!("    {} log return {:+.4} (z {:+.1})", rfc3339(o.ts), o.log_return, o.robust_z);
    }
    println!("  stale runs: {}", r.stale_run_count);
    for s in r.stale_runs.iter().take(10) {
        println!("    {} identical bars from {} to {}", s.bars, rfc3339(s.from), rfc3339(s.to));
    }
    println!("  stored rows breaking candle rules: {}", r.invalid_rows);
    println!("  quarantined on the way in: {}", q.quarantined.values().sum::<i64>());
    for (reason, n) in &q.quarantined {
        println!("    {n} × {reason}");
    }
    Ok(())
}
