//! Range checks with one wording, for every numeric input a client sends.

use std::fmt::Display;

use crate::error::{Error, Result};

/// `value` must lie in `lo..=hi` (NaN never does); the error names `field` and the range.
pub fn check_f64(field: &str, value: f64, lo: f64, hi: f64) -> Result<()> {
    if value.is_finite() && value >= lo && value <= hi {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("{field} must be a number from {} to {} (got {})", show(lo), show(hi), show(value)),
        ))
    }
}

/// `value` must lie in `lo..=hi`.
pub fn check_int<T: PartialOrd + Display + Copy>(field: &str, value: T, lo: T, hi: T) -> Result<()> {
    if value >= lo && value <= hi {
        Ok(())
    } else {
        Err(Error::invalid(field, format!("{field} must be a whole number from {lo} to {hi} (got {value})")))
    }
}

/// A number for a message: large and tiny ones in scientific notation (`1e12`,
/// `1e-12`), others as written.
pub fn show(v: f64) -> String {
    if v.is_finite() && v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-3) {
        format!("{v:e}")
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive_and_nan_is_refused() {
        assert!(check_f64("fee", 0.0, 0.0, 0.1).is_ok());
        assert!(check_f64("fee", 0.1, 0.0, 0.1).is_ok());
        assert!(check_f64("fee", f64::NAN, 0.0, 0.1).is_err());
        let e = check_f64("init_cash", 1e308, 1.0, 1e12).unwrap_err().to_string();
        assert!(e.contains("from 1 to 1e12 (got 1e308)"), "{e}");
        assert!(check_int("fast", 0usize, 1, 5000).is_err());
    }
}
