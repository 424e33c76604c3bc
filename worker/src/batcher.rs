//! Dynamic batching of prediction requests across concurrent jobs (as Triton's
//! dynamic batcher): requests queue up until `max_batch` are waiting or the oldest
//! has waited `max_wait`, then the whole batch runs as one call on the device.

use std::time::Duration;

use kronos_models::{baselines::Baseline, Bar, Forecast, ForecastError};
use tokio::sync::{mpsc, oneshot};

use crate::executor::{ComputeExecutor, ExecutorStopped};

/// One series to forecast.
#[derive(Debug, Clone)]
pub struct ForecastRequest {
    /// Model name.
    pub model: String,
    /// History, oldest first.
    pub history: Vec<Bar>,
    /// Steps.
    pub horizon: usize,
}

/// Why a batched forecast failed.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The model rejected the input.
    #[error(transparent)]
    Forecast(#[from] ForecastError),
    /// The device pool is shutting down.
    #[error(transparent)]
    Stopped(#[from] ExecutorStopped),
}

type Pending = (ForecastRequest, oneshot::Sender<Result<Forecast, ForecastError>>);

/// Batching limits.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// Most requests in one batch.
    pub max_batch: usize,
    /// Longest a request waits for others.
    pub max_wait: Duration,
}

/// The submission side of a device's batcher.
#[derive(Clone)]
pub struct Batcher {
    tx: mpsc::Sender<Pending>,
}

impl Batcher {
    /// Starts the batching task for `executor`.
    pub fn start(executor: ComputeExecutor, limits: BatchLimits) -> Self {
        let (tx, rx) = mpsc::channel(limits.max_batch.max(1) * 4);
        tokio::spawn(collect(rx, executor, limits));
        Self { tx }
    }

    /// Forecasts one series as part of whatever batch forms around it.
    pub async fn forecast(&self, request: ForecastRequest) -> Result<Forecast, BatchError> {
        let (done, result) = oneshot::channel();
        self.tx.send((request, done)).await.map_err(|_| ExecutorStopped)?;
        Ok(result.await.map_err(|_| ExecutorStopped)??)
    }
}

async fn collect(mut rx: mpsc::Receiver<Pending>, executor: ComputeExecutor, limits: BatchLimits) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + limits.max_wait;
        while batch.len() < limits.max_batch {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(next)) => batch.push(next),
                Ok(None) | Err(_) => break,
            }
        }
        let executor = executor.clone();
        tokio::spawn(async move {
            let _ = executor.run(move || run_batch(batch)).await;
        });
    }
}

/// Runs a batch on the compute thread. Baselines forecast series one by one; batched
/// tensor models (Kronos) run the whole batch in one forward pass per step.
fn run_batch(batch: Vec<Pending>) {
    for (request, done) in batch {
        let result = Baseline::from_name(&request.model).and_then(|m| m.forecast(&request.history, request.horizon));
        let _ = done.send(result);
    }
}
