//! `POST /v1/predictions`: validate, record the job, enqueue it; `202` with its location.

use axum::{extract::State, http::HeaderMap, response::Response};
use chrono::Utc;
use kronos_db::{assets, candles, jobs::NewJob};
use kronos_types::{
    jobs::payload::KronosSettings, jobs::payload::PredictionPayload, jobs::payload::SeriesSource,
    jobs::payload::BASELINE_MODELS, jobs::payload::DEFAULT_CONTEXT, jobs::payload::MAX_CONTEXT,
    jobs::payload::MAX_HORIZON, jobs::JobKind, rfc3339, Calendar, Candle, Interval,
};

use crate::{
    dto::{error::ErrorBody, jobs::Accepted, predictions::CreatePrediction},
    error::{ApiError, ApiResult},
    extract::ValidJson,
    state::AppState,
};

/// Most attempts of a prediction job.
const MAX_ATTEMPTS: i32 = 3;

/// Forecast a series: the job is recorded and queued; poll it, then read the forecast.
#[utoipa::path(
    post,
    path = "/v1/predictions", operation_id = "createPrediction",
    tag = "predictions",
    request_body = CreatePrediction,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat a submission safely: the same key and body answer the first job")),
    responses(
        (status = 202, description = "Queued; `Location` names the job", body = Accepted),
        (status = "4XX", description = "Refused; the body names the field", body = ErrorBody),
        (status = "5XX", description = "Database or queue unavailable", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    crate::auth::Caller(caller): crate::auth::Caller,
    headers: HeaderMap,
    body: ValidJson<CreatePrediction>,
) -> ApiResult<Response> {
    let ValidJson { value: req, bytes } = body;
    let interval: Interval =
        req.interval.parse().map_err(|e: kronos_types::Error| ApiError::invalid("interval", e.to_string()))?;
    if req.horizon < 1 || req.horizon > MAX_HORIZON as i64 {
        return Err(ApiError::invalid("horizon", format!("horizon must be between 1 and {MAX_HORIZON}")));
    }
    let horizon = req.horizon as usize;
    // a registered model is recorded by the version that serves it
    let (kronos, model_name) = match resolve_model(&state, &req, horizon).await? {
        Some((settings, version)) => (Some(settings), version),
        None => (None, req.model.clone()),
    };
    let priority = req.priority.unwrap_or(0);
    if !(-100..=100).contains(&priority) {
        return Err(ApiError::invalid("priority", "priority must be between -100 and 100"));
    }
    // baselines need two h-step returns; Kronos needs one candle
    let min_history = if kronos.is_some() { 1 } else { horizon + 2 };
    let calendar;
    let series = match (req.symbol, req.candles) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(ApiError::invalid(
                "symbol",
                "give either symbol (stored candles) or candles (inline), not both",
            ));
        }
        (Some(symbol), None) => {
            let context = req.context.unwrap_or(DEFAULT_CONTEXT as i64);
            if context < min_history as i64 || context > MAX_CONTEXT as i64 {
                return Err(ApiError::invalid(
                    "context",
                    format!("context must be between {min_history} and {MAX_CONTEXT}"),
                ));
            }
            if req.calendar.is_some() {
                return Err(ApiError::invalid("calendar", "a stored series follows its asset's calendar"));
            }
            if req.as_of.is_some_and(|t| t > Utc::now()) {
                return Err(ApiError::invalid("as_of", "as_of must not be in the future"));
            }
            let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
            let asset = assets::find_by_symbol(&mut conn, &symbol)
                .await?
                .ok_or_else(|| ApiError::invalid("symbol", format!("unknown symbol {symbol:?}")))?;
            let until = req.as_of.map(|t| t - interval.duration());
            let stored = candles::count_until(&mut conn, asset.id, interval, until, min_history as i64).await?;
            if stored < min_history as i64 {
                let when = req.as_of.map(|t| format!(" as of {}", rfc3339(t))).unwrap_or_default();
                return Err(ApiError::invalid(
                    if req.as_of.is_some() { "as_of" } else { "symbol" },
                    format!(
                        "{} has {stored} stored {interval} candles{when}; horizon {horizon} needs at least {min_history}",
                        asset.symbol
                    ),
                ));
            }
            calendar = asset.calendar();
            SeriesSource::Stored {
                symbol: asset.symbol,
                asset_id: asset.id,
                context: context as usize,
                as_of: req.as_of,
            }
        }
        (None, Some(candles)) => {
            if req.context.is_some() {
                return Err(ApiError::invalid(
                    "context",
                    "context applies to stored candles; send fewer candles instead",
                ));
            }
            if req.as_of.is_some() {
                return Err(ApiError::invalid("as_of", "as_of applies to stored candles; send the candles up to it"));
            }
            validate_inline(&candles, interval, min_history, state.config.api.max_inline_candles)?;
            calendar = match req.calendar.as_deref() {
                Some(raw) => raw.parse()?,
                None => Calendar::infer(&candles.iter().map(|c| c.ts).collect::<Vec<_>>()),
            };
            SeriesSource::Inline { candles }
        }
    };
    let callback_url = match req.callback_url.as_deref() {
        Some(raw) => Some(crate::batches::settings::check_callback(&state, raw).await?),
        None => None,
    };
    let payload = PredictionPayload { model: model_name, interval, horizon, series, kronos, calendar };
    let mut new =
        NewJob::new(JobKind::Prediction, serde_json::to_value(&payload).map_err(kronos_db::Error::from)?, MAX_ATTEMPTS);
    new.priority = priority;
    new.callback_url = callback_url;
    crate::submit::submit(&state, &caller, &headers, &bytes, new, Some(kronos_types::accounts::Metric::Predictions))
        .await
}

/// Baselines run without settings; any other name must be a registered model (a
/// lineage means its production version), whose sampling settings are validated and
/// completed with defaults. Returns the settings and the serving version's name.
async fn resolve_model(
    state: &AppState,
    req: &CreatePrediction,
    horizon: usize,
) -> ApiResult<Option<(KronosSettings, String)>> {
    if BASELINE_MODELS.contains(&req.model.as_str()) {
        if let Some(field) = req.kronos_fields().first() {
            return Err(ApiError::invalid(
                field,
                format!("{field} applies to Kronos models, not the {} baseline", req.model),
            ));
        }
        return Ok(None);
    }
    let sampling = req.sampling()?;
    crate::routes::models::kronos_settings(state, &req.model, sampling, req.max_context, horizon).await.map(Some)
}

fn validate_inline(candles: &[Candle], interval: Interval, min_history: usize, max: usize) -> ApiResult<()> {
    if candles.len() > max {
        return Err(ApiError::invalid(
            "candles",
            format!("too many inline candles: {} (at most {max})", candles.len()),
        ));
    }
    if candles.len() < min_history {
        return Err(ApiError::invalid(
            "candles",
            format!("{} candles given; this horizon needs at least {min_history}", candles.len()),
        ));
    }
    for (i, c) in candles.iter().enumerate() {
        if let Some(reason) = c.validation_error_for(interval) {
            return Err(ApiError::invalid(&format!("candles[{i}]"), reason));
        }
        if i > 0 && c.ts <= candles[i - 1].ts {
            return Err(ApiError::invalid(&format!("candles[{i}].ts"), "timestamps must be strictly increasing"));
        }
    }
    Ok(())
}
