//! `GET /v1/admin/audit?user=&action=&from=&to=&cursor=&limit=`: the audit log, newest
//! first.

use axum::{extract::State, Json};
use kronos_db::audit::{self, AuditFilter};
use kronos_types::accounts::AuditAction;
use serde::Deserialize;

use crate::{
    dto::admin::{AuditPage, AuditView},
    error::{ApiError, ApiResult},
    extract::{page_size, ApiQuery},
    routes::assets::parse_time,
    state::AppState,
};

/// Query parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Entries by or about this user id.
    #[param(value_type = Option<i64>)]
    pub user: Option<String>,
    /// This action.
    #[param(value_type = Option<AuditAction>)]
    pub action: Option<String>,
    /// At or after (RFC 3339, YYYY-MM-DD or Unix seconds).
    pub from: Option<String>,
    /// Before.
    pub to: Option<String>,
    /// Entries older than this id (the previous page's `next_cursor`).
    #[param(value_type = Option<i64>)]
    pub cursor: Option<String>,
    /// Page size, 1 to 500 (default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
}

fn id(field: &str, raw: &str) -> ApiResult<i64> {
    raw.parse().map_err(|_| ApiError::invalid(field, format!("{field} must be an id")))
}

/// Handler.
#[utoipa::path(
    get,
    path = "/v1/admin/audit", operation_id = "listAudit",
    tag = "admin",
    params(AuditParams),
    responses(
        (status = 200, description = "Audited actions, newest first", body = crate::dto::admin::AuditPage),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> ApiResult<Json<AuditPage>> {
    let filter = AuditFilter {
        user_id: params.user.as_deref().map(|u| id("user", u)).transpose()?,
        action: params.action.as_deref().map(str::parse::<AuditAction>).transpose()?,
        from: params.from.as_deref().map(|r| parse_time("from", r)).transpose()?,
        to: params.to.as_deref().map(|r| parse_time("to", r)).transpose()?,
        before_id: params.cursor.as_deref().map(|c| id("cursor", c)).transpose()?,
    };
    let limit = page_size(params.limit.as_deref(), 100, 500)?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let rows = audit::list(&mut conn, &filter, limit).await?;
    let next_cursor = (rows.len() as i64 == limit).then(|| rows.last().map(|e| e.id)).flatten();
    Ok(Json(AuditPage { entries: rows.into_iter().map(AuditView::from).collect(), next_cursor }))
}
