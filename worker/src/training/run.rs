//! One training run from payload to registered version: load candles, prepare starting
//! weights (a registered model, a preset, or the job's latest checkpoint), train on a
//! compute thread, upload the weights, compare with the lineage's production version
//! on the same validation windows, register the version and promote it when it wins.
//!
//! The worker runs this for training jobs (checkpoints in the object store, progress in
//! PostgreSQL); `kronos train` runs it in-process with a progress bar.

use std::{path::PathBuf, sync::Arc};

use crate::error::Error;
use kronos_db::{models, models::NewVersion, models::RegisteredModel, DbPool};
use kronos_models::{
    kronos::{KronosModel, Preset},
    metrics::Comparison,
    training::{
        train, Checkpoint, KronosTrainable, Progress, Regressor, RegressorConfig, RegressorKind, TrainError, TrainPlan,
        TrainReport, Trainable, TrainingHooks, TrainingState, WindowSet, WindowSpec,
    },
    ComputeDevice,
};
use kronos_storage::{model_files, ModelPart, Storage, StoragePrefix};
use kronos_types::{
    jobs::{results::TrainingResult, training::TrainingPayload},
    registry::{ModelFamily, ModelStatus},
};
use serde_json::json;
use uuid::Uuid;

use super::checkpoints::CheckpointStore;
use crate::{executor::ComputeExecutor, model_library::ModelLibrary};

/// Validation windows used for the validation loss and the metrics.
const VALIDATION_WINDOWS: usize = 64;

/// Where the training loop runs.
#[derive(Clone)]
pub enum Compute {
    /// tokio's blocking pool (the CLI).
    Blocking,
    /// One thread of a device pool, held for the whole run (the worker).
    Executor(ComputeExecutor),
}

impl Compute {
    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, RunError> {
        match self {
            Self::Blocking => tokio::task::spawn_blocking(f).await.map_err(|e| RunError::Transient(e.to_string())),
            Self::Executor(executor) => executor.run(f).await.map_err(|e| RunError::Transient(e.to_string())),
        }
    }
}

/// Sees the run's progress and may cancel it.
pub trait RunObserver: Send + Sync {
    /// After every step.
    fn progress(&self, progress: &Progress);
    /// Whether to stop.
    fn cancelled(&self) -> bool;
}

/// What a run needs.
pub struct TrainingEnv {
    /// PostgreSQL.
    pub pool: DbPool,
    /// Object store.
    pub storage: Storage,
    /// Registered models on local disk.
    pub models: Arc<ModelLibrary>,
    /// The device.
    pub device: ComputeDevice,
    /// Where the loop runs.
    pub compute: Compute,
}

/// How a run ended badly.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Stopped by its observer.
    #[error("cancelled")]
    Cancelled,
    /// Bad input or data: another attempt would fail the same way.
    #[error("{0}")]
    Permanent(String),
    /// A dependency failed; another attempt may succeed.
    #[error("{0}")]
    Transient(String),
}

impl From<Error> for RunError {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid { .. } | Error::NotFound(_) | Error::Data(_) | Error::Json(_) => {
                Self::Permanent(e.to_string())
            }
            other => Self::Transient(other.to_string()),
        }
    }
}

impl From<kronos_types::Error> for RunError {
    fn from(e: kronos_types::Error) -> Self {
        Error::from(e).into()
    }
}

impl From<kronos_db::Error> for RunError {
    fn from(e: kronos_db::Error) -> Self {
        Error::from(e).into()
    }
}

impl From<kronos_storage::Error> for RunError {
    fn from(e: kronos_storage::Error) -> Self {
        Error::from(e).into()
    }
}

impl From<TrainError> for RunError {
    fn from(e: TrainError) -> Self {
        match e {
            TrainError::Cancelled(_) => Self::Cancelled,
            TrainError::Checkpoint(_) | TrainError::Torch(_) => Self::Transient(e.to_string()),
            other => Self::Permanent(other.to_string()),
        }
    }
}

/// A finished run.
#[derive(Debug)]
pub struct TrainingOutcome {
    /// The registered version (after any promotion).
    pub model: RegisteredModel,
    /// Whether it became the production version.
    pub promoted: bool,
    /// Why it was or was not promoted, in words.
    pub promotion: String,
    /// Whether it beats the naive baseline on its validation windows.
    pub beats_naive: bool,
    /// Losses, metrics and speed.
    pub report: TrainReport,
    /// The production version's metrics on the same validation windows, when compared.
    pub production: Option<(String, Comparison)>,
}

