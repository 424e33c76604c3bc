//! Continuous batching is exact and serves requests as they come: requests joining a
//! running decode between steps, with different histories, horizons and path counts,
//! get the forecast each gets alone (same tokens, same numbers within float noise);
//! short requests leave as soon as their last step is drawn; the row and cache limits
//! hold; a cancelled request leaves between steps and the rest go on.

#![expect(clippy::unwrap_used, reason = "tests fail loudly on a broken fixture")]

use std::{collections::HashMap, sync::Arc};

use kronos_models::kronos::{
    ContinuousBatch, ContinuousLimits, GenerateOptions, KronosError, KronosModel, RequestWatch, SamplingParams,
    SeriesForecast, SeriesRequest,
};

mod common;
#[path = "common/requests.rs"]
mod requests;
use common::tiny_model as model;
use requests::{greedy, sampled, series};

/// Request `k`: a series with its options.
struct Case {
    request: SeriesRequest,
    options: GenerateOptions,
}

fn case(len: usize, horizon: usize, shift: f64, sampling: SamplingParams) -> Case {
    Case { request: series(len, horizon, shift, sampling), options: GenerateOptions::new(horizon, 512) }
}

fn alone(model: &KronosModel, case: &Case) -> SeriesForecast {
    model.forecast(std::slice::from_ref(&case.request), &case.options).unwrap().remove(0)
}

fn assert_same(k: usize, a: &SeriesForecast, b: &SeriesForecast) {
    assert_eq!(a.tokens, b.tokens, "request {k}: tokens differ from the request alone");
    for (x, y) in a.mean.iter().flatten().zip(b.mean.iter().flatten()) {
        assert!((x - y).abs() <= 1e-5 * y.abs() + 1e-9, "request {k}: mean {x} against {y} alone");
    }
    for (x, y) in a.p90.iter().flatten().zip(b.p90.iter().flatten()) {
        assert!((x - y).abs() <= 1e-5 * y.abs() + 1e-9, "request {k}: p90 {x} against {y} alone");
    }
}

/// Steps until idle, recording at which step each request finished.
fn drain(
    model: &KronosModel,
    batch: &mut ContinuousBatch<usize>,
    step: &mut usize,
    out: &mut HashMap<usize, (usize, Result<SeriesForecast, KronosError>)>,
    max_rows: usize,
) {
    while !batch.is_idle() {
        for (tag, result) in batch.step(model) {
            out.insert(tag, (*step, result));
        }
        assert!(batch.rows() <= max_rows, "{} rows decode together, limit {max_rows}", batch.rows());
        *step += 1;
    }
}

#[test]
fn requests_joining_a_running_batch_get_the_forecast_they_get_alone() {
    let model = model();
    let cases = [
        case(96, 10, 0.0, sampled(4, 7)),
        case(40, 3, 2.0, greedy(1)),
        case(120, 6, -3.0, sampled(8, 11)),
        case(70, 1, 1.0, sampled(2, 5)),
        case(55, 8, 4.0, greedy(3)),
    ];
    let limits = ContinuousLimits { max_rows: 64, max_cache_bytes: 1 << 30 };
    let mut batch = ContinuousBatch::new(limits);
    let mut results = HashMap::new();
    let mut step = 0;
    // request 0 starts alone; 1 and 2 join after two steps; 3 and 4 after one more
    batch.submit(cases[0].request.clone(), cases[0].options, 0).map_err(|e| e.1).unwrap();
    for _ in 0..2 {
        for (tag, result) in batch.step(&model) {
            results.insert(tag, (step, result));
        }
        step += 1;
    }
    assert_eq!(batch.rows(), 4, "request 0's paths decode");
    for (k, c) in cases.iter().enumerate().skip(1).take(2) {
        batch.submit(c.request.clone(), c.options, k).map_err(|e| e.1).unwrap();
    }
    for (tag, result) in batch.step(&model) {
        results.insert(tag, (step, result));
    }
    step += 1;
    assert_eq!(batch.rows(), 4 + 1 + 8, "requests 1 and 2 joined the running batch");
    for (k, c) in cases.iter().enumerate().skip(3) {
        batch.submit(c.request.clone(), c.options, k).map_err(|e| e.1).unwrap();
    }
    drain(&model, &mut batch, &mut step, &mut results, 64);

    for (k, c) in cases.iter().enumerate() {
        let (_, result) = &results[&k];
        assert_same(k, result.as_ref().unwrap(), &alone(&model, c));
    }
    // each leaves when its last step is drawn: request 1 (3 steps, joined at step 2)
    // before request 0 (10 steps); request 3 (1 step) in the step it joined
    assert_eq!(results[&1].0, 3, "request 1 finished at step 3");
    assert_eq!(results[&3].0, 3, "request 3 finished in the step it joined");
    assert!(results[&1].0 < results[&0].0, "a short request does not wait for a long one");
}

