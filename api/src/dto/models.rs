//! The model registry as clients see it: the baselines and registered versions.

use chrono::{DateTime, Utc};
use kronos_db::models::RegisteredModel;
use kronos_types::registry::{HubOrigin, ModelFamily, ModelSource, ModelStatus};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// A built-in baseline (`GET /v1/models/naive`).
#[derive(Debug, Serialize, ToSchema)]
pub struct BaselineView {
    /// `naive` or `drift`.
    pub name: &'static str,
    /// Always `baseline`.
    pub family: &'static str,
    /// Always `builtin`.
    pub status: &'static str,
    /// How it forecasts.
    pub description: &'static str,
    /// Always 0.
    pub parameters: i64,
    /// History it needs.
    pub min_history: &'static str,
    /// The settings it takes (none).
    pub settings: &'static str,
}

impl BaselineView {
    /// The baseline called `name`, if there is one.
    pub fn named(name: &str) -> Option<Self> {
        let (name, description) = match name {
            "naive" => ("naive", "random walk: every step forecasts the last close; the band is the empirical distribution of past h-step log returns, re-centred on zero"),
            "drift" => ("drift", "random walk with drift: the close grows by the average log return of the history per step; the band is the empirical distribution of past h-step log returns, re-centred on the drift"),
            _ => return None,
        };
        Some(Self {
            name,
            family: "baseline",
            status: "builtin",
            description,
            parameters: 0,
            min_history: "horizon + 2 candles",
            settings: "none (samples, temperature, top_k, top_p, seed and max_context are Kronos settings)",
        })
    }
}

/// What a version was trained on.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainedOn {
    /// Interval of the training candles.
    pub interval: String,
    /// Assets.
    pub symbols: Option<Vec<String>>,
    /// First candle.
    pub from: Option<DateTime<Utc>>,
    /// Last candle.
    pub to: Option<DateTime<Utc>>,
}

/// A registered version.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelView {
    /// Registry id.
    pub id: i64,
    /// Unique name of this version.
    pub name: String,
    /// The name users ask for; versions of one lineage share it.
    pub lineage: String,
    /// Version within the lineage, from 1.
    pub version: i32,
    /// Lifecycle status.
    pub status: ModelStatus,
    /// Family.
    pub family: ModelFamily,
    /// How it entered the registry.
    pub source: ModelSource,
    /// Pulled from the Hugging Face Hub: the endpoint and each repository's commit.
    pub origin: Option<HubOrigin>,
    /// The version it was trained from.
    pub parent_id: Option<i64>,
    /// Learnable parameters of the predictor.
    pub parameters: i64,
    /// Default longest window.
    pub max_context: i32,
    /// Training data (trained versions).
    pub trained_on: Option<TrainedOn>,
    /// The training job that made it.
    pub training_job_id: Option<Uuid>,
    /// Training settings.
    #[schema(value_type = Option<Object>)]
    pub training_config: Option<Value>,
    /// Validation loss and close metrics beside the naive baseline.
    #[schema(value_type = Option<Object>)]
    pub metrics: Option<Value>,
    /// Trained versions: lower close MAE and RMSE than naive on their validation windows.
    pub beats_naive: Option<bool>,
    /// The predictor's (or regressor's) configuration.
    #[schema(value_type = Object)]
    pub predictor_config: Value,
    /// The tokenizer's configuration (Kronos).
    #[schema(value_type = Option<Object>)]
    pub tokenizer_config: Option<Value>,
    /// SHA-256 of the weight files.
    pub weights_sha256: String,
    /// Object-store prefix of the weights.
    pub storage_prefix: String,
    /// Registered.
    pub created_at: DateTime<Utc>,
    /// When it last became the production version.
    pub promoted_at: Option<DateTime<Utc>>,
}

impl From<&RegisteredModel> for ModelView {
    fn from(m: &RegisteredModel) -> Self {
        Self {
            id: m.id,
            name: m.name.clone(),
            lineage: m.lineage.clone(),
            version: m.version,
            status: m.status,
            family: m.family,
            source: m.source,
            origin: m.origin.clone().and_then(|o| serde_json::from_value(o).ok()),
            parent_id: m.parent_id,
            parameters: m.parameters,
            max_context: m.max_context,
            trained_on: m.trained_interval.as_ref().map(|interval| TrainedOn {
                interval: interval.clone(),
                symbols: m.trained_symbols.clone(),
                from: m.trained_from,
                to: m.trained_to,
            }),
            training_job_id: m.training_job_id,
            training_config: m.training_config.clone(),
            metrics: m.metrics.clone(),
            beats_naive: m.beats_naive(),
            predictor_config: m.predictor_config.clone(),
            tokenizer_config: m.tokenizer_config.clone(),
            weights_sha256: m.weights_sha256.clone(),
            storage_prefix: m.storage_prefix.clone(),
            created_at: m.created_at,
            promoted_at: m.promoted_at,
        }
    }
}

/// A version in its lineage's list.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionSummary {
    /// Registry id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Version number.
    pub version: i32,
    /// Lifecycle status.
    pub status: ModelStatus,
    /// Metrics.
    #[schema(value_type = Option<Object>)]
    pub metrics: Option<Value>,
}

/// One version with the other versions of its lineage.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelDetail {
    /// The version.
    #[serde(flatten)]
    pub model: ModelView,
    /// Every version of its lineage, newest first.
    pub versions: Vec<VersionSummary>,
}

/// An entry of `GET /v1/models`: a baseline or a registered version.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ModelEntry {
    /// A built-in baseline.
    Baseline(BaselineView),
    /// A registered version.
    Version(Box<ModelView>),
}

/// `GET /v1/models`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelList {
    /// Baselines first (unfiltered lists only), then versions newest first.
    pub models: Vec<ModelEntry>,
}

/// `GET /v1/models/{model}`: a baseline or a version with its lineage.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ModelShown {
    /// A built-in baseline.
    Baseline(BaselineView),
    /// A registered version.
    Version(Box<ModelDetail>),
}

/// `POST /v1/models/{model}/promote`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Promoted {
    /// The version, now production.
    pub model: ModelView,
    /// The previous production version, now archived.
    pub archived: Option<ModelView>,
    /// Set when the version does not beat the naive baseline.
    pub warning: Option<String>,
}

/// `DELETE /v1/models/{model}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelDeleted {
    /// Its name.
    pub deleted: String,
    /// Its registry id.
    pub id: i64,
    /// Objects of its weights deleted from the object store.
    pub objects_deleted: usize,
}
