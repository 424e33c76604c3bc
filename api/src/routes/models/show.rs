//! `GET /v1/models/{model}`: one version with its metrics and the other versions of
//! its lineage.

use axum::{extract::State, Json};
use kronos_db::models;

use crate::{
    dto::models::{BaselineView, ModelDetail, ModelShown, ModelView, VersionSummary},
    error::ApiResult,
    extract::ApiPath,
    state::AppState,
};

/// Handler.
#[utoipa::path(
    get,
    path = "/v1/models/{model}", operation_id = "getModel",
    tag = "models",
    params(("model" = String, Path, description = "Numeric id, `lineage@N`, a lineage (its production version) or a version name")),
    responses(
        (status = 200, description = "One version with its metrics and the other versions of its lineage", body = ModelShown),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn show(State(state): State<AppState>, ApiPath(key): ApiPath<String>) -> ApiResult<Json<ModelShown>> {
    if let Some(baseline) = BaselineView::named(&key) {
        return Ok(Json(ModelShown::Baseline(baseline)));
    }
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let model = super::find(&mut conn, &key).await?;
    let versions = models::list_filtered(&mut conn, Some(&model.lineage), None).await?;
    let versions = versions
        .into_iter()
        .map(|v| VersionSummary { id: v.id, name: v.name, version: v.version, status: v.status, metrics: v.metrics })
        .collect();
    Ok(Json(ModelShown::Version(Box::new(ModelDetail { model: ModelView::from(&model), versions }))))
}
