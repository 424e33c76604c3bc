//! `POST /v1/backtests`: validate a backtest request, turn it into the job's payload
//! (`kronos_backtest::payload`), resolve its assets, model and annualisation,
//! record the job and enqueue it; `202` with the job. Progress (stage, done, total)
//! shows in `GET /v1/jobs/{id}`; the summary in `GET /v1/backtests/{id}`.

use axum::{extract::State, http::HeaderMap, response::Response};
use kronos_backtest::performance::default_periods_per_year;
use kronos_db::{assets, candles, jobs::NewJob};
use kronos_types::{jobs::payload::BASELINE_MODELS, jobs::JobKind};

use crate::{
    dto::backtests::CreateBacktest,
    error::{ApiError, ApiResult},
    extract::ValidJson,
    state::AppState,
};

/// Attempts of a backtest job.
const MAX_ATTEMPTS: i32 = 3;

/// Asset classes that trade around the clock (annualised over 365 days).
const ROUND_THE_CLOCK: [&str; 2] = ["crypto", "fx"];

/// Handler.
#[utoipa::path(
    post,
    path = "/v1/backtests", operation_id = "createBacktest",
    tag = "backtests",
    request_body = crate::dto::backtests::CreateBacktest,
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
    ValidJson { value: request, bytes }: ValidJson<CreateBacktest>,
) -> ApiResult<Response> {
    let mut payload = request.into_payload();
    payload.validate()?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let mut trading_days = false;
    for (i, symbol) in payload.symbols.iter().enumerate() {
        let field = format!("symbols[{i}]");
        let asset = assets::find_by_symbol(&mut conn, symbol)
            .await?
            .ok_or_else(|| ApiError::invalid(&field, format!("unknown symbol {symbol:?}")))?;
        let any = candles::newest_first(&mut conn, asset.id, payload.interval, payload.from, payload.to, 1).await?;
        if any.is_empty() {
            return Err(ApiError::invalid(
                &field,
                format!("{symbol} has no {} candles in the requested range", payload.interval),
            ));
        }
        trading_days |= !ROUND_THE_CLOCK.contains(&asset.class.as_str());
        payload.asset_ids.push(asset.id);
        payload.calendars.push(asset.calendar());
    }
    if let Some(settings) = payload.model.as_mut() {
        if !BASELINE_MODELS.contains(&settings.name.as_str()) {
            let model = crate::routes::models::servable(&state, &mut conn, &settings.name, "model.name").await?;
            settings.name = model.name;
            settings.model_id = Some(model.id);
        }
    }
    drop(conn);
    payload.periods_per_year =
        Some(payload.periods_per_year.unwrap_or_else(|| default_periods_per_year(payload.interval, trading_days)));
    let payload = serde_json::to_value(&payload).map_err(kronos_db::Error::from)?;
    crate::submit::submit(
        &state,
        &caller,
        &headers,
        &bytes,
        NewJob::new(JobKind::Backtest, payload, MAX_ATTEMPTS),
        Some(kronos_types::accounts::Metric::Backtests),
    )
    .await
}
