//! `POST /v1/verifications`: enqueue a verification run now (the scheduler also runs
//! one every hour); `202` with the job.

use axum::{extract::State, http::HeaderMap, response::Response};
use kronos_db::jobs::NewJob;
use kronos_types::jobs::JobKind;

use crate::{dto::verifications::CreateVerification, error::ApiResult, extract::ValidJson, state::AppState};

/// Handler.
#[utoipa::path(
    post,
    path = "/v1/verifications", operation_id = "createVerification",
    tag = "verifications",
    request_body = crate::dto::verifications::CreateVerification,
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
    ValidJson { value: request, bytes }: ValidJson<CreateVerification>,
) -> ApiResult<Response> {
    let payload = request.into_payload();
    kronos_types::ranges::check_int("limit", payload.limit, 1, 1_000_000)?;
    let payload = serde_json::to_value(&payload).map_err(kronos_db::Error::from)?;
    crate::submit::submit(&state, &caller, &headers, &bytes, NewJob::new(JobKind::Verification, payload, 3), None).await
}
