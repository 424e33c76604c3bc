//! `DELETE /v1/models/{model}`: removes a version registered by mistake, its pool and
//! its weights in the object store (forecasts made with it keep its name); `409` while
//! versions were trained from it or unfinished jobs would run it. Its name is free
//! again afterwards.

use axum::{extract::State, Json};
use kronos_db::models;
use kronos_storage::StoragePrefix;

use crate::{dto::models::ModelDeleted, error::ApiResult, extract::ApiPath, state::AppState};

/// Handler.
#[utoipa::path(
    delete,
    path = "/v1/models/{model}", operation_id = "deleteModel",
    tag = "models",
    params(("model" = String, Path, description = "Numeric id, `lineage@N`, a lineage (its production version) or a version name")),
    responses(
        (status = 200, description = "Deleted, with its stored objects", body = ModelDeleted),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn delete(State(state): State<AppState>, ApiPath(key): ApiPath<String>) -> ApiResult<Json<ModelDeleted>> {
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let model = super::find(&mut conn, &key).await?;
    let deleted = models::delete(&mut conn, model.id).await?;
    drop(conn);
    let Some(deleted) = deleted else {
        return Err(crate::error::ApiError::not_found(format!("no registered model {key:?}")));
    };
    state.weights_present.forget(deleted.id);
    // the row is gone; the weights go next (a failure leaves unreferenced objects, logged)
    let removed = match state
        .storage
        .delete_prefix(&StoragePrefix::Model { prefix: deleted.storage_prefix.clone() })
        .await
    {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, prefix = deleted.storage_prefix, "could not delete a deleted model's weights");
            0
        }
    };
    Ok(Json(ModelDeleted { deleted: deleted.name, id: deleted.id, objects_deleted: removed }))
}