impl TrainingOutcome {
    /// The stage whose losses describe the model: the Kronos predictor or the regressor.
    pub fn final_stage(&self) -> &'static str {
        if self.model.family == ModelFamily::Kronos {
            "predictor"
        } else {
            "regressor"
        }
    }

    /// The run's summary: the job's result document and `kronos train --json`.
    pub fn summary(&self) -> TrainingResult {
        let report = &self.report;
        let stage = self.final_stage();
        let (train_loss, val_loss) = report.state.losses(stage);
        let (tokenizer_train_loss, tokenizer_val_loss) = report.state.losses("tokenizer");
        TrainingResult {
            model: self.model.name.clone(),
            lineage: self.model.lineage.clone(),
            version: self.model.version,
            status: self.model.status,
            promoted: self.promoted,
            promotion: self.promotion.clone(),
            beats_naive: self.beats_naive,
            steps: report.state.step,
            resumed_from: report.resumed_from,
            tokens_per_second: report.tokens_per_second,
            train_loss,
            val_loss,
            eval_steps: report.state.history.iter().filter(|p| p.stage == stage).map(|p| p.step).collect(),
            tokenizer_train_loss,
            tokenizer_val_loss,
            metrics: self.model.metrics.clone(),
        }
    }
}

/// Runs a training payload. `job_id` is the training job (`None` in the CLI);
/// `checkpoints` (the worker) makes the run resumable.
pub async fn run(
    env: &TrainingEnv,
    payload: &TrainingPayload,
    job_id: Option<Uuid>,
    checkpoints: Option<CheckpointStore>,
    observer: Arc<dyn RunObserver>,
) -> Result<TrainingOutcome, RunError> {
    payload.validate()?;
    let mut conn = env.pool.get().await.map_err(Error::from)?;
    let parent = match &payload.from_model {
        Some(reference) => Some(
            models::resolve(&mut conn, reference)
                .await?
                .ok_or_else(|| Error::invalid("from_model", format!("unknown model {reference:?}")))?,
        ),
        None => None,
    };
    if let Some(p) = parent.as_ref().filter(|p| p.family != payload.family) {
        return Err(Error::invalid(
            "from_model",
            format!("{} is a {} model, not {}", p.name, p.family, payload.family),
        )
        .into());
    }
    let lineage = payload
        .lineage
        .clone()
        .or_else(|| parent.as_ref().map(|p| p.lineage.clone()))
        .unwrap_or_else(|| payload.default_lineage());
    let data = super::dataset::load(&mut conn, &payload.symbols, payload.interval, payload.from, payload.to).await?;
    let production = models::production(&mut conn, &lineage).await?;
    drop(conn);

    let parent_dir = match &parent {
        Some(p) => Some(env.models.local_files(p).await?),
        None => None,
    };
    let production_files = match production.as_ref().filter(|_| payload.auto_promote) {
        Some(p) => Some((p.clone(), env.models.local_files(p).await?)),
        None => None,
    };
    let scratch = tempfile::tempdir().map_err(|e| RunError::Transient(format!("scratch directory: {e}")))?;
    let resume_dir = scratch.path().join("resume");
    let resumed = match &checkpoints {
        Some(store) => store.restore(&resume_dir).await?,
        None => None,
    };
    let final_dir = scratch.path().join("final");
    let job = TrainJob {
        payload: payload.clone(),
        data: data.series,
        device: env.device,
        parent: parent.clone().zip(parent_dir),
        resume_dir: resumed.map(|_| resume_dir),
        final_dir: final_dir.clone(),
        production: production_files,
    };
    let hooks = Hooks { handle: tokio::runtime::Handle::current(), store: checkpoints, observer };
    let trained = env.compute.run(move || job.execute(hooks)).await??;

    // a job's retry overwrites the same objects
    let prefix = StoragePrefix::trained_model(&lineage, job_id.unwrap_or_else(Uuid::now_v7)).path();
    let parts = ModelPart::of_family(payload.family);
    let sha = model_files::upload_parts(&env.storage, &prefix, &final_dir, parts).await?;
    let candidate = trained.report.metrics;
    let beats =
        trained.production_metrics.map(|p| candidate.model.mae < p.model.mae && candidate.model.rmse < p.model.rmse);
    let beats_naive = candidate.model.mae < candidate.naive.mae && candidate.model.rmse < candidate.naive.rmse;
    let verdict = Verdict::of(
        payload.auto_promote,
        &candidate,
        beats_naive,
        production.as_ref().map(|p| p.name.as_str()),
        trained.production_metrics.as_ref(),
    );
    let (train_loss, val_loss) = trained.report.state.losses(trained.final_stage);
    let metrics = json!({
        "val_loss": trained.report.val_loss,
        "train_loss": train_loss.last(),
        "validation": candidate,
        "production": trained.production_metrics.map(|m| json!({
            "model": production.as_ref().map(|p| p.name.clone()),
            "validation": m,
        })),
        "beats_production": beats,
        "beats_naive": beats_naive,
        "val_loss_history": val_loss,
    });
    let new = NewVersion {
        lineage: lineage.clone(),
        family: payload.family,
        storage_prefix: prefix,
        tokenizer_config: trained.tokenizer_config,
        predictor_config: trained.predictor_config,
        max_context: trained.max_context,
        parameters: trained.parameters,
        weights_sha256: sha,
        parent_id: parent.as_ref().map(|p| p.id),
        trained_interval: payload.interval.as_str().to_owned(),
        trained_symbols: payload.symbols.clone(),
        trained_from: data.first,
        trained_to: data.last,
        training_job_id: job_id,
        training_config: serde_json::to_value(payload).map_err(Error::from)?,
        metrics,
    };
    let mut conn = env.pool.get().await.map_err(Error::from)?;
    let mut model = models::insert_version(&mut conn, &new).await?;
    // a retried job finds its version registered (and maybe promoted) already
    let mut promoted = model.status == ModelStatus::Production;
    if !promoted && verdict.promote {
        model = models::promote(&mut conn, model.id).await?.0;
        promoted = true;
    }
    let production = production.zip(trained.production_metrics).map(|(p, m)| (p.name, m));
    Ok(TrainingOutcome { model, promoted, promotion: verdict.reason, beats_naive, report: trained.report, production })
}

