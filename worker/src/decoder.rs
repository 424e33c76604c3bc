//! Continuous batching of a device's interactive Kronos forecasts (as LLM servers
//! batch): a request joins the running decode of its model between two steps instead
//! of waiting for a batch to form or finish, and its job completes as soon as its own
//! last step is drawn (see `kronos_models::kronos::continuous`).
//!
//! One thread per device pool (`decode-{device}`) owns a [`ContinuousBatch`] and its
//! own copy of each model it has served; the models take turns step by step. Requests
//! whose window would slide (no exact cache) are not sent here: the dynamic batcher
//! runs them (see [`crate::batcher`]). A step that panics drops its model's batch (its
//! jobs fail as if the worker had stopped) and the thread goes on.

use std::{collections::HashMap, sync::Arc, thread};

use crossbeam_channel::{unbounded, Receiver, Sender};
use kronos_models::{
    kronos::{ContinuousBatch, ContinuousLimits, GenerateOptions, KronosError, KronosModel, SeriesRequest},
    ComputeDevice, Forecast, ForecastError,
};
use tokio::sync::oneshot;
use tracing::{error, info, warn};

use crate::{executor::ExecutorStopped, model_library::LocalModel};

type Outcome = Result<Forecast, ForecastError>;

/// One request for the decode thread.
struct Submission {
    model: Arc<LocalModel>,
    series: SeriesRequest,
    options: GenerateOptions,
    done: oneshot::Sender<Outcome>,
}

/// The submission side of a device's decode thread.
#[derive(Clone)]
pub struct ContinuousDecoder {
    tx: Sender<Submission>,
}

impl ContinuousDecoder {
    /// Starts the decode thread of `device` with `limits` per model.
    pub fn start(device: ComputeDevice, limits: ContinuousLimits) -> std::io::Result<Self> {
        let (tx, rx) = unbounded();
        thread::Builder::new().name(format!("decode-{device}")).spawn(move || decode_loop(&rx, device, limits))?;
        Ok(Self { tx })
    }

    /// Whether a request can decode continuously (its window never slides).
    pub fn accepts(series: &SeriesRequest, options: &GenerateOptions) -> bool {
        ContinuousBatch::<()>::accepts(series, options)
    }

    /// Forecasts one series `horizon` steps ahead (windows of at most `max_context`) in
    /// its model's running decode.
    pub async fn forecast(
        &self,
        model: Arc<LocalModel>,
        series: SeriesRequest,
        horizon: usize,
        max_context: usize,
    ) -> Result<Outcome, ExecutorStopped> {
        let options = GenerateOptions::new(horizon, max_context);
        let (done, result) = oneshot::channel();
        self.tx.send(Submission { model, series, options, done }).map_err(|_| ExecutorStopped)?;
        result.await.map_err(|_| ExecutorStopped)
    }
}

/// A model's weights on this device and its decode batch.
type Engine = (KronosModel, ContinuousBatch<oneshot::Sender<Outcome>>);

/// Takes submissions (blocking only while every batch is idle) and steps each busy
/// model's batch in turn, sending every finished request's result at once.
fn decode_loop(rx: &Receiver<Submission>, device: ComputeDevice, limits: ContinuousLimits) {
    let mut engines: HashMap<i64, Engine> = HashMap::new();
    loop {
        let busy = engines.values().any(|(_, batch)| !batch.is_idle());
        if !busy {
            match rx.recv() {
                Ok(first) => admit(&mut engines, first, device, limits),
                Err(_) => return,
            }
        }
        while let Ok(next) = rx.try_recv() {
            admit(&mut engines, next, device, limits);
        }
        let mut broken = Vec::new();
        for (&id, (model, batch)) in engines.iter_mut() {
            if batch.is_idle() {
                continue;
            }
            // libtorch reports some failures by panicking: a step that panics loses its
            // model's batch (its requests' jobs see the decoder gone and fail), not the
            // thread that serves every model of the device
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| batch.step(model))) {
                Ok(finished) => {
                    for (done, result) in finished {
                        let _ = done.send(outcome(result));
                    }
                }
                Err(_) => broken.push(id),
            }
        }
        for id in broken {
            error!(model_id = id, %device, "a continuous decode step panicked; its batch was dropped");
            engines.remove(&id);
        }
    }
}

/// Hands a submission to its model's batch, loading the model on first use.
fn admit(engines: &mut HashMap<i64, Engine>, s: Submission, device: ComputeDevice, limits: ContinuousLimits) {
    let engine = match engines.entry(s.model.id) {
        std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
        std::collections::hash_map::Entry::Vacant(entry) => {
            let started = std::time::Instant::now();
            match KronosModel::load(&s.model.dirs.tokenizer, &s.model.dirs.predictor, device.to_tch()) {
                Ok(model) => {
                    info!(model_id = s.model.id, %device, seconds = started.elapsed().as_secs_f64(), "loaded Kronos model for continuous decoding");
                    entry.insert((model, ContinuousBatch::new(limits)))
                }
                Err(e) => {
                    warn!(model_id = s.model.id, %device, error = %e, "could not load Kronos model");
                    let _ = s.done.send(Err(ForecastError::Model(e.to_string())));
                    return;
                }
            }
        }
    };
    if let Err((done, e)) = engine.1.submit(s.series, s.options, s.done) {
        let _ = done.send(outcome(Err(e)));
    }
}

/// A Kronos outcome in the platform's forecast shape.
pub(crate) fn outcome(result: Result<kronos_models::kronos::SeriesForecast, KronosError>) -> Outcome {
    match result {
        Ok(forecast) => Ok(forecast.to_forecast()),
        Err(KronosError::Cancelled) => Err(ForecastError::Cancelled),
        Err(e) => Err(ForecastError::Model(e.to_string())),
    }
}
