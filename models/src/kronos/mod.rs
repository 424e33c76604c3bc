//! Kronos (arXiv 2508.02739) in libtorch: the tokenizer, the predictor, weight loading
//! in the Hugging Face layout, and batched autoregressive forecasting with a
//! key/value cache.
//!
//! Layout follows candle's model files: `config` (official `config.json` keys and the
//! published presets), the building blocks in `layers` and `attention`, one file per
//! network (`tokenizer`, `predictor`; `dropout` and `random` for training), then loading (`weights`, `model`) and
//! inference (`sampling`, `inference`, `paths`, `series`, `time_features`).

pub mod attention;
pub mod config;
pub mod continuous;
mod decode_layout;
pub mod dropout;
pub mod inference;
pub mod layers;
pub mod model;
mod paths;
pub mod predictor;
pub mod random;
pub mod sampling;
pub mod series;
pub mod time_features;
pub mod tokenizer;
pub mod weights;

pub use config::{PredictorConfig, Preset, TokenizerConfig};
pub use continuous::{ContinuousBatch, ContinuousLimits};
pub use inference::GenerateOptions;
pub use model::KronosModel;
pub use sampling::SamplingParams;
pub use series::{fill_missing_amount, Normalisation, RequestWatch, SeriesForecast, SeriesRequest};
pub use time_features::{continue_times, time_features, typical_step};

use thiserror::Error;

/// What can go wrong loading or running Kronos.
#[derive(Debug, Error)]
pub enum KronosError {
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// A configuration is unreadable or inconsistent.
    #[error("config: {0}")]
    Config(String),
    /// Weights are unreadable, missing or mis-shaped.
    #[error("weights: {0}")]
    Weights(String),
    /// A parameter is out of range (the name of the parameter, why).
    #[error("{0}: {1}")]
    Param(&'static str, String),
    /// The input series is unusable.
    #[error("input: {0}")]
    Input(String),
    /// libtorch failed.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// The request was cancelled while it was generated.
    #[error("cancelled")]
    Cancelled,
}
