//! Batching of prediction requests across concurrent jobs. Interactive Kronos
//! requests whose window never slides decode continuously ([`crate::decoder`]: they
//! join the running decode between steps and leave when done). Everything else is
//! batched dynamically (as Triton's dynamic batcher): requests queue up until
//! `max_batch` are waiting or the oldest has waited `max_wait`, then the whole batch
//! runs on the device's compute thread. Kronos requests for the same model, horizon and
//! window run as one batched generation; baselines run one by one (they take
//! microseconds).
//!
//! Two lanes: interactive requests (predictions, backtests, evaluations) and bulk
//! requests (batch chunks). Bulk work yields to interactive work: bulk batches run on
//! at most all but one of the device's compute threads, with their own copy of the
//! model (so a thread and a model are free for a person's forecast); while interactive requests come (one arrived within
//! [`INTERACTIVE_QUIET`] or one runs) bulk batches hold a quarter of the batch size (so
//! the bulk call already running when a forecast arrives ends soon) and a new bulk batch
//! waits while interactive batches run (at most [`BULK_YIELD`], so batches are never
//! starved); when the interactive lane is quiet, bulk batches take the full batch size.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use kronos_models::{
    baselines::Baseline,
    kronos::{ContinuousLimits, GenerateOptions, KronosModel, SeriesRequest},
    Bar, ComputeDevice, Forecast, ForecastError,
};
use tokio::sync::{mpsc, oneshot};
use tracing::info;

use crate::{
    decoder::{outcome, ContinuousDecoder},
    executor::{ComputeExecutor, ExecutorStopped},
    model_library::LocalModel,
};

/// What runs a request.
#[derive(Debug, Clone)]
pub enum RequestModel {
    /// A baseline, by name, with the history it forecasts from (oldest first).
    Baseline(String, Vec<Bar>),
    /// A registered Kronos model.
    Kronos {
        /// Its local weights.
        model: Arc<LocalModel>,
        /// The series with its time features and sampling settings.
        series: Box<SeriesRequest>,
        /// Longest window.
        max_context: usize,
    },
}

/// One series to forecast.
#[derive(Debug, Clone)]
pub struct ForecastRequest {
    /// The model.
    pub model: RequestModel,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Most requests in one batch.
    pub max_batch: usize,
    /// Longest a request waits for others.
    pub max_wait: Duration,
}

/// Longest a bulk batch waits for running interactive batches to end.
pub const BULK_YIELD: Duration = Duration::from_millis(500);

/// How long after the last interactive request bulk batches stay small.
pub const INTERACTIVE_QUIET: Duration = Duration::from_secs(3);

/// Interactive batches running on a device, when the last request came, and a wake-up
/// when a batch ends.
#[derive(Default)]
struct InteractiveLoad {
    running: std::sync::atomic::AtomicUsize,
    last_request: Mutex<Option<tokio::time::Instant>>,
    ended: tokio::sync::Notify,
}

impl InteractiveLoad {
    /// Notes an interactive request's arrival.
    fn arrived(&self) {
        if let Ok(mut last) = self.last_request.lock() {
            *last = Some(tokio::time::Instant::now());
        }
    }

    /// Whether interactive work runs or came within [`INTERACTIVE_QUIET`].
    fn active(&self) -> bool {
        use std::sync::atomic::Ordering;
        let recent = self
            .last_request
            .lock()
            .map(|last| last.is_some_and(|at| at.elapsed() < INTERACTIVE_QUIET))
            .unwrap_or(true);
        recent || self.running.load(Ordering::Acquire) > 0
    }

    /// Counts an interactive batch (or request) running until the guard drops.
    fn running(self: &Arc<Self>) -> RunningGuard {
        self.running.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        RunningGuard(Arc::clone(self))
    }

    /// Waits until no interactive batch runs, or `most` has passed.
    async fn yield_to(&self, most: Duration) {
        use std::sync::atomic::Ordering;
        let deadline = tokio::time::Instant::now() + most;
        loop {
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if self.running.load(Ordering::Acquire) == 0 {
                return;
            }
            if tokio::time::timeout_at(deadline, ended).await.is_err() {
                return;
            }
        }
    }
}

