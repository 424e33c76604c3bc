//! Training runs: datasets from stored candles, resumable checkpoints in the object
//! store, and the run itself (shared by training jobs and `kronos train`).

pub mod checkpoints;
pub mod dataset;
pub mod run;

pub use checkpoints::CheckpointStore;
pub use run::{run, Compute, RunError, RunObserver, TrainingEnv, TrainingOutcome};
