//! `kronos backfill --symbol S --interval I --from D`: fills a series' history from the
//! exchanges (same checks and quarantine as refresh jobs), in this process.

use anyhow::{bail, Context};
use clap::Args;
use kronos_config::Config;
use kronos_db::assets;
use kronos_exchanges::{aggregator::MarketData, refresh::refresh_series, refresh::RefreshLimits, SourceAsset};
use kronos_types::{rfc3339, Interval};

/// Arguments of `kronos backfill`.
#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// Catalogue symbol (needs a Binance, OKX or CoinGecko id).
    #[arg(long)]
    symbol: String,
    /// Interval: 1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w.
    #[arg(long)]
    interval: String,
    /// First bar: YYYY-MM-DD or RFC 3339.
    #[arg(long)]
    from: String,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs a backfill.
pub async fn run(config: &Config, args: BackfillArgs) -> anyhow::Result<()> {
    let interval: Interval = args.interval.parse().map_err(|e| anyhow::anyhow!("--interval: {e}"))?;
    let from = kronos_market_data::import::parse_time(&args.from)
        .map_err(|e| anyhow::anyhow!("--from {:?}: {e}", args.from))?;
    if from > chrono::Utc::now() {
        bail!("--from {} is in the future", args.from);
    }
    let pool = kronos_db::pool(&config.database_url, 2)?;
    let mut conn = pool.get().await.context("connecting to PostgreSQL")?;
    let Some(asset) = assets::find_by_symbol(&mut conn, &args.symbol).await? else {
        bail!("unknown symbol {:?} (see kronos assets list)", args.symbol);
    };
    drop(conn);
    let market = MarketData::from_config(&config.exchanges, None)?;
    if !market.has_candle_source(&SourceAsset::from(&asset)) {
        bail!("{} has no Binance symbol, OKX instrument or CoinGecko id (see kronos assets add)", asset.symbol);
    }
    let limits = RefreshLimits { max_pages: 1_000_000, ..RefreshLimits::default() };
    let report = refresh_series(&pool, &market, &asset, interval, Some(interval.bar_start(from)), limits).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} {}: {} bars fetched from {}, {} stored, {} quarantined; newest {}",
            report.symbol,
            report.interval,
            report.fetched,
            if report.sources.is_empty() { "no source".to_owned() } else { report.sources.join(", ") },
            report.stored,
            report.quarantined,
            report.last.map_or_else(|| "-".to_owned(), rfc3339),
        );
        let q = &report.quality;
        println!(
            "quality: {} gaps ({} bars missing), {} outliers, {} stale runs",
            q.gaps, q.missing_bars, q.outliers, q.stale_runs
        );
    }
    if let Some(error) = report.error {
        bail!("stopped early: {error}");
    }
    Ok(())
}
