//! Baseline forecasters for honest comparison: naive (last value) and drift.
//!
//! Both take their uncertainty from the empirical distribution of past h-step log
//! returns of the close, `r_h(t) = ln(c[t+h] / c[t])`:
//! - **naive** (random walk without drift): mean path = last close; the h-step
//!   distribution is `r_h` with its mean removed.
//! - **drift** (random walk with drift, `d = ln(c_T / c_1) / (T - 1)`): mean path =
//!   `c_T · e^(h·d)`; the h-step distribution is `r_h` re-centred on `h·d`.
//!
//! Quantiles use linear interpolation between order statistics (numpy's default).
//! Each step's open is the previous step's close, high/low bracket open and close,
//! and volume/amount repeat the last observed bar. `prob_up` is the share of the
//! horizon's distribution above zero.

mod empirical;

use crate::{Bar, Forecast, ForecastError, HorizonRisk, CLOSE};

pub use empirical::quantile;

/// Log returns within this of zero count as unchanged (float noise of the re-centring).
const RETURN_EPSILON: f64 = 1e-12;

/// The baseline models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    /// Last value.
    Naive,
    /// Straight line from the first to the last close (in log space).
    Drift,
}

impl Baseline {
    /// Looks a baseline up by name (`naive`, `drift`).
    pub fn from_name(name: &str) -> Result<Self, ForecastError> {
        match name {
            "naive" => Ok(Self::Naive),
            "drift" => Ok(Self::Drift),
            other => Err(ForecastError::UnknownModel(other.to_owned())),
        }
    }

    /// Fewest history rows that give at least two h-step returns.
    pub fn min_history(horizon: usize) -> usize {
        horizon + 2
    }

    /// Forecasts `horizon` steps after `history` (oldest first).
    pub fn forecast(self, history: &[Bar], horizon: usize) -> Result<Forecast, ForecastError> {
        if horizon == 0 {
            return Err(ForecastError::ZeroHorizon);
        }
        let needed = Self::min_history(horizon);
        if history.len() < needed {
            return Err(ForecastError::TooShort { needed, got: history.len() });
        }
        let mut logs = Vec::with_capacity(history.len());
        for (i, bar) in history.iter().enumerate() {
            let c = bar[CLOSE];
            if !(c.is_finite() && c > 0.0) {
                return Err(ForecastError::BadPrice(i));
            }
            logs.push(c.ln());
        }
        let t = logs.len();
        let last = history[t - 1];
        let last_close = last[CLOSE];
        let drift = match self {
            Self::Naive => 0.0,
            Self::Drift => (logs[t - 1] - logs[0]) / (t - 1) as f64,
        };
        let mut forecast = Forecast {
            mean: Vec::new(),
            p10: Vec::new(),
            p50: Vec::new(),
            p90: Vec::new(),
            prob_up: 0.5,
            risk: HorizonRisk::new(last_close, last_close, Vec::new()),
        };
        let mut prev_close = last_close;
        for h in 1..=horizon {
            let returns: Vec<f64> = (0..t - h).map(|i| logs[i + h] - logs[i]).collect();
            let mean = returns.iter().sum::<f64>() / returns.len() as f64;
            let centre = h as f64 * drift;
            let mut dist: Vec<f64> = returns.iter().map(|r| r - mean + centre).collect();
            dist.sort_by(f64::total_cmp);
            let close = last_close * centre.exp();
            forecast.mean.push([prev_close, prev_close.max(close), prev_close.min(close), close, last[4], last[5]]);
            forecast.p10.push(last_close * quantile(&dist, 0.1).exp());
            forecast.p50.push(last_close * quantile(&dist, 0.5).exp());
            forecast.p90.push(last_close * quantile(&dist, 0.9).exp());
            if h == horizon {
                forecast.prob_up = dist.iter().filter(|r| **r > RETURN_EPSILON).count() as f64 / dist.len() as f64;
                let returns = dist.iter().map(|r| r.exp_m1()).collect();
                forecast.risk = HorizonRisk::new(last_close, close, returns);
            }
            prev_close = close;
        }
        Ok(forecast)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(closes: &[f64]) -> Vec<Bar> {
        closes.iter().map(|&c| [c, c, c, c, 7.0, 70.0]).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    // closes 100, 200, 100, 200; one-step log returns: ln2, -ln2, ln2 (mean ln2/3).
    #[test]
    fn naive_matches_hand_computation() {
        let f = Baseline::Naive.forecast(&bars(&[100.0, 200.0, 100.0, 200.0]), 1).unwrap();
        // demeaned returns sorted: -4ln2/3, 2ln2/3, 2ln2/3
        assert_eq!(f.mean[0], [200.0, 200.0, 200.0, 200.0, 7.0, 70.0]);
        assert!(close(f.p50[0], 200.0 * 2f64.powf(2.0 / 3.0)));
        // p10: position 0.2 between -4ln2/3 and 2ln2/3
        assert!(close(f.p10[0], 200.0 * 2f64.powf(-4.0 / 3.0 + 0.2 * 2.0)));
        assert!(close(f.p90[0], 200.0 * 2f64.powf(2.0 / 3.0)));
        assert!(close(f.prob_up, 2.0 / 3.0));
    }

    #[test]
    fn drift_matches_hand_computation() {
        let f = Baseline::Drift.forecast(&bars(&[100.0, 200.0, 100.0, 200.0]), 1).unwrap();
        // drift d = ln2/3; distribution = raw returns: -ln2, ln2, ln2
        assert!(close(f.mean[0][CLOSE], 200.0 * 2f64.powf(1.0 / 3.0)));
        assert!(close(f.mean[0][0], 200.0));
        assert!(close(f.mean[0][1], 200.0 * 2f64.powf(1.0 / 3.0)));
        assert!(close(f.p10[0], 200.0 * 2f64.powf(-0.6)));
        assert!(close(f.p50[0], 400.0));
        assert!(close(f.prob_up, 2.0 / 3.0));
    }

    #[test]
    fn multi_step_paths_chain_open_to_previous_close() {
        // steadily rising 1% per bar: drift = ln 1.01, every h-step return equals h·ln1.01
        let closes: Vec<f64> = (0..30).map(|i| 100.0 * 1.01f64.powi(i)).collect();
        let f = Baseline::Drift.forecast(&bars(&closes), 3).unwrap();
        let last = closes[29];
        for h in 0..3 {
            let expect = last * 1.01f64.powi(h as i32 + 1);
            assert!(close(f.mean[h][CLOSE], expect));
            assert!(close(f.p10[h], expect) && close(f.p90[h], expect));
        }
        assert!(close(f.mean[1][0], f.mean[0][CLOSE]));
        assert_eq!(f.prob_up, 1.0);
        let n = Baseline::Naive.forecast(&bars(&closes), 3).unwrap();
        assert!(close(n.mean[2][CLOSE], last));
        assert_eq!(n.prob_up, 0.0, "demeaned constant returns are all zero: none above");
    }

    #[test]
    fn rejects_short_history_and_bad_prices() {
        assert_eq!(
            Baseline::Naive.forecast(&bars(&[1.0, 2.0, 3.0]), 2),
            Err(ForecastError::TooShort { needed: 4, got: 3 })
        );
        assert_eq!(Baseline::Naive.forecast(&bars(&[1.0, -2.0, 3.0]), 1), Err(ForecastError::BadPrice(1)));
        assert_eq!(Baseline::Drift.forecast(&bars(&[1.0, 2.0, 3.0]), 0), Err(ForecastError::ZeroHorizon));
        assert!(Baseline::from_name("kronos-x").is_err());
    }
}
