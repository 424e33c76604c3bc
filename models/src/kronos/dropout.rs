//! Dropout for training on the CPU with its mask drawn in parallel on the host.
//!
//! libtorch's CPU dropout draws its mask with `bernoulli_`, one element after another
//! from one generator: 3.5 ms for a `[1600, 256]` activation on this project's machine,
//! nine times per Kronos-mini predictor step (about 7 % of the step). Here the mask is
//! drawn by `torch.get_num_threads()` threads, each from its own SplitMix64 stream seeded
//! by [`random::next_u64`] (the training step's stream, else libtorch's generator, so
//! `tch::manual_seed` still makes a run repeatable), and the activation is multiplied by
//! it exactly as libtorch's dropout does (`x · mask / (1 − p)`, the same backward). On
//! other devices libtorch's dropout runs.

use tch::{Device, Tensor};

use super::random::{self, split_mix};

/// Fewest mask elements worth another drawing thread.
const MIN_PER_THREAD: usize = 1 << 15;

/// Inverted dropout: in training each element of `x` is zeroed with probability `p`
/// and the rest are scaled by `1 / (1 − p)`; otherwise `x` unchanged.
pub fn dropout(x: &Tensor, p: f64, train: bool) -> Tensor {
    if !train || p <= 0.0 {
        return x.shallow_clone();
    }
    if p >= 1.0 || x.device() != Device::Cpu {
        return x.dropout(p, train);
    }
    let seed = random::next_u64();
    let threads = usize::try_from(tch::get_num_threads()).unwrap_or(1);
    let mask = keep_mask(x.numel(), p, seed, threads);
    x * Tensor::from_slice(&mask).view(x.size().as_slice()).to_kind(x.kind())
}

/// `n` mask values: `0` with probability `p` (to within 2⁻³²), else `1 / (1 − p)`,
/// drawn by up to `threads` threads from independent streams of `seed`.
pub fn keep_mask(n: usize, p: f64, seed: u64, threads: usize) -> Vec<f32> {
    // a value is dropped when a uniform 32-bit draw falls below p·2³²
    let threshold = (p * 4_294_967_296.0).round() as u64;
    let scale = (1.0 / (1.0 - p)) as f32;
    let mut mask = vec![0f32; n];
    let threads = threads.min(n / MIN_PER_THREAD).max(1);
    let chunk = n.div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for (stream, part) in mask.chunks_mut(chunk).enumerate() {
            scope.spawn(move || fill(part, seed, stream as u64, threshold, scale));
        }
    });
    mask
}

/// Fills `part` from stream `stream` of `seed`, two values per 64-bit draw.
fn fill(part: &mut [f32], seed: u64, stream: u64, threshold: u64, scale: f32) {
    let mut state = seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
    let keep = |bits: u64| if bits >= threshold { scale } else { 0.0 };
    for pair in part.chunks_mut(2) {
        let r = split_mix(&mut state);
        pair[0] = keep(r & 0xFFFF_FFFF);
        if let Some(second) = pair.get_mut(1) {
            *second = keep(r >> 32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn drops_the_asked_share_and_scales_the_rest() {
        for (p, threads) in [(0.1, 1), (0.25, 2), (0.5, 4)] {
            let n = 400_000;
            let mask = keep_mask(n, p, 7, threads);
            let dropped = mask.iter().filter(|v| **v == 0.0).count() as f64 / n as f64;
            // binomial standard deviation at n = 400k is below 0.0008
            assert!((dropped - p).abs() < 0.004, "p {p}: dropped {dropped}");
            let scale = (1.0 / (1.0 - p)) as f32;
            assert!(mask.iter().all(|v| *v == 0.0 || *v == scale));
        }
    }

    #[test]
    fn streams_differ_and_a_seed_repeats() {
        let a = keep_mask(200_000, 0.5, 1, 2);
        assert_eq!(a, keep_mask(200_000, 0.5, 1, 2));
        assert_ne!(a, keep_mask(200_000, 0.5, 2, 2));
        // the two threads' halves are not copies of each other
        assert_ne!(a[..100_000], a[100_000..]);
        // neighbouring values are independent: both dropped about p² of the time
        let both = a.chunks(2).filter(|pair| pair[0] == 0.0 && pair[1] == 0.0).count() as f64 / 100_000.0;
        assert!((both - 0.25).abs() < 0.01, "{both}");
    }

    #[test]
    fn training_dropout_keeps_the_mean_and_passes_gradients_through_the_mask() {
        tch::manual_seed(3);
        let x = Tensor::ones([500, 400], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let y = dropout(&x, 0.25, true);
        let mean = y.mean(Kind::Float).double_value(&[]);
        assert!((mean - 1.0).abs() < 0.01, "{mean}");
        y.sum(Kind::Float).backward();
        // the gradient is the mask itself
        assert!(x.grad().equal(&y.detach()));
        // a repeated seed repeats the mask; evaluation leaves x alone
        tch::manual_seed(3);
        assert!(dropout(&x, 0.25, true).equal(&y));
        assert!(dropout(&x, 0.25, false).equal(&x));
    }
}
