//! Reading and writing weights in the Hugging Face layout (`model.safetensors`, F32,
//! the official key names).
//!
//! Loading is strict about learnable tensors: every variable of the network must be in
//! the file with its exact shape, and the error lists all missing and mis-shaped keys.
//! Known buffers (`rotary.inv_freq`, `tokenizer.bsq.basis`, …) may be present or
//! absent; other unknown keys are reported back to the caller.

use std::collections::HashMap;
use std::path::Path;

use tch::{nn::VarStore, Kind, Tensor};

use super::KronosError;

/// Suffixes of buffers the reference stores next to the weights; they are recomputed.
const BUFFER_SUFFIXES: [&str; 3] = ["rotary.inv_freq", "bsq.basis", "bsq.group_basis"];

/// Whether a checkpoint key is one of the reference's non-learnable buffers.
pub fn is_buffer(key: &str) -> bool {
    BUFFER_SUFFIXES.iter().any(|s| key.ends_with(s)) || key.ends_with("cos_cached") || key.ends_with("sin_cached")
}

/// Copies `file`'s tensors into the variables of `vs`. Returns the keys of the file
/// that matched nothing (buffers excluded).
pub fn load_into(vs: &VarStore, file: &Path) -> Result<Vec<String>, KronosError> {
    let tensors =
        Tensor::read_safetensors(file).map_err(|e| KronosError::Weights(format!("{}: {e}", file.display())))?;
    let mut by_name: HashMap<String, Tensor> = tensors.into_iter().collect();
    let variables = vs.variables();
    let mut missing = Vec::new();
    let mut misshaped = Vec::new();
    let mut names: Vec<&String> = variables.keys().collect();
    names.sort();
    for name in names {
        let var = &variables[name];
        match by_name.remove(name) {
            None => missing.push(name.clone()),
            Some(t) if t.size() != var.size() => {
                misshaped.push(format!("{name} (file {:?}, model {:?})", t.size(), var.size()))
            }
            Some(t) => {
                tch::no_grad(|| {
                    let mut var = var.shallow_clone();
                    var.copy_(&t.to_kind(var.kind()));
                });
            }
        }
    }
    if !missing.is_empty() || !misshaped.is_empty() {
        let mut parts = Vec::new();
        if !missing.is_empty() {
            parts.push(format!("missing keys: {}", missing.join(", ")));
        }
        if !misshaped.is_empty() {
            parts.push(format!("mis-shaped keys: {}", misshaped.join("; ")));
        }
        return Err(KronosError::Weights(format!("{}: {}", file.display(), parts.join("; "))));
    }
    let mut unexpected: Vec<String> = by_name.into_keys().filter(|k| !is_buffer(k)).collect();
    unexpected.sort();
    Ok(unexpected)
}

/// Writes the variables of `vs` (as F32) plus `buffers` to `file`.
pub fn save(vs: &VarStore, buffers: Vec<(String, Tensor)>, file: &Path) -> Result<(), KronosError> {
    let mut entries: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .map(|(name, t)| (name, t.detach().to_kind(Kind::Float).to_device(tch::Device::Cpu).contiguous()))
        .collect();
    entries.extend(buffers);
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Tensor::write_safetensors(&entries, file).map_err(|e| KronosError::Weights(format!("{}: {e}", file.display())))
}
