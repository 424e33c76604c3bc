//! Sample series for tests.

use chrono::{DateTime, Duration, Utc};
use kronos_types::Candle;

/// `n` daily candles of a deterministic zig-zag walk starting at 2024-01-01.
pub fn candles(n: usize) -> Vec<Candle> {
    let start = DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z").expect("date").with_timezone(&Utc);
    let mut close = 100.0f64;
    (0..n)
        .map(|i| {
            let open = close;
            let step = ((i * 7919) % 13) as f64 / 13.0 - 0.45;
            close = (open * (1.0 + step * 0.02)).max(1.0);
            Candle {
                ts: start + Duration::days(i as i64),
                open,
                high: open.max(close) * 1.01,
                low: open.min(close) * 0.99,
                close,
                volume: 1000.0 + i as f64,
                amount: 0.0,
            }
        })
        .collect()
}

/// A prediction request body over inline candles.
pub fn inline_request(n: usize, horizon: usize, model: &str) -> serde_json::Value {
    serde_json::json!({ "candles": candles(n), "interval": "1d", "horizon": horizon, "model": model })
}
