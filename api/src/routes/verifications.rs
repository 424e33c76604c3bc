//! `POST /v1/verifications`: enqueue a verification run now (the scheduler also runs
//! one every hour); `202` with the job.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use kronos_shared::{
    db::jobs::{Inserted, NewJob},
    jobs::{payload::VerificationPayload, JobKind},
};

use crate::{error::ApiResult, extract::ValidJson, state::AppState, views::JobView};

/// Handler.
pub async fn create(State(state): State<AppState>, body: ValidJson<VerificationPayload>) -> ApiResult<Response> {
    let payload = body.value;
    if payload.limit < 1 || payload.limit > 1_000_000 {
        return Err(crate::error::ApiError::invalid("limit", "limit must be from 1 to 1000000"));
    }
    let payload = serde_json::to_value(&payload).map_err(kronos_shared::Error::from)?;
    let new = NewJob::new(JobKind::Verification, payload, 3);
    let job = match state.enqueuer.enqueue(new).await? {
        Inserted::Created(job) | Inserted::Existing(job) => job,
    };
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "job": JobView::from(job) }))).into_response())
}
