//! Baseline regressors for honest comparison with Kronos: an LSTM, a GRU or a small
//! causal Transformer reads the normalised look-back bars and outputs the normalised
//! closes of the next `horizon` bars directly (mean squared error).
//!
//! Forecast intervals come from the model's own validation residuals: after training,
//! the residuals of each step (normalised units) are kept, and a forecast's p10/p50/p90
//! and probability of an up move are read from them.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::{
    nn::{self, VarStore, RNN},
    Device, Kind, Tensor,
};

use super::kronos_losses::StageLoss;
use super::optimizer::AdamWConfig;
use super::trainer::{StagePlan, Trainable};
use super::windows::{WindowBatch, WindowSet};
use super::TrainError;
use crate::kronos::{
    attention::{inv_freq, AttentionContext},
    dropout::dropout,
    layers::{Dropouts, Linear, LinearInit, RmsNorm, TransformerBlock},
    Normalisation,
};
use crate::metrics::{Comparison, ForecastOutcome};
use crate::{Bar, Forecast, HorizonRisk, CLOSE};

/// Configuration file name.
pub const CONFIG_FILE: &str = "config.json";
/// Weights file name.
pub const WEIGHTS_FILE: &str = "model.safetensors";

/// The network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegressorKind {
    /// Long short-term memory.
    Lstm,
    /// Gated recurrent unit.
    Gru,
    /// Pre-norm causal Transformer with rotary positions.
    Transformer,
}

impl std::str::FromStr for RegressorKind {
    type Err = TrainError;
    fn from_str(s: &str) -> Result<Self, TrainError> {
        match s {
            "lstm" => Ok(Self::Lstm),
            "gru" => Ok(Self::Gru),
            "transformer" => Ok(Self::Transformer),
            other => Err(TrainError::Param(
                "family",
                format!("unknown regressor {other:?}; expected lstm, gru or transformer"),
            )),
        }
    }
}

impl RegressorKind {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lstm => "lstm",
            Self::Gru => "gru",
            Self::Transformer => "transformer",
        }
    }
}

/// Everything needed to rebuild and serve a trained regressor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressorConfig {
    /// The network.
    pub kind: RegressorKind,
    /// Bars read.
    pub lookback: usize,
    /// Closes forecast.
    pub horizon: usize,
    /// Hidden width.
    pub hidden: usize,
    /// Recurrent or Transformer layers.
    pub layers: usize,
    /// Attention heads (Transformer).
    pub heads: usize,
    /// Dropout in training.
    pub dropout: f64,
    /// Validation residuals (forecast − actual, normalised units) per step, sorted;
    /// empty until trained.
    #[serde(default)]
    pub residuals: Vec<Vec<f64>>,
}

impl RegressorConfig {
    /// A small network of the given kind.
    pub fn small(kind: RegressorKind, lookback: usize, horizon: usize) -> Self {
        Self { kind, lookback, horizon, hidden: 64, layers: 2, heads: 4, dropout: 0.1, residuals: Vec::new() }
    }
}

enum Body {
    Lstm(nn::LSTM),
    Gru(nn::GRU),
    Transformer { embed: Linear, blocks: Vec<TransformerBlock>, norm: RmsNorm, inv_freq: Tensor },
}

/// A regressor and its variables.
pub struct Regressor {
    /// Its configuration.
    pub config: RegressorConfig,
    vars: VarStore,
    body: Body,
    head: Linear,
    stage: StagePlan,
}

