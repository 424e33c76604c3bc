//! Email jobs: deliver one message of the outbox. A message already delivered is not
//! sent again (a repeated or late delivery of the job succeeds without sending); an
//! SMTP outage fails the attempt for a retry with backoff; a recipient the server
//! refuses for good fails the job.

use chrono::Utc;
use kronos_db::{jobs::Claimed, outbox};
use kronos_types::jobs::{payload::EmailPayload, results::EmailResult};

use super::{JobFailure, Outcome};
use crate::{error::Error as SharedError, mailer::SendError, pool::PoolContext};

/// Runs one claimed email job.
pub async fn run(ctx: &PoolContext, job: &Claimed) -> Result<Outcome, JobFailure> {
    let payload: EmailPayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobFailure::permanent(format!("unreadable email payload: {e}")))?;
    let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
    let email = outbox::find(&mut conn, payload.outbox_id)
        .await?
        .ok_or_else(|| JobFailure::permanent(format!("no outbox message {}", payload.outbox_id)))?;
    if let Some(sent_at) = email.sent_at {
        drop(conn);
        let result = EmailResult { outbox_id: email.id, kind: email.kind, delivered_at: sent_at, sent_now: false };
        return super::succeed_with(ctx, job, &result).await;
    }
    outbox::attempt(&mut conn, email.id).await?;
    drop(conn);
    match ctx.mailer.send(&email).await {
        Ok(()) => {
            let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
            outbox::mark_sent(&mut conn, email.id).await?;
            drop(conn);
            tracing::info!(outbox.id = %email.id, kind = email.kind.as_str(), "email delivered");
            let result =
                EmailResult { outbox_id: email.id, kind: email.kind, delivered_at: Utc::now(), sent_now: true };
            super::succeed_with(ctx, job, &result).await
        }
        Err(e) => {
            let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
            outbox::mark_failed(&mut conn, email.id, &e.to_string()).await?;
            match e {
                SendError::Permanent(m) => Err(JobFailure::permanent(m)),
                SendError::Transient(m) => Err(JobFailure::transient(m)),
            }
        }
    }
}
