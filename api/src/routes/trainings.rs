//! `POST /v1/trainings`: validate a training request (the payload of
//! `kronos_shared::jobs::training`), record the job and enqueue it; `202` with the job.
//! Progress (step, loss, validation loss, ETA) shows in `GET /v1/jobs/{id}`.

use axum::{extract::State, response::Response};
use kronos_shared::{
    db::{assets, jobs::Inserted, jobs::NewJob, models},
    jobs::{training::TrainingPayload, JobKind},
};

use crate::{
    error::{ApiError, ApiResult},
    extract::ValidJson,
    state::AppState,
};

/// Attempts of a training job (a worker crash costs one; the next resumes from the
/// latest checkpoint).
const MAX_ATTEMPTS: i32 = 5;

/// Handler.
pub async fn create(State(state): State<AppState>, body: ValidJson<TrainingPayload>) -> ApiResult<Response> {
    let payload = body.value;
    payload.validate()?;
    let mut conn = state.pool.get().await.map_err(kronos_shared::Error::from)?;
    for (i, symbol) in payload.symbols.iter().enumerate() {
        if assets::find_by_symbol(&mut conn, symbol).await?.is_none() {
            return Err(ApiError::invalid(&format!("symbols[{i}]"), format!("unknown symbol {symbol:?}")));
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
    let payload = serde_json::to_value(&payload).map_err(kronos_shared::Error::from)?;
    let new = NewJob::new(JobKind::Training, payload, MAX_ATTEMPTS);
    let job = match state.enqueuer.enqueue(new).await? {
        Inserted::Created(job) | Inserted::Existing(job) => job,
    };
    Ok(crate::views::accepted(job))
}
