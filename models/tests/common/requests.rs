//! Forecast requests for the batching tests: a wavy series of hourly bars and the
//! sampling settings they use.

use chrono::{Duration as Step, NaiveDate};
use kronos_models::kronos::{time_features, SamplingParams, SeriesRequest};

/// A wavy series of `len` hourly bars, offset by `shift`, with `horizon` future stamps.
#[expect(clippy::unwrap_used, reason = "a constant date")]
pub fn series(len: usize, horizon: usize, shift: f64, sampling: SamplingParams) -> SeriesRequest {
    let start = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
    let times: Vec<_> = (0..len + horizon).map(|i| start + Step::hours(i as i64)).collect();
    let history = (0..len)
        .map(|i| {
            let c = 50.0 + shift + (i as f64 * 0.37).sin() * 3.0 + ((i * 13) % 7) as f64 * 0.2;
            [c, c + 0.6, c - 0.5, c + 0.1, 500.0 + (i % 9) as f64 * 40.0, 0.0]
        })
        .collect();
    SeriesRequest {
        history,
        stamps: times[..len].iter().map(|t| time_features(*t)).collect(),
        future_stamps: times[len..].iter().map(|t| time_features(*t)).collect(),
        sampling,
        watch: None,
    }
}

/// Sampled paths (T 1, top-p 0.9).
pub fn sampled(samples: usize, seed: u64) -> SamplingParams {
    SamplingParams { temperature: 1.0, top_k: 0, top_p: 0.9, samples, seed }
}

/// Greedy paths.
pub fn greedy(samples: usize) -> SamplingParams {
    SamplingParams { temperature: 1.0, top_k: 1, top_p: 1.0, samples, seed: 0 }
}
