//! `/v1/jobs`.

pub mod cancel;
pub mod list;
pub mod show;

use kronos_types::jobs::{JobKind, JobStatus};
use uuid::Uuid;

use crate::error::ApiError;

/// Parses a job id from the path.
pub(crate) fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::invalid("id", format!("{raw:?} is not a job id (UUID)")))
}

/// Why job `id` of `kind` (any kind when `None`) has no result to show: `404` when
/// there is no such job of that kind; `409` with code `failed` or `cancelled` (and the
/// job's error) when it ended without one; `409 not_ready` while it is queued or running.
pub(crate) async fn not_ready(conn: &mut diesel_async::AsyncPgConnection, id: Uuid, kind: Option<JobKind>) -> ApiError {
    let job = match kronos_db::jobs::find(conn, id).await {
        Ok(job) => job,
        Err(e) => return e.into(),
    };
    let what = kind.map_or("job", JobKind::as_str);
    match job.filter(|j| kind.is_none_or(|k| j.kind == k)) {
        None => ApiError::not_found(format!("{what} {id} not found")),
        Some(job) => {
            let kind = job.kind;
            match job.status {
                JobStatus::Failed => ApiError::conflict(
                    "failed",
                    format!("{kind} job {id} failed: {}", job.error.as_deref().unwrap_or("no reason recorded")),
                ),
                JobStatus::Cancelled => ApiError::conflict("cancelled", format!("{kind} job {id} was cancelled")),
                status => ApiError::conflict("not_ready", format!("{kind} job {id} is {status}; poll /v1/jobs/{id}")),
            }
        }
    }
}
