//! `/v1/models/{model}/assets`: a registered model's asset pool (`{model}` is its name
//! or numeric id).

use axum::{extract::State, http::StatusCode, Json};
use diesel_async::AsyncPgConnection;
use kronos_db::{model_pools, models, models::RegisteredModel};
use serde::Deserialize;

use crate::{
    dto::catalogue::ModelPool,
    error::{ApiError, ApiResult},
    extract::ApiPath,
    extract::ValidJson,
    state::AppState,
};

async fn model(conn: &mut AsyncPgConnection, key: &str) -> ApiResult<RegisteredModel> {
    let found = match key.parse::<i64>() {
        Ok(id) => models::find(conn, id).await?,
        Err(_) => models::find_by_name(conn, key).await?,
    };
    found.ok_or_else(|| ApiError::not_found(format!("no registered model {key:?}")))
}

async fn pool_json(conn: &mut AsyncPgConnection, model: &RegisteredModel) -> ApiResult<Json<ModelPool>> {
    let assets = model_pools::list(conn, model.id).await?;
    Ok(Json(ModelPool { model: model.name.clone(), model_id: model.id, assets, added: None }))
}

/// `GET /v1/models/{model}/assets`.
#[utoipa::path(
    get,
    path = "/v1/models/{model}/assets", operation_id = "listModelAssets",
    tag = "models",
    params(("model" = String, Path, description = "Numeric id, `lineage@N`, a lineage (its production version) or a version name")),
    responses(
        (status = 200, description = "The model's asset pool", body = ModelPool),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn list(State(state): State<AppState>, ApiPath(key): ApiPath<String>) -> ApiResult<Json<ModelPool>> {
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let model = model(&mut conn, &key).await?;
    pool_json(&mut conn, &model).await
}

/// Body of `POST /v1/models/{model}/assets`: exactly one of `symbols` and `group`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddBody {
    #[serde(default)]
    symbols: Option<Vec<String>>,
    #[serde(default)]
    group: Option<String>,
    #[serde(default = "one")]
    weight: f64,
}

fn one() -> f64 {
    1.0
}

/// `POST /v1/models/{model}/assets`: adds symbols, or every active member of a group,
/// to the pool (members already there keep their settings).
#[utoipa::path(
    post,
    path = "/v1/models/{model}/assets", operation_id = "addModelAssets",
    tag = "models",
    request_body = AddBody,
    params(("model" = String, Path, description = "Numeric id, `lineage@N`, a lineage (its production version) or a version name")),
    responses(
        (status = 201, description = "Added", body = ModelPool),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn add(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    body: ValidJson<AddBody>,
) -> ApiResult<(StatusCode, Json<ModelPool>)> {
    let AddBody { symbols, group, weight } = body.value;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let model = model(&mut conn, &key).await?;
    let added = match (symbols, group) {
        (Some(symbols), None) if !symbols.is_empty() => {
            model_pools::add_symbols(&mut conn, model.id, &symbols, weight).await?
        }
        (Some(_), None) => return Err(ApiError::invalid("symbols", "symbols must list at least one symbol")),
        (None, Some(group)) => model_pools::add_group(&mut conn, model.id, &group, weight).await?,
        _ => return Err(ApiError::invalid("body", "give exactly one of symbols and group")),
    };
    let Json(mut out) = pool_json(&mut conn, &model).await?;
    out.added = Some(added);
    Ok((StatusCode::CREATED, Json(out)))
}

/// Body of `PATCH /v1/models/{model}/assets/{symbol}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    weight: Option<f64>,
}

/// `PATCH /v1/models/{model}/assets/{symbol}`: enables/disables or re-weights one asset.
#[utoipa::path(
    patch,
    path = "/v1/models/{model}/assets/{symbol}", operation_id = "updateModelAsset",
    tag = "models",
    request_body = UpdateBody,
    params(("model" = String, Path, description = "Numeric id, `lineage@N`, a lineage (its production version) or a version name"), ("symbol" = String, Path, description = "Asset symbol")),
    responses(
        (status = 200, description = "Updated", body = ModelPool),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    ApiPath((key, symbol)): ApiPath<(String, String)>,
    body: ValidJson<UpdateBody>,
) -> ApiResult<Json<ModelPool>> {
    let UpdateBody { enabled, weight } = body.value;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let model = model(&mut conn, &key).await?;
    if !model_pools::update(&mut conn, model.id, &symbol, enabled, weight).await? {
        return Err(ApiError::not_found(format!("{symbol:?} is not in {}'s pool", model.name)));
    }
    pool_json(&mut conn, &model).await
}

/// `DELETE /v1/models/{model}/assets/{symbol}`.
#[utoipa::path(
    delete,
    path = "/v1/models/{model}/assets/{symbol}", operation_id = "removeModelAsset",
    tag = "models",
    params(("model" = String, Path, description = "Numeric id, `lineage@N`, a lineage (its production version) or a version name"), ("symbol" = String, Path, description = "Asset symbol")),
    responses(
        (status = 200, description = "Removed", body = ModelPool),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn remove(
    State(state): State<AppState>,
    ApiPath((key, symbol)): ApiPath<(String, String)>,
) -> ApiResult<Json<ModelPool>> {
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let model = model(&mut conn, &key).await?;
    if !model_pools::remove(&mut conn, model.id, &symbol).await? {
        return Err(ApiError::not_found(format!("{symbol:?} is not in {}'s pool", model.name)));
    }
    pool_json(&mut conn, &model).await
}
