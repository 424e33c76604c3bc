//! Wake-ups across processes: every statement that inserts jobs notifies channel
//! [`JOBS_CHANNEL`] on commit (the `jobs_notify_dispatchers` trigger), so the one
//! dispatcher of a deployment (the scheduler's) moves a job submitted to any API
//! replica at once instead of on its next idle tick.

use std::time::Duration;

use futures::StreamExt;
use tokio_postgres::{AsyncMessage, NoTls};

/// The channel the jobs trigger notifies.
pub const JOBS_CHANNEL: &str = "kronos_jobs";

/// Longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Listens on [`JOBS_CHANNEL`] forever and calls `wake` for each notification (and
/// once after every reconnection, in case one was missed while disconnected).
/// Connection failures are logged and retried with backoff; the dispatcher's idle tick
/// keeps jobs moving meanwhile.
pub async fn listen_for_jobs(database_url: String, wake: impl Fn() + Send + 'static) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match listen_once(&database_url, &wake).await {
            Ok(()) => tracing::warn!("job notifications: connection closed; reconnecting"),
            Err(e) => tracing::warn!(error = %e, "job notifications: connection failed; retrying"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn listen_once(database_url: &str, wake: &impl Fn()) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = tokio_postgres::connect(database_url, NoTls).await?;
    let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
    // the connection only makes progress while it is polled: LISTEN runs beside it
    let statement = format!("LISTEN {JOBS_CHANNEL}");
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
