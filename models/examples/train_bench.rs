//! Training throughput benchmark (not a test): tokens per second of the Kronos
//! tokenizer and predictor stages and of the baseline regressors, on random weights of
//! a published shape and a synthetic random-walk series (throughput does not depend on
//! the data). One token is one bar position of a window in a stage's loss.
//!
//! ```text
//! cargo run --release -p kronos-models --example train_bench -- \
//!     --preset mini --batch 16 --window 101 --steps 10 --device cpu [--tokens warm]
//! ```
//!
//! `--tokens warm` times the predictor stage with every window's tokens kept from an
//! earlier pass (a training run's second pass over its windows on); the default
//! `cold` has every window new, so each step encodes its batch.
//!
//! Prints one JSON line per stage: median step time and tokens/s over the measured
//! steps (after two warm-up steps).

use std::time::Instant;

use chrono::{Duration, NaiveDate};
use kronos_models::{
    kronos::{layers::with_matmul_kind, KronosModel, Preset},
    training::{
        data_parallel::DataParallel, optimizer::AdamW, windows::WindowBatch, KronosTrainable, Regressor,
        RegressorConfig, RegressorKind, Series, Trainable, WindowSet, WindowSpec,
    },
    ComputeDevice,
};

struct Args {
    preset: String,
    batch: usize,
    window: usize,
    steps: usize,
    device: String,
    threads: Option<i32>,
    regressors: bool,
    /// Linear layers' products in bf16 (mixed precision) instead of f32.
    bf16: bool,
    /// Only this stage (tokenizer or predictor).
    stage: Option<String>,
    /// Predictor stage with every window's tokens kept from an earlier pass (`warm`)
    /// rather than encoded in the step (`cold`, every window new).
    warm_tokens: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        preset: "mini".into(),
        batch: 16,
        window: 101,
        steps: 10,
        device: "cpu".into(),
        threads: None,
        regressors: false,
        bf16: false,
        stage: None,
        warm_tokens: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--preset" => args.preset = value()?,
            "--batch" => args.batch = value()?.parse().map_err(|e| format!("--batch: {e}"))?,
            "--window" => args.window = value()?.parse().map_err(|e| format!("--window: {e}"))?,
            "--steps" => args.steps = value()?.parse().map_err(|e| format!("--steps: {e}"))?,
            "--device" => args.device = value()?,
            "--threads" => args.threads = Some(value()?.parse().map_err(|e| format!("--threads: {e}"))?),
            "--regressors" => args.regressors = true,
            "--precision" => {
                args.bf16 = match value()?.as_str() {
                    "f32" => false,
                    "bf16" => true,
                    other => return Err(format!("--precision {other}: expected f32 or bf16")),
                }
            }
            "--stage" => args.stage = Some(value()?),
            "--tokens" => {
                args.warm_tokens = match value()?.as_str() {
                    "cold" => false,
                    "warm" => true,
                    other => return Err(format!("--tokens {other}: expected cold or warm")),
                }
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if args.window < 4 || args.steps == 0 || args.batch == 0 {
        return Err("--window must be ≥ 4, --steps and --batch ≥ 1".into());
    }
    Ok(args)
}

/// A random walk long enough for many windows.
fn series(n: usize) -> Series {
    let t0 = NaiveDate::from_ymd_opt(2020, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).unwrap_or_default();
    let mut state = 42u64;
    let mut close = 100.0f64;
    let bars = (0..n)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let r = ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 0.02;
            let open = close;
            close *= 1.0 + r;
            [open, open.max(close) * 1.002, open.min(close) * 0.998, close, 1000.0 + 500.0 * r.abs() * 100.0, 0.0]
        })
        .collect();
    Series { symbol: "BENCH".into(), times: (0..n).map(|i| t0 + Duration::hours(i as i64)).collect(), bars }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Times `steps` optimiser steps of stage `stage` after two warm-up steps, calling
