//! `POST /v1/models/{model}/promote`: make a version its lineage's production version
//! (the previous one is archived). Promoting an archived version rolls back.

use axum::{extract::State, Json};
use kronos_db::models;

use crate::{
    dto::models::{ModelView, Promoted},
    error::ApiResult,
    extract::ApiPath,
    state::AppState,
};

/// Handler.
#[utoipa::path(
    post,
    path = "/v1/models/{model}/promote", operation_id = "promoteModel",
    tag = "models",
    params(("model" = String, Path, description = "Numeric id, `lineage@N`, a lineage (its production version) or a version name")),
    responses(
        (status = 200, description = "Promoted; the previous production version archived", body = Promoted),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn promote(State(state): State<AppState>, ApiPath(key): ApiPath<String>) -> ApiResult<Json<Promoted>> {
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let model = super::find(&mut conn, &key).await?;
    let (promoted, archived) = models::promote(&mut conn, model.id).await?;
    // a person may promote any version; say so plainly when it does not beat naive
    let model = ModelView::from(&promoted);
    let warning = (model.beats_naive == Some(false)).then(|| {
        format!("{} does not beat the naive baseline on its validation windows; it was promoted by hand", promoted.name)
    });
    Ok(Json(Promoted { model, archived: archived.as_ref().map(ModelView::from), warning }))
}
