//! `GET /v1/jobs/{id}/events`: the job's status as server-sent events — its state now,
//! then each change (status, progress, cancellation asked), ending after the job
//! finishes with an `end` event; a comment every 15 s keeps proxies from closing it.

use std::{convert::Infallible, sync::Arc};

use axum::{extract::State, response::sse::Event, response::IntoResponse};
use futures::{stream, Stream};
use kronos_db::jobs::Job;
use tokio::sync::watch;

use super::{parse_id, visible};
use crate::{
    auth::Caller,
    dto::jobs::JobView,
    error::{ApiError, ApiResult},
    extract::ApiPath,
    sse::{self, ended, job_event},
    state::AppState,
};

/// Handler.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}/events", operation_id = "jobEvents",
    tag = "jobs",
    params(("id" = uuid::Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "`job` events (data: the job, as `GET /v1/jobs/{id}` shows it), then \
            `end` once it finished", content_type = "text/event-stream", body = String),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn events(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(raw): ApiPath<String>,
) -> ApiResult<impl IntoResponse> {
    let id = parse_id(&raw)?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let job =
        visible(&mut conn, id, &caller).await?.ok_or_else(|| ApiError::not_found(format!("job {id} not found")))?;
    drop(conn);
    Ok(sse::respond(changes(state.live.job(job))))
}

enum Step {
    First(watch::Receiver<Arc<Job>>),
    Next(watch::Receiver<Arc<Job>>),
    End,
    Done,
}

/// The job's state now, each change, and `end` after the last.
fn changes(receiver: watch::Receiver<Arc<Job>>) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(Step::First(receiver), |step| async move {
        let (job, receiver) = match step {
            Step::First(mut receiver) => {
                let job = receiver.borrow_and_update().clone();
                (job, receiver)
            }
            Step::Next(mut receiver) => {
                // the watcher went away (the process stops): the client reconnects
                receiver.changed().await.ok()?;
                let job = receiver.borrow_and_update().clone();
                (job, receiver)
            }
            Step::End => return Some((Ok(ended()), Step::Done)),
            Step::Done => return None,
        };
        let next = if job.status.is_terminal() { Step::End } else { Step::Next(receiver) };
        Some((Ok(job_event(&JobView::from((*job).clone()))), next))
    })
}
