//! Wake-ups across processes: every statement that inserts jobs notifies channel
//! [`JOBS_CHANNEL`] on commit (the `jobs_notify_dispatchers` trigger), so the one
//! dispatcher of a deployment (the scheduler's) moves a job submitted to any API
//! replica at once instead of on its next idle tick; every transaction that ends jobs
//! notifies [`JOB_ENDS_CHANNEL`] (the `jobs_notify_job_ends` trigger), so the API's
//! event streams show a finished job at once instead of at their next read.

use std::time::Duration;

use futures::StreamExt;
use tokio_postgres::{AsyncMessage, NoTls};

/// The channel the jobs trigger notifies when jobs are inserted.
pub const JOBS_CHANNEL: &str = "kronos_jobs";

/// The channel notified when jobs end (succeeded, failed or cancelled).
pub const JOB_ENDS_CHANNEL: &str = "kronos_job_ends";

/// Longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Listens on [`JOBS_CHANNEL`] forever and calls `wake` for each notification (and
/// once after every reconnection, in case one was missed while disconnected).
/// Connection failures are logged and retried with backoff; the dispatcher's idle tick
/// keeps jobs moving meanwhile.
pub async fn listen_for_jobs(database_url: String, wake: impl Fn() + Send + 'static) {
    listen(database_url, JOBS_CHANNEL, wake).await
}

/// Listens on `channel` forever, as [`listen_for_jobs`] does on its channel.
pub async fn listen(database_url: String, channel: &'static str, wake: impl Fn() + Send + 'static) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match listen_once(&database_url, channel, &wake).await {
            Ok(()) => tracing::warn!(channel, "notifications: connection closed; reconnecting"),
            Err(e) => tracing::warn!(channel, error = %e, "notifications: connection failed; retrying"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn listen_once(database_url: &str, channel: &str, wake: &impl Fn()) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = tokio_postgres::connect(database_url, NoTls).await?;
    let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
    // the connection only makes progress while it is polled: LISTEN runs beside it
    let statement = format!("LISTEN {channel}");
    let listen = client.batch_execute(&statement);
    tokio::pin!(listen);
    let mut listening = false;
    loop {
        tokio::select! {
            done = &mut listen, if !listening => {
                done?;
                listening = true;
                wake();
            }
            message = messages.next() => match message {
                Some(Ok(AsyncMessage::Notification(_))) => wake(),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
        }
    }
}
