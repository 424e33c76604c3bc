//! Roofline figures of the Kronos predictor's trunk (embedding fusion, transformer
//! blocks, final norm): the achieved GFLOP/s of a prefill (the whole context in one
//! pass) and of one cached decode step, against this device's measured f32 matmul peak.
//!
//! cargo run --release -p kronos-models --example kronos_roofline -- \
//!     --preset mini --context 512 --rows 1,16 --device cpu
//!
//! FLOPs count multiply-adds as two and only the matrix products (projections, the
//! feed-forward, attention scores and their weighted sum over the visible keys);
//! norms, rotary embeddings and softmax are left out, so the rates are a slight
//! undercount.

mod common;

use std::time::Instant;

use kronos_models::{
    kronos::{attention::AttentionContext, predictor::TIME_FEATURES, KronosModel, Preset},
    ComputeDevice,
};
use tch::{Device, Kind, Tensor};

use common::{median, synchronize};

struct Args {
    preset: String,
    context: i64,
    rows: Vec<i64>,
    steps: i64,
    reps: usize,
    device: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args =
        Args { preset: "mini".into(), context: 512, rows: vec![1, 16], steps: 16, reps: 5, device: "cpu".into() };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--preset" => args.preset = value()?,
            "--context" => args.context = value()?.parse().map_err(|e| format!("--context: {e}"))?,
            "--rows" => args.rows = common::parse_list("--rows", &value()?)?,
            "--steps" => args.steps = value()?.parse().map_err(|e| format!("--steps: {e}"))?,
            "--reps" => args.reps = value()?.parse().map_err(|e| format!("--reps: {e}"))?,
            "--device" => args.device = value()?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(args)
}

/// The best f32 rate of a 2048² matrix product on `device`, in GFLOP/s.
fn peak_gflops(device: Device, reps: usize) -> f64 {
    let n = 2048i64;
    let a = Tensor::randn([n, n], (Kind::Float, device));
    let b = Tensor::randn([n, n], (Kind::Float, device));
    let _ = a.matmul(&b);
    synchronize(device);
    let mut best = f64::MAX;
    for _ in 0..reps.max(3) {
        let started = Instant::now();
        let _ = a.matmul(&b);
        synchronize(device);
        best = best.min(started.elapsed().as_secs_f64());
    }
    2.0 * (n * n * n) as f64 / best / 1e9
}

/// Matrix-product FLOPs of the trunk for `rows` sequences: `new` positions each, the
/// last of which sees `seen` keys (causal: position i sees i + 1).
fn trunk_flops(d: f64, ff: f64, layers: f64, rows: f64, new: i64, seen: i64) -> f64 {
    let per_token = 2.0 * (2.0 * d * d) + layers * 2.0 * (4.0 * d * d + 3.0 * d * ff);
    // keys visible to the new positions: seen - new + 1 ..= seen
    let keys: f64 = ((seen - new + 1)..=seen).map(|k| k as f64).sum();
    rows * (new as f64 * per_token + layers * 4.0 * d * keys)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = common::args_or_exit(parse_args());
    let preset: Preset = args.preset.parse()?;
    let device = args.device.parse::<ComputeDevice>()?.to_tch();
    let model = KronosModel::init(preset, 0, device)?;
    let predictor = &model.predictor;
    let config = predictor.config().clone();
    let (d, ff, layers) = (config.d_model as f64, config.ff_dim as f64, config.n_layers as f64);
    let peak = peak_gflops(device, args.reps);
    println!(
        "preset {} | device {} | threads {} | context {} | f32 matmul peak {peak:.1} GFLOP/s",
        args.preset,
        args.device,
        tch::get_num_threads(),
        args.context
    );
    println!("| rows | phase | p50 time | GFLOP | GFLOP/s | of peak |");
    println!("|---|---|---|---|---|---|");
    let t = args.context;
    tch::no_grad(|| {
        for &rows in &args.rows {
            let total = t + args.steps;
            let s1 = Tensor::randint(1 << config.s1_bits, [rows, total], (Kind::Int64, device));
            let s2 = Tensor::randint(1 << config.s2_bits, [rows, total], (Kind::Int64, device));
            let stamps = Tensor::zeros([rows, total, TIME_FEATURES as i64], (Kind::Int64, device));
            let pads = vec![0i64; rows as usize];
            let mut prefill = Vec::new();
            let mut decode = Vec::new();
            for rep in 0..=args.reps {
                let mut cache = predictor.new_cache(rows, total, model.kind());
                let ctx = AttentionContext::new(predictor.inv_freq(), &pads, 0, t, t);
                let started = Instant::now();
                let _ = predictor.hidden(
                    &s1.narrow(1, 0, t),
                    &s2.narrow(1, 0, t),
                    &stamps.narrow(1, 0, t),
                    &ctx,
                    Some(&mut cache),
                    false,
                );
                synchronize(device);
                if rep > 0 {
                    prefill.push(started.elapsed().as_secs_f64());
                }
                for step in 0..args.steps {
                    let at = t + step;
                    let ctx = AttentionContext::new(predictor.inv_freq(), &pads, at, 1, at + 1);
                    let started = Instant::now();
                    let _ = predictor.hidden(
                        &s1.narrow(1, at, 1),
                        &s2.narrow(1, at, 1),
                        &stamps.narrow(1, at, 1),
                        &ctx,
                        Some(&mut cache),
                        false,
                    );
                    synchronize(device);
                    if rep > 0 {
                        decode.push(started.elapsed().as_secs_f64());
                    }
                }
            }
            let prefill_flops = trunk_flops(d, ff, layers, rows as f64, t, t);
            // the decode steps see t + 1 … t + steps keys; the middle step stands for them
            let decode_flops = trunk_flops(d, ff, layers, rows as f64, 1, t + args.steps / 2 + 1);
            for (phase, times, flops) in [("prefill", prefill, prefill_flops), ("decode step", decode, decode_flops)] {
                let p50 = median(times);
                let rate = flops / p50 / 1e9;
                println!(
                    "| {rows} | {phase} | {:.2} ms | {:.3} | {rate:.1} | {:.0} % |",
                    p50 * 1e3,
                    flops / 1e9,
                    rate / peak * 100.0
                );
            }
        }
    });
    Ok(())
}
