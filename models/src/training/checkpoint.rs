//! Checkpoints in a local directory: the model's weights (written by the model, e.g.
//! the Hugging Face layout for Kronos), `optimizer.safetensors` (AdamW's moments and
//! step count) and `state.json` (steps done and the loss history).

use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::optimizer::AdamW;
use super::trainer::Trainable;
use super::TrainError;

/// File of the optimizer state.
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
/// File of the run state.
pub const STATE_FILE: &str = "state.json";

/// One validation point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossPoint {
    /// Stage name.
    pub stage: String,
    /// Steps done (over all stages) when measured.
    pub step: usize,
    /// Mean training loss since the previous point.
    pub train_loss: f64,
    /// Validation loss.
    pub val_loss: f64,
}

/// Where a run stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingState {
    /// Steps done over all stages.
    pub step: usize,
    /// The run's seed.
    pub seed: u64,
    /// The stage whose optimizer state the checkpoint holds.
    pub optimizer_stage: Option<usize>,
    /// Validation points so far.
    pub history: Vec<LossPoint>,
}

impl TrainingState {
    /// A fresh run.
    pub fn new(seed: u64) -> Self {
        Self { step: 0, seed, optimizer_stage: None, history: Vec::new() }
    }

    /// The latest validation loss measured in a stage.
    pub fn last_val_loss(&self, stage: &str) -> Option<f64> {
        self.history.iter().rev().find(|p| p.stage == stage).map(|p| p.val_loss)
    }

    /// Training and validation losses of one stage, in step order.
    pub fn losses(&self, stage: &str) -> (Vec<f64>, Vec<f64>) {
        self.history.iter().filter(|p| p.stage == stage).map(|p| (p.train_loss, p.val_loss)).unzip()
    }
}

/// A checkpoint read back (the weights are loaded by the model's own loader).
#[derive(Debug)]
pub struct Checkpoint {
    /// Where the run stood.
    pub state: TrainingState,
    /// AdamW's saved tensors.
    pub optimizer: Vec<(String, Tensor)>,
}

impl Checkpoint {
    /// Writes a complete checkpoint into `dir` (emptied first).
    pub fn write<M: Trainable>(
        dir: &Path,
        model: &M,
        optimizer: &AdamW,
        state: &TrainingState,
    ) -> Result<(), TrainError> {
        let io = |e: std::io::Error| TrainError::Checkpoint(format!("{}: {e}", dir.display()));
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(io)?;
        }
        std::fs::create_dir_all(dir).map_err(io)?;
        model.save_weights(dir)?;
        Tensor::write_safetensors(&optimizer.state(), dir.join(OPTIMIZER_FILE))
            .map_err(|e| TrainError::Checkpoint(format!("optimizer state: {e}")))?;
        let text = serde_json::to_vec_pretty(state).map_err(|e| TrainError::Checkpoint(e.to_string()))?;
        std::fs::write(dir.join(STATE_FILE), text).map_err(io)
    }

    /// Reads the state and optimizer parts of a checkpoint directory.
    pub fn read(dir: &Path) -> Result<Self, TrainError> {
        let text = std::fs::read(dir.join(STATE_FILE))
            .map_err(|e| TrainError::Checkpoint(format!("{}: {e}", dir.join(STATE_FILE).display())))?;
        let state: TrainingState =
            serde_json::from_slice(&text).map_err(|e| TrainError::Checkpoint(format!("state.json: {e}")))?;
        let optimizer = Tensor::read_safetensors(dir.join(OPTIMIZER_FILE))
            .map_err(|e| TrainError::Checkpoint(format!("optimizer state: {e}")))?;
        Ok(Self { state, optimizer })
    }
}
