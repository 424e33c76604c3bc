//! `kronos candles export|resample`: stored candles out to files, and coarser
//! intervals derived from finer ones.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use kronos_config::Config;
use kronos_db::{assets, candles};
use kronos_market_data::{frame::candles_frame, resample::resample};
use kronos_types::{Candle, Interval};
use polars::prelude::*;

/// `kronos candles …`.
#[derive(Debug, Subcommand)]
pub enum CandlesCommand {
    /// Write stored candles to CSV or Parquet.
    Export(ExportArgs),
    /// Build and store coarser candles from finer stored ones.
    Resample(ResampleArgs),
}

/// Arguments of `kronos candles export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Asset symbol.
    #[arg(long)]
    symbol: String,
    /// Interval.
    #[arg(long)]
    interval: String,
    /// `csv` or `parquet` (default: from the file extension).
    #[arg(long)]
    format: Option<String>,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
}

/// Arguments of `kronos candles resample`.
#[derive(Debug, Args)]
pub struct ResampleArgs {
    /// Asset symbol.
    #[arg(long)]
    symbol: String,
    /// Interval of the stored candles read.
    #[arg(long)]
    from_interval: String,
    /// Interval written (a whole multiple of --from-interval).
    #[arg(long)]
    to_interval: String,
}

/// Most candles read at once.
const MAX_ROWS: i64 = 10_000_000;

/// Runs a candles command.
pub async fn run(config: &Config, command: CandlesCommand) -> anyhow::Result<()> {
    let pool = kronos_db::pool(&config.database_url, 2)?;
    let mut conn = pool.get().await?;
    match command {
        CandlesCommand::Export(args) => {
            let interval: Interval = args.interval.parse()?;
            let format = match args.format.as_deref() {
                Some(f) => f.to_owned(),
                None => args.out.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase(),
            };
            if !["csv", "parquet"].contains(&format.as_str()) {
                bail!("--format must be csv or parquet (or give --out a .csv/.parquet name)");
            }
            let asset = assets::find_by_symbol(&mut conn, &args.symbol)
                .await?
                .with_context(|| format!("--symbol: unknown symbol {:?}", args.symbol))?;
            let rows = candles::latest(&mut conn, asset.id, interval, MAX_ROWS).await?;
            let mut frame = to_frame(&rows)?;
            let mut file = std::fs::File::create(&args.out).with_context(|| format!("--out {}", args.out.display()))?;
            if format == "csv" {
                CsvWriter::new(&mut file).include_header(true).finish(&mut frame)?;
            } else {
                ParquetWriter::new(&mut file).finish(&mut frame)?;
            }
            println!("{} {interval}: {} candles written to {}", asset.symbol, rows.len(), args.out.display());
            Ok(())
        }
        CandlesCommand::Resample(args) => {
            let from: Interval = args.from_interval.parse()?;
            let to: Interval = args.to_interval.parse()?;
            let asset = assets::find_by_symbol(&mut conn, &args.symbol)
                .await?
                .with_context(|| format!("--symbol: unknown symbol {:?}", args.symbol))?;
            let rows = candles::latest(&mut conn, asset.id, from, MAX_ROWS).await?;
            let bars = resample(&rows, from, to)?;
            let written = candles::upsert(&mut conn, asset.id, to, &bars, "resample").await?;
            println!(
                "{} {from} → {to}: {} bars from {} candles ({written} stored)",
                asset.symbol,
                bars.len(),
                rows.len()
            );
            Ok(())
        }
    }
}

fn to_frame(rows: &[Candle]) -> anyhow::Result<DataFrame> {
    let frame = candles_frame(rows)?;
    Ok(frame
        .lazy()
        .with_column(
            col("ts").cast(DataType::Datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC))).alias("timestamps"),
        )
        .select([col("timestamps"), col("open"), col("high"), col("low"), col("close"), col("volume"), col("amount")])
        .collect()?)
}
