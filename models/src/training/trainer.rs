//! The training loop shared by every model: stages run one after another, each with its
//! own AdamW and one-cycle schedule; the validation loss is measured every
//! `eval_every` steps; a checkpoint is written every `checkpoint_every` steps and at
//! the end of each stage; hooks see progress after every step and may cancel.
//!
//! A step's batch and its random draws (dropout, sampled sibling tokens) are seeded from
//! the run's seed and the step number, so a run resumed from a checkpoint takes the same
//! steps the uninterrupted run would have. On the CPU a step's batch is split across the
//! cores (`data_parallel`).

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::{nn::VarStore, Device};

use super::checkpoint::{Checkpoint, LossPoint, TrainingState};
use super::data_parallel::DataParallel;
use super::kronos_losses::StageLoss;
use super::optimizer::{AdamW, AdamWConfig};
use super::schedule::OneCycle;
use super::windows::{WindowBatch, WindowSet};
use super::TrainError;
use crate::metrics::Comparison;

/// One optimisation stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StagePlan {
    /// Name in reports (`tokenizer`, `predictor`, `regressor`).
    pub name: &'static str,
    /// Optimiser steps.
    pub steps: usize,
    /// Peak learning rate of the one-cycle schedule.
    pub max_lr: f64,
    /// Share of the steps spent warming up.
    pub pct_start: f64,
    /// `max_lr / initial_lr`.
    pub div_factor: f64,
    /// AdamW settings.
    pub adamw: AdamWConfig,
}

/// Settings of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainPlan {
    /// Windows per step.
    pub batch_size: usize,
    /// Steps between validation losses.
    pub eval_every: usize,
    /// Steps between checkpoints.
    pub checkpoint_every: usize,
    /// Seed of batches and random draws.
    pub seed: u64,
    /// Where tensors live.
    pub device: Device,
}

/// A model the loop can train.
pub trait Trainable {
    /// The stages in order.
    fn stages(&self) -> Vec<StagePlan>;
    /// The variables stage `stage` optimises.
    fn var_store(&self, stage: usize) -> &VarStore;
    /// The loss of a batch (gradients flow only in training mode).
    fn loss(&self, stage: usize, batch: &WindowBatch, train: bool) -> StageLoss;
    /// Tokens (bar positions) one window contributes to stage `stage`'s loss.
    fn tokens_per_window(&self, stage: usize, window_len: usize) -> usize;
    /// Writes the weights (and configuration) into `dir`.
    fn save_weights(&self, dir: &Path) -> Result<(), TrainError>;
    /// Forecast metrics on the validation windows, beside the naive baseline.
    fn evaluate(&self, set: &WindowSet, seed: u64) -> Result<Comparison, TrainError>;
    /// A model of the same structure with variables of its own (their values are
    /// copied in before use), for running part of a step's batch on another core
    /// ([`DataParallel`](super::data_parallel::DataParallel)); `None` without one.
    fn replica(&self) -> Option<Result<Self, TrainError>>
    where
        Self: Sized,
    {
        None
    }
    /// Whether stage `stage`'s loss is a mean over the batch's rows, so that parts of a
    /// batch weighted by their rows add up to it (a loss with a batch-wide term is not).
    fn loss_splits_by_rows(&self, _stage: usize) -> bool {
        false
    }
}

/// What the hooks see after each step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Current stage name.
    pub stage: String,
    /// Steps done, over all stages.
    pub step: usize,
    /// Steps in all stages.
    pub total_steps: usize,
    /// This step's training loss.
    pub loss: f64,
    /// The latest validation loss of this stage, if any yet.
    pub val_loss: Option<f64>,
    /// This step's learning rate.
    pub lr: f64,
    /// Training tokens per second since this process started or resumed.
    pub tokens_per_second: f64,
    /// Seconds since this process started or resumed the run.
    pub elapsed_seconds: f64,
    /// Estimated seconds left.
    pub eta_seconds: f64,
    /// The step this process resumed from (0 for a fresh run).
    pub resumed_from: usize,
}

/// What the caller provides to persist and observe a run.
pub trait TrainingHooks {
    /// After every step. Return false to stop the run (cancellation).
    fn on_progress(&mut self, progress: &Progress) -> bool;
    /// A complete checkpoint is in `dir`; persist it before returning.
    fn on_checkpoint(&mut self, dir: &Path, state: &TrainingState) -> Result<(), TrainError>;
}

/// The result of a finished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// Loss history and step count.
    pub state: TrainingState,
    /// The last stage's final validation loss.
    pub val_loss: f64,
    /// Forecast metrics beside the naive baseline.
    pub metrics: Comparison,
    /// Training tokens per second of this process.
    pub tokens_per_second: f64,
    /// The step this process resumed from.
    pub resumed_from: usize,
}

