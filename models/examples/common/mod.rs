//! What the benchmark examples share: waiting for the device, medians, flags.

use tch::Device;

/// Waits for queued GPU work on `device` (a no-op on the CPU), so timings include it.
pub fn synchronize(device: Device) {
    if let Device::Cuda(n) = device {
        tch::Cuda::synchronize(n as i64);
    }
}

/// The median of a non-empty sample (the upper one of an even count).
pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// A comma-separated list flag's values (`flag` names it in the error).
pub fn parse_list<T: std::str::FromStr>(flag: &str, raw: &str) -> Result<Vec<T>, String>
where
    T::Err: std::fmt::Display,
{
    raw.split(',').map(|v| v.parse().map_err(|e| format!("{flag}: {e}"))).collect()
}

/// The parsed flags, or the parse error on stderr and exit status 2.
pub fn args_or_exit<A>(parsed: Result<A, String>) -> A {
    match parsed {
        Ok(args) => args,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