/// Whether a trained version is promoted automatically, and why in words: only when it
/// beats the naive baseline on its own validation windows (lower MAE and RMSE of the
/// close) and, when the lineage has one, the production version on the same windows.
struct Verdict {
    promote: bool,
    reason: String,
}

impl Verdict {
    fn of(
        auto_promote: bool,
        candidate: &Comparison,
        beats_naive: bool,
        production: Option<&str>,
        production_metrics: Option<&Comparison>,
    ) -> Self {
        let (m, n) = (candidate.model, candidate.naive);
        let windows = candidate.windows;
        if !beats_naive {
            return Self {
                promote: false,
                reason: format!(
                    "not promoted: it does not beat the naive baseline on its {windows} validation windows (MAE {:.4} vs naive {:.4}, RMSE {:.4} vs {:.4})",
                    m.mae, n.mae, m.rmse, n.rmse
                ),
            };
        }
        if let (Some(name), Some(p)) = (production, production_metrics) {
            if !(m.mae < p.model.mae && m.rmse < p.model.rmse) {
                return Self {
                    promote: false,
                    reason: format!(
                        "not promoted: it beats naive but not production {name} on the same windows (MAE {:.4} vs {:.4}, RMSE {:.4} vs {:.4})",
                        m.mae, p.model.mae, m.rmse, p.model.rmse
                    ),
                };
            }
        }
        if !auto_promote {
            return Self { promote: false, reason: "not promoted: automatic promotion was turned off".into() };
        }
        let over = production.map(|name| format!(" and production {name}")).unwrap_or_default();
        Self {
            promote: true,
            reason: format!(
                "promoted: it beats the naive baseline{over} on {windows} validation windows (MAE {:.4} vs naive {:.4})",
                m.mae, n.mae
            ),
        }
    }
}

/// The part of a run that happens on the compute thread.
struct TrainJob {
    payload: TrainingPayload,
    data: Vec<kronos_models::training::Series>,
    device: ComputeDevice,
    parent: Option<(RegisteredModel, PathBuf)>,
    resume_dir: Option<PathBuf>,
    final_dir: PathBuf,
    production: Option<(RegisteredModel, PathBuf)>,
}

/// What the compute thread hands back.
struct Trained {
    report: TrainReport,
    production_metrics: Option<Comparison>,
    final_stage: &'static str,
    tokenizer_config: Option<serde_json::Value>,
    predictor_config: serde_json::Value,
    max_context: i32,
    parameters: i64,
}

