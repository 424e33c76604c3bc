//! `GET /v1/models?lineage=&status=`: the baselines and every registered version,
//! newest first.

use axum::{extract::State, Json};
use kronos_db::models;
use kronos_types::{jobs::payload::BASELINE_MODELS, registry::ModelStatus};
use serde::Deserialize;

use crate::{
    dto::models::{BaselineView, ModelEntry, ModelList, ModelView},
    error::{ApiError, ApiResult},
    extract::ApiQuery,
    state::AppState,
};

/// Filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only this lineage.
    pub lineage: Option<String>,
    /// Only this status.
    #[param(value_type = Option<ModelStatus>)]
    pub status: Option<String>,
}

/// Handler.
#[utoipa::path(
    get,
    path = "/v1/models", operation_id = "listModels",
    tag = "models",
    params(ListParams),
    responses(
        (status = 200, description = "The baselines and every registered version, newest first", body = ModelList),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn list(State(state): State<AppState>, ApiQuery(params): ApiQuery<ListParams>) -> ApiResult<Json<ModelList>> {
    let status = match params.status.as_deref() {
        None => None,
        Some(raw) => Some(
            raw.parse::<ModelStatus>()
                .map_err(|_| ApiError::invalid("status", "status must be candidate, production or archived"))?,
        ),
    };
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let registered = models::list_filtered(&mut conn, params.lineage.as_deref(), status).await?;
    if let Some(lineage) = params.lineage.as_deref() {
        // a lineage that names nothing is a 404, not an empty list
        if registered.is_empty() && models::list_filtered(&mut conn, Some(lineage), None).await?.is_empty() {
            return Err(ApiError::not_found(format!("unknown lineage {lineage:?}")));
        }
    }
    let mut models: Vec<ModelEntry> = if params.lineage.is_none() && status.is_none() {
        BASELINE_MODELS.iter().filter_map(|name| BaselineView::named(name)).map(ModelEntry::Baseline).collect()
    } else {
        Vec::new()
    };
    models.extend(registered.iter().map(|m| ModelEntry::Version(Box::new(ModelView::from(m)))));
    Ok(Json(ModelList { models }))
}
