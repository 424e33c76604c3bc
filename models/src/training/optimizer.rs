//! AdamW with decoupled weight decay and global-norm gradient clipping, with its state
//! in plain tensors so that a checkpoint holds everything needed to resume exactly.
//!
//! tch's optimizer wraps libtorch's C++ object, whose moment estimates cannot be
//! saved; this one keeps `m`, `v` and the step count itself.

use std::collections::BTreeMap;

use tch::{nn::VarStore, Kind, Tensor};

/// AdamW hyper-parameters (the learning rate comes from the schedule each step).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWConfig {
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Added to the root of the second moment.
    pub eps: f64,
    /// Decoupled weight decay (multiplied by the learning rate).
    pub weight_decay: f64,
    /// Largest global gradient norm; larger gradients are scaled down to it.
    pub clip_norm: f64,
}

/// The optimizer over one variable store's trainable variables.
#[derive(Debug)]
pub struct AdamW {
    config: AdamWConfig,
    params: Vec<(String, Tensor)>,
    first: Vec<Tensor>,
    second: Vec<Tensor>,
    steps: i64,
}

impl AdamW {
    /// Collects the trainable variables of `vs` (in name order) with zeroed moments.
    pub fn new(vs: &VarStore, config: AdamWConfig) -> Self {
        let variables: BTreeMap<String, Tensor> = vs.variables().into_iter().collect();
        let params: Vec<(String, Tensor)> = variables.into_iter().filter(|(_, t)| t.requires_grad()).collect();
        let first = params.iter().map(|(_, p)| p.zeros_like().to_kind(Kind::Float)).collect();
        let second = params.iter().map(|(_, p)| p.zeros_like().to_kind(Kind::Float)).collect();
        Self { config, params, first, second, steps: 0 }
    }

    /// Updates taken so far.
    pub fn steps(&self) -> i64 {
        self.steps
    }

    /// Clears the gradients of every parameter.
    pub fn zero_grad(&mut self) {
        for (_, p) in &mut self.params {
            p.zero_grad();
        }
    }

    /// Clips the gradients to the global norm and applies one update at `lr`. Returns
    /// the gradient norm before clipping.
    pub fn step(&mut self, lr: f64) -> f64 {
        let grads: Vec<Option<Tensor>> =
            self.params.iter().map(|(_, p)| Some(p.grad()).filter(|g| g.defined())).collect();
        let norm = global_norm(&grads);
        let scale =
            if norm.is_finite() && norm > self.config.clip_norm { self.config.clip_norm / (norm + 1e-6) } else { 1.0 };
        self.steps += 1;
        let t = self.steps as f64;
        let AdamWConfig { beta1, beta2, eps, weight_decay, .. } = self.config;
        let bias1 = 1.0 - beta1.powf(t);
        let bias2 = 1.0 - beta2.powf(t);
        // in place, as torch's AdamW: three temporaries per parameter instead of ten
        // (the step is memory-bound on small tensors; see docs/BENCHMARKS.md, Training)
        let step_size = lr / bias1;
        let bias2_sqrt = bias2.sqrt();
        tch::no_grad(|| {
            for (i, grad) in grads.into_iter().enumerate() {
                let Some(mut grad) = grad else { continue };
                if grad.kind() != Kind::Float {
                    grad = grad.to_kind(Kind::Float);
                }
                if scale != 1.0 {
                    let _ = grad.g_mul_scalar_(scale);
                }
                let m = &mut self.first[i];
                let v = &mut self.second[i];
                let _ = m.lerp_(&grad, 1.0 - beta1);
                let _ = v.g_mul_scalar_(beta2).addcmul_(&(&grad * (1.0 - beta2)), &grad);
                let mut denom = v.sqrt();
                let _ = denom.g_div_scalar_(bias2_sqrt).g_add_scalar_(eps);
                let p = &mut self.params[i].1;
                if weight_decay > 0.0 {
                    let _ = p.g_mul_scalar_(1.0 - lr * weight_decay);
                }
                if p.kind() == Kind::Float {
                    let _ = p.addcdiv_(&(&*m * -step_size), &denom);
                } else {
                    let _ = p.g_sub_(&((&*m * step_size) / denom).to_kind(p.kind()));
                }
            }
        });
        norm
    }