impl TrainJob {
    fn execute(mut self, mut hooks: Hooks) -> Result<Trained, RunError> {
        let data = std::mem::take(&mut self.data);
        let p = &self.payload;
        let device = self.device.to_tch();
        let spec = WindowSpec {
            lookback: p.lookback,
            horizon: p.horizon,
            validation_fraction: p.validation_fraction,
            max_validation_windows: VALIDATION_WINDOWS,
        };
        let set = WindowSet::new(data, spec)?;
        let plan = TrainPlan {
            batch_size: p.batch_size,
            eval_every: p.eval_every,
            checkpoint_every: p.checkpoint_every,
            seed: p.seed,
            device,
        };
        let resume = self.resume_dir.as_deref().map(Checkpoint::read).transpose()?;
        let (tok_lr, lr) = p.learning_rates();
        let production_metrics = |set: &WindowSet| -> Result<Option<Comparison>, RunError> {
            let Some((row, dir)) = &self.production else { return Ok(None) };
            let metrics = if row.family == ModelFamily::Kronos {
                let model = KronosTrainable::load_weights(dir, device)?;
                KronosTrainable::new(model, (0, 0), (tok_lr, lr), row.max_context as usize).evaluate(set, p.seed)?
            } else {
                Regressor::load(&dir.join(ModelPart::Regressor.as_str()), device)?.evaluate(set, p.seed)?
            };
            Ok(Some(metrics))
        };
        if p.family == ModelFamily::Kronos {
            let (model, max_context) = match (&self.resume_dir, &self.parent, &p.preset) {
                (Some(dir), _, _) => (KronosTrainable::load_weights(dir, device)?, self.max_context()),
                (None, Some((row, dir)), _) => (KronosTrainable::load_weights(dir, device)?, row.max_context as usize),
                (None, None, Some(preset)) => {
                    let preset: Preset = preset.parse().map_err(TrainError::from)?;
                    (KronosModel::init(preset, p.seed, device).map_err(TrainError::from)?, self.max_context())
                }
                (None, None, None) => return Err(RunError::Permanent("from_model or preset is required".into())),
            };
            let trainable = KronosTrainable::new(model, (p.tokenizer_steps(), p.steps), (tok_lr, lr), max_context);
            let report = train(&trainable, &set, &plan, resume, &mut hooks)?;
            trainable.save_weights(&self.final_dir)?;
            let production_metrics = production_metrics(&set)?;
            Ok(Trained {
                report,
                production_metrics,
                final_stage: "predictor",
                tokenizer_config: Some(to_json(trainable.model.tokenizer.config())?),
                predictor_config: to_json(trainable.model.predictor.config())?,
                max_context: max_context as i32,
                parameters: trainable.model.predictor_parameters(),
            })
        } else {
            let kind: RegressorKind = p.family.as_str().parse()?;
            let model = match &self.resume_dir {
                Some(dir) => Regressor::load(dir, device)?.with_schedule(p.steps, lr),
                None => {
                    tch::manual_seed(p.seed as i64);
                    Regressor::new(RegressorConfig::small(kind, p.lookback, p.horizon), p.steps, lr, device)?
                }
            };
            let report = train(&model, &set, &plan, resume, &mut hooks)?;
            let mut model = model;
            model.calibrate(&set);
            model.save_weights(&self.final_dir.join(ModelPart::Regressor.as_str()))?;
            let production_metrics = production_metrics(&set)?;
            Ok(Trained {
                report,
                production_metrics,
                final_stage: "regressor",
                tokenizer_config: None,
                predictor_config: to_json(&model.config)?,
                max_context: p.lookback as i32,
                parameters: model.parameters(),
            })
        }
    }

    /// Longest predictor window of a preset-sized model.
    fn max_context(&self) -> usize {
        match self.payload.preset.as_deref() {
            Some("mini") => 2048,
            Some(_) => 512,
            None => self.parent.as_ref().map_or(512, |(row, _)| row.max_context as usize),
        }
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, RunError> {
    serde_json::to_value(value).map_err(|e| RunError::Permanent(e.to_string()))
}

/// Bridges the training loop to the object store and the observer.
struct Hooks {
    handle: tokio::runtime::Handle,
    store: Option<CheckpointStore>,
    observer: Arc<dyn RunObserver>,
}

impl TrainingHooks for Hooks {
    fn on_progress(&mut self, progress: &Progress) -> bool {
        self.observer.progress(progress);
        !self.observer.cancelled()
    }

    fn on_checkpoint(&mut self, dir: &std::path::Path, _state: &TrainingState) -> Result<(), TrainError> {
        if let Some(store) = &self.store {
            self.handle.block_on(store.save(dir)).map_err(|e| TrainError::Checkpoint(e.to_string()))?;
        }
        Ok(())
    }
}
