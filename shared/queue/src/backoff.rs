//! Exponential retry backoff with full jitter.

use std::time::Duration;

use rand::Rng;

/// Delay before retry number `attempt` (1-based): uniform in `[base·2^(attempt-1) / 2, base·2^(attempt-1)]`,
/// capped at `max`. Half of the delay is jitter so retries of a burst spread out.
pub fn delay(attempt: u32, base: Duration, max: Duration) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    let ceiling = exp.min(max);
    let floor = ceiling / 2;
    let jitter_ms = rand::rng().random_range(0..=ceiling.saturating_sub(floor).as_millis() as u64);
    floor + Duration::from_millis(jitter_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_within_jitter_bounds_and_caps() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        for _ in 0..200 {
            let d1 = delay(1, base, max);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100), "{d1:?}");
            let d3 = delay(3, base, max);
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400), "{d3:?}");
            let d10 = delay(10, base, max);
            assert!(d10 >= Duration::from_millis(500) && d10 <= max, "{d10:?}");
        }
    }
}
