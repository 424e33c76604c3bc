//! The JSON bodies of completion callbacks (documented in `docs/batches.md`): an
//! envelope with the event's type and time, and what ended.

use chrono::Utc;
use kronos_types::{batches::BatchStatus, jobs::JobKind, jobs::JobStatus};
use serde_json::{json, Value};
use uuid::Uuid;

/// Series counts of a finished batch.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    /// Series with a forecast in the results file.
    pub forecast: usize,
    /// Rows of the errors file.
    pub errors: usize,
}

/// `batch.finished`: the batch's id, status, counts or error, and where its files are.
pub fn batch(id: Uuid, status: BatchStatus, counts: Option<Counts>, error: Option<&str>) -> Value {
    json!({
        "type": "batch.finished",
        "created": Utc::now().timestamp(),
        "data": {
            "id": id,
            "status": status.as_str(),
            "series_forecast": counts.map(|c| c.forecast),
            "series_errors": counts.map(|c| c.errors),
            "error": error,
            "status_url": format!("/v1/batches/{id}"),
            "results_url": counts.map(|_| format!("/v1/batches/{id}/results")),
            "errors_url": counts.map(|_| format!("/v1/batches/{id}/results?table=errors")),
        }
    })
}

/// `job.finished`: the job's id, kind, status and error.
pub fn job(id: Uuid, kind: JobKind, status: JobStatus, error: Option<&str>) -> Value {
    json!({
        "type": "job.finished",
        "created": Utc::now().timestamp(),
        "data": {
            "id": id,
            "kind": kind.as_str(),
            "status": status.as_str(),
            "error": error,
            "status_url": format!("/v1/jobs/{id}"),
        }
    })
}
