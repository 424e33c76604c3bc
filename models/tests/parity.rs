//! Parity with the reference implementation on the `kronos-tiny` fixtures (produced by
//! the official Python code, eval mode, PyTorch 2.13): tokens identical; logits and
//! forecasts within a relative 1e-4.

#![expect(clippy::unwrap_used, reason = "tests fail loudly on a broken fixture")]

use std::path::PathBuf;

use chrono::NaiveDateTime;
use kronos_models::kronos::attention::AttentionContext;
use kronos_models::kronos::{
    time_features, GenerateOptions, KronosModel, Normalisation, SamplingParams, SeriesRequest,
};
use kronos_models::Bar;
use serde_json::Value;
use tch::{Device, Kind, Tensor};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kronos-tiny")
}

fn model() -> KronosModel {
    KronosModel::load(&fixtures().join("tokenizer"), &fixtures().join("predictor"), Device::Cpu).unwrap()
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap()).unwrap()
}

fn parse_time(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

/// All rows of input.csv: times and bars.
fn input() -> (Vec<NaiveDateTime>, Vec<Bar>) {
    let text = std::fs::read_to_string(fixtures().join("input.csv")).unwrap();
    let mut times = Vec::new();
    let mut bars = Vec::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        times.push(parse_time(cols[0]));
        bars.push(std::array::from_fn(|c| cols[c + 1].parse::<f64>().unwrap()));
    }
    (times, bars)
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect()
}

fn assert_close(what: &str, got: &[f64], want: &[f64], rel: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= rel * w.abs() + 1e-6, "{what}[{i}]: got {g}, want {w}");
    }
}

struct Case {
    request: SeriesRequest,
    options: GenerateOptions,
    value: Value,
}

fn greedy() -> SamplingParams {
    SamplingParams { temperature: 1.0, top_k: 1, top_p: 1.0, samples: 1, seed: 0 }
}

fn cases() -> Vec<Case> {
    let (times, bars) = input();
    expected()["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let n = c["context_len"].as_u64().unwrap() as usize;
            let future: Vec<NaiveDateTime> =
                c["future_timestamps"].as_array().unwrap().iter().map(|t| parse_time(t.as_str().unwrap())).collect();
            Case {
                request: SeriesRequest {
                    history: bars[..n].to_vec(),
                    stamps: times[..n].iter().map(|t| time_features(*t)).collect(),
                    future_stamps: future.iter().map(|t| time_features(*t)).collect(),
                    sampling: greedy(),
                    watch: None,
                },
                options: GenerateOptions {
                    pred_len: c["pred_len"].as_u64().unwrap() as usize,
                    max_context: c["max_context"].as_u64().unwrap() as usize,
                    use_cache: true,
                    share_prefix: true,
                },
                value: c.clone(),
            }
        })
        .collect()
}

fn normalised(request: &SeriesRequest) -> Tensor {
    let norm = Normalisation::of(&request.history);
    let flat: Vec<f32> = request.history.iter().flat_map(|b| norm.apply(b)).collect();
    Tensor::from_slice(&flat).view([1, request.history.len() as i64, 6])
}

/// The whole history's tokens, and the tokenizer context they were made with.
fn encode(model: &KronosModel, request: &SeriesRequest) -> (Tensor, Tensor, AttentionContext) {
    let x = normalised(request);
    let ctx = AttentionContext::causal(model.tokenizer.inv_freq(), 1, x.size()[1]);
    let (s1, s2) = tch::no_grad(|| model.tokenizer.encode(&x, &ctx));
    (s1, s2, ctx)
}

fn host(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(&t.to_kind(Kind::Double).contiguous().view(-1)).unwrap()
}

#[test]
fn normalisation_matches() {
    for case in cases() {
        let norm = Normalisation::of(&case.request.history);
        assert_close("norm_mean", &norm.mean.map(f64::from), &floats(&case.value["norm_mean"]), 1e-6);
        assert_close("norm_std", &norm.std.map(f64::from), &floats(&case.value["norm_std"]), 1e-5);
    }
}

#[test]
fn tokenizer_round_trip_matches() {
    let model = model();
    for case in cases() {
        let (s1, s2, ctx) = encode(&model, &case.request);
        assert_eq!(Vec::<i64>::try_from(&s1.view(-1)).unwrap(), ints(&case.value["tokens_s1"]), "tokens_s1");
        assert_eq!(Vec::<i64>::try_from(&s2.view(-1)).unwrap(), ints(&case.value["tokens_s2"]), "tokens_s2");
        let decoded = tch::no_grad(|| model.tokenizer.decode(&s1, &s2, &ctx));
        let want: Vec<f64> = case.value["decoded_first_rows"].as_array().unwrap().iter().flat_map(floats).collect();
        assert_close("decoded_first_rows", &host(&decoded.narrow(1, 0, 4)), &want, 1e-4);
    }
}

