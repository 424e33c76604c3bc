//! `GET /v1/jobs?kind=&status=&limit=&cursor=&user=`: the caller's jobs (an admin may
//! ask for anyone's), newest first, keyset-paginated.

use axum::{extract::State, Json};
use kronos_db::{jobs, jobs::ListFilter};
use kronos_types::{jobs::JobKind, jobs::JobStatus};
use serde::Deserialize;
use uuid::Uuid;

use super::whose;
use crate::{
    auth::Caller,
    dto::jobs::{JobPage, JobView},
    error::{ApiError, ApiResult},
    extract::{page_size, ApiQuery},
    state::AppState,
};

/// Query parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only jobs of this kind.
    #[param(value_type = Option<JobKind>)]
    kind: Option<String>,
    /// Only jobs in this status.
    #[param(value_type = Option<JobStatus>)]
    status: Option<String>,
    /// Only the jobs of this batch.
    #[param(value_type = Option<Uuid>)]
    batch_id: Option<String>,
    /// Jobs per page (1–500, default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Whose jobs: the caller's (default); admins may name a user id or `all`.
    user: Option<String>,
}

/// Handler.
#[utoipa::path(
    get,
    path = "/v1/jobs", operation_id = "listJobs",
    tag = "jobs",
    params(ListParams),
    responses(
        (status = 200, description = "Newest first", body = crate::dto::jobs::JobPage),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<JobPage>> {
    let limit = page_size(params.limit.as_deref(), 50, 500)?;
    let mut filter = ListFilter { owner_id: whose(&caller, params.user.as_deref())?, ..ListFilter::default() };
    if let Some(kind) = params.kind {
        filter.kind = Some(kind.parse::<JobKind>()?);
    }
    if let Some(status) = params.status {
        filter.status = Some(status.parse::<JobStatus>()?);
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
