//! `/v1/backtests`: enqueue a backtest (`POST`), read its summary (`GET /{id}`) and its
//! tables (`GET /{id}/equity|trades|sweep`, Parquet or JSON).

pub mod create;
pub mod show;
pub mod table;

use kronos_shared::db::jobs;
use uuid::Uuid;

use crate::{
    error::{ApiError, ApiResult},
    state::AppState,
};

/// The summary of succeeded backtest job `id` (its result); 404 for other jobs, 409
/// while it has not succeeded.
pub(crate) async fn summary_of(state: &AppState, id: Uuid) -> ApiResult<serde_json::Value> {
    let mut conn = state.pool.get().await.map_err(kronos_shared::Error::from)?;
    let job = jobs::find(&mut conn, id).await?.filter(|j| j.kind == "backtest");
    let Some(job) = job else {
        return Err(ApiError::not_found(format!("backtest {id} not found")));
    };
    match (job.status.as_str(), job.result) {
        ("succeeded", Some(result)) => Ok(result),
        (status, _) => {
            let reason = job.error.map(|e| format!(": {e}")).unwrap_or_default();
            Err(ApiError::conflict("not_ready", format!("backtest job {id} is {status}{reason}; poll /v1/jobs/{id}")))
        }
    }
}
