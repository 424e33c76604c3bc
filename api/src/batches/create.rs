//! Submitting a batch: who may, the input by content type (JSON, a raw CSV/Parquet
//! body, a multipart upload), the batch written with its ingest job, `202` at once.

use axum::{
    body::Body,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use futures::TryStreamExt;
use kronos_db::{
    assets,
    batches::{self, Created, NewBatch},
    jobs::NewJob,
};
use kronos_types::{
    batches::{BatchFormat, BatchJobPayload, BatchPhase},
    jobs::JobKind,
};
use serde::Serialize;
use uuid::Uuid;

use super::{settings, upload};
use crate::{
    auth::{Credential, Principal},
    dto::batches::{BatchSettingsFields, CreateBatch, InlineSeries},
    error::{ApiError, ApiResult},
    extract::parse_json,
    state::AppState,
};

/// Most attempts of an ingest job.
const INGEST_ATTEMPTS: i32 = 3;
/// Most stored series named in one JSON batch (symbols plus group members).
const MAX_SYMBOLS: usize = 10_000;

/// How the request carries its series.
pub enum Input {
    /// A JSON body.
    Json(CreateBatch),
    /// A file body (raw or the `file` part of a multipart upload) with its settings.
    File {
        /// Settings from the query string or the `settings` part.
        fields: BatchSettingsFields,
        /// Declared format (`None`: recognised by content).
        format: Option<BatchFormat>,
    },
}

/// Refuses callers whose tier has no batches or who run too many already; answers the
/// earlier batch when the idempotency key was used before (`Some`).
pub async fn admit(state: &AppState, caller: &Principal, key: Option<&str>) -> ApiResult<Option<Response>> {
    if !caller.is_admin() && !state.config.batches.tiers.contains(&caller.tier) {
        let tiers: Vec<&str> = state.config.batches.tiers.iter().map(|t| t.as_str()).collect();
        return Err(ApiError::forbidden(
            "tier_required",
            format!("bulk batches are part of the {} tier; see /pricing", tiers.join(" or ")),
        ));
    }
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    if let Some(key) = key {
        if let Some(earlier) = batches::find_by_key(&mut conn, caller.user_id, key).await? {
            let view = super::view::batch_view(&mut conn, earlier).await?;
            let mut response = (StatusCode::ACCEPTED, Json(view)).into_response();
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            return Ok(Some(response));
        }
    }
    let running = batches::unfinished(&mut conn, caller.user_id).await?;
    let limit = caller.tier.batch_limits().running;
    if running >= limit && !caller.is_admin() {
        return Err(ApiError::rate_limited(
            format!("{running} of your batches are still running; your tier allows {limit} at once"),
            30,
        ));
    }
    Ok(None)
}

/// The JSON input stored for the worker: inline series, or stored series by asset.
#[derive(Serialize)]
struct StoredInput {
    series: Vec<StoredSeries>,
}

#[derive(Serialize)]
struct StoredSeries {
    id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    candles: Vec<kronos_types::Candle>,
    #[serde(skip_serializing_if = "Option::is_none")]
    asset_id: Option<i64>,
}

/// Checks a JSON batch's series and stores them; returns the format and stored size.
pub async fn store_json(
    state: &AppState,
    caller: &Principal,
    batch_id: Uuid,
    request: CreateBatch,
) -> ApiResult<(BatchFormat, i64)> {
    let (format, series) = match (request.series, request.symbols, request.groups) {
        (Some(series), None, None) => (BatchFormat::Json, inline(caller, series)?),
        (None, symbols, groups) if symbols.is_some() || groups.is_some() => {
            (BatchFormat::Symbols, stored(state, symbols.unwrap_or_default(), groups.unwrap_or_default()).await?)
        }
        _ => {
            return Err(ApiError::invalid(
                "series",
                "give either series (inline) or symbols/groups (stored series); upload a file for large batches",
            ));
        }
    };
    let bytes = serde_json::to_vec(&StoredInput { series }).map_err(kronos_db::Error::from)?;
    let stored = upload::put_small(&state.storage, batch_id, bytes).await?;
    Ok((format, stored.size))
}

fn inline(caller: &Principal, series: Vec<InlineSeries>) -> ApiResult<Vec<StoredSeries>> {
    let most = caller.tier.batch_limits().inline_series;
    if series.is_empty() || series.len() > most {
        return Err(ApiError::invalid(
            "series",
            format!("{} inline series; send 1 to {most} (upload a CSV or Parquet file for more)", series.len()),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, s) in series.iter().enumerate() {
        kronos_types::batches::check_series_id(&s.id).map_err(|e| ApiError::invalid(&format!("series[{i}].id"), e))?;
        if !seen.insert(s.id.as_str()) {
            return Err(ApiError::invalid(&format!("series[{i}].id"), format!("series id {:?} appears twice", s.id)));
        }
    }
    Ok(series.into_iter().map(|s| StoredSeries { id: s.id, candles: s.candles, asset_id: None }).collect())
}

async fn stored(state: &AppState, symbols: Vec<String>, groups: Vec<String>) -> ApiResult<Vec<StoredSeries>> {
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let mut names = symbols;
    for (i, slug) in groups.iter().enumerate() {
        let Some((_, members)) = kronos_db::asset_groups::find(&mut conn, slug).await? else {
            return Err(ApiError::invalid(&format!("groups[{i}]"), format!("unknown asset group {slug:?}")));
        };
        names.extend(members.into_iter().map(|m| m.symbol));
    }
    if names.is_empty() || names.len() > MAX_SYMBOLS {
        return Err(ApiError::invalid("symbols", format!("{} series named; name 1 to {MAX_SYMBOLS}", names.len())));
    }
    let mut out: Vec<StoredSeries> = Vec::with_capacity(names.len());
    for (i, name) in names.into_iter().enumerate() {
        let Some(asset) = assets::find_by_symbol(&mut conn, &name).await? else {
            return Err(ApiError::invalid(&format!("symbols[{i}]"), format!("unknown symbol {name:?}")));
        };
        if !out.iter().any(|s| s.asset_id == Some(asset.id)) {
            out.push(StoredSeries { id: asset.symbol, candles: Vec::new(), asset_id: Some(asset.id) });
        }
    }
    Ok(out)
}

/// The declared format of a file body: its Content-Type, or `format`.
pub fn file_format(content_type: &str, format: Option<&str>) -> ApiResult<Option<BatchFormat>> {
    if let Some(format) = format {
        return match format {
            "csv" => Ok(Some(BatchFormat::Csv)),
            "parquet" => Ok(Some(BatchFormat::Parquet)),
            other => Err(ApiError::invalid("format", format!("format {other:?}: expected csv or parquet"))),
        };
    }
    Ok(match content_type {
        "text/csv" => Some(BatchFormat::Csv),
        "application/vnd.apache.parquet" | "application/x-parquet" => Some(BatchFormat::Parquet),
        _ => None,
    })
}

/// Writes the batch and its ingest job; answers `202` with the batch.
#[expect(clippy::too_many_arguments, reason = "the parts of a batch, each distinct")]
pub async fn record(
    state: &AppState,
    caller: &Principal,
    headers: &HeaderMap,
    batch_id: Uuid,
    resolved: settings::Resolved,
    format: BatchFormat,
    input_bytes: i64,
    key: Option<String>,
) -> ApiResult<Response> {
    let api_key_id = match &caller.credential {
        Credential::ApiKey { id, .. } => Some(*id),
        Credential::Session { .. } => None,
    };
    let request_id = crate::request_id::of(headers);
    let new = NewBatch {
        id: batch_id,
        owner_id: Some(caller.user_id),
        settings: serde_json::to_value(&resolved.settings).map_err(kronos_db::Error::from)?,
        input_format: format.as_str().to_owned(),
        input_key: Some(kronos_storage::StorageKey::BatchInput { batch_id }.path()),
        input_bytes,
        callback_url: resolved.callback_url,
        api_key_id,
        idempotency_key: key,
        request_id: request_id.clone(),
        priority: resolved.priority,
    };
    let payload = BatchJobPayload { batch_id, phase: BatchPhase::Ingest };
    let mut ingest = NewJob::new(JobKind::Batch, serde_json::json!(payload), INGEST_ATTEMPTS)
        .owned(caller.user_id, None)
        .with_priority(resolved.priority);
    ingest.batch_id = Some(batch_id);
    ingest.request_id = request_id;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let (batch, replayed) = match batches::create(&mut conn, new, ingest).await? {
        Created::New(batch) => (batch, false),
        Created::Existing(batch) => {
            // a concurrent request with the same key won: this upload is not needed
            let _ = state.storage.delete_path(&kronos_storage::StorageKey::BatchInput { batch_id }.path()).await;
            (batch, true)
        }
    };
    state.signal.wake();
    let id = batch.id;
    let view = super::view::batch_view(&mut conn, batch).await?;
    let mut response = (StatusCode::ACCEPTED, Json(view)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/batches/{id}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// Reads a multipart upload: the `settings` part (JSON) and the `file` part, streamed
/// to the store. Returns the settings, the declared format and the stored size.
pub async fn multipart(
    state: &AppState,
    batch_id: Uuid,
    boundary: String,
    body: Body,
) -> ApiResult<(BatchSettingsFields, Option<BatchFormat>, i64)> {
    let stream = body.into_data_stream().map_err(|e| std::io::Error::other(e.to_string()));
    let mut form = multer::Multipart::new(stream, boundary);
    let mut fields: Option<BatchSettingsFields> = None;
    let mut file: Option<(Option<BatchFormat>, i64)> = None;
    let bad = |e: multer::Error| ApiError::invalid("body", format!("malformed multipart body: {e}"));
    while let Some(part) = form.next_field().await.map_err(bad)? {
        match part.name() {
            Some("settings") => {
                let text = part.bytes().await.map_err(bad)?;
                if text.len() > 64 * 1024 {
                    return Err(ApiError::invalid("settings", "the settings part is larger than 64 KiB"));
                }
                fields = Some(parse_json(&text)?);
            }
            Some("file") if file.is_none() => {
                let content_type = part.content_type().map(|m| m.essence_str().to_owned()).unwrap_or_default();
                let declared = file_format(&content_type, None)?;
                let stream = part.map_err(|e| e.to_string());
                let stored =
                    upload::stream_to_store(&state.storage, batch_id, stream, state.config.batches.max_upload_bytes)
                        .await?;
                file = Some((declared, stored.size));
            }
            Some(other) => {
                let other = other.chars().take(40).collect::<String>();
                return Err(ApiError::invalid("body", format!("unexpected part {other:?}: send settings and file")));
            }
            None => return Err(ApiError::invalid("body", "a part without a name: send settings and file")),
        }
    }
    let Some((declared, size)) = file else {
        return Err(ApiError::invalid("file", "the multipart body has no file part"));
    };
    let Some(fields) = fields else {
        let _ = state.storage.delete_path(&kronos_storage::StorageKey::BatchInput { batch_id }.path()).await;
        return Err(ApiError::invalid("settings", "the multipart body has no settings part"));
    };
    let declared = match fields.format.as_deref() {
        Some(format) => file_format("", Some(format))?,
        None => declared,
    };
    Ok((fields, declared, size))
}
