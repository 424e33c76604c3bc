//! Kronos sampling settings as clients send them: every field optional, absent ones
//! take the platform's one set of defaults ([`Sampling::default`]: 8 paths,
//! temperature 1, top-k off, top-p 0.9, seed 0) and are checked by its one validator.

use kronos_types::jobs::payload::Sampling;

use crate::error::{ApiError, ApiResult};

/// The sampling fields of a request, as given.
#[derive(Debug, Clone, Copy, Default)]
pub struct SamplingFields {
    /// Sample paths.
    pub samples: Option<usize>,
    /// Softmax temperature.
    pub temperature: Option<f64>,
    /// Top-k filter.
    pub top_k: Option<usize>,
    /// Nucleus threshold.
    pub top_p: Option<f64>,
    /// Seed.
    pub seed: Option<u64>,
}

impl SamplingFields {
    /// The names of the fields that were given.
    pub fn given(&self) -> Vec<&'static str> {
        [
            ("samples", self.samples.is_some()),
            ("temperature", self.temperature.is_some()),
            ("top_k", self.top_k.is_some()),
            ("top_p", self.top_p.is_some()),
            ("seed", self.seed.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, given)| given.then_some(name))
        .collect()
    }

    /// The settings with the defaults filled in, unchecked (a payload that embeds them
    /// checks them with the same validator in its own order of fields).
    pub fn fill(self) -> Sampling {
        let defaults = Sampling::default();
        Sampling {
            samples: self.samples.unwrap_or(defaults.samples),
            temperature: self.temperature.unwrap_or(defaults.temperature),
            top_k: self.top_k.unwrap_or(defaults.top_k),
            top_p: self.top_p.unwrap_or(defaults.top_p),
            seed: self.seed.unwrap_or(defaults.seed),
        }
    }

    /// Defaults filled in and checked; an error names the field under `prefix`
    /// (`model.` gives `model.samples`).
    pub fn resolve(self, prefix: &str) -> ApiResult<Sampling> {
        let sampling = self.fill();
        sampling.validate().map_err(|kronos_types::Error::Invalid { field, message }| {
            ApiError::invalid(&format!("{prefix}{field}"), message)
        })?;
        Ok(sampling)
    }
}
