//! Token sampling with the reference semantics, on the host, with one seedable
//! generator per sample path (so a path's tokens do not depend on what else shares
//! its batch).
//!
//! `logits / temperature`; if `top_k > 0` keep the `k` largest (ties with the k-th
//! kept) and skip top-p; else if `top_p < 1` keep the smallest prefix of the sorted
//! distribution whose mass reaches `top_p` (the token that crosses the threshold is
//! kept); then draw from the softmax.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use super::KronosError;

/// How tokens are drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingParams {
    /// Softmax temperature (> 0).
    pub temperature: f64,
    /// Keep only the k most likely tokens (0 = off). `1` is greedy.
    pub top_k: usize,
    /// Nucleus threshold in (0, 1]; 1 = off. Ignored when `top_k > 0`.
    pub top_p: f64,
    /// Sample paths per series.
    pub samples: usize,
    /// Seed of the paths' generators.
    pub seed: u64,
}

impl Default for SamplingParams {
    /// The reference predictor's defaults (T 1, top-k off, top-p 0.9, one path).
    fn default() -> Self {
        Self { temperature: 1.0, top_k: 0, top_p: 0.9, samples: 1, seed: 0 }
    }
}

impl SamplingParams {
    /// Most sample paths per series accepted.
    pub const MAX_SAMPLES: usize = 256;

    /// Checks ranges; the error names the offending parameter.
    pub fn validate(&self) -> Result<(), KronosError> {
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(KronosError::Param("temperature", "must be a positive number".into()));
        }
        if !(self.top_p.is_finite() && self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(KronosError::Param("top_p", "must be in (0, 1]".into()));
        }
        if self.samples == 0 || self.samples > Self::MAX_SAMPLES {
            return Err(KronosError::Param("samples", format!("must be between 1 and {}", Self::MAX_SAMPLES)));
        }
        Ok(())
    }

    /// The generator of sample path `path` (independent streams of one seed).
    pub fn path_rng(&self, path: usize) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(path as u64);
        rng
    }
}

/// Draws one token index from a row of logits.
pub fn sample_token(logits: &[f32], params: &SamplingParams, rng: &mut ChaCha8Rng) -> usize {
    if params.top_k == 1 {
        return argmax(logits);
    }
    let temperature = params.temperature as f32;
    let mut scaled: Vec<f32> = logits.iter().map(|l| l / temperature).collect();
    if params.top_k > 0 {
        keep_top_k(&mut scaled, params.top_k);
    } else if params.top_p < 1.0 {
        keep_nucleus(&mut scaled, params.top_p);
    }
    let probs = softmax(&scaled);
    draw(&probs, rng)
}

/// Index of the largest logit (the first one on ties).
pub fn argmax(logits: &[f32]) -> usize {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    best
}

fn keep_top_k(logits: &mut [f32], k: usize) {
    if k >= logits.len() {
        return;
    }
    let mut sorted = logits.to_vec();
    sorted.sort_unstable_by(|a, b| b.total_cmp(a));
    let kth = sorted[k - 1];
    for l in logits.iter_mut() {
        if *l < kth {
            *l = f32::NEG_INFINITY;
        }
    }
}

fn keep_nucleus(logits: &mut [f32], top_p: f64) {
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    let sorted: Vec<f32> = order.iter().map(|&i| logits[i]).collect();
    let probs = softmax(&sorted);
    let mut cumulative = 0.0f32;
    let mut remove_from = sorted.len();
    for (rank, p) in probs.iter().enumerate() {
        cumulative += p;
        // the reference removes ranks whose *previous* cumulative mass exceeds top_p
        if cumulative > top_p as f32 {
            remove_from = rank + 1;
            break;
        }
    }
    for &i in &order[remove_from.min(order.len())..] {
        logits[i] = f32::NEG_INFINITY;
    }
}

/// Softmax in f32 (max-subtracted), as torch computes it.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

