//! `GET /v1/predictions?limit=&cursor=&user=`: the caller's predictions (an admin may
//! ask for anyone's), newest first, with what verification found of each.

use axum::{extract::State, Json};
use kronos_db::predictions;
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    auth::Caller,
    dto::history::{PredictionPage, PredictionSummary},
    error::{ApiError, ApiResult},
    extract::{page_size, ApiQuery},
    routes::jobs::whose,
    state::AppState,
};

/// Query parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Predictions per page (1–100, default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Whose: the caller's (default); admins may name a user id or `all`.
    user: Option<String>,
}

/// Handler.
#[utoipa::path(
    get,
    path = "/v1/predictions", operation_id = "listPredictions",
    tag = "predictions",
    params(HistoryParams),
    responses(
        (status = 200, description = "Newest first", body = crate::dto::history::PredictionPage),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<HistoryParams>,
) -> ApiResult<Json<PredictionPage>> {
    let limit = page_size(params.limit.as_deref(), 20, 100)?;
    let before = params
        .cursor
        .as_deref()
        .map(|c| Uuid::parse_str(c).map_err(|_| ApiError::invalid("cursor", "not a cursor from a previous page")))
        .transpose()?;
    let owner = whose(&caller, params.user.as_deref())?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let rows = predictions::history(&mut conn, owner, before, limit).await?;
    let next_cursor =
        (rows.len() as i64 == limit).then(|| rows.last().map(|r| r.0.job_id.simple().to_string())).flatten();
    Ok(Json(PredictionPage { predictions: rows.into_iter().map(PredictionSummary::from).collect(), next_cursor }))
}
