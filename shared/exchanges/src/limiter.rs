//! A weighted token bucket per source: `capacity` units per `window`, refilled
//! continuously (Binance counts request weight per minute, OKX requests per 2 s,
//! CoinGecko calls per minute). A source's `Retry-After` pauses the whole bucket.

use std::{sync::Mutex, time::Duration};

use tokio::time::Instant;

/// A rate limiter shared by every request to one source.
#[derive(Debug)]
pub struct RateLimiter {
    capacity: f64,
    per_second: f64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    tokens: f64,
    updated: Instant,
    paused_until: Option<Instant>,
}

impl RateLimiter {
    /// `capacity` units per `window` (both above zero).
    pub fn new(capacity: u32, window: Duration) -> Self {
        let capacity = f64::from(capacity.max(1));
        let per_second = capacity / window.as_secs_f64().max(1e-3);
        Self {
            capacity,
            per_second,
            state: Mutex::new(State { tokens: capacity, updated: Instant::now(), paused_until: None }),
        }
    }

    /// Waits until `weight` units are available, then takes them. A weight above the
    /// capacity waits for a full bucket.
    pub async fn acquire(&self, weight: u32) {
        let weight = f64::from(weight).min(self.capacity);
        loop {
            let wait = self.try_take(weight);
            match wait {
                None => return,
                Some(d) => tokio::time::sleep(d).await,
            }
        }
    }

    /// Takes `weight` now, or says how long to wait first.
    fn try_take(&self, weight: f64) -> Option<Duration> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if let Some(until) = s.paused_until {
            if until > now {
                return Some(until - now);
            }
            s.paused_until = None;
        }
        let elapsed = now.saturating_duration_since(s.updated).as_secs_f64();
        s.tokens = (s.tokens + elapsed * self.per_second).min(self.capacity);
        s.updated = now;
        if s.tokens >= weight {
            s.tokens -= weight;
            None
        } else {
            Some(Duration::from_secs_f64((weight - s.tokens) / self.per_second))
        }
    }

    /// Stops every request for `pause` (a 429's `Retry-After`), and empties the bucket.
    pub fn pause(&self, pause: Duration) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let until = Instant::now() + pause;
        s.paused_until = Some(s.paused_until.map_or(until, |u| u.max(until)));
        s.tokens = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn weights_spread_over_the_window() {
        let limiter = RateLimiter::new(10, Duration::from_secs(1));
        let start = Instant::now();
        for _ in 0..5 {
            limiter.acquire(2).await; // the whole bucket
        }
        assert!(start.elapsed() < Duration::from_millis(5));
        limiter.acquire(5).await; // half a window's refill
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(495) && waited <= Duration::from_millis(520), "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_request() {
        let limiter = RateLimiter::new(100, Duration::from_secs(1));
        limiter.pause(Duration::from_secs(3));
        let start = Instant::now();
        limiter.acquire(1).await;
        assert!(start.elapsed() >= Duration::from_secs(3));
    }
}
