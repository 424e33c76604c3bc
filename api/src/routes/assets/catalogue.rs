//! Catalogue entries: `GET /v1/assets/{symbol}`, `POST /v1/assets` (create or update
//! from an asset spec), `PATCH /v1/assets/{symbol}` (activate or deactivate) and
//! `DELETE /v1/assets/{symbol}[?with_candles=true]` (one created by mistake).

use axum::{extract::State, http::StatusCode, Json};
use kronos_db::{assets, assets::Asset};
use kronos_types::catalogue::AssetSpec;
use serde::Deserialize;

use crate::{
    dto::catalogue::AssetDeleted,
    error::{ApiError, ApiResult},
    extract::{ApiPath, ApiQuery, ValidJson},
    state::AppState,
};

/// `GET /v1/assets/{symbol}`.
#[utoipa::path(
    get,
    path = "/v1/assets/{symbol}", operation_id = "getAsset",
    tag = "assets",
    params(("symbol" = String, Path, description = "Asset symbol")),
    responses(
        (status = 200, description = "The catalogue entry", body = Asset),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn show(State(state): State<AppState>, ApiPath(symbol): ApiPath<String>) -> ApiResult<Json<Asset>> {
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let asset = assets::find_by_symbol(&mut conn, &symbol)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("unknown symbol {symbol:?}")))?;
    Ok(Json(asset))
}

/// `POST /v1/assets`: creates the asset or updates its catalogue fields (201 either way,
/// with the stored entry).
#[utoipa::path(
    post,
    path = "/v1/assets", operation_id = "upsertAsset",
    tag = "assets",
    request_body = kronos_types::catalogue::AssetSpec,
    responses(
        (status = 201, description = "Created or updated", body = Asset),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn create(State(state): State<AppState>, body: ValidJson<AssetSpec>) -> ApiResult<(StatusCode, Json<Asset>)> {
    let mut spec = body.value;
    spec.validate()?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let asset = assets::upsert(&mut conn, &spec).await?;
    Ok((StatusCode::CREATED, Json(asset)))
}

/// Body of `PATCH /v1/assets/{symbol}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetPatch {
    /// Inactive assets keep their history but get no refreshes and join no pools.
    active: bool,
}

/// `PATCH /v1/assets/{symbol}`.
#[utoipa::path(
    patch,
    path = "/v1/assets/{symbol}", operation_id = "updateAsset",
    tag = "assets",
    request_body = AssetPatch,
    params(("symbol" = String, Path, description = "Asset symbol")),
    responses(
        (status = 200, description = "Updated", body = Asset),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    ApiPath(symbol): ApiPath<String>,
    body: ValidJson<AssetPatch>,
) -> ApiResult<Json<Asset>> {
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let asset = assets::set_active(&mut conn, &symbol, body.value.active)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("unknown symbol {symbol:?}")))?;
    Ok(Json(asset))
}

/// Query of `DELETE /v1/assets/{symbol}`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeleteParams {
    /// `true`: its stored candles (and quarantined rows) go too.
    with_candles: Option<String>,
}

/// `DELETE /v1/assets/{symbol}`: removes an asset created by mistake (with its group
/// memberships and pool entries); `409` while it has candles (unless
/// `with_candles=true`) or while forecasts refer to it (deactivate it instead).
#[utoipa::path(
    delete,
    path = "/v1/assets/{symbol}", operation_id = "deleteAsset",
    tag = "assets",
    params(("symbol" = String, Path, description = "Asset symbol"), DeleteParams),
    responses(
        (status = 200, description = "Deleted", body = AssetDeleted),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    ApiPath(symbol): ApiPath<String>,
    ApiQuery(params): ApiQuery<DeleteParams>,
) -> ApiResult<Json<AssetDeleted>> {
    let with_candles = match params.with_candles.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::invalid("with_candles", "with_candles must be true or false")),
    };
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let deleted = assets::delete(&mut conn, &symbol, with_candles)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("unknown symbol {symbol:?}")))?;
    Ok(Json(AssetDeleted {
        deleted: symbol.to_ascii_uppercase(),
        candles: deleted.candles,
        quarantined: deleted.quarantined,
    }))
}
