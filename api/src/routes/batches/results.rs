//! `GET /v1/batches/{id}/results`: a finished batch's forecasts or errors table as
//! Parquet (streamed from the object store) or CSV; or, on S3, a presigned URL.

use std::time::Duration;

use axum::{
    body::Body,
    extract::State,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::Utc;
use futures::TryStreamExt;
use kronos_storage::StorageKey;

use super::{owned, parse_id};
use crate::{
    auth::Caller,
    dto::batches::{PresignedResults, ResultsQuery},
    error::{ApiError, ApiResult},
    extract::{ApiPath, ApiQuery},
    state::AppState,
};

/// How long a presigned URL works.
const PRESIGNED_FOR: Duration = Duration::from_secs(3600);

/// A finished batch's results.
#[utoipa::path(
    get,
    path = "/v1/batches/{id}/results", operation_id = "getBatchResults",
    tag = "batches",
    params(("id" = uuid::Uuid, Path, description = "Batch id"), ResultsQuery),
    responses(
        (status = 200, description = "The table: Parquet, CSV, or (with `presign=true`) a presigned URL", content(
            (Vec<u8> = "application/vnd.apache.parquet"),
            (String = "text/csv"),
            (PresignedResults = "application/json"),
        )),
        (status = "4XX", description = "Refused, not found, or not finished yet (409)", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn results(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(raw): ApiPath<String>,
    ApiQuery(query): ApiQuery<ResultsQuery>,
) -> ApiResult<Response> {
    let id = parse_id(&raw)?;
    let errors = match query.table.as_deref() {
        None | Some("forecasts") => false,
        Some("errors") => true,
        Some(other) => {
            return Err(ApiError::invalid("table", format!("table {other:?}: expected forecasts or errors")))
        }
    };
    let csv = match query.format.as_deref() {
        None | Some("parquet") => false,
        Some("csv") => true,
        Some(other) => return Err(ApiError::invalid("format", format!("format {other:?}: expected parquet or csv"))),
    };
    let presign = match query.presign.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => return Err(ApiError::invalid("presign", format!("presign {other:?}: expected true or false"))),
    };
    let batch = {
        let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
        owned(&mut conn, id, &caller).await?
    };
    if batch.results_key.is_none() {
        return Err(ApiError::conflict(
            "not_ready",
            format!("batch {id} is {}; results come when it ends", batch.status),
        ));
    }
    let key = if errors { StorageKey::BatchErrors { batch_id: id } } else { StorageKey::BatchResults { batch_id: id } };
    let name = if errors { "errors" } else { "forecasts" };
    if presign {
        if csv {
            return Err(ApiError::invalid("presign", "presigned URLs are for the Parquet files"));
        }
        let Some(url) = state.storage.presigned_get(&key, PRESIGNED_FOR).await.map_err(storage_error)? else {
            return Err(ApiError::invalid("presign", "this deployment stores files locally: download them directly"));
        };
        let expires_at = Utc::now() + chrono::Duration::from_std(PRESIGNED_FOR).unwrap_or(chrono::Duration::hours(1));
        return Ok(Json(PresignedResults { url, expires_at }).into_response());
    }
    let disposition = |ext: &str| {
        HeaderValue::from_str(&format!("attachment; filename=\"batch-{id}-{name}.{ext}\""))
            .unwrap_or(HeaderValue::from_static("attachment"))
    };
    if csv {
        let bytes = state.storage.get(&key).await.map_err(storage_error)?;
        let text =
            state.heavy.run(move || kronos_market_data::batch_files::parquet_to_csv(bytes.to_vec())).await?.map_err(
                |e| {
                    tracing::error!(error = %e, "cannot turn batch results into CSV");
                    ApiError::internal()
                },
            )?;
        let mut response = (StatusCode::OK, text).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
        response.headers_mut().insert(header::CONTENT_DISPOSITION, disposition("csv"));
        return Ok(response);
    }
    let (size, stream) = state.storage.get_stream(&key).await.map_err(storage_error)?;
    let mut response = Response::new(Body::from_stream(stream.map_err(std::io::Error::other)));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/vnd.apache.parquet"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    headers.insert(header::CONTENT_DISPOSITION, disposition("parquet"));
    Ok(response)
}

fn storage_error(e: kronos_storage::Error) -> ApiError {
    tracing::error!(error = %e, "cannot read batch results");
    ApiError::unavailable("the object store is unavailable; try again")
}