/// Runs (or resumes) training. `resume` is a checkpoint read back with its weights
/// already loaded into `model`.
pub fn train<M: Trainable + Send>(
    model: &M,
    set: &WindowSet,
    plan: &TrainPlan,
    resume: Option<Checkpoint>,
    hooks: &mut dyn TrainingHooks,
) -> Result<TrainReport, TrainError> {
    if plan.batch_size == 0 || plan.eval_every == 0 || plan.checkpoint_every == 0 {
        return Err(TrainError::Param("plan", "batch size, eval_every and checkpoint_every must be ≥ 1".into()));
    }
    let stages = model.stages();
    let total_steps: usize = stages.iter().map(|s| s.steps).sum();
    let (mut state, mut saved_optimizer) = match resume {
        Some(c) => (c.state, Some(c.optimizer)),
        None => (TrainingState::new(plan.seed), None),
    };
    let resumed_from = state.step;
    let started = Instant::now();
    let mut tokens = 0usize;
    let scratch = tempdir()?;
    let mut parallel = DataParallel::new(model, plan.device, plan.batch_size)?;
    let mut first = 0usize;
    for (index, stage) in stages.iter().enumerate() {
        let end = first + stage.steps;
        if state.step >= end {
            first = end;
            continue;
        }
        let mut optimizer = AdamW::new(model.var_store(index), stage.adamw);
        if let Some(saved) = saved_optimizer.take().filter(|_| state.optimizer_stage == Some(index)) {
            optimizer.restore(saved).map_err(TrainError::Checkpoint)?;
        }
        let schedule = OneCycle::new(stage.max_lr, stage.steps, stage.pct_start, stage.div_factor);
        let mut val_loss = state.last_val_loss(stage.name);
        let mut since_eval = (0.0, 0usize);
        while state.step < end {
            let local = state.step - first;
            tch::manual_seed((plan.seed ^ (state.step as u64).wrapping_mul(0x2545_F491_4F6C_DD1D)) as i64);
            let batch = set.train_batch(plan.seed.wrapping_add(index as u64), local, plan.batch_size, plan.device);
            optimizer.zero_grad();
            let value = parallel.accumulate_gradients(model, index, &batch)?;
            if !value.is_finite() {
                return Err(TrainError::Diverged(state.step));
            }
            let lr = schedule.lr(local);
            optimizer.step(lr);
            state.step += 1;
            tokens += plan.batch_size * model.tokens_per_window(index, set.spec.len());
            since_eval = (since_eval.0 + value, since_eval.1 + 1);
            if state.step % plan.eval_every == 0 || state.step == end {
                let v = validation_loss(model, index, set, plan)?;
                val_loss = Some(v);
                state.history.push(LossPoint {
                    stage: stage.name.to_owned(),
                    step: state.step,
                    train_loss: since_eval.0 / since_eval.1 as f64,
                    val_loss: v,
                });
                since_eval = (0.0, 0);
            }
            let elapsed = started.elapsed().as_secs_f64();
            let done_here = (state.step - resumed_from).max(1);
            let progress = Progress {
                stage: stage.name.to_owned(),
                step: state.step,
                total_steps,
                loss: value,
                val_loss,
                lr,
                tokens_per_second: tokens as f64 / elapsed.max(1e-9),
                elapsed_seconds: elapsed,
                eta_seconds: elapsed / done_here as f64 * (total_steps - state.step) as f64,
                resumed_from,
            };
            if state.step % plan.checkpoint_every == 0 || state.step == end {
                state.optimizer_stage = Some(index);
                Checkpoint::write(scratch.path(), model, &optimizer, &state)?;
                hooks.on_checkpoint(scratch.path(), &state)?;
            }
            if !hooks.on_progress(&progress) {
                return Err(TrainError::Cancelled(state.step));
            }
        }
        first = end;
    }
    let val_loss = state.history.last().map(|p| p.val_loss).unwrap_or(f64::NAN);
    let metrics = model.evaluate(set, plan.seed)?;
    let elapsed = started.elapsed().as_secs_f64();
    Ok(TrainReport { state, val_loss, metrics, tokens_per_second: tokens as f64 / elapsed.max(1e-9), resumed_from })
}

/// The mean loss over the validation windows, without gradients or dropout, with a
/// fixed seed for any sampling inside the loss.
fn validation_loss<M: Trainable>(
    model: &M,
    stage: usize,
    set: &WindowSet,
    plan: &TrainPlan,
) -> Result<f64, TrainError> {
    tch::manual_seed(plan.seed as i64);
    let mut total = 0.0;
    let mut count = 0usize;
    for chunk in set.validation.chunks(plan.batch_size.max(1)) {
        let batch = set.batch(chunk, plan.device);
        let loss = tch::no_grad(|| model.loss(stage, &batch, false));
        total += loss.loss.double_value(&[]) * chunk.len() as f64;
        count += chunk.len();
    }
    Ok(total / count.max(1) as f64)
}

fn tempdir() -> Result<tempfile::TempDir, TrainError> {
    tempfile::tempdir().map_err(|e| TrainError::Checkpoint(format!("cannot make a scratch directory: {e}")))
}
