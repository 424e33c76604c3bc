//! `POST /v1/verifications`: enqueue a verification run now (the scheduler also runs
//! one every hour); `202` with the job.

use axum::{extract::State, http::HeaderMap, response::Response};
use kronos_db::jobs::NewJob;
use kronos_types::{jobs::payload::VerificationPayload, jobs::JobKind};

use crate::{error::ApiResult, extract::ValidJson, state::AppState};

/// Handler.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    ValidJson { value: payload, bytes }: ValidJson<VerificationPayload>,
) -> ApiResult<Response> {
    kronos_types::ranges::check_int("limit", payload.limit, 1, 1_000_000)?;
    let payload = serde_json::to_value(&payload).map_err(kronos_db::Error::from)?;
    crate::submit::submit(&state, &headers, &bytes, NewJob::new(JobKind::Verification, payload, 3)).await
}
