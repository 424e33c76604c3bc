//! `/v1/batches`: bulk prediction batches — their settings as clients send them (a JSON
//! body, the query string of a file upload, or the `settings` part of a multipart
//! upload), inline series, and the batch as the API shows it.

use chrono::{DateTime, Utc};
use kronos_types::{batches::BatchStatus, Candle};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::sampling::SamplingFields;
use crate::error::{ApiError, ApiResult};

/// The forecast settings every series of a batch shares.
#[derive(Debug, Clone, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BatchSettingsFields {
    /// A registered model (`lineage`, `lineage@N`, a version name) or a baseline,
    /// `naive` or `drift`.
    pub model: String,
    /// Candle interval of every series: `1m`, `5m`, `15m`, `30m`, `1h`, `4h`, `1d` or `1w`.
    #[schema(example = "1d")]
    #[param(example = "1d")]
    pub interval: String,
    /// Steps to forecast (1–512).
    #[schema(minimum = 1, maximum = 512)]
    pub horizon: i64,
    /// Most bars of history used per series, the latest (default 512, at most 4096).
    pub context: Option<i64>,
    /// Kronos: sample paths (1–256, default 8).
    pub samples: Option<i64>,
    /// Kronos: softmax temperature (above 0, at most 100; default 1).
    pub temperature: Option<f64>,
    /// Kronos: keep the k most likely tokens (0 = off, the default; 1 = greedy).
    pub top_k: Option<i64>,
    /// Kronos: nucleus threshold in (0, 1] (default 0.9).
    pub top_p: Option<f64>,
    /// Kronos: seed of every series' sample paths (0 to 2^53 − 1, default 0): a series
    /// gets the forecast a single prediction with this seed gets.
    #[schema(maximum = 9007199254740991_u64)]
    pub seed: Option<u64>,
    /// Kronos: longest window the model sees (default: the model's).
    pub max_context: Option<i64>,
    /// The trading calendar of the future bars (default: inferred per series).
    #[schema(value_type = Option<kronos_types::Calendar>)]
    pub calendar: Option<String>,
    /// Higher runs first among the caller's own chunks (−100 to 100, default 0).
    pub priority: Option<i16>,
    /// Where to POST the batch's outcome when it ends (signed; see the callbacks
    /// section of the batches guide). Loopback, private and link-local addresses are
    /// refused.
    pub callback_url: Option<String>,
    /// File uploads: `csv` or `parquet` (default: from the Content-Type; an
    /// `application/octet-stream` or gzip body is recognised by its content).
    #[schema(value_type = Option<String>)]
    pub format: Option<String>,
}

impl BatchSettingsFields {
    /// The sampling fields as given.
    pub fn sampling_fields(&self) -> ApiResult<SamplingFields> {
        for (field, value) in [("samples", self.samples), ("top_k", self.top_k)] {
            if value.is_some_and(|n| n < 0) {
                return Err(ApiError::invalid(field, format!("{field} must be zero or more")));
            }
        }
        Ok(SamplingFields {
            samples: self.samples.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            temperature: self.temperature,
            top_k: self.top_k.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            top_p: self.top_p,
            seed: self.seed,
        })
    }

    /// The Kronos-only fields that were given, by name.
    pub fn kronos_fields(&self) -> ApiResult<Vec<&'static str>> {
        let mut given = self.sampling_fields()?.given();
        if self.max_context.is_some() {
            given.push("max_context");
        }
        Ok(given)
    }
}

/// One inline series.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InlineSeries {
    /// The client's id of the series (1–128 characters), used in results and errors.
    pub id: String,
    /// Its bars, oldest first.
    pub candles: Vec<Candle>,
}

/// A batch sent as JSON: the settings plus either inline `series` or stored series
/// named by `symbols` and `groups` (asset group slugs).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"model": "naive", "interval": "1d", "horizon": 5, "symbols": ["AAPL", "MSFT"]}))]
pub struct CreateBatch {
    /// The shared settings.
    #[serde(flatten)]
    pub settings: BatchSettingsFields,
    /// Inline series (at most the tier's inline limit; send a file for more).
    pub series: Option<Vec<InlineSeries>>,
    /// Stored series by asset symbol.
    pub symbols: Option<Vec<String>>,
    /// Stored series of every member of these asset groups.
    pub groups: Option<Vec<String>>,
}

