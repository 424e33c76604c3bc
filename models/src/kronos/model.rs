//! A tokenizer and a predictor loaded together on one device.

use std::path::Path;

use tch::{nn::VarStore, Device, Kind, Tensor};

use super::attention::inv_freq;
use super::config::{read_config, PredictorConfig, Preset, TokenizerConfig};
use super::predictor::{Predictor, DEPENDENCY_HEADS};
use super::tokenizer::Tokenizer;
use super::{weights, KronosError};

/// File names of the Hugging Face layout.
pub const CONFIG_FILE: &str = "config.json";
/// Weights file of the Hugging Face layout.
pub const WEIGHTS_FILE: &str = "model.safetensors";

/// Kronos ready to run: tokenizer + predictor and their variables.
#[derive(Debug)]
pub struct KronosModel {
    /// The tokenizer network.
    pub tokenizer: Tokenizer,
    /// The predictor network.
    pub predictor: Predictor,
    tokenizer_vars: VarStore,
    predictor_vars: VarStore,
    /// Keys found in the files that match no variable (reported, not fatal).
    pub unexpected_keys: Vec<String>,
}

impl KronosModel {
    /// Freshly initialised networks for the given configurations.
    pub fn from_configs(
        tokenizer: &TokenizerConfig,
        predictor: &PredictorConfig,
        device: Device,
    ) -> Result<Self, KronosError> {
        tokenizer.validate()?;
        predictor.validate()?;
        let tokenizer_vars = VarStore::new(device);
        let predictor_vars = VarStore::new(device);
        Ok(Self {
            tokenizer: Tokenizer::new(&tokenizer_vars.root(), tokenizer),
            predictor: Predictor::new(&predictor_vars.root(), predictor),
            tokenizer_vars,
            predictor_vars,
            unexpected_keys: Vec::new(),
        })
    }

    /// Random weights of a published size, reproducible from `seed`.
    pub fn init(preset: Preset, seed: u64, device: Device) -> Result<Self, KronosError> {
        tch::manual_seed(seed as i64);
        Self::from_configs(&preset.tokenizer(), &preset.predictor(), device)
    }

    /// Loads two Hugging Face directories (`config.json` + `model.safetensors` each).
    pub fn load(tokenizer_dir: &Path, predictor_dir: &Path, device: Device) -> Result<Self, KronosError> {
        let tokenizer_config: TokenizerConfig = read_config(&tokenizer_dir.join(CONFIG_FILE))?;
        let predictor_config: PredictorConfig = read_config(&predictor_dir.join(CONFIG_FILE))?;
        let mut model = Self::from_configs(&tokenizer_config, &predictor_config, device)?;
        let mut unexpected = weights::load_into(&model.tokenizer_vars, &tokenizer_dir.join(WEIGHTS_FILE))?;
        unexpected.extend(weights::load_into(&model.predictor_vars, &predictor_dir.join(WEIGHTS_FILE))?);
        model.unexpected_keys = unexpected;
        Ok(model)
    }

    /// Writes both networks in the Hugging Face layout, with the official key names
    /// and the reference's buffers.
    pub fn save(&self, tokenizer_dir: &Path, predictor_dir: &Path) -> Result<(), KronosError> {
        for dir in [tokenizer_dir, predictor_dir] {
            std::fs::create_dir_all(dir).map_err(|e| KronosError::Io(format!("{}: {e}", dir.display())))?;
        }
        write_json(&tokenizer_dir.join(CONFIG_FILE), self.tokenizer.config())?;
        write_json(&predictor_dir.join(CONFIG_FILE), self.predictor.config())?;
        weights::save(
            &self.tokenizer_vars,
            tokenizer_buffers(self.tokenizer.config()),
            &tokenizer_dir.join(WEIGHTS_FILE),
        )?;
        weights::save(
            &self.predictor_vars,
            predictor_buffers(self.predictor.config()),
            &predictor_dir.join(WEIGHTS_FILE),
        )
    }

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.predictor_vars.device()
    }

    /// The weights' element type.
    pub fn kind(&self) -> Kind {
        self.predictor.kind()
    }

    /// Converts the weights to `kind` (F32, F16 or BF16). Norms, softmax inputs of the
    /// samplers and rotary tables stay in F32.
    pub fn set_kind(&mut self, kind: Kind) {
        self.tokenizer_vars.set_kind(kind);
        self.predictor_vars.set_kind(kind);
    }

    /// Learnable parameters of the predictor.
    pub fn predictor_parameters(&self) -> i64 {
        count(&self.predictor_vars)
    }

    /// Learnable parameters of the tokenizer.
    pub fn tokenizer_parameters(&self) -> i64 {
        count(&self.tokenizer_vars)
    }

    /// The tokenizer's variables (for training).
    pub fn tokenizer_vars(&self) -> &VarStore {
        &self.tokenizer_vars
    }

    /// The predictor's variables (for training).
    pub fn predictor_vars(&self) -> &VarStore {
        &self.predictor_vars
    }
}

fn count(vs: &VarStore) -> i64 {
    vs.trainable_variables().iter().map(Tensor::numel).map(|n| n as i64).sum()
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), KronosError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| KronosError::Config(e.to_string()))?;
    std::fs::write(path, text).map_err(|e| KronosError::Io(format!("{}: {e}", path.display())))
}

fn powers_descending(n: usize) -> Tensor {
    let values: Vec<i64> = (0..n).rev().map(|i| 1i64 << i).collect();
    Tensor::from_slice(&values)
}

fn tokenizer_buffers(config: &TokenizerConfig) -> Vec<(String, Tensor)> {
    let freq = inv_freq((config.d_model / config.n_heads) as i64, Device::Cpu);
    let mut buffers = vec![
        ("tokenizer.bsq.basis".to_owned(), powers_descending(config.s1_bits + config.s2_bits)),
        ("tokenizer.bsq.group_basis".to_owned(), powers_descending(config.group_size)),
    ];
    for (part, layers) in [("encoder", config.n_enc_layers), ("decoder", config.n_dec_layers)] {
        for i in 0..layers - 1 {
            buffers.push((format!("{part}.{i}.self_attn.rotary.inv_freq"), freq.copy()));
        }
    }
    buffers
}

fn predictor_buffers(config: &PredictorConfig) -> Vec<(String, Tensor)> {
    let freq = inv_freq((config.d_model / config.n_heads) as i64, Device::Cpu);
    let mut buffers: Vec<(String, Tensor)> =
        (0..config.n_layers).map(|i| (format!("transformer.{i}.self_attn.rotary.inv_freq"), freq.copy())).collect();
    buffers.push((
        "dep_layer.cross_attn.rotary.inv_freq".to_owned(),
        inv_freq((config.d_model / DEPENDENCY_HEADS) as i64, Device::Cpu),
    ));
    buffers
}
