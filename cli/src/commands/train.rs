//! `kronos train`: trains Kronos (two stages) or a baseline regressor on stored candles
//! in this process, with a progress bar on stderr, registers the result as a new
//! version (promoted when it beats production on the same validation windows) and
//! prints the final metrics (`--json`: one document on stdout).

use std::{
    io::{IsTerminal, Write},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{anyhow, Context};
use clap::Args;
use kronos_config::Config;
use kronos_market_data::import::parse_time;
use kronos_models::{training::Progress, ComputeDevice};
use kronos_storage::Storage;
use kronos_types::jobs::training::TrainingPayload;
use kronos_worker::{
    model_library::ModelLibrary,
    training::{self, Compute, RunError, RunObserver, TrainingEnv},
};

/// Arguments of `kronos train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Model family: kronos, lstm, gru or transformer.
    #[arg(long, default_value = "kronos")]
    family: String,
    /// Kronos size to train from random weights: mini or small.
    #[arg(long, conflicts_with = "from_model")]
    preset: Option<String>,
    /// Registered model to fine-tune (lineage, lineage@N or version name).
    #[arg(long)]
    from_model: Option<String>,
    /// Lineage the new version joins (default: the starting model's).
    #[arg(long)]
    lineage: Option<String>,
    /// Symbols to train on, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    symbols: Vec<String>,
    /// Candle interval.
    #[arg(long, default_value = "1d")]
    interval: String,
    /// First candle (YYYY-MM-DD or RFC 3339).
    #[arg(long)]
    from: Option<String>,
    /// Last candle.
    #[arg(long)]
    to: Option<String>,
    /// Predictor (or regressor) steps.
    #[arg(long)]
    steps: usize,
    /// Kronos tokenizer steps (default: a quarter of --steps).
    #[arg(long)]
    tokenizer_steps: Option<usize>,
    /// Windows per step.
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// Bars of history per window.
    #[arg(long, default_value_t = 64)]
    lookback: usize,
    /// Bars forecast per window.
    #[arg(long, default_value_t = 8)]
    horizon: usize,
    /// Peak learning rate (predictor or regressor).
    #[arg(long)]
    lr: Option<f64>,
    /// Steps between validation losses.
    #[arg(long, default_value_t = 50)]
    eval_every: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Register the version without promoting it, whatever its metrics.
    #[arg(long)]
    no_promote: bool,
    /// Device: cpu or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Print one JSON document instead of text.
    #[arg(long)]
    json: bool,
}

/// Draws the progress bar (or, without a terminal, a line every 10 %).
struct Bar {
    tty: bool,
    state: Mutex<(Instant, usize)>,
}

impl RunObserver for Bar {
    fn progress(&self, p: &Progress) {
        let Ok(mut state) = self.state.lock() else { return };
        let decile = p.step * 10 / p.total_steps.max(1);
        let due = if self.tty { state.0.elapsed() >= Duration::from_millis(100) } else { decile > state.1 };
        if !due && p.step != p.total_steps {
            return;
        }
        *state = (Instant::now(), decile);
        let filled = p.step * 30 / p.total_steps.max(1);
        let val = p.val_loss.map_or_else(|| "-".to_owned(), |v| format!("{v:.4}"));
        let line = format!(
            "[{}{}] {}/{} {} loss {:.4} val {} {:.0} tok/s ETA {:.0}s",
            "#".repeat(filled),
            ".".repeat(30 - filled),
            p.step,
            p.total_steps,
            p.stage,
            p.loss,
            val,
            p.tokens_per_second,
            p.eta_seconds
        );
        let mut err = std::io::stderr().lock();
        let _ = if self.tty { write!(err, "\r{line}\x1b[K") } else { writeln!(err, "{line}") };
        if self.tty && p.step == p.total_steps {
            let _ = writeln!(err);
        }
    }

    fn cancelled(&self) -> bool {
        false
    }
}