#[test]
fn step_zero_logits_match() {
    let model = model();
    for case in cases() {
        let (s1, s2, _) = encode(&model, &case.request);
        let len = s1.size()[1];
        let pctx = AttentionContext::causal(model.predictor.inv_freq(), 1, len);
        let stamps: Vec<i64> = case.request.stamps.iter().flatten().copied().collect();
        let stamps = Tensor::from_slice(&stamps).view([1, len, 5]);
        tch::no_grad(|| {
            let hidden = model.predictor.hidden(&s1, &s2, &stamps, &pctx, None, false);
            let last = hidden.select(1, -1);
            let s1_logits = model.predictor.s1_logits(&last);
            assert_close(
                "step0_s1_logits_head",
                &host(&s1_logits.narrow(1, 0, 16)),
                &floats(&case.value["step0_s1_logits_head"]),
                1e-4,
            );
            let s1_best = s1_logits.argmax(-1, false);
            assert_eq!(s1_best.int64_value(&[0]), case.value["step0_s1_argmax"].as_i64().unwrap());
            let keys = model.predictor.dependency_keys(&hidden, None);
            let s2_logits = model.predictor.s2_logits(&last, &s1_best, &keys, None);
            assert_close(
                "step0_s2_logits_head",
                &host(&s2_logits.narrow(1, 0, 16)),
                &floats(&case.value["step0_s2_logits_head"]),
                1e-4,
            );
            assert_eq!(s2_logits.argmax(-1, false).int64_value(&[0]), case.value["step0_s2_argmax"].as_i64().unwrap());
        });
    }
}

#[test]
fn greedy_forecasts_match_with_and_without_the_cache() {
    let model = model();
    for case in cases() {
        let want: Vec<f64> = case.value["forecast"].as_array().unwrap().iter().flat_map(floats).collect();
        let cached = model.forecast(std::slice::from_ref(&case.request), &case.options).unwrap().remove(0);
        let got: Vec<f64> = cached.mean.iter().flatten().copied().collect();
        assert_close("forecast (cached)", &got, &want, 1e-4);
        let options = GenerateOptions { use_cache: false, ..case.options };
        let full = model.forecast(std::slice::from_ref(&case.request), &options).unwrap().remove(0);
        assert_eq!(cached.tokens, full.tokens, "cached and uncached tokens");
        let got: Vec<f64> = full.mean.iter().flatten().copied().collect();
        assert_close("forecast (recomputed)", &got, &want, 1e-4);
    }
}

#[test]
fn sampled_paths_are_identical_cached_and_uncached() {
    let model = model();
    let mut case = cases().remove(0);
    case.request.sampling = SamplingParams { temperature: 1.0, top_k: 0, top_p: 0.9, samples: 4, seed: 42 };
    let cached = model.forecast(std::slice::from_ref(&case.request), &case.options).unwrap().remove(0);
    let options = GenerateOptions { use_cache: false, ..case.options };
    let full = model.forecast(std::slice::from_ref(&case.request), &options).unwrap().remove(0);
    assert_eq!(cached.tokens, full.tokens);
    assert_eq!(cached.tokens.len(), 4);
    assert!(cached.tokens.windows(2).any(|w| w[0] != w[1]), "paths with different streams should differ");
}

#[test]
fn a_mixed_length_batch_equals_each_series_alone() {
    let model = model();
    let all = cases();
    let mut long = all[0].request.clone();
    let mut short = all[2].request.clone();
    let (times, _) = input();
    let options = GenerateOptions::new(8, 512);
    short.future_stamps = times[64..72].iter().map(|t| time_features(*t)).collect();
    long.sampling = SamplingParams { top_k: 0, top_p: 0.95, samples: 3, seed: 9, ..greedy() };
    short.sampling = SamplingParams { top_k: 0, top_p: 0.95, samples: 2, seed: 5, ..greedy() };
    // a third series whose window slides (context 510 of max 512, 8 steps)
    let mut sliding = all[0].request.clone();
    let (_, bars) = input();
    sliding.history = bars[..300].to_vec();
    sliding.stamps = times[..300].iter().map(|t| time_features(*t)).collect();
    let slide_options = GenerateOptions { max_context: 303, ..options };
    let batch = model.forecast(&[long.clone(), short.clone()], &options).unwrap();
    let alone_long = model.forecast(std::slice::from_ref(&long), &options).unwrap().remove(0);
    let alone_short = model.forecast(std::slice::from_ref(&short), &options).unwrap().remove(0);
    for (batched, alone) in [(&batch[0], &alone_long), (&batch[1], &alone_short)] {
        assert_eq!(batched.tokens, alone.tokens);
        let a: Vec<f64> = batched.mean.iter().flatten().copied().collect();
        let b: Vec<f64> = alone.mean.iter().flatten().copied().collect();
        assert_close("batched mean", &a, &b, 1e-4);
    }
    let mixed = model.forecast(&[long.clone(), sliding.clone()], &slide_options).unwrap();
    let alone_sliding = model.forecast(std::slice::from_ref(&sliding), &slide_options).unwrap().remove(0);
    assert_eq!(mixed[1].tokens, alone_sliding.tokens);
    let recomputed = model.forecast(&[long, sliding], &GenerateOptions { use_cache: false, ..slide_options }).unwrap();
    assert_eq!(mixed[0].tokens, recomputed[0].tokens);
    assert_eq!(mixed[1].tokens, recomputed[1].tokens);
}
