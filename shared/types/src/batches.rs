//! Bulk prediction batches: their statuses and input formats, the shared forecast
//! settings, the payloads of the batch's own jobs, what a chunk reports, a series'
//! error, the tiers' batch limits, and completion callbacks' vocabulary.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{accounts::Tier, error::Error, jobs::payload::KronosSettings, words::word_enum, Calendar, Interval};

word_enum!(
    /// Where a batch is.
    BatchStatus, "status" {
        /// The upload is being checked and cut into chunks.
        Validating => "validating",
        /// Chunks are being forecast.
        Running => "running",
        /// Every chunk has ended; the results file is being written.
        Assembling => "assembling",
        /// Results are ready (some series may have failed: see the errors table).
        Succeeded => "succeeded",
        /// Nothing could be forecast (an unreadable upload, a tier limit).
        Failed => "failed",
        /// Cancelled by its owner; results hold what had finished.
        Cancelled => "cancelled",
    }
);

impl BatchStatus {
    /// Whether the batch has ended.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

word_enum!(
    /// How a batch's series arrived.
    BatchFormat, "format" {
        /// Inline series in the JSON request.
        Json => "json",
        /// A CSV upload in long format.
        Csv => "csv",
        /// A Parquet upload in long format.
        Parquet => "parquet",
        /// Stored series named by symbol or group.
        Symbols => "symbols",
    }
);

/// The forecast settings every series of a batch shares (defaults resolved at
/// submission, so the batch is reproducible from them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchSettings {
    /// Model: a baseline's name or the registered version serving it.
    pub model: String,
    /// Candle interval of every series.
    pub interval: Interval,
    /// Steps to forecast.
    pub horizon: usize,
    /// Settings of a registered Kronos model; `None` for baselines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kronos: Option<KronosSettings>,
    /// Most bars of history kept per series (the latest ones).
    pub context: usize,
    /// The trading calendar of the future bars; `None` infers one per series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<Calendar>,
}

impl BatchSettings {
    /// Fewest bars a series needs: baselines need two h-step returns, Kronos one bar.
    pub fn min_history(&self) -> usize {
        if self.kronos.is_some() {
            1
        } else {
            self.horizon + 2
        }
    }
}

/// What a `batch` job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchPhase {
    /// Validate the input and write the chunks.
    Ingest,
    /// Every chunk has ended: write the results and errors files.
    Finish,
}

/// Payload of a `batch` job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchJobPayload {
    /// The batch.
    pub batch_id: Uuid,
    /// Which phase.
    pub phase: BatchPhase,
}

/// Payload of a `batch_chunk` job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkPayload {
    /// The batch.
    pub batch_id: Uuid,
    /// The chunk's number (0-based).
    pub chunk: u32,
    /// Series in the chunk.
    pub series: u32,
}

/// What a finished chunk reports (its job's result).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChunkResult {
    /// Series in the chunk.
    pub series: u32,
    /// Series forecast.
    pub succeeded: u32,
    /// Series the model refused (in the errors table).
    pub failed: u32,
}

/// Why a series of a batch has no forecast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesError {
    /// The series' id as the client gave it.
    pub series_id: String,
    /// The 1-based data row of the upload at fault, when one row is.
    pub row: Option<u64>,
    /// What is wrong.
    pub reason: String,
}

/// Most characters of a series id.
pub const MAX_SERIES_ID: usize = 128;

/// Checks a series id: 1–128 characters, no control characters.
pub fn check_series_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("series_id is empty".into());
    }
    if id.chars().count() > MAX_SERIES_ID {
        return Err(format!("series_id is longer than {MAX_SERIES_ID} characters"));
    }
    if id.chars().any(char::is_control) {
        return Err("series_id holds control characters".into());
    }
    Ok(())
}

/// What a tier may do with batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchLimits {
    /// Batches validating, running or assembling at once.
    pub running: i64,
    /// Series in one batch.
    pub series: usize,
    /// Inline series in a JSON request.
    pub inline_series: usize,
}

impl Tier {
    /// The tier's batch limits; `None`: batches are not part of the tier. Enterprise
    /// only by default; `KRONOS_BATCH_TIERS` may open them to other tiers, which then
    /// get these figures.
    pub fn batch_limits(self) -> BatchLimits {
        match self {
            Self::Free => BatchLimits { running: 1, series: 100, inline_series: 100 },
            Self::Basic => BatchLimits { running: 1, series: 1_000, inline_series: 500 },
            Self::Pro => BatchLimits { running: 2, series: 10_000, inline_series: 1_000 },
            Self::Enterprise => BatchLimits { running: 5, series: 1_000_000, inline_series: 2_000 },
        }
    }
}

word_enum!(
    /// Where a completion callback is.
    CallbackStatus, "status" {
        /// Not delivered yet; retried with backoff.
        Pending => "pending",
        /// The receiver answered 2xx.
        Delivered => "delivered",
        /// Every attempt for a day failed.
        Failed => "failed",
    }
);

word_enum!(
    /// What a callback tells.
    CallbackEvent, "event" {
        /// A batch ended (succeeded, failed or cancelled).
        BatchFinished => "batch.finished",
        /// A job ended (succeeded, failed for good or cancelled).
        JobFinished => "job.finished",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_ids_and_words_are_checked() {
        assert!(check_series_id("AAPL-1").is_ok());
        assert!(check_series_id("").is_err());
        assert!(check_series_id("a\u{7}b").is_err());
        assert!(check_series_id(&"x".repeat(129)).is_err());
        assert_eq!("running".parse::<BatchStatus>().ok(), Some(BatchStatus::Running));
        assert!(BatchStatus::Cancelled.is_terminal() && !BatchStatus::Assembling.is_terminal());
        assert_eq!(CallbackEvent::BatchFinished.as_str(), "batch.finished");
        assert!(Tier::Enterprise.batch_limits().series >= 100_000);
    }
}