impl std::fmt::Debug for Regressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Regressor").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Regressor {
    /// A freshly initialised network, trained for `steps` at peak learning rate `lr`.
    pub fn new(config: RegressorConfig, steps: usize, lr: f64, device: Device) -> Result<Self, TrainError> {
        if config.hidden == 0 || config.layers == 0 || config.lookback < 2 || config.horizon == 0 {
            return Err(TrainError::Param("regressor", "hidden, layers and horizon must be ≥ 1, lookback ≥ 2".into()));
        }
        if config.kind == RegressorKind::Transformer
            && (config.heads == 0 || !config.hidden.is_multiple_of(2 * config.heads))
        {
            return Err(TrainError::Param("heads", "hidden must be a multiple of 2 × heads".into()));
        }
        let vars = VarStore::new(device);
        let root = vars.root();
        let h = config.hidden as i64;
        // tch fixes an RNN's train flag when it is built, so its inter-layer dropout would
        // also apply when forecasting: dropout is applied before the head instead
        let rnn =
            nn::RNNConfig { num_layers: config.layers as i64, dropout: 0.0, batch_first: true, ..Default::default() };
        let body = match config.kind {
            RegressorKind::Lstm => Body::Lstm(nn::lstm(&root / "rnn", 6, h, rnn)),
            RegressorKind::Gru => Body::Gru(nn::gru(&root / "rnn", 6, h, rnn)),
            RegressorKind::Transformer => {
                let dropouts = Dropouts { ffn: config.dropout, attn: 0.0, resid: config.dropout };
                Body::Transformer {
                    embed: Linear::new(&root / "embed", 6, h, true, LinearInit::Default),
                    blocks: (0..config.layers)
                        .map(|i| {
                            TransformerBlock::new(
                                &root / "blocks" / i,
                                h,
                                config.heads as i64,
                                2 * h,
                                dropouts,
                                LinearInit::Default,
                            )
                        })
                        .collect(),
                    norm: RmsNorm::new(&root / "norm", h),
                    inv_freq: inv_freq(h / config.heads as i64, device),
                }
            }
        };
        let head = Linear::new(&root / "head", h, config.horizon as i64, true, LinearInit::Default);
        let stage = StagePlan {
            name: "regressor",
            steps,
            max_lr: lr,
            pct_start: 0.1,
            div_factor: 10.0,
            adamw: AdamWConfig { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01, clip_norm: 1.0 },
        };
        Ok(Self { config, vars, body, head, stage })
    }

    /// Loads a regressor saved by [`Trainable::save_weights`].
    pub fn load(dir: &Path, device: Device) -> Result<Self, TrainError> {
        let text = std::fs::read(dir.join(CONFIG_FILE))
            .map_err(|e| TrainError::Checkpoint(format!("{}: {e}", dir.join(CONFIG_FILE).display())))?;
        let config: RegressorConfig =
            serde_json::from_slice(&text).map_err(|e| TrainError::Checkpoint(format!("config.json: {e}")))?;
        let model = Self::new(config, 0, 0.0, device)?;
        let unexpected = crate::kronos::weights::load_into(&model.vars, &dir.join(WEIGHTS_FILE))?;
        if !unexpected.is_empty() {
            return Err(TrainError::Checkpoint(format!("unexpected weights: {}", unexpected.join(", "))));
        }
        Ok(model)
    }

    /// Sets the training schedule (steps and peak learning rate), e.g. after loading a
    /// checkpoint to resume.
    pub fn with_schedule(mut self, steps: usize, lr: f64) -> Self {
        self.stage.steps = steps;
        self.stage.max_lr = lr;
        self
    }

    /// Learnable parameters.
    pub fn parameters(&self) -> i64 {
        self.vars.trainable_variables().iter().map(|t| t.numel() as i64).sum()
    }

    /// Normalised closes `[B, horizon]` from normalised look-back bars `[B, lookback, 6]`.
    pub fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        let last = match &self.body {
            Body::Lstm(lstm) => lstm.seq(x).0,
            Body::Gru(gru) => gru.seq(x).0,
            Body::Transformer { embed, blocks, norm, inv_freq } => {
                let (b, t, _) = x.size3().unwrap_or((0, 0, 0));
                let ctx = AttentionContext::causal(inv_freq, b as usize, t);
                let mut h = embed.forward(x);
                for block in blocks {
                    h = block.forward(&h, &ctx, None, train);
                }
                norm.forward(&h)
            }
        };
        let t = last.size()[1];
        let last = last.select(1, t - 1);
        self.head.forward(&dropout(&last, self.config.dropout, train))
    }

    /// Forecasts the closes after `history` (at least `lookback` bars; the last
    /// `lookback` are used) with intervals from the validation residuals.
    pub fn forecast(&self, history: &[Bar]) -> Result<Forecast, TrainError> {
        let lookback = self.config.lookback;
        if history.len() < lookback {
            return Err(TrainError::Data(format!("this model needs at least {lookback} bars of history")));
        }
        let window = &history[history.len() - lookback..];
        let norm = Normalisation::of(window);
        let x: Vec<f32> = window.iter().flat_map(|row| norm.apply(row)).collect();
        let x = Tensor::from_slice(&x).view([1, lookback as i64, 6]).to_device(self.vars.device());
        let out: Vec<f32> =
            Vec::<f32>::try_from(tch::no_grad(|| self.forward(&x, false)).to_kind(Kind::Float).view([-1]))?;
        let scale = f64::from(norm.std[CLOSE] + crate::kronos::series::STD_EPSILON);
        let mean_close = f64::from(norm.mean[CLOSE]);
        let denorm = |v: f64| v * scale + mean_close;
        let last_close = window[lookback - 1][CLOSE];
        let mut mean = Vec::with_capacity(out.len());
        let (mut p10, mut p50, mut p90) = (Vec::new(), Vec::new(), Vec::new());
        for (step, v) in out.iter().enumerate() {
            let v = f64::from(*v);
            let close = denorm(v);
            mean.push([close, close, close, close, 0.0, 0.0]);
            // actual = forecast − residual
            let spread = |q: f64| denorm(v - quantile(self.config.residuals.get(step), 1.0 - q));
            p10.push(spread(0.1));
            p50.push(spread(0.5));
            p90.push(spread(0.9));
        }
        let final_v = out.last().map_or(0.0, |v| f64::from(*v));
        let prob_up = match self.config.residuals.last() {
            Some(r) if !r.is_empty() => {
                r.iter().filter(|e| denorm(final_v - **e) > last_close).count() as f64 / r.len() as f64
            }
            _ => f64::from(u8::from(denorm(final_v) > last_close)),
        };
        let final_close = denorm(final_v);
        let returns: Vec<f64> = match self.config.residuals.last() {
            Some(r) if !r.is_empty() => r.iter().map(|e| denorm(final_v - *e) / last_close - 1.0).collect(),
            _ => vec![final_close / last_close - 1.0],
        };
        let risk = HorizonRisk::new(last_close, final_close, returns);
        Ok(Forecast { mean, p10, p50, p90, prob_up, risk })
    }

    fn targets(&self, batch: &WindowBatch) -> Tensor {
        batch.x.narrow(1, self.config.lookback as i64, self.config.horizon as i64).select(2, CLOSE as i64)
    }

    fn inputs(&self, batch: &WindowBatch) -> Tensor {
        batch.x.narrow(1, 0, self.config.lookback as i64)
    }

    /// Stores each step's validation residuals for the forecast intervals.
    pub fn calibrate(&mut self, set: &WindowSet) {
        let mut residuals = vec![Vec::new(); self.config.horizon];
        for chunk in set.validation.chunks(64) {
            let batch = set.batch(chunk, self.vars.device());
            let diff = tch::no_grad(|| self.forward(&self.inputs(&batch), false) - self.targets(&batch));
            let values: Vec<f32> = Vec::try_from(diff.to_kind(Kind::Float).view([-1])).unwrap_or_default();
            for (i, v) in values.iter().enumerate() {
                residuals[i % self.config.horizon].push(f64::from(*v));
            }
        }
        for r in &mut residuals {
            r.sort_by(f64::total_cmp);
        }
        self.config.residuals = residuals;
    }
}

