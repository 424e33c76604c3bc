//! Open-loop serving benchmark (not a test): forecast requests arrive as a Poisson
//! process at several rates, with mixed histories, horizons and path counts, and are
//! served on one device either by continuous batching ([`ContinuousBatch`]: requests
//! join the running decode between steps and leave when done) or by the dynamic
//! batching the worker used before it (a batch closes `--max-wait-ms` after its first
//! request or at `--max-batch` requests; batches run one after another on the model,
//! each request group of one horizon as one `forecast_each` call, as
//! `worker/src/batcher.rs` did). Both modes serve the same arrival schedule, in one run.
//!
//! ```text
//! cargo run --release -p kronos-models --example kronos_serve_bench -- \
//!     --preset mini --rates 1,2,4,8 --requests 120 --device cpu
//! ```
//!
//! Reported per rate and mode: completed requests per second (over the time from the
//! first arrival to the last completion), and the p50 / p99 latency from arrival to
//! result.

mod common;
#[path = "common/series.rs"]
mod series;

use std::time::{Duration, Instant};

use kronos_models::kronos::{
    ContinuousBatch, ContinuousLimits, GenerateOptions, KronosModel, Preset, SamplingParams, SeriesRequest,
};
use kronos_models::ComputeDevice;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use common::{median, synchronize};

struct Args {
    preset: String,
    device: String,
    rates: Vec<f64>,
    requests: usize,
    contexts: Vec<usize>,
    horizons: Vec<usize>,
    paths: Vec<usize>,
    max_batch: usize,
    max_wait: Duration,
    max_rows: Option<usize>,
    seed: u64,
    modes: Vec<Mode>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Continuous,
    Dynamic,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Continuous => "continuous",
            Mode::Dynamic => "dynamic",
        }
    }
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        preset: "mini".into(),
        device: "cpu".into(),
        rates: vec![1.0, 2.0, 4.0, 8.0],
        requests: 120,
        contexts: vec![128, 256, 384, 512],
        horizons: vec![8, 16, 32],
        paths: vec![1, 4, 16],
        max_batch: 64,
        max_wait: Duration::from_millis(2),
        max_rows: None,
        seed: 1,
        modes: vec![Mode::Dynamic, Mode::Continuous],
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--preset" => args.preset = value()?,
            "--device" => args.device = value()?,
            "--rates" => args.rates = common::parse_list("--rates", &value()?)?,
            "--requests" => args.requests = value()?.parse().map_err(|e| format!("--requests: {e}"))?,
            "--contexts" => args.contexts = common::parse_list("--contexts", &value()?)?,
            "--horizons" => args.horizons = common::parse_list("--horizons", &value()?)?,
            "--paths" => args.paths = common::parse_list("--paths", &value()?)?,
            "--max-batch" => args.max_batch = value()?.parse().map_err(|e| format!("--max-batch: {e}"))?,
            "--max-wait-ms" => {
                args.max_wait = Duration::from_millis(value()?.parse().map_err(|e| format!("--max-wait-ms: {e}"))?)
            }
            "--max-rows" => args.max_rows = Some(value()?.parse().map_err(|e| format!("--max-rows: {e}"))?),
            "--seed" => args.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--modes" => {
                args.modes = value()?
                    .split(',')
                    .map(|m| match m {
                        "continuous" => Ok(Mode::Continuous),
                        "dynamic" => Ok(Mode::Dynamic),
                        other => Err(format!("--modes {other}: expected continuous or dynamic")),
                    })
                    .collect::<Result<_, _>>()?
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.requests == 0 || args.rates.iter().any(|r| !(r.is_finite() && *r > 0.0)) {
        return Err("--requests must be at least 1 and every rate positive".into());
    }
    Ok(args)
}

/// One request of the workload: when it arrives (after the start) and what it asks.
struct Arrival {
    at: Duration,
    request: SeriesRequest,
    options: GenerateOptions,
}

/// `n` requests arriving as a Poisson process of `rate` per second, each with a
/// history, horizon and path count drawn uniformly from the lists (seeded).
fn workload(args: &Args, rate: f64, max_context: usize) -> Vec<Arrival> {
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut uniform = move || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let mut at = 0.0;
    (0..args.requests)
        .map(|i| {
            at += -(1.0 - uniform()).ln() / rate;
            let pick = |list: &[usize], u: f64| list[((u * list.len() as f64) as usize).min(list.len() - 1)];
            let context = pick(&args.contexts, uniform());
            let horizon = pick(&args.horizons, uniform());
            let paths = pick(&args.paths, uniform());
            let mut request = series::series(context, horizon, i as u64);
            request.sampling = SamplingParams { samples: paths, seed: i as u64, ..request.sampling };
            Arrival { at: Duration::from_secs_f64(at), request, options: GenerateOptions::new(horizon, max_context) }
        })
        .collect()
}

/// When each request finished, after the start.
type Completions = Vec<Duration>;

