//! `GET /v1/jobs?kind=&status=&limit=&cursor=`: newest first, keyset-paginated.

use axum::{extract::State, Json};
use kronos_db::{jobs, jobs::ListFilter};
use kronos_types::{jobs::JobKind, jobs::JobStatus};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    error::{ApiError, ApiResult},
    extract::ApiQuery,
    state::AppState,
    views::JobView,
};

/// Query parameters.
#[derive(Debug, Deserialize)]
pub struct ListParams {
    kind: Option<String>,
    status: Option<String>,
    batch_id: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// A page of jobs.
#[derive(Debug, Serialize)]
pub struct JobPage {
    /// Jobs, newest first.
    pub jobs: Vec<JobView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Handler.
pub async fn list(State(state): State<AppState>, ApiQuery(params): ApiQuery<ListParams>) -> ApiResult<Json<JobPage>> {
    let limit: i64 = match params.limit.as_deref() {
        None => 50,
        Some(raw) => raw
            .parse()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| ApiError::invalid("limit", "limit must be a whole number from 1 to 500"))?,
    };
    let mut filter = ListFilter::default();
    if let Some(kind) = params.kind {
        filter.kind = Some(kind.parse::<JobKind>()?.as_str().to_owned());
    }
    if let Some(status) = params.status {
        filter.status = Some(status.parse::<JobStatus>()?.as_str().to_owned());
    }
    if let Some(batch) = params.batch_id {
        filter.batch_id = Some(Uuid::parse_str(&batch).map_err(|_| ApiError::invalid("batch_id", "not a UUID"))?);
    }
    if let Some(cursor) = params.cursor {
        filter.before = Some(
            Uuid::parse_str(&cursor).map_err(|_| ApiError::invalid("cursor", "not a cursor from a previous page"))?,
        );
    }
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let rows = jobs::list(&mut conn, &filter, limit).await?;
    let next_cursor = (rows.len() as i64 == limit).then(|| rows.last().map(|j| j.id.simple().to_string())).flatten();
    Ok(Json(JobPage { jobs: rows.into_iter().map(JobView::from).collect(), next_cursor }))
}
