//! `/v1/asset-groups`: named, ordered sets of assets (Top10, DeFi, Layer1, …).

use axum::{
    extract::{Path, State},
    Json,
};
use kronos_shared::{catalogue::GroupSpec, db::asset_groups};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{
    error::{ApiError, ApiResult},
    extract::ValidJson,
    state::AppState,
};

/// `GET /v1/asset-groups`: every group with its member count.
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let mut conn = state.pool.get().await.map_err(kronos_shared::Error::from)?;
    Ok(Json(json!({ "groups": asset_groups::list(&mut conn).await? })))
}

/// `GET /v1/asset-groups/{slug}`: the group and its members in order.
pub async fn show(State(state): State<AppState>, Path(slug): Path<String>) -> ApiResult<Json<Value>> {
    let mut conn = state.pool.get().await.map_err(kronos_shared::Error::from)?;
    group_json(&mut conn, &slug).await
}

async fn group_json(conn: &mut diesel_async::AsyncPgConnection, slug: &str) -> ApiResult<Json<Value>> {
    let (group, members) = asset_groups::find(conn, slug)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("unknown asset group {slug:?}")))?;
    Ok(Json(json!({ "group": group, "members": members })))
}

/// Body of `PUT /v1/asset-groups/{slug}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupBody {
    name: String,
    #[serde(default)]
    description: String,
    members: Vec<String>,
}

/// `PUT /v1/asset-groups/{slug}`: creates or replaces the group (members in the given order).
pub async fn put(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    body: ValidJson<GroupBody>,
) -> ApiResult<Json<Value>> {
    let GroupBody { name, description, members } = body.value;
    let mut spec = GroupSpec { slug, name, description, members };
    spec.validate()?;
    let mut conn = state.pool.get().await.map_err(kronos_shared::Error::from)?;
    asset_groups::upsert(&mut conn, &spec).await?;
    group_json(&mut conn, &spec.slug).await
}

/// Body of `POST /v1/asset-groups/{slug}/members`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppendBody {
    symbols: Vec<String>,
}

/// `POST /v1/asset-groups/{slug}/members`: appends symbols not yet in the group.
pub async fn append(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    body: ValidJson<AppendBody>,
) -> ApiResult<Json<Value>> {
    if body.value.symbols.is_empty() {
        return Err(ApiError::invalid("symbols", "symbols must list at least one symbol"));
    }
    let mut conn = state.pool.get().await.map_err(kronos_shared::Error::from)?;
    asset_groups::append(&mut conn, &slug, &body.value.symbols).await?;
    group_json(&mut conn, &slug).await
}
