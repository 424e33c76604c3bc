//! `GET /v1/assets?class=&category=&group=&active=`: the catalogue.

use axum::{extract::State, Json};
use kronos_db::{asset_groups, assets, assets::AssetFilter};
use kronos_types::{catalogue::valid_slug, catalogue::CLASSES};
use serde::Deserialize;

use crate::{
    dto::catalogue::AssetList,
    error::{ApiError, ApiResult},
    extract::ApiQuery,
    state::AppState,
};

/// Query parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    class: Option<String>,
    category: Option<String>,
    group: Option<String>,
    active: Option<String>,
}

/// Handler: assets by symbol, or a group's members in group order.
#[utoipa::path(
    get,
    path = "/v1/assets", operation_id = "listAssets",
    tag = "assets",
    params(ListParams),
    responses(
        (status = 200, description = "The catalogue (a group: its members in group order)", body = AssetList),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn list(State(state): State<AppState>, ApiQuery(params): ApiQuery<ListParams>) -> ApiResult<Json<AssetList>> {
    if let Some(class) = params.class.as_deref() {
        if !CLASSES.contains(&class) {
            return Err(ApiError::invalid("class", "class must be stock, crypto, fx or index"));
        }
    }
    if let Some(group) = params.group.as_deref() {
        if !valid_slug(group) {
            return Err(ApiError::invalid("group", "group is a group slug, e.g. defi"));
        }
    }
    let active = match params.active.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(ApiError::invalid("active", "active must be true or false")),
    };
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    if let Some(group) = params.group.as_deref() {
        if asset_groups::find(&mut conn, group).await?.is_none() {
            return Err(ApiError::not_found(format!("unknown asset group {group:?}")));
        }
    }
    let filter = AssetFilter { class: params.class, category: params.category, active, group: params.group };
    let all = assets::list_filtered(&mut conn, &filter).await?;
    Ok(Json(AssetList { assets: all }))
}