/// Runs `kronos train`.
pub async fn run(config: &Config, args: TrainArgs) -> anyhow::Result<()> {
    let device: ComputeDevice = args.device.parse().map_err(|e: String| anyhow!("--device: {e}"))?;
    if !device.is_available() {
        anyhow::bail!("--device: {device} is not available on this machine");
    }
    let time = |flag: &str, raw: &Option<String>| {
        raw.as_deref().map(|s| parse_time(s).map_err(|e| anyhow!("{flag} {s:?}: {e}"))).transpose()
    };
    let payload = TrainingPayload {
        family: args.family.parse().map_err(|e| anyhow!("--family: {e}"))?,
        lineage: args.lineage.clone(),
        from_model: args.from_model.clone(),
        preset: args.preset.clone(),
        symbols: args.symbols.clone(),
        interval: args.interval.parse().map_err(|e| anyhow!("--interval: {e}"))?,
        from: time("--from", &args.from)?,
        to: time("--to", &args.to)?,
        steps: args.steps,
        tokenizer_steps: args.tokenizer_steps,
        batch_size: args.batch_size,
        lookback: args.lookback,
        horizon: args.horizon,
        learning_rate: args.lr,
        tokenizer_learning_rate: None,
        validation_fraction: 0.2,
        eval_every: args.eval_every,
        // nothing persists checkpoints in the CLI: only the end of each stage writes one
        checkpoint_every: kronos_types::jobs::training::MAX_STEPS,
        seed: args.seed,
        auto_promote: !args.no_promote,
    };
    payload.validate().map_err(|kronos_types::Error::Invalid { field, message }| {
        anyhow!("--{}: {message}", field.replace('_', "-"))
    })?;
    let pool = kronos_db::pool(&config.database_url, 2)?;
    let storage = Storage::open(&config.storage)?;
    let env = TrainingEnv {
        pool: pool.clone(),
        storage: storage.clone(),
        models: Arc::new(ModelLibrary::new(pool, storage, config.model_cache.clone())),
        device,
        compute: Compute::Blocking,
    };
    let bar = Arc::new(Bar { tty: std::io::stderr().is_terminal(), state: Mutex::new((Instant::now(), 0)) });
    let outcome = match training::run(&env, &payload, None, None, bar).await {
        Ok(outcome) => outcome,
        Err(RunError::Cancelled) => anyhow::bail!("training was cancelled"),
        Err(e) => return Err(anyhow!(e)).context("training failed"),
    };
    let report = &outcome.report;
    if args.json {
        println!("{}", serde_json::to_string(&outcome.summary())?);
        return Ok(());
    }
    let m = &report.metrics;
    println!(
        "registered {} (lineage {}, version {}, {}{})",
        outcome.model.name,
        outcome.model.lineage,
        outcome.model.version,
        outcome.model.status,
        if outcome.promoted { ", promoted" } else { "" }
    );
    let first_val_loss = report.state.losses(outcome.final_stage()).1.first().copied().unwrap_or(f64::NAN);
    println!("validation loss {first_val_loss:.4} → {:.4}", report.val_loss);
    println!("{:<12} {:>12} {:>12} {:>9} {:>10}", "close", "MAE", "RMSE", "MAPE", "direction");
    for (name, c) in [("model", m.model), ("naive", m.naive)] {
        println!(
            "{name:<12} {:>12.4} {:>12.4} {:>8.2}% {:>9.1}%",
            c.mae,
            c.rmse,
            c.mape * 100.0,
            c.direction_accuracy * 100.0
        );
    }
    if let Some((name, p)) = &outcome.production {
        println!(
            "{:<12} {:>12.4} {:>12.4} {:>8.2}% {:>9.1}%  ({name}, same windows)",
            "production",
            p.model.mae,
            p.model.rmse,
            p.model.mape * 100.0,
            p.model.direction_accuracy * 100.0
        );
    }
    println!("{} validation windows; {:.0} training tokens/s", m.windows, report.tokens_per_second);
    println!("{}", outcome.promotion);
    Ok(())
}