#[test]
fn the_row_and_cache_limits_hold_and_results_stay_exact() {
    let model = model();
    let cases = [
        case(64, 5, 0.0, sampled(3, 1)),
        case(80, 4, 1.0, sampled(3, 2)),
        case(48, 6, -1.0, greedy(2)),
        case(90, 3, 2.0, sampled(9, 3)),
    ];
    // 5 rows: requests 0 and 1 cannot decode together; request 3 (9 paths) runs alone
    let mut batch = ContinuousBatch::new(ContinuousLimits { max_rows: 5, max_cache_bytes: 1 << 30 });
    for (k, c) in cases.iter().enumerate() {
        batch.submit(c.request.clone(), c.options, k).map_err(|e| e.1).unwrap();
    }
    let mut results = HashMap::new();
    let mut step = 0;
    while !batch.is_idle() {
        for (tag, result) in batch.step(&model) {
            results.insert(tag, (step, result));
        }
        let running_alone = batch.rows() == 9 && batch.waiting() == 0;
        assert!(batch.rows() <= 5 || running_alone, "{} rows decode together, limit 5", batch.rows());
        step += 1;
    }
    for (k, c) in cases.iter().enumerate() {
        assert_same(k, results[&k].1.as_ref().unwrap(), &alone(&model, c));
    }
    assert!(results[&1].0 > results[&0].0, "request 1 waited for room");

    // a cache budget below two requests' caches: one request at a time
    let mut batch = ContinuousBatch::new(ContinuousLimits { max_rows: 64, max_cache_bytes: 1 });
    for (k, c) in cases.iter().enumerate() {
        batch.submit(c.request.clone(), c.options, k).map_err(|e| e.1).unwrap();
    }
    let mut results = HashMap::new();
    while !batch.is_idle() {
        for (tag, result) in batch.step(&model) {
            results.insert(tag, result);
        }
        assert!(batch.rows() <= 9, "one request at a time under the cache budget");
        assert!([0, 2, 3, 9].contains(&batch.rows()), "{} rows: more than one request", batch.rows());
    }
    for (k, c) in cases.iter().enumerate() {
        assert_same(k, results[&k].as_ref().unwrap(), &alone(&model, c));
    }
}

