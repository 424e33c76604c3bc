//! Random draws made on the host for training: a per-thread stream that a training
//! step seeds (so the parts of a step run on several threads at once draw the same
//! numbers whatever order the threads run in), falling back to libtorch's generator.

use std::cell::Cell;

use tch::{Device, Kind, Tensor};

thread_local! {
    /// The SplitMix64 state of this thread's stream, while one is set.
    static STREAM: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Runs `f` with this thread's draws taken from a stream seeded by `seed`.
pub fn with_stream<T>(seed: u64, f: impl FnOnce() -> T) -> T {
    let previous = STREAM.with(|s| s.replace(Some(seed)));
    let out = f();
    STREAM.with(|s| s.set(previous));
    out
}

/// The next 64 random bits: from this thread's stream when one is set, else from
/// libtorch's generator (so `tch::manual_seed` makes a run repeatable).
pub fn next_u64() -> u64 {
    let from_stream = STREAM.with(|s| {
        s.get().map(|mut state| {
            let bits = split_mix(&mut state);
            s.set(Some(state));
            bits
        })
    });
    from_stream.unwrap_or_else(|| Tensor::randint(i64::MAX, [1], (Kind::Int64, Device::Cpu)).int64_value(&[0]) as u64)
}

/// `n` uniform draws on `[0, 1)` with 24 random bits each (every f32 step of the unit
/// interval at that resolution), from a stream seeded by [`next_u64`].
pub fn uniforms(n: usize) -> Vec<f32> {
    let mut state = next_u64();
    (0..n).map(|_| (split_mix(&mut state) >> 40) as f32 / (1u32 << 24) as f32).collect()
}

/// SplitMix64 (Steele, Lea, Flood 2014): the next 64 bits of the stream in `state`.
pub fn split_mix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_repeats_and_is_restored_after() {
        let a = with_stream(9, || (next_u64(), next_u64()));
        let b = with_stream(9, || (next_u64(), next_u64()));
        assert_eq!(a, b);
        assert_ne!(a.0, a.1);
        assert_ne!(a, with_stream(10, || (next_u64(), next_u64())));
        // nested streams give back the outer one
        let outer = with_stream(9, || {
            let first = next_u64();
            let _ = with_stream(1, next_u64);
            (first, next_u64())
        });
        assert_eq!(outer, a);
        // without a stream the draws follow libtorch's generator
        tch::manual_seed(4);
        let x = next_u64();
        tch::manual_seed(4);
        assert_eq!(x, next_u64());
    }

    #[test]
    fn uniforms_cover_the_unit_interval_evenly() {
        let u = with_stream(5, || uniforms(100_000));
        assert!(u.iter().all(|v| (0.0..1.0).contains(v)));
        let mean = u.iter().map(|v| f64::from(*v)).sum::<f64>() / u.len() as f64;
        assert!((mean - 0.5).abs() < 0.005, "{mean}");
        let below_tenth = u.iter().filter(|v| **v < 0.1).count() as f64 / u.len() as f64;
        assert!((below_tenth - 0.1).abs() < 0.005, "{below_tenth}");
    }
}
