//! A batch's requests have their own fates: a series the model cannot forecast, or a
//! request cancelled while it runs, fails alone, and every other request of the batch
//! gets exactly the forecast it gets alone.

#![expect(clippy::unwrap_used, reason = "tests fail loudly on a broken fixture")]

use std::{sync::Arc, time::Duration};

use chrono::{Duration as Step, NaiveDate};
use kronos_models::kronos::{
    time_features, GenerateOptions, KronosError, KronosModel, RequestWatch, SamplingParams, SeriesForecast,
    SeriesRequest,
};

mod common;
use common::tiny_model as model;

/// A zig-zag series of `len` hourly bars scaled by `scale`, `samples` sampled paths.
fn series(len: usize, horizon: usize, scale: f64, samples: usize, seed: u64) -> SeriesRequest {
    let start = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
    let times: Vec<_> = (0..len + horizon).map(|i| start + Step::hours(i as i64)).collect();
    let history = (0..len)
        .map(|i| {
            let c = scale * (100.0 + ((i * 37) % 11) as f64 - 5.0);
            [c, c * 1.01, c * 0.99, c, 1000.0 * scale, 0.0]
        })
        .collect();
    SeriesRequest {
        history,
        stamps: times[..len].iter().map(|t| time_features(*t)).collect(),
        future_stamps: times[len..].iter().map(|t| time_features(*t)).collect(),
        sampling: SamplingParams { samples, seed, ..SamplingParams::default() },
        watch: None,
    }
}

/// Asserts `got` is the forecast `request` gets alone: the same tokens on every path,
/// and the same decoded means (within float noise: padding in the batch's decode pass).
fn assert_as_alone(model: &KronosModel, request: &SeriesRequest, options: &GenerateOptions, got: &SeriesForecast) {
    let want = model.forecast(std::slice::from_ref(request), options).unwrap().remove(0);
    assert_eq!(got.tokens, want.tokens, "tokens differ from the forecast alone");
    for (g, w) in got.mean.iter().flatten().zip(want.mean.iter().flatten()) {
        assert!((g - w).abs() <= 1e-6 * w.abs() + 1e-9, "mean {g} differs from {w} alone");
    }
}

#[test]
fn a_series_that_cannot_be_forecast_fails_alone() {
    let model = model();
    let options = GenerateOptions::new(6, 128);
    let good: Vec<SeriesRequest> = (0..6).map(|i| series(40 + 7 * i, 6, 1.0 + i as f64, 3, i as u64)).collect();
    // 1e308 is a finite f64 but infinite in the model's f32 arithmetic
    let hostile = series(50, 6, 1e306, 3, 9);
    let mut batch = good.clone();
    batch.insert(2, hostile.clone());
    let results = model.forecast_each(&batch, &options);
    assert_eq!(results.len(), 7);
    assert!(
        matches!(&results[2], Err(KronosError::Input(m)) if m.contains("cannot be forecast")),
        "{:?}",
        results[2].as_ref().err()
    );
    for (i, request) in good.iter().enumerate() {
        let k = if i < 2 { i } else { i + 1 };
        assert_as_alone(&model, request, &options, results[k].as_ref().unwrap());
    }
    // the all-or-nothing call refuses the whole batch, as before
    assert!(model.forecast(&batch, &options).is_err());
}

#[test]
fn a_cancelled_request_leaves_the_batch_between_steps() {
    let model = model();
    let options = GenerateOptions::new(48, 512);
    let keep = [series(120, 48, 1.0, 4, 1), series(90, 48, 2.0, 2, 2)];
    let watch = Arc::new(RequestWatch::default());
    let mut cancelled = series(100, 48, 3.0, 4, 3);
    cancelled.watch = Some(Arc::clone(&watch));
    let batch = vec![keep[0].clone(), cancelled, keep[1].clone()];
    // cancel once the generation has made a few steps
    let canceller = {
        let watch = Arc::clone(&watch);
        std::thread::spawn(move || {
            while watch.path_steps() < 8 {
                std::thread::sleep(Duration::from_micros(200));
            }
            watch.cancel();
        })
    };
    let results = model.forecast_each(&batch, &options);
    canceller.join().unwrap();
    assert!(matches!(results[1], Err(KronosError::Cancelled)), "{:?}", results[1].as_ref().map(|f| f.prob_up));
    let done = watch.path_steps();
    assert!(done < 4 * 48, "the cancelled request stopped early ({done} of {} path-steps)", 4 * 48);
    assert_as_alone(&model, &keep[0], &options, results[0].as_ref().unwrap());
    assert_as_alone(&model, &keep[1], &options, results[2].as_ref().unwrap());
}

#[test]
fn progress_counts_every_path_step() {
    let model = model();
    let options = GenerateOptions::new(5, 64);
    let watch = Arc::new(RequestWatch::default());
    let mut request = series(70, 5, 1.0, 3, 4);
    request.watch = Some(Arc::clone(&watch));
    let results = model.forecast_each(std::slice::from_ref(&request), &options);
    assert!(results[0].is_ok());
    assert_eq!(watch.path_steps(), 3 * 5);
}