#[test]
fn a_cancelled_request_leaves_between_steps_and_the_others_go_on() {
    let model = model();
    let watch = Arc::new(RequestWatch::default());
    let mut doomed = case(72, 12, 0.0, sampled(4, 9));
    doomed.request.watch = Some(Arc::clone(&watch));
    let kept = case(60, 12, 3.0, sampled(4, 10));
    let mut batch = ContinuousBatch::new(ContinuousLimits { max_rows: 64, max_cache_bytes: 1 << 30 });
    batch.submit(doomed.request.clone(), doomed.options, 0).map_err(|e| e.1).unwrap();
    batch.submit(kept.request.clone(), kept.options, 1).map_err(|e| e.1).unwrap();
    for _ in 0..3 {
        assert!(batch.step(&model).is_empty());
    }
    let progress = watch.path_steps();
    assert!(progress >= 4 * 3, "progress is counted per path-step: {progress}");
    watch.cancel();
    let finished = batch.step(&model);
    assert_eq!(finished.len(), 1);
    assert!(matches!(finished[0], (0, Err(KronosError::Cancelled))));
    assert_eq!(batch.rows(), 4, "only the other request's paths decode");
    let mut results = HashMap::new();
    let mut step = 0;
    drain(&model, &mut batch, &mut step, &mut results, 4);
    assert_same(1, results[&1].1.as_ref().unwrap(), &alone(&model, &kept));
}

#[test]
fn requests_whose_window_slides_are_refused_with_the_reason() {
    let model = model();
    let sliding = Case { request: series(100, 8, 0.0, greedy(1)), options: GenerateOptions::new(8, 104) };
    assert!(!ContinuousBatch::<()>::accepts(&sliding.request, &sliding.options));
    let mut batch = ContinuousBatch::new(ContinuousLimits::for_device(model.device()));
    let (tag, error) = batch.submit(sliding.request.clone(), sliding.options, 7).unwrap_err();
    assert_eq!(tag, 7);
    assert!(matches!(error, KronosError::Param("max_context", _)), "{error}");
    // the same history inside the window is taken
    let inside = GenerateOptions::new(8, 107);
    assert!(ContinuousBatch::<()>::accepts(&sliding.request, &inside));
    // a bad series is refused at submission, naming what is wrong
    let mut empty = sliding.request.clone();
    empty.history.clear();
    empty.stamps.clear();
    let (_, error) = batch.submit(empty, inside, 8).unwrap_err();
    assert!(error.to_string().contains("empty history"), "{error}");
    assert!(batch.is_idle());
}

#[test]
fn rows_join_in_place_and_leaving_rows_are_filled_by_the_last_ones() {
    let model = model();
    let cases = [case(100, 12, 0.0, sampled(3, 4)), case(60, 4, 2.0, sampled(1, 6)), case(80, 9, -2.0, sampled(2, 8))];
    let mut batch = ContinuousBatch::new(ContinuousLimits { max_rows: 64, max_cache_bytes: 1 << 30 });
    let mut results = HashMap::new();
    let mut step = 0;
    let mut run_step = |batch: &mut ContinuousBatch<usize>, results: &mut HashMap<usize, _>| {
        for (tag, result) in batch.step(&model) {
            results.insert(tag, (step, result));
        }
        step += 1;
    };
    batch.submit(cases[0].request.clone(), cases[0].options, 0).map_err(|e| e.1).unwrap();
    run_step(&mut batch, &mut results);
    let bytes = batch.cache_bytes();
    // a shorter request with one path joins the spare row: no new buffers
    batch.submit(cases[1].request.clone(), cases[1].options, 1).map_err(|e| e.1).unwrap();
    run_step(&mut batch, &mut results);
    assert_eq!(batch.rows(), 4);
    assert_eq!(batch.cache_bytes(), bytes, "the newcomer was copied into the spare row");
    // two more paths do not fit: the rows move to larger buffers
    batch.submit(cases[2].request.clone(), cases[2].options, 2).map_err(|e| e.1).unwrap();
    run_step(&mut batch, &mut results);
    assert_eq!(batch.rows(), 6);
    assert!(batch.cache_bytes() > bytes);
    // request 1 leaves first (its row is filled by request 2's last path), then 2, then 0
    while !batch.is_idle() {
        run_step(&mut batch, &mut results);
    }
    assert!(results[&1].0 < results[&2].0 && results[&2].0 < results[&0].0);
    for (k, c) in cases.iter().enumerate() {
        assert_same(k, results[&k].1.as_ref().unwrap(), &alone(&model, c));
    }
}