/// Continuous batching: between steps every request that has arrived is submitted.
fn serve_continuous(model: &KronosModel, arrivals: &[Arrival], limits: ContinuousLimits) -> Completions {
    let mut batch = ContinuousBatch::new(limits);
    let mut done = vec![Duration::ZERO; arrivals.len()];
    let mut next = 0;
    let mut finished = 0;
    let start = Instant::now();
    while finished < arrivals.len() {
        if batch.is_idle() && next < arrivals.len() {
            std::thread::sleep(arrivals[next].at.saturating_sub(start.elapsed()));
        }
        while next < arrivals.len() && arrivals[next].at <= start.elapsed() {
            let a = &arrivals[next];
            if let Err((tag, e)) = batch.submit(a.request.clone(), a.options, next) {
                eprintln!("request {tag} refused: {e}");
                done[tag] = start.elapsed();
                finished += 1;
            }
            next += 1;
        }
        for (tag, result) in batch.step(model) {
            if let Err(e) = result {
                eprintln!("request {tag} failed: {e}");
            }
            synchronize(model.device());
            done[tag] = start.elapsed();
            finished += 1;
        }
    }
    done
}

/// Dynamic batching as the worker's batcher did: batches form from the arrival times
/// alone (the collector runs beside the model), then run in order on the model; each
/// group of one horizon and window is one `forecast_each` call, whose results are sent
/// when it returns.
fn serve_dynamic(model: &KronosModel, arrivals: &[Arrival], max_batch: usize, max_wait: Duration) -> Completions {
    let mut batches: Vec<(Duration, Vec<usize>)> = Vec::new();
    for (i, a) in arrivals.iter().enumerate() {
        match batches.last_mut() {
            Some((closes, members)) if members.len() < max_batch && a.at <= arrivals[members[0]].at + max_wait => {
                members.push(i);
                if members.len() == max_batch {
                    *closes = a.at;
                }
            }
            _ => batches.push((a.at + max_wait, vec![i])),
        }
    }
    let mut done = vec![Duration::ZERO; arrivals.len()];
    let start = Instant::now();
    for (closes, members) in batches {
        std::thread::sleep(closes.saturating_sub(start.elapsed()));
        let mut groups: Vec<(GenerateOptions, Vec<usize>)> = Vec::new();
        for i in members {
            match groups.iter_mut().find(|(options, _)| *options == arrivals[i].options) {
                Some((_, group)) => group.push(i),
                None => groups.push((arrivals[i].options, vec![i])),
            }
        }
        for (options, group) in groups {
            let requests: Vec<SeriesRequest> = group.iter().map(|&i| arrivals[i].request.clone()).collect();
            for (i, result) in group.iter().zip(model.forecast_each(&requests, &options)) {
                if let Err(e) = result {
                    eprintln!("request {i} failed: {e}");
                }
            }
            synchronize(model.device());
            let now = start.elapsed();
            for i in group {
                done[i] = now;
            }
        }
    }
    done
}

/// The `q` quantile (nearest rank) of a sample.
fn quantile(mut xs: Vec<f64>, q: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    let rank = ((q * xs.len() as f64).ceil() as usize).clamp(1, xs.len());
    xs[rank - 1]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = common::args_or_exit(parse_args());
    let preset: Preset = args.preset.parse()?;
    let device: ComputeDevice = args.device.parse()?;
    let model = KronosModel::init(preset, 0, device.to_tch())?;
    let max_context = preset.max_context();
    let mut limits = ContinuousLimits::for_device(device.to_tch());
    if let Some(rows) = args.max_rows {
        limits.max_rows = rows;
    }
    println!(
        "preset {} | device {} | threads {} | {} requests per rate | contexts {:?} | horizons {:?} | paths {:?} \
         | dynamic: max batch {}, wait {} ms | continuous: {} rows, {} MiB cache",
        args.preset,
        device,
        tch::get_num_threads(),
        args.requests,
        args.contexts,
        args.horizons,
        args.paths,
        args.max_batch,
        args.max_wait.as_millis(),
        limits.max_rows,
        limits.max_cache_bytes >> 20
    );
    // warm-up: one request through each path
    let warm = workload(&args, 1000.0, max_context);
    model.forecast_each(std::slice::from_ref(&warm[0].request), &warm[0].options);
    serve_continuous(&model, &warm[..1], limits);

    println!("| offered req/s | mode | completed req/s | p50 latency (s) | p99 latency (s) | max (s) |");
    println!("|---|---|---|---|---|---|");
    for &rate in &args.rates {
        let arrivals = workload(&args, rate, max_context);
        for &mode in &args.modes {
            let done = match mode {
                Mode::Continuous => serve_continuous(&model, &arrivals, limits),
                Mode::Dynamic => serve_dynamic(&model, &arrivals, args.max_batch, args.max_wait),
            };
            let latencies: Vec<f64> =
                arrivals.iter().zip(&done).map(|(a, d)| d.saturating_sub(a.at).as_secs_f64()).collect();
            let first = arrivals.first().map_or(Duration::ZERO, |a| a.at);
            let last = done.iter().copied().max().unwrap_or(Duration::ZERO);
            let throughput = arrivals.len() as f64 / last.saturating_sub(first).as_secs_f64().max(1e-9);
            println!(
                "| {rate} | {} | {throughput:.2} | {:.3} | {:.3} | {:.3} |",
                mode.name(),
                median(latencies.clone()),
                quantile(latencies.clone(), 0.99),
                quantile(latencies, 1.0),
            );
        }
    }
    Ok(())
}
