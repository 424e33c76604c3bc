//! `GET /v1/backtests/{id}/{table}?format=parquet|json`: a backtest's equity curve,
//! trade list or sweep ranking, as the stored Parquet (default) or as JSON rows
//! (times as RFC 3339) for charts.

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
    Json,
};
use kronos_backtest::{report::json_rows, report::read_parquet, report::PARQUET_CONTENT_TYPE};
use kronos_storage::{BacktestFile, StorageKey};
use serde::Deserialize;

use crate::{
    error::{ApiError, ApiResult},
    extract::{ApiPath, ApiQuery},
    routes::jobs::parse_id,
    state::AppState,
};

/// Query parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TableQuery {
    /// `parquet` (default) or `json`.
    #[serde(default)]
    format: Option<String>,
}

/// Handler.
#[utoipa::path(
    get,
    path = "/v1/backtests/{id}/{table}", operation_id = "getBacktestTable",
    tag = "backtests",
    params(("id" = uuid::Uuid, Path, description = "Job id"), ("table" = String, Path, description = "`equity`, `trades` or `sweep`"), TableQuery),
    responses(
        (status = 200, description = "The table as Parquet (default) or JSON rows", content((Vec<serde_json::Value> = "application/json"), (Vec<u8> = "application/vnd.apache.parquet"))),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn table(
    State(state): State<AppState>,
    crate::auth::Caller(caller): crate::auth::Caller,
    ApiPath((raw, table)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<TableQuery>,
) -> ApiResult<Response> {
    let id = parse_id(&raw)?;
    let file = BacktestFile::named(&table).filter(|f| *f != BacktestFile::Summary).ok_or_else(|| {
        ApiError::invalid("table", format!("unknown table {table:?}; expected equity, trades or sweep"))
    })?;
    let json = match q.format.as_deref() {
        None | Some("parquet") => false,
        Some("json") => true,
        Some(other) => {
            return Err(ApiError::invalid("format", format!("unknown format {other:?}; expected parquet or json")))
        }
    };
    let summary = super::summary_of(&state, &caller, id).await?;
    if summary["artifacts"].get(file.name()).is_none() {
        return Err(ApiError::not_found(format!("backtest {id} has no {table} table (only sweeps have one)")));
    }
    let bytes = state.storage.get(&StorageKey::BacktestFile { job_id: id, file }).await?;
    if !json {
        return Ok(([(header::CONTENT_TYPE, PARQUET_CONTENT_TYPE)], bytes).into_response());
    }
    let rows = state.heavy.run(move || read_parquet(bytes.to_vec()).map(|frame| json_rows(&frame))).await??;
    Ok(Json(rows).into_response())
}
