//! Synthetic series for the benchmark examples: a seeded random walk of 5-minute bars.

use chrono::{Duration, NaiveDateTime};
use kronos_models::kronos::{continue_times, time_features, SamplingParams, SeriesRequest};

/// `len` bars of a random walk (seeded by `seed`) with `horizon` future time stamps and
/// one sampled path.
#[expect(clippy::expect_used, reason = "a constant time")]
pub fn series(len: usize, horizon: usize, seed: u64) -> SeriesRequest {
    let start = NaiveDateTime::parse_from_str("2025-01-06 09:30:00", "%Y-%m-%d %H:%M:%S").expect("valid time");
    let times = continue_times(start, Duration::minutes(5), len + horizon);
    let mut price = 100.0 + seed as f64;
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let history = (0..len)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let step = ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 0.02;
            let open = price;
            price *= 1.0 + step;
            let volume = 1000.0 + (state >> 50) as f64;
            [open, open.max(price) * 1.001, open.min(price) * 0.999, price, volume, volume * price]
        })
        .collect();
    SeriesRequest {
        history,
        stamps: times[..len].iter().map(|t| time_features(*t)).collect(),
        future_stamps: times[len..].iter().map(|t| time_features(*t)).collect(),
        sampling: SamplingParams { temperature: 1.0, top_k: 0, top_p: 0.9, samples: 1, seed },
        watch: None,
    }
}
