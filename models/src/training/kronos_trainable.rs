//! Kronos as a [`Trainable`]: stage 1 trains the tokenizer, stage 2 the predictor on the
//! frozen tokenizer's tokens (hyper-parameters from notes/kronos.md).

use std::path::Path;
use std::sync::Arc;

use tch::nn::VarStore;

use super::kronos_losses::{predictor_loss, tokenizer_loss, StageLoss};
use super::optimizer::AdamWConfig;
use super::token_cache::{TokenCache, DEFAULT_TOKEN_CACHE_BYTES};
use super::trainer::{StagePlan, Trainable};
use super::windows::{WindowBatch, WindowSet};
use super::TrainError;
use crate::kronos::{time_features, GenerateOptions, KronosModel, SamplingParams, SeriesRequest};
use crate::metrics::{Comparison, ForecastOutcome};
use crate::CLOSE;

/// Sub-directory of a checkpoint or model holding the tokenizer.
pub const TOKENIZER_DIR: &str = "tokenizer";
/// Sub-directory holding the predictor.
pub const PREDICTOR_DIR: &str = "predictor";

/// Sample paths per validation window when measuring forecast metrics.
const EVAL_SAMPLES: usize = 4;
/// Validation windows forecast together.
const EVAL_CHUNK: usize = 16;

/// Kronos with its two stages.
#[derive(Debug)]
pub struct KronosTrainable {
    /// The networks.
    pub model: KronosModel,
    /// Stage 1.
    pub tokenizer_stage: StagePlan,
    /// Stage 2.
    pub predictor_stage: StagePlan,
    /// Longest window the predictor sees when forecasting validation windows.
    pub max_context: usize,
    /// The frozen tokenizer's tokens of the windows seen in stage 2 (shared with the
    /// replicas).
    pub tokens: Arc<TokenCache>,
}

impl KronosTrainable {
    /// The reference's stage settings with the given step counts and peak learning
    /// rates (reference: 2e-4 for the tokenizer, 4e-5 for the predictor).
    pub fn new(model: KronosModel, steps: (usize, usize), lrs: (f64, f64), max_context: usize) -> Self {
        Self {
            model,
            tokenizer_stage: StagePlan {
                name: "tokenizer",
                steps: steps.0,
                max_lr: lrs.0,
                pct_start: 0.03,
                div_factor: 10.0,
                adamw: AdamWConfig { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.1, clip_norm: 2.0 },
            },
            predictor_stage: StagePlan {
                name: "predictor",
                steps: steps.1,
                max_lr: lrs.1,
                pct_start: 0.03,
                div_factor: 10.0,
                adamw: AdamWConfig { beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: 0.1, clip_norm: 3.0 },
            },
            max_context,
            tokens: Arc::new(TokenCache::new(DEFAULT_TOKEN_CACHE_BYTES)),
        }
    }

    /// Loads weights saved by [`Trainable::save_weights`] (or a registered model's files).
    pub fn load_weights(dir: &Path, device: tch::Device) -> Result<KronosModel, TrainError> {
        Ok(KronosModel::load(&dir.join(TOKENIZER_DIR), &dir.join(PREDICTOR_DIR), device)?)
    }
}

impl Trainable for KronosTrainable {
    fn stages(&self) -> Vec<StagePlan> {
        vec![self.tokenizer_stage.clone(), self.predictor_stage.clone()]
    }

    fn var_store(&self, stage: usize) -> &VarStore {
        if stage == 0 {
            self.model.tokenizer_vars()
        } else {
            self.model.predictor_vars()
        }
    }

    fn loss(&self, stage: usize, batch: &WindowBatch, train: bool) -> StageLoss {
        let x = batch.x.to_kind(self.model.kind());
        if stage == 0 {
            // the tokenizer changes: tokens kept from before would be stale
            self.tokens.clear();
            tokenizer_loss(&self.model, &x, train)
        } else {
            let (s1, s2) = self.tokens.tokens(&self.model, batch, &x);
            predictor_loss(&self.model, &s1, &s2, &batch.stamps, train)
        }
    }

    fn tokens_per_window(&self, stage: usize, window_len: usize) -> usize {
        if stage == 0 {
            window_len
        } else {
            window_len - 1
        }
    }

    fn save_weights(&self, dir: &Path) -> Result<(), TrainError> {
        Ok(self.model.save(&dir.join(TOKENIZER_DIR), &dir.join(PREDICTOR_DIR))?)
    }

    fn loss_splits_by_rows(&self, stage: usize) -> bool {
        // the predictor's cross-entropies are means over rows; the tokenizer's codebook
        // entropy is of the whole batch's average code distribution
        stage == 1
    }

    fn replica(&self) -> Option<Result<Self, TrainError>> {
        let model = KronosModel::from_configs(
            self.model.tokenizer.config(),
            self.model.predictor.config(),
            self.model.device(),
        );
        Some(model.map_err(TrainError::from).map(|mut model| {
            model.set_kind(self.model.kind());
            Self {
                model,
                tokenizer_stage: self.tokenizer_stage.clone(),
                predictor_stage: self.predictor_stage.clone(),
                max_context: self.max_context,
                tokens: Arc::clone(&self.tokens),
            }
        }))
    }

    fn evaluate(&self, set: &WindowSet, seed: u64) -> Result<Comparison, TrainError> {
        let horizon = set.spec.horizon;
        let options = GenerateOptions {
            pred_len: horizon,
            max_context: self.max_context.min(set.spec.lookback + horizon),
            use_cache: true,
            share_prefix: true,
        };
        let mut outcomes = Vec::with_capacity(set.validation.len());
        for chunk in set.validation.chunks(EVAL_CHUNK) {
            let mut requests = Vec::with_capacity(chunk.len());
            let mut actuals = Vec::with_capacity(chunk.len());
            for w in chunk {
                let (history, times, actual) = set.split_window(*w);
                let lookback = history.len();
                requests.push(SeriesRequest {
                    history: history.to_vec(),
                    stamps: times[..lookback].iter().map(|t| time_features(*t)).collect(),
                    future_stamps: times[lookback..].iter().map(|t| time_features(*t)).collect(),
                    sampling: SamplingParams { samples: EVAL_SAMPLES, seed, ..SamplingParams::default() },
                    watch: None,
                });
                actuals.push(actual);
            }
            let forecasts = self.model.forecast(&requests, &options)?;
            for ((request, forecast), actual) in requests.iter().zip(forecasts).zip(actuals) {
                let n = request.history.len();
                outcomes.push(ForecastOutcome {
                    last_close: request.history[n - 1][CLOSE],
                    previous_close: (n >= 2).then(|| request.history[n - 2][CLOSE]),
                    forecast: forecast.mean.iter().map(|b| b[CLOSE]).collect(),
                    actual,
                });
            }
        }
        Comparison::of(&outcomes).ok_or_else(|| TrainError::Data("no validation window to measure".into()))
    }
}