/// `before` on every batch first (untimed).
fn measure<M: Trainable + Send>(
    model: &M,
    stage: usize,
    set: &WindowSet,
    args: &Args,
    device: tch::Device,
    before: impl Fn(&WindowBatch),
) -> (f64, f64) {
    let plan = &model.stages()[stage];
    for step in 0..args.steps + 2 {
        before(&set.train_batch(1, step, args.batch, device));
    }
    let mut optimizer = AdamW::new(model.var_store(stage), plan.adamw);
    let mut parallel = match DataParallel::new(model, device, args.batch) {
        Ok(parallel) => parallel,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let mut times = Vec::with_capacity(args.steps);
    for step in 0..args.steps + 2 {
        let batch = set.train_batch(1, step, args.batch, device);
        let started = Instant::now();
        optimizer.zero_grad();
        // the training loop's forward and backward passes (split across the cores on a CPU)
        let done = if args.bf16 {
            with_matmul_kind(tch::Kind::BFloat16, || parallel.accumulate_gradients(model, stage, &batch))
        } else {
            parallel.accumulate_gradients(model, stage, &batch)
        };
        if let Err(e) = done {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
        optimizer.step(1e-4);
        if device.is_cuda() {
            tch::Cuda::synchronize(0);
        }
        if step >= 2 {
            times.push(started.elapsed().as_secs_f64());
        }
    }
    let step_s = median(times);
    let tokens = (args.batch * model.tokens_per_window(stage, set.spec.len())) as f64;
    (step_s * 1000.0, tokens / step_s)
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    if let Some(n) = args.threads {
        tch::set_num_threads(n);
    }
    let device = match args.device.parse::<ComputeDevice>() {
        Ok(d) if d.is_available() => d.to_tch(),
        _ => {
            eprintln!("error: --device {} is not available", args.device);
            std::process::exit(2);
        }
    };
    let horizon = 10.min(args.window - 3);
    let spec = WindowSpec {
        lookback: args.window - horizon - 1,
        horizon,
        validation_fraction: 0.1,
        max_validation_windows: 8,
    };
    let set = match WindowSet::new(vec![series(20_000)], spec) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let report = |what: &str, stage: &str, (ms, tps): (f64, f64)| {
        println!(
            "{{\"model\":\"{what}\",\"stage\":\"{stage}\",\"token_cache\":\"{}\",\"precision\":\"{}\",\"device\":\"{}\",\"batch\":{},\"window\":{},\"steps\":{},\"median_step_ms\":{ms:.1},\"tokens_per_s\":{tps:.0}}}",
            if args.warm_tokens && stage == "predictor" { "warm" } else { "cold" }, if args.bf16 { "bf16" } else { "f32" }, args.device, args.batch, args.window, args.steps
        );
    };
    if args.regressors {
        for kind in [RegressorKind::Lstm, RegressorKind::Gru, RegressorKind::Transformer] {
            let config = RegressorConfig::small(kind, spec.lookback, spec.horizon);
            match Regressor::new(config, 1, 1e-3, device) {
                Ok(model) => report(kind.as_str(), "regressor", measure(&model, 0, &set, &args, device, |_| ())),
                Err(e) => eprintln!("error: {e}"),
            }
        }
        return;
    }
    let preset: Preset = match args.preset.parse() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let model = match KronosModel::init(preset, 7, device) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let trainable = KronosTrainable::new(model, (1, 1), (2e-4, 4e-5), 2048);
    // the predictor stage's tokens kept from an earlier pass over the same windows
    let keep_tokens = |batch: &WindowBatch| {
        let _ = trainable.tokens.tokens(&trainable.model, batch, &batch.x.to_kind(trainable.model.kind()));
    };
    for (index, stage) in ["tokenizer", "predictor"].into_iter().enumerate() {
        if args.stage.as_deref().is_none_or(|only| only == stage) {
            let timed = if index == 1 && args.warm_tokens {
                measure(&trainable, index, &set, &args, device, keep_tokens)
            } else {
                measure(&trainable, index, &set, &args, device, |_| ())
            };
            report(&args.preset, stage, timed);
        }
    }
}
