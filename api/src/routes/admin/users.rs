//! `/v1/admin/users`: list and read accounts, change a role or tier, disable or enable
//! an account (its sessions end). Every change is audited.

use axum::{extract::State, Json};
use diesel_async::AsyncConnection;
use kronos_db::{
    sessions,
    users::{self, AccessChange},
};
use kronos_types::accounts::AuditAction;
use serde::Deserialize;
use serde_json::json;

use crate::{
    accounts::audit,
    auth::{Caller, Client},
    dto::{
        admin::{UpdateUser, UserPage},
        me::MeView,
    },
    error::{ApiError, ApiResult},
    extract::{page_size, ApiPath, ApiQuery, ValidJson},
    state::AppState,
};

/// Query parameters of the list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserParams {
    /// Accounts whose address contains this (any case).
    pub email: Option<String>,
    /// Accounts after this id (the previous page's `next_after`).
    #[param(value_type = Option<i64>)]
    pub after: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
}

fn user_id(raw: &str) -> ApiResult<i64> {
    raw.parse().map_err(|_| ApiError::invalid("id", format!("{raw:?} is not a user id")))
}

/// `GET /v1/admin/users`.
#[utoipa::path(
    get,
    path = "/v1/admin/users", operation_id = "listUsers",
    tag = "admin",
    params(UserParams),
    responses(
        (status = 200, description = "Accounts by id", body = crate::dto::admin::UserPage),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn list(State(state): State<AppState>, ApiQuery(params): ApiQuery<UserParams>) -> ApiResult<Json<UserPage>> {
    let after = params
        .after
        .as_deref()
        .map(|a| a.parse::<i64>().map_err(|_| ApiError::invalid("after", "after must be a user id")))
        .transpose()?;
    let limit = page_size(params.limit.as_deref(), 50, 200)?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let rows = users::list(&mut conn, params.email.as_deref(), after, limit).await?;
    let next_after = (rows.len() as i64 == limit).then(|| rows.last().map(|u| u.id)).flatten();
    Ok(Json(UserPage { users: rows.iter().map(MeView::from).collect(), next_after }))
}

/// `GET /v1/admin/users/{id}`.
#[utoipa::path(
    get,
    path = "/v1/admin/users/{id}", operation_id = "getUser",
    tag = "admin",
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The account", body = crate::dto::me::MeView),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn show(State(state): State<AppState>, ApiPath(raw): ApiPath<String>) -> ApiResult<Json<MeView>> {
    let id = user_id(&raw)?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let user = users::find(&mut conn, id).await?.ok_or_else(|| ApiError::not_found(format!("user {id} not found")))?;
    Ok(Json(MeView::from(&user)))
}

/// `PATCH /v1/admin/users/{id}`.
#[utoipa::path(
    patch,
    path = "/v1/admin/users/{id}", operation_id = "updateUser",
    tag = "admin",
    params(("id" = i64, Path, description = "User id")),
    request_body = crate::dto::admin::UpdateUser,
    responses(
        (status = 200, description = "The account as changed", body = crate::dto::me::MeView),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    client: Client,
    ApiPath(raw): ApiPath<String>,
    ValidJson { value: request, .. }: ValidJson<UpdateUser>,
) -> ApiResult<Json<MeView>> {
    let id = user_id(&raw)?;
    if id == caller.user_id && (request.role.is_some_and(|r| r != caller.role) || request.disabled == Some(true)) {
        return Err(ApiError::invalid("role", "admins cannot demote or disable themselves; ask another admin"));
    }
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let before =
        users::find(&mut conn, id).await?.ok_or_else(|| ApiError::not_found(format!("user {id} not found")))?;
    let change = AccessChange { role: request.role, tier: request.tier, disabled: request.disabled };
    let actor = caller.user_id;
    let client = &client;
    let after = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            let after = users::set_access(conn, id, change).await?;
            if after.role != before.role {
                audit(
                    conn,
                    client,
                    Some(actor),
                    Some(id),
                    AuditAction::RoleChanged,
                    json!({ "from": before.role, "to": after.role }),
                )
                .await?;
            }
            if after.tier != before.tier {
                audit(
                    conn,
                    client,
                    Some(actor),
                    Some(id),
                    AuditAction::TierChanged,
                    json!({ "from": before.tier, "to": after.tier }),
                )
                .await?;
            }
            if after.disabled != before.disabled {
                if after.disabled {
                    sessions::revoke_all(conn, id).await?;
                }
                audit(
                    conn,
                    client,
                    Some(actor),
                    Some(id),
                    AuditAction::UserDisabled,
                    json!({ "disabled": after.disabled }),
                )
                .await?;
            }
            Ok(after)
        })
        .await?;
    state.auth.forget_user(id);
    Ok(Json(MeView::from(&after)))
}
