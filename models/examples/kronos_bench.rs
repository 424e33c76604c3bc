//! Kronos inference benchmark (not a test): series·steps per second and median batch
//! latency for several batch sizes, cached and uncached, on random weights of a
//! published shape.
//!
//! ```text
//! cargo run --release -p kronos-models --example kronos_bench -- \
//!     --preset small --context 480 --horizon 32 --batches 1,8,32,128 --device cpu
//! ```
//!
//! With `--paths 1,8,16,64`: one series with that many sample paths, its history
//! encoded once per path (as before) against once for all its paths (shared prefix).

mod common;
#[path = "common/series.rs"]
mod series;

use std::time::Instant;

use kronos_models::kronos::{GenerateOptions, KronosModel, Preset, SeriesRequest};
use kronos_models::ComputeDevice;

use common::{median, synchronize};
use series::series;

struct Args {
    preset: String,
    context: usize,
    horizon: usize,
    max_context: Option<usize>,
    batches: Vec<usize>,
    device: String,
    threads: Option<i32>,
    reps: usize,
    modes: Vec<bool>,
    precision: Option<tch::Kind>,
    compare_precision: bool,
    paths: Vec<usize>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        preset: "small".into(),
        context: 512,
        horizon: 32,
        max_context: None,
        batches: vec![1, 8, 32, 128],
        device: "cpu".into(),
        threads: None,
        reps: 3,
        modes: vec![true, false],
        precision: None,
        compare_precision: false,
        paths: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--preset" => args.preset = value()?,
            "--context" => args.context = value()?.parse().map_err(|e| format!("--context: {e}"))?,
            "--horizon" => args.horizon = value()?.parse().map_err(|e| format!("--horizon: {e}"))?,
            "--max-context" => args.max_context = Some(value()?.parse().map_err(|e| format!("--max-context: {e}"))?),
            "--batches" => args.batches = common::parse_list("--batches", &value()?)?,
            "--device" => args.device = value()?,
            "--threads" => args.threads = Some(value()?.parse().map_err(|e| format!("--threads: {e}"))?),
            "--reps" => args.reps = value()?.parse().map_err(|e| format!("--reps: {e}"))?,
            "--cached-only" => args.modes = vec![true],
            "--uncached-only" => args.modes = vec![false],
            "--precision" => {
                args.precision = Some(match value()?.as_str() {
                    "f32" => tch::Kind::Float,
                    "f16" => tch::Kind::Half,
                    "bf16" => tch::Kind::BFloat16,
                    other => return Err(format!("--precision {other}: expected f32, f16 or bf16")),
                })
            }
            "--compare-precision" => args.compare_precision = true,
            "--paths" => args.paths = common::parse_list("--paths", &value()?)?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

/// Greedy forecasts of 16 series in f32, then in `kind`: token agreement and the
/// relative difference of the mean paths.
fn compare_precision(
    model: &mut KronosModel,
    kind: tch::Kind,
    args: &Args,
    max_context: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let requests: Vec<SeriesRequest> = (0..16)
        .map(|i| {
            let mut r = series(args.context, args.horizon, i);
            r.sampling.top_k = 1;
            r
        })
        .collect();
    let options = GenerateOptions::new(args.horizon, max_context);
    let reference = model.forecast(&requests, &options)?;
    model.set_kind(kind);
    let reduced = model.forecast(&requests, &options)?;
    let (mut same, mut total, mut worst, mut sum, mut n) = (0usize, 0usize, 0f64, 0f64, 0usize);
    for (a, b) in reference.iter().zip(&reduced) {
        let (ta, tb) = (&a.tokens[0], &b.tokens[0]);
        same += ta.0.iter().zip(&tb.0).filter(|(x, y)| x == y).count();
        same += ta.1.iter().zip(&tb.1).filter(|(x, y)| x == y).count();
        total += ta.0.len() + ta.1.len();
        // first step only: later steps follow different tokens once one differs
        for c in 0..4 {
            let rel = (a.mean[0][c] - b.mean[0][c]).abs() / a.mean[0][c].abs().max(1e-12);
            worst = worst.max(rel);
            sum += rel;
            n += 1;
        }
    }
    println!(
        "{kind:?} vs f32 on {} | greedy tokens identical: {same}/{total} ({:.1}%) | first-step OHLC relative difference: mean {:.2e}, max {:.2e}",
        if model.device().is_cuda() { "cuda" } else { "cpu" },
        100.0 * same as f64 / total as f64,
        sum / n as f64,
        worst
    );
    Ok(())
}

/// One series with each number of sample paths (sampled: temperature 1, top-p 0.9):
/// median latency with the history run once per path against once for all paths, and
/// whether every path drew the same tokens both ways.
fn paths_table(model: &KronosModel, args: &Args, max_context: usize) -> Result<(), Box<dyn std::error::Error>> {
    println!("| paths | per-path prefix p50 (s) | shared prefix p50 (s) | speed-up | same tokens |");
    println!("|---|---|---|---|---|");
    for &paths in &args.paths {
        let mut request = series(args.context, args.horizon, 7);
        request.sampling.samples = paths;
        let requests = std::slice::from_ref(&request);
        let mut medians = Vec::new();
        let mut tokens = Vec::new();
        for share_prefix in [false, true] {
            let options = GenerateOptions { share_prefix, ..GenerateOptions::new(args.horizon, max_context) };
            tokens.push(model.forecast(requests, &options)?.remove(0).tokens); // also the warm-up
            let mut times = Vec::new();
            for _ in 0..args.reps {
                let started = Instant::now();
                model.forecast(requests, &options)?;
                synchronize(model.device());
                times.push(started.elapsed().as_secs_f64());
            }
            medians.push(median(times));
        }
        let same = if tokens[0] == tokens[1] { "yes" } else { "NO" };
        println!("| {paths} | {:.3} | {:.3} | {:.1}× | {same} |", medians[0], medians[1], medians[0] / medians[1]);
    }
    Ok(())
}

fn main() {
    let args = common::args_or_exit(parse_args());
    let run = || -> Result<(), Box<dyn std::error::Error>> {
        let preset: Preset = args.preset.parse()?;
        let device: ComputeDevice = args.device.parse()?;
        if let Some(n) = args.threads {
            tch::set_num_threads(n);
        }
        let mut model = KronosModel::init(preset, 0, device.to_tch())?;
        let max_context = args.max_context.unwrap_or(preset.max_context());
        if args.compare_precision {
            let kind = args.precision.unwrap_or(tch::Kind::Half);
            return compare_precision(&mut model, kind, &args, max_context);
        }
        if let Some(kind) = args.precision {
            model.set_kind(kind);
        }
        if !args.paths.is_empty() {
            println!(
                "preset {} | device {} | threads {} | one series, context {} | horizon {}",
                args.preset,
                device,
                tch::get_num_threads(),
                args.context,
                args.horizon
            );
            return paths_table(&model, &args, max_context);
        }
        println!(
            "preset {} | device {} | threads {} | context {} | horizon {} | max_context {} | window slides: {}",
            args.preset,
            device,
            tch::get_num_threads(),
            args.context,
            args.horizon,
            max_context,
            args.context + args.horizon - 1 > max_context
        );
        println!("| batch | mode | series·steps/s | p50 latency (s) |");
        println!("|---|---|---|---|");
        for &batch in &args.batches {
            let requests: Vec<SeriesRequest> =
                (0..batch).map(|i| series(args.context, args.horizon, i as u64)).collect();
            let mut rates = Vec::new();
            for &use_cache in &args.modes {
                let options = GenerateOptions { use_cache, ..GenerateOptions::new(args.horizon, max_context) };
                model.forecast(&requests[..1], &options)?; // warm-up
                let mut times = Vec::new();
                for _ in 0..args.reps {
                    let started = Instant::now();
                    model.forecast(&requests, &options)?;
                    synchronize(device.to_tch());
                    times.push(started.elapsed().as_secs_f64());
                }
                let p50 = median(times);
                let rate = (batch * args.horizon) as f64 / p50;
                rates.push(rate);
                println!("| {batch} | {} | {rate:.1} | {p50:.3} |", if use_cache { "cached" } else { "uncached" });
            }
            if rates.len() == 2 {
                println!("| {batch} | cached / uncached | {:.2}× | |", rates[0] / rates[1]);
            }
        }
        Ok(())
    };
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