    /// The state as named tensors (`m.<var>`, `v.<var>`, `steps`), for a checkpoint.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(self.params.len() * 2 + 1);
        for (i, (name, _)) in self.params.iter().enumerate() {
            out.push((format!("m.{name}"), self.first[i].to_device(tch::Device::Cpu)));
            out.push((format!("v.{name}"), self.second[i].to_device(tch::Device::Cpu)));
        }
        out.push(("steps".to_owned(), Tensor::from_slice(&[self.steps])));
        out
    }

    /// Restores a state written by [`AdamW::state`]; every parameter's moments must be
    /// present with the right shape.
    pub fn restore(&mut self, state: Vec<(String, Tensor)>) -> Result<(), String> {
        let by_name: BTreeMap<String, Tensor> = state.into_iter().collect();
        let steps = by_name.get("steps").ok_or("optimizer state has no step count")?;
        let steps = steps.int64_value(&[0]);
        for (i, (name, p)) in self.params.iter().enumerate() {
            for (prefix, slot) in [("m", &mut self.first[i]), ("v", &mut self.second[i])] {
                let key = format!("{prefix}.{name}");
                let saved = by_name.get(&key).ok_or_else(|| format!("optimizer state lacks {key}"))?;
                if saved.size() != p.size() {
                    return Err(format!("optimizer state {key} has shape {:?}, expected {:?}", saved.size(), p.size()));
                }
                *slot = saved.to_device(p.device()).to_kind(Kind::Float);
            }
        }
        self.steps = steps;
        Ok(())
    }
}

/// The L2 norm of all gradients together, read back to the host once (not once per
/// tensor: on a GPU every read is a synchronisation).
fn global_norm(grads: &[Option<Tensor>]) -> f64 {
    let squares: Vec<Tensor> =
        grads.iter().flatten().map(|g| g.to_kind(Kind::Float).square().sum(Kind::Double)).collect();
    if squares.is_empty() {
        return 0.0;
    }
    Tensor::stack(&squares, 0).sum(Kind::Double).double_value(&[]).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn, Device};

    fn config() -> AdamWConfig {
        AdamWConfig { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01, clip_norm: 1e9 }
    }

    #[test]
    fn matches_hand_computed_first_step() {
        let vs = VarStore::new(Device::Cpu);
        let w = vs.root().var("w", &[2], nn::Init::Const(1.0));
        let mut opt = AdamW::new(&vs, config());
        let loss = (&w * Tensor::from_slice(&[2.0f32, -4.0])).sum(Kind::Float);
        loss.backward();
        opt.step(0.1);
        // first step: m̂ = g, v̂ = g², update = g/(|g|+eps) = sign(g); decay 1 - 0.1*0.01
        let got: Vec<f32> = Vec::try_from(&w.detach()).unwrap();
        let expect = [1.0 * (1.0 - 0.001) - 0.1, 1.0 * (1.0 - 0.001) + 0.1];
        for (g, e) in got.iter().zip(expect) {
            assert!((f64::from(*g) - e).abs() < 1e-6, "{got:?}");
        }
    }

    #[test]
    fn clips_to_the_global_norm() {
        let vs = VarStore::new(Device::Cpu);
        let w = vs.root().var("w", &[2], nn::Init::Const(0.0));
        let mut opt = AdamW::new(&vs, AdamWConfig { clip_norm: 1.0, ..config() });
        let loss = (&w * Tensor::from_slice(&[3.0f32, 4.0])).sum(Kind::Float);
        loss.backward();
        let norm = opt.step(0.1);
        assert!((norm - 5.0).abs() < 1e-6);
        let m: Vec<f32> = Vec::try_from(&opt.first[0]).unwrap();
        // m = (1 - beta1) * clipped grad = 0.1 * [0.6, 0.8]
        assert!((m[0] - 0.06).abs() < 1e-6 && (m[1] - 0.08).abs() < 1e-6, "{m:?}");
    }

    #[test]
    fn state_round_trips() {
        let vs = VarStore::new(Device::Cpu);
        let w = vs.root().var("w", &[3], nn::Init::Const(0.5));
        let mut opt = AdamW::new(&vs, config());
        (&w * &w).sum(Kind::Float).backward();
        opt.step(0.01);
        let state = opt.state();
        let mut other = AdamW::new(&vs, config());
        other.restore(state).unwrap();
        assert_eq!(other.steps(), 1);
        assert!(other.second[0].allclose(&opt.second[0], 0.0, 0.0, false));
        assert!(other.restore(vec![]).is_err());
    }
}