/// A multipart upload: a `settings` part (JSON, the fields of `BatchSettingsFields`)
/// and a `file` part (CSV or Parquet in long format, gzip allowed).
#[derive(Debug, ToSchema)]
pub struct BatchUpload {
    /// The shared settings as JSON.
    #[schema(value_type = BatchSettingsFields)]
    pub settings: String,
    /// Long format: `series_id, ts, open, high, low, close[, volume, amount]`.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// Series counts of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesCounts {
    /// Series that passed validation.
    pub total: i64,
    /// Series refused by validation (in the errors table with their row and reason).
    pub invalid: i64,
    /// Series forecast.
    pub done: i64,
    /// Series that could not be forecast (the model refused them, their chunk failed
    /// for good, or the batch was cancelled first).
    pub failed: i64,
    /// Series not forecast yet.
    pub pending: i64,
}

/// Chunk counts of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChunkCounts {
    /// Chunk jobs.
    pub total: i64,
    /// Waiting for a worker.
    pub waiting: i64,
    /// Running.
    pub running: i64,
    /// Done.
    pub succeeded: i64,
    /// Failed for good.
    pub failed: i64,
    /// Cancelled.
    pub cancelled: i64,
}

/// One delivery attempt of a callback.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackAttemptView {
    /// 1-based.
    pub attempt: i32,
    /// When.
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<i32>,
    /// What went wrong.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: i32,
}

/// A completion callback and its delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackView {
    /// Its id (the `Kronos-Event-Id` header).
    pub id: Uuid,
    /// Where it goes.
    pub url: String,
    /// `pending`, `delivered` or `failed`.
    #[schema(value_type = kronos_types::batches::CallbackStatus)]
    pub status: &'static str,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Every attempt so far.
    pub attempts: Vec<CallbackAttemptView>,
}

/// Where a finished batch's files are.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultLinks {
    /// The forecasts as Parquet.
    pub parquet: String,
    /// The forecasts as CSV.
    pub csv: String,
    /// The errors table (Parquet; add `&format=csv` for CSV).
    pub errors: String,
}

/// A batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchView {
    /// Id.
    pub id: Uuid,
    /// Where it is.
    pub status: BatchStatus,
    /// Model.
    pub model: String,
    /// Interval.
    #[schema(value_type = kronos_types::Interval)]
    pub interval: String,
    /// Steps.
    pub horizon: i64,
    /// How the series arrived: `json`, `csv`, `parquet` or `symbols`.
    #[schema(value_type = kronos_types::batches::BatchFormat)]
    pub input_format: &'static str,
    /// Size of the input as received, in bytes.
    pub input_bytes: i64,
    /// Series counts (known once validated).
    pub series: SeriesCounts,
    /// Chunk counts.
    pub chunks: ChunkCounts,
    /// Share of the valid series that have ended (0–1).
    pub progress: f64,
    /// Seconds left at the rate so far (running batches).
    pub eta_seconds: Option<f64>,
    /// Why it failed as a whole.
    pub error: Option<String>,
    /// Cancellation was asked for.
    pub cancel_requested: bool,
    /// The completion callback, when one was asked for.
    pub callback: Option<CallbackView>,
    /// Its callback address (before the callback is made).
    pub callback_url: Option<String>,
    /// Files, once it has ended with results.
    pub results: Option<ResultLinks>,
    /// Submitted.
    pub created_at: DateTime<Utc>,
    /// Validated.
    pub started_at: Option<DateTime<Utc>>,
    /// Ended.
    pub finished_at: Option<DateTime<Utc>>,
}

/// A page of batches, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchList {
    /// The batches.
    pub batches: Vec<BatchView>,
    /// Pass as `before` for the next page (absent on the last).
    pub next_before: Option<Uuid>,
}

/// Paging of `GET /v1/batches`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BatchListQuery {
    /// Batches per page (1–100, default 20).
    pub limit: Option<String>,
    /// Only batches older than this one.
    pub before: Option<String>,
}

/// Which file of `GET /v1/batches/{id}/results`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResultsQuery {
    /// `forecasts` (default: one row per series and step — `series_id, step, ts,
    /// forecast, p10, p50, p90, prob_up`) or `errors` (`series_id, row, reason`).
    pub table: Option<String>,
    /// `parquet` (default) or `csv`.
    pub format: Option<String>,
    /// `true`: answer a presigned download URL instead of the file (S3 stores only).
    pub presign: Option<String>,
}

/// A presigned download address.
#[derive(Debug, Serialize, ToSchema)]
pub struct PresignedResults {
    /// GET this address (no credentials needed) before it expires.
    pub url: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}
