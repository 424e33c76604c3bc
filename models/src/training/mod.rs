//! Training: datasets of normalised windows, AdamW with a one-cycle schedule and
//! gradient clipping, the two Kronos fine-tuning stages, baseline regressors (LSTM,
//! GRU, small Transformer), checkpoints that resume exactly, and validation metrics
//! beside the naive baseline.
//!
//! Like the rest of this crate it takes arrays and local paths; the worker persists
//! checkpoints to the object store through [`TrainingHooks`].

pub mod checkpoint;
pub mod data_parallel;
pub mod kronos_losses;
pub mod kronos_trainable;
pub mod optimizer;
pub mod regressor;
pub mod schedule;
pub mod token_cache;
pub mod trainer;
pub mod windows;

pub use checkpoint::{Checkpoint, TrainingState};
pub use kronos_trainable::KronosTrainable;
pub use regressor::{Regressor, RegressorConfig, RegressorKind};
pub use trainer::{train, Progress, StagePlan, TrainPlan, TrainReport, Trainable, TrainingHooks};
pub use windows::{Series, WindowSet, WindowSpec};

use thiserror::Error;

/// What can go wrong training.
#[derive(Debug, Error)]
pub enum TrainError {
    /// A parameter is out of range (its name, why).
    #[error("{0}: {1}")]
    Param(&'static str, String),
    /// The data cannot make a training set.
    #[error("data: {0}")]
    Data(String),
    /// A checkpoint cannot be written or read.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// The run was cancelled by its hooks.
    #[error("cancelled at step {0}")]
    Cancelled(usize),
    /// The loss stopped being a number.
    #[error("loss is not finite at step {0}")]
    Diverged(usize),
    /// The model failed.
    #[error(transparent)]
    Model(#[from] crate::kronos::KronosError),
    /// libtorch failed.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}
