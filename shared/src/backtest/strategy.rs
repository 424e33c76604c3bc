//! Strategies: entry and exit signals computed from bars up to and including bar t
//! (never later ones), to be filled by the engine.

use crate::error::{Error, Result};

use super::Bars;

/// Entry and exit signals per bar (computed at that bar's close).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signals {
    /// Open (or keep) a long position.
    pub long_entry: Vec<bool>,
    /// Close a long position.
    pub long_exit: Vec<bool>,
    /// Open a short position (only with shorting enabled).
    pub short_entry: Vec<bool>,
    /// Close a short position.
    pub short_exit: Vec<bool>,
}

impl Signals {
    fn empty(n: usize) -> Self {
        Self {
            long_entry: vec![false; n],
            long_exit: vec![false; n],
            short_entry: vec![false; n],
            short_exit: vec![false; n],
        }
    }
}

/// A strategy and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    /// Long when the fast SMA of the close crosses above the slow one, out when it
    /// crosses below (short on the way down when shorting is enabled).
    SmaCross {
        /// Fast window.
        fast: usize,
        /// Slow window.
        slow: usize,
    },
}

impl Strategy {
    /// Checks the parameters; the error names the bad one.
    pub fn validate(&self) -> Result<()> {
        match self {
            Self::SmaCross { fast, slow } => {
                if *fast < 1 {
                    return Err(Error::invalid("fast", "fast must be at least 1"));
                }
                if fast >= slow {
                    return Err(Error::invalid("fast", format!("fast ({fast}) must be less than slow ({slow})")));
                }
                Ok(())
            }
        }
    }

    /// The signals on `bars`.
    pub fn signals(&self, bars: &Bars) -> Result<Signals> {
        self.validate()?;
        match *self {
            Self::SmaCross { fast, slow } => Ok(sma_cross(&bars.close, fast, slow)),
        }
    }
}

/// Simple rolling mean; `NaN` until the window is full.
pub fn sma(values: &[f64], window: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; values.len()];
    if window == 0 || values.len() < window {
        return out;
    }
    let mut sum: f64 = values[..window].iter().sum();
    out[window - 1] = sum / window as f64;
    for i in window..values.len() {
        sum += values[i] - values[i - window];
        out[i] = sum / window as f64;
    }
    out
}

/// Crossovers: up when `fast[t] > slow[t]` and `fast[t-1] <= slow[t-1]`, down the mirror.
fn sma_cross(close: &[f64], fast: usize, slow: usize) -> Signals {
    let (f, s) = (sma(close, fast), sma(close, slow));
    let mut out = Signals::empty(close.len());
    for t in 1..close.len() {
        if f[t].is_nan() || s[t].is_nan() || f[t - 1].is_nan() || s[t - 1].is_nan() {
            continue;
        }
        let up = f[t] > s[t] && f[t - 1] <= s[t - 1];
        let down = f[t] < s[t] && f[t - 1] >= s[t - 1];
        out.long_entry[t] = up;
        out.short_exit[t] = up;
        out.long_exit[t] = down;
        out.short_entry[t] = down;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sma_is_a_rolling_mean_defined_once_the_window_is_full() {
        let v = sma(&[1.0, 2.0, 3.0, 4.0], 2);
        assert!(v[0].is_nan());
        assert_eq!(&v[1..], &[1.5, 2.5, 3.5]);
    }

    #[test]
    fn crosses_fire_on_the_bar_they_happen() {
        // fast(1) = close, slow(2): close 3,2,1,2,3,2
        let bars = Bars { close: vec![3.0, 2.0, 1.0, 2.0, 3.0, 2.0], ..Bars::default() };
        let s = Strategy::SmaCross { fast: 1, slow: 2 }.signals(&bars).unwrap();
        // slow: -, 2.5, 1.5, 1.5, 2.5, 2.5 → fast > slow at 3 (2 > 1.5) after ≤ at 2: up at 3
        assert_eq!(s.long_entry, vec![false, false, false, true, false, false]);
        // at 5: 2 < 2.5 after 3 > 2.5: down
        assert_eq!(s.long_exit, vec![false, false, false, false, false, true]);
        assert!(Strategy::SmaCross { fast: 5, slow: 5 }.validate().is_err());
    }
}
