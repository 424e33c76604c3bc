//! `/v1/jobs`.

pub mod cancel;
pub mod events;
pub mod feed;
pub mod list;
pub mod show;

use diesel_async::AsyncPgConnection;
use kronos_db::jobs::{self, Job};
use kronos_types::jobs::{JobKind, JobStatus};
use uuid::Uuid;

use crate::{
    auth::Principal,
    error::{ApiError, ApiResult},
};

/// Parses a job id from the path.
pub(crate) fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::invalid("id", format!("{raw:?} is not a job id (UUID)")))
}

/// Job `id` when `caller` may see it: their own, or any for an admin acting as one.
/// Another user's job is `None`, exactly like a job that does not exist.
pub(crate) async fn visible(conn: &mut AsyncPgConnection, id: Uuid, caller: &Principal) -> ApiResult<Option<Job>> {
    Ok(jobs::find(conn, id).await?.filter(|job| owned_by(job.owner_id, caller)))
}

/// Whether work owned by `owner` is visible to `caller`.
pub(crate) fn owned_by(owner: Option<i64>, caller: &Principal) -> bool {
    caller.owner_scope().is_none_or(|me| owner == Some(me))
}

/// Whose work a listing shows: the caller's own unless an admin asks for `user` (an id,
/// or `all`); a user naming anyone else gets a `404`, as for anything not theirs.
pub(crate) fn whose(caller: &Principal, user: Option<&str>) -> ApiResult<Option<i64>> {
    match user {
        None => Ok(Some(caller.user_id)),
        Some("all") if caller.acts_as_admin() => Ok(None),
        Some(raw) => {
            let id: i64 = raw.parse().map_err(|_| ApiError::invalid("user", "user must be a user id or all"))?;
            if id == caller.user_id || caller.acts_as_admin() {
                Ok(Some(id))
            } else {
                Err(ApiError::not_found(format!("user {id} not found")))
            }
        }
    }
}

/// Why job `id` of `kind` (any kind when `None`) has no result to show: `404` when
/// there is no such job of that kind that `caller` may see; `409` with code `failed` or
/// `cancelled` (and the job's error) when it ended without one; `409 not_ready` while
/// it is queued or running.
pub(crate) async fn not_ready(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    kind: Option<JobKind>,
    caller: &Principal,
) -> ApiError {
    let job = match visible(conn, id, caller).await {
        Ok(job) => job,
        Err(e) => return e,
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
