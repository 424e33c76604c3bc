//! `/v1/backtests`: enqueue a backtest (`POST`), read its summary (`GET /{id}`) and its
//! tables (`GET /{id}/equity|trades|sweep`, Parquet or JSON).

pub mod create;
pub mod show;
pub mod table;

use kronos_types::jobs::{JobKind, JobStatus};
use uuid::Uuid;

use crate::{auth::Principal, error::ApiResult, routes::jobs::visible, state::AppState};

/// The summary of succeeded backtest job `id` (its result) when `caller` may see it;
/// 404 for other jobs, 409 while it has not succeeded.
pub(crate) async fn summary_of(state: &AppState, caller: &Principal, id: Uuid) -> ApiResult<serde_json::Value> {
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let job = visible(&mut conn, id, caller).await?.filter(|j| j.kind == JobKind::Backtest);
    match job {
        Some(job) if job.status == JobStatus::Succeeded && job.result.is_some() => Ok(job.result.unwrap_or_default()),
        _ => Err(crate::routes::jobs::not_ready(&mut conn, id, Some(JobKind::Backtest), caller).await),
    }
}