/// The q-quantile of sorted values (linear interpolation); 0 when there are none.
fn quantile(sorted: Option<&Vec<f64>>, q: f64) -> f64 {
    let Some(v) = sorted.filter(|v| !v.is_empty()) else { return 0.0 };
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

impl Trainable for Regressor {
    fn stages(&self) -> Vec<StagePlan> {
        vec![self.stage.clone()]
    }

    fn var_store(&self, _stage: usize) -> &VarStore {
        &self.vars
    }

    fn loss(&self, _stage: usize, batch: &WindowBatch, train: bool) -> StageLoss {
        let prediction = self.forward(&self.inputs(batch), train);
        let loss = prediction.mse_loss(&self.targets(batch), tch::Reduction::Mean);
        StageLoss { loss }
    }

    fn tokens_per_window(&self, _stage: usize, _window_len: usize) -> usize {
        self.config.lookback
    }

    fn save_weights(&self, dir: &Path) -> Result<(), TrainError> {
        std::fs::create_dir_all(dir).map_err(|e| TrainError::Checkpoint(format!("{}: {e}", dir.display())))?;
        let text = serde_json::to_vec_pretty(&self.config).map_err(|e| TrainError::Checkpoint(e.to_string()))?;
        std::fs::write(dir.join(CONFIG_FILE), text).map_err(|e| TrainError::Checkpoint(e.to_string()))?;
        Ok(crate::kronos::weights::save(&self.vars, Vec::new(), &dir.join(WEIGHTS_FILE))?)
    }

    fn evaluate(&self, set: &WindowSet, _seed: u64) -> Result<Comparison, TrainError> {
        let mut outcomes = Vec::with_capacity(set.validation.len());
        for w in &set.validation {
            let (history, _, actual) = set.split_window(*w);
            let forecast = self.forecast(history)?;
            let n = history.len();
            outcomes.push(ForecastOutcome {
                last_close: history[n - 1][CLOSE],
                previous_close: (n >= 2).then(|| history[n - 2][CLOSE]),
                forecast: forecast.mean.iter().map(|b| b[CLOSE]).collect(),
                actual,
            });
        }
        Comparison::of(&outcomes).ok_or_else(|| TrainError::Data("no validation window to measure".into()))
    }
}