/// An interactive batch or request running; its end wakes the bulk lane.
struct RunningGuard(Arc<InteractiveLoad>);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
        self.0.ended.notify_waiters();
    }
}

/// Which lane a collector serves.
enum Lane {
    /// Notes its requests and counts its running batches.
    Interactive(Arc<InteractiveLoad>),
    /// Runs on the free slots, after interactive work; `small` is its batch size while
    /// interactive work is active.
    Bulk { slots: Arc<tokio::sync::Semaphore>, interactive: Arc<InteractiveLoad>, small: usize },
}

impl Lane {
    /// Most requests in the batch about to form.
    fn batch_size(&self, limits: &BatchLimits) -> usize {
        match self {
            Lane::Interactive(_) => limits.max_batch,
            Lane::Bulk { interactive, small, .. } if interactive.active() => *small,
            Lane::Bulk { .. } => limits.max_batch,
        }
    }
}

/// Kronos models loaded on one device, by registry id.
type LoadedModels = Arc<Mutex<HashMap<i64, KronosModel>>>;

/// The submission side of a device's batcher.
#[derive(Clone)]
pub struct Batcher {
    tx: mpsc::Sender<Pending>,
    bulk: mpsc::Sender<Pending>,
    decoder: Option<ContinuousDecoder>,
    load: Arc<InteractiveLoad>,
}

impl Batcher {
    /// Starts the batching tasks for `executor` (`threads` compute threads on `device`)
    /// and, with `decoding` limits, the device's continuous decoder.
    pub fn start(
        executor: ComputeExecutor,
        device: ComputeDevice,
        limits: BatchLimits,
        threads: usize,
        decoding: Option<ContinuousLimits>,
    ) -> std::io::Result<Self> {
        let decoder = decoding.map(|limits| ContinuousDecoder::start(device, limits)).transpose()?;
        let (tx, rx) = mpsc::channel(limits.max_batch.max(1) * 4);
        let (bulk, bulk_rx) = mpsc::channel(limits.max_batch.max(1) * 4);
        // each lane has its own copy of a model (a model runs one call at a time), so a
        // person's forecast never waits for a bulk call to end: the two run side by side
        let load = Arc::new(InteractiveLoad::default());
        let interactive = Lane::Interactive(Arc::clone(&load));
        tokio::spawn(collect(rx, executor.clone(), device, LoadedModels::default(), limits, interactive));
        let slots = Arc::new(tokio::sync::Semaphore::new(threads.saturating_sub(1).max(1)));
        let lane = Lane::Bulk { slots, interactive: Arc::clone(&load), small: (limits.max_batch / 4).max(1) };
        tokio::spawn(collect(bulk_rx, executor, device, LoadedModels::default(), limits, lane));
        Ok(Self { tx, bulk, decoder, load })
    }

    /// Forecasts one series for a person or a backtest (interactive lane): with a
    /// continuous decoder, a Kronos request whose window never slides joins its model's
    /// running decode; anything else is part of whatever batch forms around it.
    pub async fn forecast(&self, request: ForecastRequest) -> Result<Forecast, BatchError> {
        match (request.model, &self.decoder) {
            (RequestModel::Kronos { model, series, max_context }, Some(decoder))
                if ContinuousDecoder::accepts(&series, &GenerateOptions::new(request.horizon, max_context)) =>
            {
                self.load.arrived();
                let _running = self.load.running();
                Ok(decoder.forecast(model, *series, request.horizon, max_context).await??)
            }
            (model, _) => Self::submit(&self.tx, ForecastRequest { model, horizon: request.horizon }).await,
        }
    }

    /// Forecasts one series of a bulk batch (bulk lane: never more than all but one of
    /// the compute threads).
    pub async fn forecast_bulk(&self, request: ForecastRequest) -> Result<Forecast, BatchError> {
        Self::submit(&self.bulk, request).await
    }

    async fn submit(lane: &mpsc::Sender<Pending>, request: ForecastRequest) -> Result<Forecast, BatchError> {
        let (done, result) = oneshot::channel();
        lane.send((request, done)).await.map_err(|_| ExecutorStopped)?;
        Ok(result.await.map_err(|_| ExecutorStopped)??)
    }
}

