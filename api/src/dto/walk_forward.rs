//! A model's walk-forward settings in backtest and evaluation requests.

use kronos_types::walk_forward::ModelSettings;
use serde::Deserialize;
use utoipa::ToSchema;

use super::sampling::SamplingFields;

/// Which model forecasts, and how, at every `every`-th bar: it sees the `context` bars
/// up to that bar (never a later one) and forecasts `horizon` steps.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "kronos-mini", "context": 64, "horizon": 5, "every": 1, "samples": 8, "seed": 7}))]
pub struct ModelSettingsRequest {
    /// A registered model (`lineage`, `lineage@N`, a version name; a lineage means its
    /// production version) or a baseline, `naive` or `drift`.
    pub name: String,
    /// Bars the model sees at each forecast (2–4096, default 64).
    #[schema(minimum = 2, maximum = 4096)]
    pub context: Option<usize>,
    /// Steps each forecast looks ahead (1–512, default 5).
    #[schema(minimum = 1, maximum = 512)]
    pub horizon: Option<usize>,
    /// Forecast every this many bars; the latest forecast stands in between (1–10,000,
    /// default 1).
    #[schema(minimum = 1, maximum = 10000)]
    pub every: Option<usize>,
    /// Kronos: sample paths per forecast (1–256, default 8).
    #[schema(minimum = 1, maximum = 256)]
    pub samples: Option<usize>,
    /// Kronos: softmax temperature (above 0, at most 100; default 1).
    pub temperature: Option<f64>,
    /// Kronos: keep the k most likely tokens (0 = off, the default).
    pub top_k: Option<usize>,
    /// Kronos: nucleus threshold in (0, 1] (default 0.9).
    pub top_p: Option<f64>,
    /// Seed of the sample paths (0 to 2^53 − 1, default 0).
    #[schema(maximum = 9007199254740991_u64)]
    pub seed: Option<u64>,
}

impl ModelSettingsRequest {
    /// The settings with every default filled in; the payload's `validate` checks
    /// them (errors name `model.<field>`) and the handler resolves the registry id.
    pub fn into_settings(self) -> ModelSettings {
        let sampling = SamplingFields {
            samples: self.samples,
            temperature: self.temperature,
            top_k: self.top_k,
            top_p: self.top_p,
            seed: self.seed,
        }
        .fill();
        ModelSettings {
            name: self.name,
            model_id: None,
            context: self.context.unwrap_or(ModelSettings::DEFAULT_CONTEXT),
            horizon: self.horizon.unwrap_or(ModelSettings::DEFAULT_HORIZON),
            every: self.every.unwrap_or(ModelSettings::DEFAULT_EVERY),
            samples: sampling.samples,
            temperature: sampling.temperature,
            top_k: sampling.top_k,
            top_p: sampling.top_p,
            seed: sampling.seed,
        }
    }
}
