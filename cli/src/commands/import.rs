//! `kronos import --file F [--symbol S] [--interval 1d] [--class stock]`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use kronos_config::Config;
use kronos_db::{assets, candles_bulk, quarantine};
use kronos_market_data::{import::parse_file, quality::analyse};
use kronos_types::{rfc3339, Interval};

/// Arguments of `kronos import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// CSV or Parquet file, optionally gzipped.
    #[arg(long)]
    file: PathBuf,
    /// Symbol of a single-series file (default: the file name's stem, upper-cased).
    /// Files with a Ticker/Symbol column import every series they hold.
    #[arg(long)]
    symbol: Option<String>,
    /// Candle interval of the file.
    #[arg(long, default_value = "1d")]
    interval: String,
    /// Asset class of new assets: stock, crypto, fx or index.
    #[arg(long, default_value = "stock")]
    class: String,
    /// Print at most this many rejected rows.
    #[arg(long, default_value_t = 20)]
    show_rejected: usize,
}

/// Parses the file, upserts its valid candles, reports rejected rows.
pub async fn run(config: &Config, args: ImportArgs) -> anyhow::Result<()> {
    let interval: Interval = args.interval.parse()?;
    if !["stock", "crypto", "fx", "index"].contains(&args.class.as_str()) {
        bail!("--class must be stock, crypto, fx or index (got {:?})", args.class);
    }
    if !args.file.is_file() {
        bail!("--file {}: no such file", args.file.display());
    }
    let default_symbol = args.symbol.clone().or_else(|| {
        let name = args.file.file_name()?.to_str()?;
        Some(name.split('.').next()?.to_ascii_uppercase())
    });
    let started = std::time::Instant::now();
    let mut parsed = parse_file(&args.file, default_symbol.as_deref(), Some(interval))
        .with_context(|| format!("reading {}", args.file.display()))?;
    let pool = kronos_db::pool(&config.database_url, 2)?;
    let mut conn = pool.get().await?;
    let mut stored = 0;
    let parse_secs = started.elapsed().as_secs_f64();
    let store_started = std::time::Instant::now();
    let series_all = std::sync::Arc::new(std::mem::take(&mut parsed.series));
    // each series' asset (created when new) and the calendar its gaps are judged by
    let mut targets = Vec::with_capacity(series_all.len());
    for symbol in series_all.keys() {
        let id = assets::ensure(&mut conn, symbol, &args.class).await?;
        let asset = assets::find(&mut conn, id).await?.with_context(|| format!("asset {symbol} vanished"))?;
        targets.push((id, asset.calendar()));
    }
    // the rest of the checks (gaps, outliers, stale runs of what this file brought) run
    // on another thread while PostgreSQL stores the bars
    let checks = {
        let series_all = std::sync::Arc::clone(&series_all);
        let calendars: Vec<_> = targets.iter().map(|(_, c)| *c).collect();
        tokio::task::spawn_blocking(move || {
            series_all
                .iter()
                .zip(calendars)
                .map(|((symbol, series), calendar)| (symbol.clone(), analyse(series, interval, calendar)))
                .collect::<Vec<_>>()
        })
    };
    for ((symbol, series), (asset_id, _)) in series_all.iter().zip(&targets) {
        let asset_id = *asset_id;
        let n = candles_bulk::upsert(&config.database_url, asset_id, interval, series, "import").await?;
        let first = series.first().map(|c| rfc3339(c.ts)).unwrap_or_default();
        let last = series.last().map(|c| rfc3339(c.ts)).unwrap_or_default();
        println!("{symbol} {interval}: {n} candles stored ({first} .. {last})");
        stored += n;
    }
    let store_secs = store_started.elapsed().as_secs_f64();
    for (symbol, report) in checks.await? {
        println!(
            "{symbol} {interval} quality: {} gaps ({} bars missing), {} outliers, {} stale runs \
             (details: kronos quality --symbol {symbol} --interval {interval})",
            report.gap_count, report.missing_bars, report.outlier_count, report.stale_run_count
        );
    }
    let source = format!("import:{}", args.file.file_name().and_then(|n| n.to_str()).unwrap_or("file"));
    let quarantined = quarantine::insert(&mut conn, &parsed.rejected, interval, &source).await?;
    for r in parsed.rejected.iter().take(args.show_rejected) {
        println!("rejected row {}: {}", r.row, r.reason);
    }
    if parsed.rejected.len() > args.show_rejected {
        println!("… and {} more rejected rows", parsed.rejected.len() - args.show_rejected);
    }
    println!(
        "{} rows read, {stored} stored, {} rejected ({quarantined} kept in candle_quarantine); parsed in {parse_secs:.2} s, stored in {store_secs:.2} s",
        parsed.rows_read,
        parsed.rejected.len()
    );
    if stored == 0 {
        bail!("no valid candles in {}", args.file.display());
    }
    Ok(())
}
