//! `/v1/asset-groups`: named, ordered sets of assets (Top10, DeFi, Layer1, …).

use axum::{extract::State, Json};
use kronos_db::asset_groups;
use kronos_types::catalogue::GroupSpec;
use serde::Deserialize;

use crate::{
    dto::catalogue::{GroupDeleted, GroupDetail, GroupList},
    error::{ApiError, ApiResult},
    extract::ApiPath,
    extract::ValidJson,
    state::AppState,
};

/// `GET /v1/asset-groups`: every group with its member count.
#[utoipa::path(
    get,
    path = "/v1/asset-groups", operation_id = "listAssetGroups",
    tag = "assets",
    responses(
        (status = 200, description = "Every group", body = GroupList),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<GroupList>> {
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    Ok(Json(GroupList { groups: asset_groups::list(&mut conn).await? }))
}

/// `GET /v1/asset-groups/{slug}`: the group and its members in order.
#[utoipa::path(
    get,
    path = "/v1/asset-groups/{slug}", operation_id = "getAssetGroup",
    tag = "assets",
    params(("slug" = String, Path, description = "Group slug")),
    responses(
        (status = 200, description = "The group and its members", body = GroupDetail),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn show(State(state): State<AppState>, ApiPath(slug): ApiPath<String>) -> ApiResult<Json<GroupDetail>> {
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    group_json(&mut conn, &slug).await
}

async fn group_json(conn: &mut diesel_async::AsyncPgConnection, slug: &str) -> ApiResult<Json<GroupDetail>> {
    let (group, members) = asset_groups::find(conn, slug)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("unknown asset group {slug:?}")))?;
    Ok(Json(GroupDetail { group, members }))
}

/// Body of `PUT /v1/asset-groups/{slug}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupBody {
    name: String,
    #[serde(default)]
    description: String,
    members: Vec<String>,
}

/// `PUT /v1/asset-groups/{slug}`: creates or replaces the group (members in the given order).
#[utoipa::path(
    put,
    path = "/v1/asset-groups/{slug}", operation_id = "putAssetGroup",
    tag = "assets",
    request_body = GroupBody,
    params(("slug" = String, Path, description = "Group slug")),
    responses(
        (status = 200, description = "Created or replaced", body = GroupDetail),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn put(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
    body: ValidJson<GroupBody>,
) -> ApiResult<Json<GroupDetail>> {
    let GroupBody { name, description, members } = body.value;
    let mut spec = GroupSpec { slug, name, description, members };
    spec.validate()?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    asset_groups::upsert(&mut conn, &spec).await?;
    group_json(&mut conn, &spec.slug).await
}

/// Most symbols appended at once.
const MAX_APPEND: usize = 1000;

/// Body of `POST /v1/asset-groups/{slug}/members`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppendBody {
    symbols: Vec<String>,
}

/// `POST /v1/asset-groups/{slug}/members`: appends symbols not yet in the group.
#[utoipa::path(
    post,
    path = "/v1/asset-groups/{slug}/members", operation_id = "appendAssetGroupMembers",
    tag = "assets",
    request_body = AppendBody,
    params(("slug" = String, Path, description = "Group slug")),
    responses(
        (status = 200, description = "Members appended", body = GroupDetail),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn append(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
    body: ValidJson<AppendBody>,
) -> ApiResult<Json<GroupDetail>> {
    let symbols = &body.value.symbols;
    if symbols.is_empty() || symbols.len() > MAX_APPEND {
        return Err(ApiError::invalid("symbols", format!("symbols must list 1 to {MAX_APPEND} symbols")));
    }
    for (i, symbol) in symbols.iter().enumerate() {
        let same = |other: &String| other.trim().eq_ignore_ascii_case(symbol.trim());
        if symbols[..i].iter().any(same) {
            return Err(ApiError::invalid(&format!("symbols[{i}]"), format!("{symbol:?} is listed twice")));
        }
    }
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    asset_groups::append(&mut conn, &slug, &body.value.symbols).await?;
    group_json(&mut conn, &slug).await
}

/// `DELETE /v1/asset-groups/{slug}`: removes a group (the assets stay).
#[utoipa::path(
    delete,
    path = "/v1/asset-groups/{slug}", operation_id = "deleteAssetGroup",
    tag = "assets",
    params(("slug" = String, Path, description = "Group slug")),
    responses(
        (status = 200, description = "Deleted", body = GroupDeleted),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn delete(State(state): State<AppState>, ApiPath(slug): ApiPath<String>) -> ApiResult<Json<GroupDeleted>> {
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    if !asset_groups::delete(&mut conn, &slug).await? {
        return Err(ApiError::not_found(format!("unknown asset group {slug:?}")));
    }
    Ok(Json(GroupDeleted { deleted: slug }))
}
