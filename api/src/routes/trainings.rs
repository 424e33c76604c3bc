//! `POST /v1/trainings`: validate a training request (it becomes the payload of
//! `kronos_types::jobs::training`), record the job and enqueue it; `202` with the job.
//! Progress (step, loss, validation loss, ETA) shows in `GET /v1/jobs/{id}`.

use axum::{extract::State, http::HeaderMap, response::Response};
use kronos_db::{assets, candles, jobs::NewJob, models};
use kronos_types::jobs::JobKind;

use crate::{
    dto::trainings::CreateTraining,
    error::{ApiError, ApiResult},
    extract::ValidJson,
    state::AppState,
};

/// Attempts of a training job (a worker crash costs one; the next resumes from the
/// latest checkpoint).
const MAX_ATTEMPTS: i32 = 5;

/// Handler.
#[utoipa::path(
    post,
    path = "/v1/trainings", operation_id = "createTraining",
    tag = "trainings",
    request_body = crate::dto::trainings::CreateTraining,
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
    ValidJson { value: request, bytes }: ValidJson<CreateTraining>,
) -> ApiResult<Response> {
    let payload = request.into_payload();
    payload.validate()?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    // one training window needs lookback + horizon + 1 bars; refuse what cannot train
    let needed = (payload.lookback + payload.horizon + 1) as i64;
    for (i, symbol) in payload.symbols.iter().enumerate() {
        let field = format!("symbols[{i}]");
        let asset = assets::find_by_symbol(&mut conn, symbol)
            .await?
            .ok_or_else(|| ApiError::invalid(&field, format!("unknown symbol {symbol:?}")))?;
        let stored = candles::newest_first(&mut conn, asset.id, payload.interval, payload.from, payload.to, needed)
            .await?
            .len() as i64;
        if stored < needed {
            return Err(ApiError::invalid(
                &field,
                format!(
                    "{symbol} has {stored} {} candles in the requested range; one window of lookback {} + horizon {} needs {needed}",
                    payload.interval, payload.lookback, payload.horizon
                ),
            ));
        }
    }
    if let Some(reference) = &payload.from_model {
        let model = models::resolve(&mut conn, reference)
            .await?
            .ok_or_else(|| ApiError::invalid("from_model", format!("unknown model {reference:?} (GET /v1/models)")))?;
        if model.family != payload.family {
            return Err(ApiError::invalid("from_model", format!("{} is a {} model", model.name, model.family)));
        }
    }
    drop(conn);
    let payload = serde_json::to_value(&payload).map_err(kronos_db::Error::from)?;
    crate::submit::submit(
        &state,
        &caller,
        &headers,
        &bytes,
        NewJob::new(JobKind::Training, payload, MAX_ATTEMPTS),
        Some(kronos_types::accounts::Metric::Trainings),
    )
    .await
}
