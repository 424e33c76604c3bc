//! `GET /v1/jobs/events?kind=`: the caller's jobs as server-sent events — a `ready`
//! event, then a `job` event whenever one of their jobs created in the last 24 hours
//! is created or changes; `lagged` when the client fell behind and should reread
//! `GET /v1/jobs`. It stays open (a comment every 15 s) until the client leaves.

use std::{convert::Infallible, sync::Arc};

use axum::{extract::State, response::sse::Event, response::IntoResponse};
use futures::{stream, Stream, StreamExt};
use kronos_db::jobs::Job;
use kronos_types::jobs::JobKind;
use serde::Deserialize;
use tokio::sync::broadcast::{self, error::RecvError};

use crate::{
    auth::Caller,
    dto::jobs::JobView,
    error::ApiResult,
    extract::ApiQuery,
    sse::{self, job_event},
    state::AppState,
};

/// Query parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// Only jobs of this kind.
    #[param(value_type = Option<JobKind>)]
    kind: Option<String>,
}

/// Handler.
#[utoipa::path(
    get,
    path = "/v1/jobs/events", operation_id = "myJobEvents",
    tag = "jobs",
    params(FeedParams),
    responses(
        (status = 200, description = "`ready`, then `job` events (data: the job, as `GET /v1/jobs/{id}` shows \
            it) as the caller's jobs change; `lagged` when some were missed", content_type = "text/event-stream",
            body = String),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn feed(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<FeedParams>,
) -> ApiResult<impl IntoResponse> {
    let kind = params.kind.map(|k| k.parse::<JobKind>()).transpose()?;
    let receiver = state.live.owner(caller.user_id);
    let ready = stream::once(async { Ok(Event::default().event("ready").data("{}")) });
    Ok(sse::respond(ready.chain(changes(receiver, kind))))
}

/// The changes `receiver` brings of jobs of `kind` (any when `None`).
fn changes(
    receiver: broadcast::Receiver<Arc<Job>>,
    kind: Option<JobKind>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(receiver, move |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(job) if kind.is_none_or(|k| job.kind == k) => {
                    return Some((Ok(job_event(&JobView::from((*job).clone()))), receiver));
                }
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => {
                    let event = Event::default().event("lagged").data(format!("{{\"missed\": {missed}}}"));
                    return Some((Ok(event), receiver));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    })
}
