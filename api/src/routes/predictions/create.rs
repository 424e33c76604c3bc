//! `POST /v1/predictions`: validate, record the job, enqueue it; `202` with its location.

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use kronos_shared::{
    db::{assets, candles, jobs::{Inserted, NewJob}},
    jobs::{
        payload::{PredictionPayload, SeriesSource, BASELINE_MODELS, DEFAULT_CONTEXT, MAX_CONTEXT, MAX_HORIZON},
        JobKind,
    },
    market_data::{Candle, Interval},
};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    error::{ApiError, ApiResult},
    extract::ValidJson,
    state::AppState,
    views::JobView,
};

/// Most attempts of a prediction job.
const MAX_ATTEMPTS: i32 = 3;

/// The request body: either `symbol` (stored candles) or `candles` (inline).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePrediction {
    /// Asset symbol whose stored candles are the history.
    pub symbol: Option<String>,
    /// Inline history, oldest first.
    pub candles: Option<Vec<Candle>>,
    /// Candle interval.
    pub interval: String,
    /// Steps to forecast.
    pub horizon: i64,
    /// Model name.
    pub model: String,
    /// Stored candles of context (default 512).
    pub context: Option<i64>,
    /// Higher runs first (-100..100, default 0).
    pub priority: Option<i16>,
}

/// Handler.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: ValidJson<CreatePrediction>,
) -> ApiResult<Response> {
    let key = idempotency_key(&headers)?;
    let request_hash = key.as_ref().map(|_| body.canonical_hash());
    let req = body.value;
    let interval: Interval = req.interval.parse().map_err(|e: kronos_shared::Error| ApiError::invalid("interval", e.to_string()))?;
    if req.horizon < 1 || req.horizon > MAX_HORIZON as i64 {
        return Err(ApiError::invalid("horizon", format!("horizon must be between 1 and {MAX_HORIZON}")));
    }
    let horizon = req.horizon as usize;
    if !BASELINE_MODELS.contains(&req.model.as_str()) {
        return Err(ApiError::invalid("model", format!("unknown model {:?}; available: {}", req.model, BASELINE_MODELS.join(", "))));
    }
    let priority = req.priority.unwrap_or(0);
    if !(-100..=100).contains(&priority) {
        return Err(ApiError::invalid("priority", "priority must be between -100 and 100"));
    }
    let min_history = horizon + 2;
    let series = match (req.symbol, req.candles) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(ApiError::invalid("symbol", "give either symbol (stored candles) or candles (inline), not both"));
        }
        (Some(symbol), None) => {
            let context = req.context.unwrap_or(DEFAULT_CONTEXT as i64);
            if context < min_history as i64 || context > MAX_CONTEXT as i64 {
                return Err(ApiError::invalid("context", format!("context must be between {min_history} (horizon + 2) and {MAX_CONTEXT}")));
            }
            let mut conn = state.pool.get().await.map_err(kronos_shared::Error::from)?;
            let asset = assets::find_by_symbol(&mut conn, &symbol)
                .await?
                .ok_or_else(|| ApiError::invalid("symbol", format!("unknown symbol {symbol:?}")))?;
            let stored = candles::count_up_to(&mut conn, asset.id, interval, min_history as i64).await?;
            if stored < min_history as i64 {
                return Err(ApiError::invalid(
                    "symbol",
                    format!("{} has {stored} stored {interval} candles; horizon {horizon} needs at least {min_history}", asset.symbol),
                ));
            }
            SeriesSource::Stored { symbol: asset.symbol, asset_id: asset.id, context: context as usize }
        }
        (None, Some(candles)) => {
            if req.context.is_some() {
                return Err(ApiError::invalid("context", "context applies to stored candles; send fewer candles instead"));
            }
            validate_inline(&candles, min_history, state.config.api.max_inline_candles)?;
            SeriesSource::Inline { candles }
        }
    };
    let payload = PredictionPayload { model: req.model, interval, horizon, series };
    let new = NewJob {
        id: Uuid::now_v7(),
        kind: JobKind::Prediction.as_str().to_owned(),
        payload: serde_json::to_value(&payload).map_err(kronos_shared::Error::from)?,
        owner_id: None,
        request_hash,
        idempotency_key: key,
        batch_id: None,
        priority,
        max_attempts: MAX_ATTEMPTS,
    };
    let (kind, hash) = (new.kind.clone(), new.request_hash.clone());
    let (job, replayed) = match state.enqueuer.enqueue(new).await? {
        Inserted::Created(job) => (job, false),
        Inserted::Existing(job) if job.request_hash == hash && job.kind == kind => (job, true),
        Inserted::Existing(_) => {
            return Err(ApiError::invalid("Idempotency-Key", "this Idempotency-Key was already used with a different request body"));
        }
    };
    let location = format!("/v1/jobs/{}", job.id);
    let mut response = (StatusCode::ACCEPTED, Json(serde_json::json!({ "job": JobView::from(job) }))).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    if replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    let key = value
        .to_str()
        .map_err(|_| ApiError::invalid("Idempotency-Key", "Idempotency-Key must be printable ASCII"))?
        .trim();
    if key.is_empty() || key.len() > 255 {
        return Err(ApiError::invalid("Idempotency-Key", "Idempotency-Key must be 1 to 255 characters"));
    }
    Ok(Some(key.to_owned()))
}

fn validate_inline(candles: &[Candle], min_history: usize, max: usize) -> ApiResult<()> {
    if candles.len() > max {
        return Err(ApiError::invalid("candles", format!("too many inline candles: {} (at most {max})", candles.len())));
    }
    if candles.len() < min_history {
        return Err(ApiError::invalid("candles", format!("{} candles given; this horizon needs at least {min_history}", candles.len())));
    }
    for (i, c) in candles.iter().enumerate() {
        if let Some(reason) = c.validation_error() {
            return Err(ApiError::invalid(&format!("candles[{i}]"), reason));
        }
        if i > 0 && c.ts <= candles[i - 1].ts {
            return Err(ApiError::invalid(&format!("candles[{i}].ts"), "timestamps must be strictly increasing"));
        }
    }
    Ok(())
}