fn draw(probs: &[f32], rng: &mut ChaCha8Rng) -> usize {
    let total: f64 = probs.iter().map(|&p| f64::from(p)).sum();
    let u = unit_f64(rng) * total;
    let mut cumulative = 0.0f64;
    let mut last_positive = 0;
    for (i, &p) in probs.iter().enumerate() {
        if p > 0.0 {
            cumulative += f64::from(p);
            last_positive = i;
            if u < cumulative {
                return i;
            }
        }
    }
    last_positive
}

/// A uniform draw in [0, 1) with 53 bits of precision.
fn unit_f64(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(top_k: usize, top_p: f64) -> SamplingParams {
        SamplingParams { temperature: 1.0, top_k, top_p, samples: 1, seed: 7 }
    }

    #[test]
    fn top_k_one_is_greedy() {
        let mut rng = params(1, 1.0).path_rng(0);
        assert_eq!(sample_token(&[0.1, 3.0, 2.9, -1.0], &params(1, 1.0), &mut rng), 1);
    }

    #[test]
    fn top_k_keeps_only_the_k_largest() {
        let logits = [5.0, 4.9, 0.0, 4.8, -2.0];
        let p = params(2, 1.0);
        let mut rng = p.path_rng(0);
        for _ in 0..500 {
            let t = sample_token(&logits, &p, &mut rng);
            assert!(t == 0 || t == 1, "drew {t}");
        }
    }

    #[test]
    fn nucleus_keeps_the_token_that_crosses_the_threshold() {
        // probabilities 0.5, 0.3, 0.2 (ln of them as logits): with top_p 0.6 the
        // first token alone (0.5) does not reach 0.6, so the second is kept too.
        let logits = [0.5f32.ln(), 0.3f32.ln(), 0.2f32.ln()];
        let p = params(0, 0.6);
        let mut rng = p.path_rng(0);
        let mut seen = [0usize; 3];
        for _ in 0..2000 {
            seen[sample_token(&logits, &p, &mut rng)] += 1;
        }
        assert_eq!(seen[2], 0);
        assert!(seen[0] > 1000 && seen[1] > 500, "{seen:?}");
    }

    #[test]
    fn top_k_skips_top_p() {
        let logits = [0.5f32.ln(), 0.3f32.ln(), 0.2f32.ln()];
        let p = params(3, 0.1);
        let mut rng = p.path_rng(0);
        let mut seen = [0usize; 3];
        for _ in 0..3000 {
            seen[sample_token(&logits, &p, &mut rng)] += 1;
        }
        assert!(seen.iter().all(|&n| n > 300), "{seen:?}");
    }

    #[test]
    fn draws_follow_the_distribution_and_are_reproducible() {
        let logits = [0.7f32.ln(), 0.2f32.ln(), 0.1f32.ln()];
        let p = params(0, 1.0);
        let run = |path| {
            let mut rng = p.path_rng(path);
            (0..10_000).map(|_| sample_token(&logits, &p, &mut rng)).collect::<Vec<_>>()
        };
        let a = run(0);
        assert_eq!(a, run(0));
        assert_ne!(a, run(1));
        let share = a.iter().filter(|&&t| t == 0).count() as f64 / a.len() as f64;
        assert!((share - 0.7).abs() < 0.02, "{share}");
    }

    #[test]
    fn temperature_sharpens() {
        let logits = [1.0, 0.0];
        let cold = SamplingParams { temperature: 0.1, ..params(0, 1.0) };
        let mut rng = cold.path_rng(0);
        let zeros = (0..1000).filter(|_| sample_token(&logits, &cold, &mut rng) == 0).count();
        assert!(zeros > 990, "{zeros}");
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(SamplingParams { temperature: 0.0, ..Default::default() }.validate().is_err());
        assert!(SamplingParams { top_p: 1.5, ..Default::default() }.validate().is_err());
        assert!(SamplingParams { samples: 0, ..Default::default() }.validate().is_err());
        assert!(SamplingParams::default().validate().is_ok());
    }
}
