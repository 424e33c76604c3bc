//! `POST /v1/batches`: a batch of series to forecast with shared settings — JSON
//! (`series` inline, or `symbols`/`groups` of stored series), a raw CSV or Parquet body
//! (settings in the query string), or a multipart upload (`settings` + `file`).

use axum::{
    body::Body,
    extract::{Request, State},
    http::header,
    response::Response,
};
use kronos_types::batches::BatchFormat;
use uuid::Uuid;

use crate::{
    auth::Caller,
    batches::{create as batch, settings, upload},
    dto::batches::{BatchSettingsFields, BatchUpload, BatchView, CreateBatch},
    error::{ApiError, ApiResult},
    extract::{parse_json, parse_query},
    state::AppState,
    submit::idempotency_key,
};

/// Submit a bulk batch; it is validated and forecast in the background.
#[utoipa::path(
    post,
    path = "/v1/batches", operation_id = "createBatch",
    tag = "batches",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Repeat a submission safely: the same key answers the first batch"),
        BatchSettingsFields,
    ),
    request_body(
        description = "JSON (`series` or `symbols`/`groups` with the settings), a CSV or Parquet file in long format \
                       (`series_id, ts, open, high, low, close[, volume, amount]`, gzip allowed; settings in the query \
                       string), or multipart/form-data with a `settings` part (JSON) and a `file` part",
        content(
            (CreateBatch = "application/json"),
            (BatchUpload = "multipart/form-data"),
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.apache.parquet"),
            (Vec<u8> = "application/octet-stream"),
        )
    ),
    responses(
        (status = 202, description = "Accepted; `Location` names the batch", body = BatchView),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Database or object store unavailable", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn create(State(state): State<AppState>, Caller(caller): Caller, request: Request) -> ApiResult<Response> {
    let (parts, body) = request.into_parts();
    let key = idempotency_key(&parts.headers)?;
    if let Some(earlier) = batch::admit(&state, &caller, key.as_deref()).await? {
        return Ok(earlier);
    }
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let batch_id = Uuid::now_v7();
    let (fields, format, size, json) = match essence.as_str() {
        "application/json" => {
            let bytes = axum::body::to_bytes(body, state.config.api.max_body_bytes)
                .await
                .map_err(|_| ApiError::too_large("the JSON body is too large: upload a CSV or Parquet file instead"))?;
            let request: CreateBatch = parse_json(&bytes)?;
            (request.settings.clone(), None, 0, Some(request))
        }
        "multipart/form-data" => {
            let boundary = multer::parse_boundary(&content_type)
                .map_err(|e| ApiError::invalid("Content-Type", format!("multipart without a boundary: {e}")))?;
            let (fields, format, size) = batch::multipart(&state, batch_id, boundary, body).await?;
            (fields, format, size, None)
        }
        "text/csv"
        | "application/vnd.apache.parquet"
        | "application/x-parquet"
        | "application/octet-stream"
        | "application/gzip" => {
            let fields: BatchSettingsFields = parse_query(parts.uri.query().unwrap_or(""))?;
            let format = batch::file_format(&essence, fields.format.as_deref())?;
            let stream = Box::pin(Body::into_data_stream(body));
            let stored =
                upload::stream_to_store(&state.storage, batch_id, stream, state.config.batches.max_upload_bytes)
                    .await?;
            (fields, format, stored.size, None)
        }
        _ => {
            return Err(ApiError::from_status(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send application/json, multipart/form-data, text/csv, application/vnd.apache.parquet or \
                 application/octet-stream",
            ));
        }
    };
    let resolved = match settings::resolve(&state, &fields).await {
        Ok(resolved) => resolved,
        Err(e) => {
            // settings refused after the file arrived: keep nothing
            let _ = state.storage.delete_path(&kronos_storage::StorageKey::BatchInput { batch_id }.path()).await;
            return Err(e);
        }
    };
    let (format, size) = match json {
        Some(request) => batch::store_json(&state, &caller, batch_id, request).await?,
        // a file whose format was not declared is read by content (CSV unless Parquet)
        None => (format.unwrap_or(BatchFormat::Csv), size),
    };
    batch::record(&state, &caller, &parts.headers, batch_id, resolved, format, size, key).await
}
