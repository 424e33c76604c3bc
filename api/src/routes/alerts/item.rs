//! `GET`, `PATCH` and `DELETE /v1/alerts/{id}`: one of the caller's rules.

use axum::{extract::State, http::StatusCode, Json};
use kronos_db::alerts::{self, AlertChange};

use super::{alert_id, check_cooldown, check_note};
use crate::{
    auth::Caller,
    dto::alerts::{AlertView, UpdateAlert},
    error::{ApiError, ApiResult},
    extract::{ApiPath, ValidJson},
    state::AppState,
};

fn missing(id: i64) -> ApiError {
    ApiError::not_found(format!("alert {id} not found"))
}

/// `GET /v1/alerts/{id}`.
#[utoipa::path(
    get,
    path = "/v1/alerts/{id}", operation_id = "getAlert",
    tag = "alerts",
    params(("id" = i64, Path, description = "Alert id")),
    responses(
        (status = 200, description = "The rule", body = crate::dto::alerts::AlertView),
        (status = "4XX", description = "404: no such rule of yours", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(raw): ApiPath<String>,
) -> ApiResult<Json<AlertView>> {
    let id = alert_id(&raw)?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let (alert, symbol) = alerts::find_owned(&mut conn, caller.user_id, id).await?.ok_or_else(|| missing(id))?;
    Ok(Json(AlertView::of(&alert, &symbol)))
}

/// `PATCH /v1/alerts/{id}`.
#[utoipa::path(
    patch,
    path = "/v1/alerts/{id}", operation_id = "updateAlert",
    tag = "alerts",
    params(("id" = i64, Path, description = "Alert id")),
    request_body = crate::dto::alerts::UpdateAlert,
    responses(
        (status = 200, description = "The rule as changed (it starts afresh)", body = crate::dto::alerts::AlertView),
        (status = "4XX", description = "422: a field is wrong (named); 404: no such rule of yours", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(raw): ApiPath<String>,
    ValidJson { value: request, .. }: ValidJson<UpdateAlert>,
) -> ApiResult<Json<AlertView>> {
    let id = alert_id(&raw)?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let (current, symbol) = alerts::find_owned(&mut conn, caller.user_id, id).await?.ok_or_else(|| missing(id))?;
    if let Some(threshold) = request.threshold {
        current.kind.check_threshold(threshold)?;
    }
    let change = AlertChange {
        threshold: request.threshold,
        cooldown_secs: request.cooldown_secs.map(check_cooldown).transpose()?,
        enabled: request.enabled,
        note: request.note.map(|n| check_note(n.as_deref())).transpose()?,
    };
    let alert = alerts::update_owned(&mut conn, caller.user_id, id, &change).await?.ok_or_else(|| missing(id))?;
    Ok(Json(AlertView::of(&alert, &symbol)))
}

/// `DELETE /v1/alerts/{id}`.
#[utoipa::path(
    delete,
    path = "/v1/alerts/{id}", operation_id = "deleteAlert",
    tag = "alerts",
    params(("id" = i64, Path, description = "Alert id")),
    responses(
        (status = 204, description = "Deleted, with its firings"),
        (status = "4XX", description = "404: no such rule of yours", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(raw): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = alert_id(&raw)?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    if alerts::delete_owned(&mut conn, caller.user_id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(missing(id))
    }
}
