//! The two Kronos fine-tuning losses (notes/kronos.md, "Training facts").
//!
//! Stage 1 (tokenizer): `(mse(coarse, x) + mse(full, x) + bsq) / 2`, where the coarse
//! reconstruction decodes only the s1 bits, and the binary spherical quantisation
//! loss is `β·commitment + ζ·(γ0·per-sample entropy − γ·codebook entropy)` with the
//! codebook entropy approximated over groups of `group_size` bits.
//!
//! Stage 2 (predictor): tokens come from the frozen tokenizer (see `token_cache`); inputs are positions
//! `0..T-1`, targets `1..T`; the loss is `(CE_s1 + CE_s2) / 2`, where the s2 head's
//! sibling token is sampled from the s1 distribution (not the target).

use tch::{Kind, Tensor};

use crate::kronos::{attention::AttentionContext, random, tokenizer::causal_context, KronosModel};

/// A stage's loss: a scalar tensor, with gradients when training. Nothing here reads
/// it back to the host; the trainer does once per step.
#[derive(Debug)]
pub struct StageLoss {
    /// The loss to minimise.
    pub loss: Tensor,
}

/// Stage 1 on normalised windows `x [B, T, d_in]`.
pub fn tokenizer_loss(model: &KronosModel, x: &Tensor, train: bool) -> StageLoss {
    let tok = &model.tokenizer;
    let cfg = tok.config();
    let (b, t, _) = x.size3().unwrap_or((0, 0, 0));
    let ctx = causal_context(tok, b as usize, t);
    let bits = (cfg.s1_bits + cfg.s2_bits) as i64;
    let latent = tok.encode_latent(x, &ctx, train);
    // F.normalize: z / max(‖z‖, 1e-12)
    let z = &latent / latent.norm_scalaropt_dim(2.0, [-1i64].as_slice(), true).clamp_min(1e-12);
    let hard = z.gt(0.0).to_kind(z.kind()) * 2.0 - 1.0;
    // straight-through estimator, scaled onto the unit sphere
    let zq = (&z + (hard - &z).detach()) * (1.0 / (bits as f64).sqrt());
    let bsq = bsq_loss(&z, &zq, cfg.beta, cfg.gamma0, cfg.gamma, cfg.zeta, cfg.group_size as i64);
    let coarse = tok.decode_codes(&tok.embed_coarse(&zq.narrow(-1, 0, cfg.s1_bits as i64)), &ctx, train);
    let full = tok.decode_codes(&tok.embed_codes(&zq), &ctx, train);
    let recon_coarse = coarse.mse_loss(x, tch::Reduction::Mean);
    let recon_full = full.mse_loss(x, tch::Reduction::Mean);
    StageLoss { loss: (recon_coarse + recon_full + bsq) / 2.0 }
}

/// The binary spherical quantisation loss of unit latents `z` and their codes `zq`.
fn bsq_loss(z: &Tensor, zq: &Tensor, beta: f64, gamma0: f64, gamma: f64, zeta: f64, group_size: i64) -> Tensor {
    let dim = z.size()[z.dim() - 1];
    let commitment = (zq.detach() - z).square().sum_dim_intlist(-1, false, Kind::Float).mean(Kind::Float) * beta;
    // per-sample entropy, analytical: each bit is 1 with p = sigmoid(4 z / √dim)
    let p = (z * (-4.0 / (dim as f64).sqrt())).sigmoid();
    let per_sample = binary_entropy(&p).sum_dim_intlist(-1, false, Kind::Float).mean(Kind::Float);
    // codebook entropy over groups: softmax over the 2^g sub-codes of each group
    let groups = dim / group_size;
    let codebook = group_codebook(group_size, dim, z.device()).to_kind(z.kind());
    let grouped = z.reshape([-1, groups, group_size]);
    let logits = grouped.matmul(&codebook.tr()) * 2.0;
    let prob = logits.softmax(-1, Kind::Float);
    let avg = prob.mean_dim([0i64].as_slice(), false, Kind::Float);
    let codebook_entropy = entropy(&avg).sum(Kind::Float);
    commitment + (per_sample * gamma0 - codebook_entropy * gamma) * zeta
}

/// `-(p log p + (1-p) log(1-p))` elementwise, with the reference's 1e-8 inside the logs.
fn binary_entropy(p: &Tensor) -> Tensor {
    let q: Tensor = 1.0 - p;
    let q_log = (&q + 1e-8).log();
    -(p * (p + 1e-8).log() + q * q_log)
}

/// `-Σ p log p` over the last dimension.
fn entropy(p: &Tensor) -> Tensor {
    -(p * (p + 1e-8).log()).sum_dim_intlist(-1, false, Kind::Float)
}

/// All `2^g` sign patterns of `g` bits, scaled by `1/√dim`: `[2^g, g]`.
fn group_codebook(group_size: i64, dim: i64, device: tch::Device) -> Tensor {
    let n = 1i64 << group_size;
    let mut values = Vec::with_capacity((n * group_size) as usize);
    let scale = 1.0 / (dim as f32).sqrt();
    for code in 0..n {
        for bit in (0..group_size).rev() {
            values.push(if (code >> bit) & 1 == 1 { scale } else { -scale });
        }
    }
    Tensor::from_slice(&values).view([n, group_size]).to_device(device)
}

