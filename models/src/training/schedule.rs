//! The one-cycle learning-rate schedule (Smith & Topor 2017) with cosine annealing, as
//! PyTorch's `OneCycleLR` computes it: from `max_lr / div_factor` up to `max_lr` over
//! the first `pct_start` of the steps, then down to `initial / final_div_factor`.

use std::f64::consts::PI;

/// Schedule parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OneCycle {
    /// Peak learning rate.
    pub max_lr: f64,
    /// Steps in the whole run.
    pub total_steps: usize,
    /// Share of the steps spent warming up.
    pub pct_start: f64,
    /// `max_lr / initial_lr`.
    pub div_factor: f64,
    /// `initial_lr / final_lr`.
    pub final_div_factor: f64,
}

impl OneCycle {
    /// PyTorch's defaults for the divisors (`final_div_factor` 1e4).
    pub fn new(max_lr: f64, total_steps: usize, pct_start: f64, div_factor: f64) -> Self {
        Self { max_lr, total_steps, pct_start, div_factor, final_div_factor: 1e4 }
    }

    /// The learning rate of step `step` (0-based).
    pub fn lr(&self, step: usize) -> f64 {
        let initial = self.max_lr / self.div_factor;
        let min = initial / self.final_div_factor;
        let warm_end = self.pct_start * self.total_steps as f64 - 1.0;
        let end = self.total_steps as f64 - 1.0;
        let s = step as f64;
        if s <= warm_end {
            cosine(initial, self.max_lr, if warm_end > 0.0 { s / warm_end } else { 1.0 })
        } else {
            let span = end - warm_end;
            cosine(self.max_lr, min, if span > 0.0 { ((s - warm_end) / span).min(1.0) } else { 1.0 })
        }
    }
}

/// Cosine interpolation from `start` (pct 0) to `end` (pct 1).
fn cosine(start: f64, end: f64, pct: f64) -> f64 {
    end + (start - end) / 2.0 * ((PI * pct).cos() + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_pytorch_one_cycle() {
        // torch.optim.lr_scheduler.OneCycleLR(max_lr=1e-3, total_steps=100, pct_start=0.1,
        // div_factor=10): step 0 = 1e-4, step 9 = 1e-3, step 99 = 1e-8, step 54 midway.
        let s = OneCycle::new(1e-3, 100, 0.1, 10.0);
        assert!((s.lr(0) - 1e-4).abs() < 1e-12);
        assert!((s.lr(9) - 1e-3).abs() < 1e-12);
        assert!((s.lr(99) - 1e-8).abs() < 1e-15);
        let mid = cosine(1e-3, 1e-8, 45.0 / 90.0);
        assert!((s.lr(54) - mid).abs() < 1e-15);
        assert!(s.lr(5) > s.lr(4) && s.lr(60) < s.lr(50));
    }
}
