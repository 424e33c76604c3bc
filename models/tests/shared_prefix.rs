//! The shared prefix is exact: a series' history tokenized and run through the
//! predictor once, its cache forked into the sample paths, draws on every path the
//! tokens that the same path draws with the history run once per path — greedy and
//! sampled, in ragged batches, when the window slides, and when a request leaves the
//! batch.

#![expect(clippy::unwrap_used, reason = "tests fail loudly on a broken fixture")]

use std::sync::Arc;

use kronos_models::kronos::{GenerateOptions, KronosError, KronosModel, RequestWatch, SeriesForecast, SeriesRequest};

mod common;
#[path = "common/requests.rs"]
mod requests;
use common::tiny_model as model;
use requests::{greedy, sampled, series};

/// Forecasts `requests` with the prefix shared and per path; asserts every series'
/// paths drew the same tokens and the means agree within float noise.
fn assert_shared_equals_per_path(model: &KronosModel, requests: &[SeriesRequest], options: GenerateOptions) {
    let shared = model.forecast(requests, &GenerateOptions { share_prefix: true, ..options }).unwrap();
    let per_path = model.forecast(requests, &GenerateOptions { share_prefix: false, ..options }).unwrap();
    for (k, (a, b)) in shared.iter().zip(&per_path).enumerate() {
        assert_same(k, a, b);
    }
}

fn assert_same(k: usize, a: &SeriesForecast, b: &SeriesForecast) {
    assert_eq!(a.tokens.len(), b.tokens.len(), "series {k}: paths");
    assert_eq!(a.tokens, b.tokens, "series {k}: tokens differ with a shared prefix");
    for (x, y) in a.mean.iter().flatten().zip(b.mean.iter().flatten()) {
        assert!((x - y).abs() <= 1e-5 * y.abs() + 1e-9, "series {k}: mean {x} against {y}");
    }
}

#[test]
fn sampled_paths_draw_the_same_tokens_with_a_shared_prefix() {
    let model = model();
    let request = series(96, 6, 0.0, sampled(8, 21));
    assert_shared_equals_per_path(&model, std::slice::from_ref(&request), GenerateOptions::new(6, 512));
    // the paths really are different draws, so the comparison means something
    let forecast = model.forecast(std::slice::from_ref(&request), &GenerateOptions::new(6, 512)).unwrap();
    assert!(forecast[0].tokens.windows(2).any(|w| w[0] != w[1]), "sampled paths should differ");
}

#[test]
fn greedy_paths_draw_the_same_tokens_with_a_shared_prefix() {
    let model = model();
    let requests = [series(64, 5, 1.0, greedy(3)), series(80, 5, -2.0, greedy(1))];
    assert_shared_equals_per_path(&model, &requests, GenerateOptions::new(5, 512));
}

#[test]
fn a_ragged_batch_with_a_sliding_window_is_exact() {
    let model = model();
    // three lengths (left padding), different path counts and seeds; with max_context
    // 100 the 98-bar series slides from its fourth step, the others never do
    let requests =
        [series(98, 6, 0.0, sampled(4, 1)), series(40, 6, 3.0, sampled(2, 2)), series(71, 6, -1.5, sampled(5, 3))];
    assert_shared_equals_per_path(&model, &requests, GenerateOptions::new(6, 100));
    assert_shared_equals_per_path(&model, &requests, GenerateOptions::new(6, 512));
    // without the cache the prefix is recomputed every step, shared or not
    let uncached = GenerateOptions { use_cache: false, ..GenerateOptions::new(6, 512) };
    let recomputed = model.forecast(&requests, &uncached).unwrap();
    let shared = model.forecast(&requests, &GenerateOptions::new(6, 512)).unwrap();
    for (k, (a, b)) in shared.iter().zip(&recomputed).enumerate() {
        assert_eq!(a.tokens, b.tokens, "series {k}: shared prefix against full recomputation");
    }
}

#[test]
fn more_paths_than_one_pass_holds_are_exact() {
    let model = model();
    // 40 paths: a CPU pass holds 32 rows, so the series' paths span two passes
    let request = series(50, 4, 0.5, sampled(40, 99));
    assert_shared_equals_per_path(&model, std::slice::from_ref(&request), GenerateOptions::new(4, 512));
}

#[test]
fn a_request_cancelled_before_its_first_step_leaves_the_others_exact() {
    let model = model();
    let watch = Arc::new(RequestWatch::default());
    watch.cancel();
    let mut gone = series(60, 5, 2.0, sampled(3, 4));
    gone.watch = Some(Arc::clone(&watch));
    let kept = [series(60, 5, 0.0, sampled(3, 5)), series(45, 5, 1.0, sampled(2, 6))];
    let batch = vec![kept[0].clone(), gone, kept[1].clone()];
    let results = model.forecast_each(&batch, &GenerateOptions::new(5, 512));
    assert!(matches!(results[1], Err(KronosError::Cancelled)));
    let per_path =
        model.forecast(&kept, &GenerateOptions { share_prefix: false, ..GenerateOptions::new(5, 512) }).unwrap();
    assert_same(0, results[0].as_ref().unwrap(), &per_path[0]);
    assert_same(2, results[2].as_ref().unwrap(), &per_path[1]);
}