/// Stage 2 on the frozen tokenizer's tokens `s1, s2 [B, T]` of normalised windows and
/// their calendar features `stamps [B, T, 5]`.
pub fn predictor_loss(model: &KronosModel, s1: &Tensor, s2: &Tensor, stamps: &Tensor, train: bool) -> StageLoss {
    let (b, t) = s1.size2().unwrap_or((0, 0));
    let inputs = t - 1;
    let (s1_in, s2_in) = (s1.narrow(1, 0, inputs), s2.narrow(1, 0, inputs));
    let (s1_target, s2_target) = (s1.narrow(1, 1, inputs), s2.narrow(1, 1, inputs));
    let stamps_in = stamps.narrow(1, 0, inputs);
    let pred = &model.predictor;
    let ctx = AttentionContext::causal(pred.inv_freq(), b as usize, inputs);
    let hidden = pred.hidden(&s1_in, &s2_in, &stamps_in, &ctx, None, train);
    let s1_logits = pred.s1_logits(&hidden);
    let vocab1 = s1_logits.size()[2];
    let sibling = tch::no_grad(|| {
        let probs = s1_logits.detach().to_kind(Kind::Float).softmax(-1, Kind::Float).view([-1, vocab1]);
        sample_rows(&probs).view([b, inputs])
    });
    let s2_logits = pred.s2_logits_all(&hidden, &sibling, true);
    let vocab2 = s2_logits.size()[2];
    let ce1 = s1_logits.to_kind(Kind::Float).view([-1, vocab1]).cross_entropy_for_logits(&s1_target.reshape([-1]));
    let ce2 = s2_logits.to_kind(Kind::Float).view([-1, vocab2]).cross_entropy_for_logits(&s2_target.reshape([-1]));
    let loss = (&ce1 + &ce2) / 2.0;
    StageLoss { loss }
}

/// One token per row of `probs [N, V]` (non-negative, each row summing to about 1) by
/// inverse transform sampling: the first token whose running total exceeds a uniform
/// draw on `[0, row total)`. The distribution of `multinomial(probs, 1)`, which libtorch
/// draws on the CPU as `N·V` exponentials one after another (33 ms of a 420 ms
/// Kronos-mini predictor step, `[1600, 1024]`); here `N` uniforms, a running sum and a
/// binary search per row. A token of probability 0 is never drawn.
pub fn sample_rows(probs: &Tensor) -> Tensor {
    let vocab = probs.size()[1];
    let cumulative = probs.cumsum(-1, Kind::Float);
    let total = cumulative.narrow(1, vocab - 1, 1);
    let rows = total.size()[0];
    let draw = Tensor::from_slice(&random::uniforms(rows as usize)).view([rows, 1]).to_device(probs.device()) * &total;
    draw.searchsorted(&cumulative, false, true, "right", None::<Tensor>).clamp_max(vocab - 1).view([-1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn rows_are_drawn_in_proportion_to_their_probabilities() {
        tch::manual_seed(11);
        let expect = [0.5, 0.3, 0.0, 0.15, 0.05];
        let row = Tensor::from_slice(&expect.map(|p| p as f32)).view([1, 5]);
        let n = 200_000;
        let draws: Vec<i64> = Vec::try_from(sample_rows(&row.expand([n, 5], false).contiguous())).unwrap();
        for (token, p) in expect.iter().enumerate() {
            let share = draws.iter().filter(|d| **d == token as i64).count() as f64 / n as f64;
            // binomial standard deviation at n = 200k is at most 0.0012
            assert!((share - p).abs() < 0.006, "token {token}: {share} against {p}");
        }
        assert!(!draws.contains(&2), "a token of probability 0 was drawn");
        // rows are independent: a certain row always gives its token
        let rows = Tensor::from_slice(&[0.0f32, 1.0, 0.0, 1.0, 0.0, 0.0]).view([2, 3]);
        let picked: Vec<i64> = Vec::try_from(sample_rows(&rows)).unwrap();
        assert_eq!(picked, vec![1, 0]);
    }

    #[test]
    fn group_codebook_lists_every_sign_pattern() {
        let cb = group_codebook(2, 4, Device::Cpu);
        let v: Vec<f32> = Vec::try_from(cb.view([-1])).unwrap();
        assert_eq!(v, vec![-0.5, -0.5, -0.5, 0.5, 0.5, -0.5, 0.5, 0.5]);
    }

    #[test]
    fn bsq_loss_matches_a_hand_computed_case() {
        // one latent on the sphere, two bits, one group: z = (0.6, 0.8)
        let z = Tensor::from_slice(&[0.6f32, 0.8]).view([1, 1, 2]);
        let zq = Tensor::from_slice(&[1.0f32, 1.0]).view([1, 1, 2]) / 2f64.sqrt();
        let got = bsq_loss(&z, &zq, 0.05, 1.0, 1.1, 0.05, 2).double_value(&[]);
        let s = 1.0 / 2f64.sqrt();
        let commitment = 0.05 * ((s - 0.6).powi(2) + (s - 0.8).powi(2));
        let h = |p: f64| -(p * (p + 1e-8).ln() + (1.0 - p) * (1.0 - p + 1e-8).ln());
        let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
        let per_sample = h(sig(-4.0 * 0.6 * s)) + h(sig(-4.0 * 0.8 * s));
        let logits: Vec<f64> = [(-1.0, -1.0), (-1.0, 1.0), (1.0, -1.0), (1.0, 1.0)]
            .iter()
            .map(|(a, b)| 2.0 * (0.6 * a * s + 0.8 * b * s))
            .collect();
        let total: f64 = logits.iter().map(|l| l.exp()).sum();
        let cb: f64 = logits.iter().map(|l| l.exp() / total).map(|p| -(p * (p + 1e-8).ln())).sum();
        let expect = commitment + 0.05 * (per_sample - 1.1 * cb);
        assert!((got - expect).abs() < 1e-6, "{got} vs {expect}");
    }
}