/// Gathers a lane's requests into batches and runs them (see [`Lane`]).
async fn collect(
    mut rx: mpsc::Receiver<Pending>,
    executor: ComputeExecutor,
    device: ComputeDevice,
    loaded: LoadedModels,
    limits: BatchLimits,
    lane: Lane,
) {
    while let Some(first) = rx.recv().await {
        if let Lane::Interactive(load) = &lane {
            load.arrived();
        }
        let size = lane.batch_size(&limits);
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + limits.max_wait;
        while batch.len() < size {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(next)) => batch.push(next),
                Ok(None) | Err(_) => break,
            }
        }
        let (permit, load) = match &lane {
            Lane::Bulk { slots, interactive, .. } => {
                interactive.yield_to(BULK_YIELD).await;
                match Arc::clone(slots).acquire_owned().await {
                    Ok(permit) => (Some(permit), None),
                    Err(_) => return,
                }
            }
            Lane::Interactive(load) => (None, Some(load.running())),
        };
        let executor = executor.clone();
        let loaded = Arc::clone(&loaded);
        tokio::spawn(async move {
            let _ = executor.run(move || run_batch(batch, device, &loaded)).await;
            drop(permit);
            drop(load);
        });
    }
}

/// Key of requests that can share one Kronos generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct GroupKey {
    model_id: i64,
    horizon: usize,
    max_context: usize,
}

/// A Kronos request waiting for its group's generation.
type GroupMember = (Arc<LocalModel>, SeriesRequest, oneshot::Sender<Result<Forecast, ForecastError>>);

/// Runs a batch on the compute thread.
fn run_batch(batch: Vec<Pending>, device: ComputeDevice, loaded: &LoadedModels) {
    let mut groups: HashMap<GroupKey, Vec<GroupMember>> = HashMap::new();
    for (request, done) in batch {
        match request.model {
            RequestModel::Baseline(name, history) => {
                let result = Baseline::from_name(&name).and_then(|m| m.forecast(&history, request.horizon));
                let _ = done.send(result);
            }
            RequestModel::Kronos { model, series, max_context } => {
                let key = GroupKey { model_id: model.id, horizon: request.horizon, max_context };
                groups.entry(key).or_default().push((model, *series, done));
            }
        }
    }
    for (key, members) in groups {
        let (models, rest): (Vec<_>, Vec<_>) = members.into_iter().map(|(m, s, d)| (m, (s, d))).unzip();
        let (series, senders): (Vec<SeriesRequest>, Vec<_>) = rest.into_iter().unzip();
        match run_kronos(key, &models[0], &series, device, loaded) {
            // each request has its own outcome: a bad series fails only its own job
            Ok(results) => {
                for (result, done) in results.into_iter().zip(senders) {
                    let _ = done.send(result);
                }
            }
            // the model itself could not be loaded: every request of the group needs it
            Err(e) => {
                for done in senders {
                    let _ = done.send(Err(e.clone()));
                }
            }
        }
    }
}

fn run_kronos(
    key: GroupKey,
    local: &LocalModel,
    series: &[SeriesRequest],
    device: ComputeDevice,
    loaded: &LoadedModels,
) -> Result<Vec<Result<Forecast, ForecastError>>, ForecastError> {
    let mut models = loaded.lock().map_err(|_| ForecastError::Model("model cache poisoned".into()))?;
    let model = match models.entry(key.model_id) {
        std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
        std::collections::hash_map::Entry::Vacant(entry) => {
            let started = std::time::Instant::now();
            let model = KronosModel::load(&local.dirs.tokenizer, &local.dirs.predictor, device.to_tch())
                .map_err(|e| ForecastError::Model(e.to_string()))?;
            info!(model_id = key.model_id, %device, seconds = started.elapsed().as_secs_f64(), "loaded Kronos model");
            entry.insert(model)
        }
    };
    let options = GenerateOptions::new(key.horizon, key.max_context);
    let started = std::time::Instant::now();
    let results = model.forecast_each(series, &options);
    tracing::debug!(
        model_id = key.model_id,
        series = series.len(),
        seconds = started.elapsed().as_secs_f64(),
        "Kronos batch"
    );
    Ok(results.into_iter().map(outcome).collect())
}
