//! CPU-heavy work of a request (polars indicators, the quality analysis of up to two
//! million bars, Parquet decoding) runs on tokio's blocking threads, never on the
//! async workers that serve every other request, and at most `limit` pieces at once
//! (`KRONOS_API_HEAVY_LIMIT`). A request that finds no free slot within `wait`
//! answers `503` rather than queueing without bound.

use std::{sync::Arc, time::Duration};

use tokio::sync::Semaphore;

use crate::error::{ApiError, ApiResult};

/// The bounded runner, shared by every handler through the app state.
#[derive(Debug, Clone)]
pub struct HeavyWork {
    slots: Arc<Semaphore>,
    wait: Duration,
}

impl HeavyWork {
    /// At most `limit` pieces at once (at least one); a request waits `wait` for a slot.
    pub fn new(limit: usize, wait: Duration) -> Self {
        Self { slots: Arc::new(Semaphore::new(limit.max(1))), wait }
    }

    /// Runs `work` on a blocking thread once a slot is free.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
        let slot = tokio::time::timeout(self.wait, Arc::clone(&self.slots).acquire_owned())
            .await
            .map_err(|_| ApiError::unavailable("the server is busy with heavy requests; retry shortly"))?
            .map_err(|_| ApiError::unavailable("the server is shutting down"))?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            work()
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "heavy work panicked");
            ApiError::internal()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_the_work_and_refuses_when_every_slot_stays_busy() {
        let heavy = HeavyWork::new(1, Duration::from_millis(50));
        assert_eq!(heavy.run(|| 2 + 2).await.unwrap(), 4);
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let busy = heavy.clone();
        let running = tokio::spawn(async move { busy.run(move || hold.recv().ok()).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let refused = heavy.run(|| ()).await.unwrap_err();
        assert_eq!(refused.status(), axum::http::StatusCode::SERVICE_UNAVAILABLE);
        release.send(()).unwrap();
        assert!(running.await.unwrap().is_ok());
        assert!(heavy.run(|| ()).await.is_ok(), "the slot is free again");
    }
}
