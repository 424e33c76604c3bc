//! `GET /v1/backtests/{id}/{table}?format=parquet|json`: a backtest's equity curve,
//! trade list or sweep ranking, as the stored Parquet (default) or as JSON rows
//! (times as RFC 3339) for charts.

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
    Json,
};
use chrono::DateTime;
use kronos_shared::{
    backtest::report::{read_parquet, PARQUET_CONTENT_TYPE},
    market_data::rfc3339,
    storage::{BacktestFile, StorageKey},
};
use polars::prelude::{AnyValue, DataFrame};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{
    error::{ApiError, ApiResult},
    extract::{ApiPath, ApiQuery},
    routes::jobs::parse_id,
    state::AppState,
};

/// Query parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableQuery {
    /// `parquet` (default) or `json`.
    #[serde(default)]
    format: Option<String>,
}

/// Handler.
pub async fn table(
    State(state): State<AppState>,
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
    let summary = super::summary_of(&state, id).await?;
    if summary["artifacts"].get(file.name()).is_none() {
        return Err(ApiError::not_found(format!("backtest {id} has no {table} table (only sweeps have one)")));
    }
    let bytes = state.storage.get(&StorageKey::BacktestFile { job_id: id, file }).await?;
    if !json {
        return Ok(([(header::CONTENT_TYPE, PARQUET_CONTENT_TYPE)], bytes).into_response());
    }
    let frame = read_parquet(bytes.to_vec())?;
    Ok(Json(rows(&frame)).into_response())
}

/// The frame as an array of row objects.
fn rows(frame: &DataFrame) -> Value {
    let columns = frame.get_columns();
    let out: Vec<Value> = (0..frame.height())
        .map(|i| {
            let mut row = Map::with_capacity(columns.len());
            for column in columns {
                let value = match column.get(i) {
                    Ok(AnyValue::Float64(v)) => serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
                    Ok(AnyValue::UInt64(v)) => Value::from(v),
                    Ok(AnyValue::Int64(v)) => Value::from(v),
                    Ok(AnyValue::String(s)) => Value::from(s),
                    Ok(AnyValue::StringOwned(s)) => Value::from(s.as_str()),
                    Ok(AnyValue::Datetime(ms, _, _)) | Ok(AnyValue::DatetimeOwned(ms, _, _)) => {
                        DateTime::from_timestamp_millis(ms).map_or(Value::Null, |t| Value::from(rfc3339(t)))
                    }
                    _ => Value::Null,
                };
                row.insert(column.name().to_string(), value);
            }
            Value::Object(row)
        })
        .collect();
    Value::Array(out)
}
