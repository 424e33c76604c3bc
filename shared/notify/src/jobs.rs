//! A user's job finished or failed: an email of that job kind's notification kind
//! (`prediction_jobs`, `training_jobs`, `backtest_jobs`, `evaluation_jobs`: opt-in).

use diesel_async::AsyncPgConnection;
use kronos_db::users;
use kronos_email::jobs::{failed, finished};
use kronos_types::{accounts::EmailKind, jobs::JobKind};
use uuid::Uuid;

use crate::{error::Result, send::send, Links};

/// The page a job kind's results are on.
fn page(kind: JobKind) -> &'static str {
    match kind {
        JobKind::Training => "/models",
        JobKind::Backtest | JobKind::Evaluation => "/backtests",
        _ => "/history",
    }
}

/// Emails `owner` that their job `id` (of `job_kind`) succeeded (`error` `None`) or
/// failed for good, when they asked for this kind of job; whether an email was queued.
pub async fn job_ended(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    job_kind: JobKind,
    owner: i64,
    error: Option<&str>,
    links: Links<'_>,
) -> Result<bool> {
    let Some(kind) = EmailKind::of_job(job_kind) else { return Ok(false) };
    let Some(user) = users::find(conn, owner).await? else { return Ok(false) };
    let what = job_kind.as_str();
    let id = id.to_string();
    let link = links.page(page(job_kind));
    send(conn, &user, kind, links, &link, |to| match error {
        None => finished(to, what, &id),
        Some(error) => failed(to, what, &id, error),
    })
    .await
}
