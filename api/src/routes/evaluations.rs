//! `POST /v1/evaluations`: run a model walk-forward over stored candles and verify
//! every forecast (the request becomes the payload of `kronos_types::jobs::evaluation`); `202` with the
//! job. The result (accuracy beside naive per asset and overall) is at
//! `GET /v1/evaluations/{id}`, and the scored forecasts count in `GET /v1/accuracy`
//! (`source=evaluation`).

use axum::{extract::State, http::HeaderMap, response::Response};
use chrono::{DateTime, Duration, Utc};
use kronos_db::{assets, candles, jobs::NewJob};
use kronos_types::{jobs::payload::BASELINE_MODELS, jobs::JobKind};

use crate::{
    dto::evaluations::CreateEvaluation,
    error::{ApiError, ApiResult},
    extract::ValidJson,
    state::AppState,
};

/// Attempts of an evaluation job.
const MAX_ATTEMPTS: i32 = 3;

/// Handler.
#[utoipa::path(
    post,
    path = "/v1/evaluations", operation_id = "createEvaluation",
    tag = "evaluations",
    request_body = crate::dto::evaluations::CreateEvaluation,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat a submission safely: the same key and body answer the first job")),
    responses(
        (status = 202, description = "Queued; `Location` names the job", body = crate::dto::jobs::Accepted),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    crate::auth::Caller(caller): crate::auth::Caller,
    headers: HeaderMap,
    ValidJson { value: request, bytes }: ValidJson<CreateEvaluation>,
) -> ApiResult<Response> {
    let mut payload = request.into_payload();
    payload.validate()?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    // each asset needs a forecast bar in the range with `horizon` bars after it
    let horizon = payload.model.horizon as i64;
    for (i, symbol) in payload.symbols.iter().enumerate() {
        let field = format!("symbols[{i}]");
        let asset = assets::find_by_symbol(&mut conn, symbol)
            .await?
            .ok_or_else(|| ApiError::invalid(&field, format!("unknown symbol {symbol:?}")))?;
        let since = payload.from.map_or(DateTime::<Utc>::UNIX_EPOCH, |t| t - Duration::seconds(1));
        let first = candles::first_after(&mut conn, asset.id, payload.interval, since, 1).await?;
        let first = first.first().filter(|c| payload.to.is_none_or(|to| c.ts <= to));
        let after = match first {
            Some(c) => candles::first_after(&mut conn, asset.id, payload.interval, c.ts, horizon).await?.len(),
            None => 0,
        };
        if after < horizon as usize {
            return Err(ApiError::invalid(
                &field,
                format!(
                    "{symbol} has no {} candle in the range with {} candles after it to verify against",
                    payload.interval, payload.model.horizon
                ),
            ));
        }
        payload.asset_ids.push(asset.id);
        payload.calendars.push(asset.calendar());
    }
    let settings = &mut payload.model;
    if !BASELINE_MODELS.contains(&settings.name.as_str()) {
        let model = crate::routes::models::servable(&state, &mut conn, &settings.name, "model.name").await?;
        settings.name = model.name;
        settings.model_id = Some(model.id);
    }
    drop(conn);
    let payload = serde_json::to_value(&payload).map_err(kronos_db::Error::from)?;
    crate::submit::submit(
        &state,
        &caller,
        &headers,
        &bytes,
        NewJob::new(JobKind::Evaluation, payload, MAX_ATTEMPTS),
        Some(kronos_types::accounts::Metric::Backtests),
    )
    .await
}
