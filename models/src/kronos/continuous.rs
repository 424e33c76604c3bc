//! Continuous batching: forecasts join a running decode between steps, as LLM servers
//! batch requests (Orca's iteration-level scheduling).
//!
//! [`ContinuousBatch`] keeps one decode batch of sample paths with a key/value cache
//! per row. Each [`ContinuousBatch::step`] first drops the rows of cancelled requests,
//! then admits the requests waiting (oldest first, as many as the row and cache-memory
//! limits allow): their histories are tokenized and run through the predictor once
//! per series (the shared prefix), the first step is drawn, and their caches join the
//! running ones. Then every row decodes one position, and each request whose last step
//! is drawn leaves at once: its paths are decoded by the tokenizer and its forecast is
//! returned while the others go on.
//!
//! Rows of a batch are aligned on the right (row `r`'s first `pad[r]` columns are
//! padding; positions restart at each row's first real column), so joining is a copy of
//! the caches into a wider layout, trimmed on the left to the longest row.
//!
//! Exactness: a path draws the same tokens as it would running alone through
//! [`KronosModel::forecast`] with the same seed: the same prefill, the same cached
//! decode, its own generator. Only requests whose window never slides are taken (the
//! others have no exact cache; see [`ContinuousBatch::accepts`]).

use std::collections::VecDeque;

use tch::Device;

use super::attention::{key_padding_mask, AttentionContext};
use super::decode_layout::{decode_rows, prefill, Layout, Newcomer, SPARE_COLUMNS};
use super::inference::{validate_options, GenerateOptions};
use super::model::KronosModel;
use super::paths::{draw, report_step, PathRow};
use super::series::{check_series, summarise, Normalisation, SeriesForecast, SeriesRequest};
use super::KronosError;

/// Limits of one device's decode batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContinuousLimits {
    /// Most sample paths decoding together (a request with more paths than this runs
    /// when the batch is empty).
    pub max_rows: usize,
    /// Most bytes of key/value cache (the same exception).
    pub max_cache_bytes: i64,
}

impl ContinuousLimits {
    /// Defaults for a device: on a CPU 32 rows (the pass size that runs fastest per row,
    /// see `ops/bench-kronos`) and 2 GiB of cache; on a GPU 256 rows and 16 GiB.
    pub fn for_device(device: Device) -> Self {
        if device.is_cuda() {
            Self { max_rows: 256, max_cache_bytes: 16 << 30 }
        } else {
            Self { max_rows: super::inference::CPU_ROWS_PER_PASS, max_cache_bytes: 2 << 30 }
        }
    }
}

/// What one step handed back: a finished request's tag and outcome.
pub type Finished<T> = (T, Result<SeriesForecast, KronosError>);

/// A request waiting to join.
struct Waiting<T> {
    request: SeriesRequest,
    options: GenerateOptions,
    tag: T,
}

/// A request decoding.
struct Running<T> {
    request: SeriesRequest,
    options: GenerateOptions,
    norm: Normalisation,
    tag: T,
    /// Its paths' rows in the layout, path by path.
    rows: Vec<usize>,
    /// Steps still to draw.
    remaining: usize,
}

/// A decode batch that requests join and leave between steps (see the module docs).
/// `T` tags each request (for instance, where its result goes).
pub struct ContinuousBatch<T> {
    limits: ContinuousLimits,
    waiting: VecDeque<Waiting<T>>,
    running: Vec<Running<T>>,
    /// One per row of the layout, in the same order.
    rows: Vec<PathRow>,
    layout: Option<Layout>,
    next_series: usize,
}

impl<T> ContinuousBatch<T> {
    /// An empty batch.
    pub fn new(limits: ContinuousLimits) -> Self {
        Self { limits, waiting: VecDeque::new(), running: Vec::new(), rows: Vec::new(), layout: None, next_series: 0 }
    }

    /// Whether a request can decode here: its window never slides (history + steps − 1
    /// ≤ max_context), so its cache stays exact.
    pub fn accepts(request: &SeriesRequest, options: &GenerateOptions) -> bool {
        request.history.len() + options.pred_len.saturating_sub(1) <= options.max_context
    }

    /// Queues a request; it joins at the next step that has room. Unusable requests are
    /// refused at once, with their tag.
    pub fn submit(&mut self, request: SeriesRequest, options: GenerateOptions, tag: T) -> Result<(), (T, KronosError)> {
        let checked = validate_options(&options).and_then(|()| check_series(&request, &options)).and_then(|()| {
            if Self::accepts(&request, &options) {
                Ok(())
            } else {
                Err(KronosError::Param("max_context", "the window slides: forecast this request alone".into()))
            }
        });
        match checked {
            Ok(()) => {
                self.waiting.push_back(Waiting { request, options, tag });
                Ok(())
            }
            Err(e) => Err((tag, e)),
        }
    }

    /// Whether nothing waits or decodes.
    pub fn is_idle(&self) -> bool {
        self.waiting.is_empty() && self.running.is_empty()
    }

    /// Sample paths decoding now.
    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    /// Requests waiting to join.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Bytes of key/value cache held now.
    pub fn cache_bytes(&self) -> i64 {
        self.layout.as_ref().map_or(0, |layout| layout.cache.bytes())
    }

    /// One iteration: drop cancelled requests, admit waiting ones, decode one position
    /// for every row, hand back the requests that finished (or were cancelled).
    pub fn step(&mut self, model: &KronosModel) -> Vec<Finished<T>> {
        let mut done = Vec::new();
        let (cancelled, waiting): (Vec<_>, Vec<_>) = self.waiting.drain(..).partition(|w| is_cancelled(&w.request));
        self.waiting = waiting.into();
        done.extend(cancelled.into_iter().map(|w| (w.tag, Err(KronosError::Cancelled))));
        self.leave(|r| is_cancelled(&r.request), &mut done, |_| Err(KronosError::Cancelled));

        let admitted = self.admissible(model);
        let outcome = tch::no_grad(|| -> Result<(), KronosError> {
            if !admitted.is_empty() {
                self.join(model, admitted)?;
            }
            self.finish(model, &mut done)?;
            if !self.running.is_empty() {
                self.decode_step(model)?;
                self.finish(model, &mut done)?;
            }
            Ok(())
        });
        if outcome.is_err() {
            // a failure no check foresaw: every request still here runs alone, so it
            // stays with the request that causes it (a path's tokens do not change)
            self.layout = None;
            self.rows.clear();
            for running in std::mem::take(&mut self.running) {
                let result = model.forecast_each(std::slice::from_ref(&running.request), &running.options);
                let result = result.into_iter().next().unwrap_or(Err(KronosError::Cancelled));
                done.push((running.tag, result));
            }
        }
        done
    }

    /// Takes the waiting requests that fit, oldest first (none overtakes the oldest).
    fn admissible(&mut self, model: &KronosModel) -> Vec<Waiting<T>> {
        let config = model.predictor.config();
        let d = config.d_model as i64;
        let column_bytes = (config.n_layers as i64 + 1) * 2 * d * model.kind().elt_size_in_bytes() as i64;
        let mut rows = self.rows.len();
        let (mut width, mut remaining) = match &self.layout {
            Some(layout) => (
                layout.width - layout.pads.iter().copied().min().unwrap_or(0),
                self.running.iter().map(|r| r.remaining as i64).max().unwrap_or(0),
            ),
            None => (0, 0),
        };
        let mut admitted = Vec::new();
        while let Some(next) = self.waiting.front() {
            let paths = next.request.sampling.samples;
            let next_width = width.max(next.request.history.len() as i64 + 1);
            let next_remaining = remaining.max(next.options.pred_len as i64 - 1);
            let bytes = (rows + paths) as i64 * (next_width + next_remaining + SPARE_COLUMNS) * column_bytes;
            let alone = rows == 0;
            if !alone && (rows + paths > self.limits.max_rows || bytes > self.limits.max_cache_bytes) {
                break;
            }
            rows += paths;
            width = next_width;
            remaining = next_remaining;
            admitted.extend(self.waiting.pop_front());
        }
        admitted
    }

    /// Prefills the newcomers (once per series), draws their first step and joins their
    /// rows to the layout. The newcomers count as running from the start, so a failure
    /// part way leaves them with the others for [`ContinuousBatch::step`]'s fallback.
    fn join(&mut self, model: &KronosModel, newcomers: Vec<Waiting<T>>) -> Result<(), KronosError> {
        let first_new = self.running.len();
        for w in newcomers {
            self.running.push(Running {
                rows: Vec::new(),
                remaining: w.options.pred_len - 1,
                norm: Normalisation::of(&w.request.history),
                request: w.request,
                options: w.options,
                tag: w.tag,
            });
        }
        let newcomers: Vec<Newcomer<'_>> = self.running[first_new..]
            .iter()
            .map(|r| {
                let series = self.next_series;
                self.next_series = self.next_series.wrapping_add(1);
                Newcomer { request: &r.request, norm: &r.norm, pred_len: r.options.pred_len, series }
            })
            .collect();
        let (part, rows) = prefill(model, &newcomers)?;
        let remaining = self.running.iter().map(|r| r.remaining as i64).max().unwrap_or(0);
        let first_row = match self.layout.as_mut() {
            Some(layout) if layout.fits(&part, remaining) => {
                let first = layout.rows();
                layout.insert(&part);
                first
            }
            _ => {
                let first = self.layout.as_ref().map_or(0, Layout::rows);
                let row_capacity = (first + part.rows()).next_power_of_two().min(self.limits.max_rows);
                self.layout = Some(Layout::merged(self.layout.take(), part, remaining, row_capacity));
                first
            }
        };
        let mut row = first_row;
        for running in &mut self.running[first_new..] {
            running.rows = (row..row + running.request.sampling.samples).collect();
            row += running.rows.len();
        }
        self.rows.extend(rows);
        Ok(())
    }

    /// Decodes one position for every row and draws the next step.
    fn decode_step(&mut self, model: &KronosModel) -> Result<(), KronosError> {
        let device = model.device();
        let predictor = &model.predictor;
        let Some(layout) = self.layout.as_mut() else { return Ok(()) };
        let end = layout.width;
        let ctx = AttentionContext::new(predictor.inv_freq(), &layout.pads, end - 1, 1, end);
        let hidden = predictor.hidden(
            &layout.live(&layout.s1).narrow(1, end - 1, 1),
            &layout.live(&layout.s2).narrow(1, end - 1, 1),
            &layout.live(&layout.stamps).narrow(1, end - 1, 1),
            &ctx,
            Some(&mut layout.cache),
            false,
        );
        let keys = predictor.dependency_keys(&hidden, Some(&mut layout.cache));
        let last = hidden.select(1, -1);
        let alive: Vec<usize> = (0..self.rows.len()).collect();
        let s1_next = draw(&mut self.rows, &alive, &predictor.s1_logits(&last), device)?;
        let key_mask = key_padding_mask(&layout.pads, end, device);
        let s2_logits = predictor.s2_logits(&last, &s1_next, &keys, key_mask.as_ref());
        let s2_next = draw(&mut self.rows, &alive, &s2_logits, device)?;
        layout.live(&layout.s1).narrow(1, end, 1).copy_(&s1_next.unsqueeze(1));
        layout.live(&layout.s2).narrow(1, end, 1).copy_(&s2_next.unsqueeze(1));
        layout.width += 1;
        report_step(&self.rows, &alive);
        for running in &mut self.running {
            running.remaining -= 1;
        }
        Ok(())
    }

    /// Hands back every request whose last step is drawn: its paths decoded by the
    /// tokenizer and summarised; its rows leave the batch.
    fn finish(&mut self, model: &KronosModel, done: &mut Vec<Finished<T>>) -> Result<(), KronosError> {
        if !self.running.iter().any(|r| r.remaining == 0) {
            return Ok(());
        }
        let Some(layout) = self.layout.as_ref() else { return Ok(()) };
        let mut forecasts = Vec::new();
        for running in self.running.iter().filter(|r| r.remaining == 0) {
            let paths = decode_rows(model, layout, &running.rows, running.request.history.len(), &running.options)?;
            forecasts.push(summarise(&running.request, &running.norm, paths));
        }
        let mut forecasts = forecasts.into_iter();
        self.leave(
            |r| r.remaining == 0,
            done,
            |_| match forecasts.next() {
                Some(f) if f.is_finite() => Ok(f),
                Some(_) => Err(KronosError::Input("the forecast is not finite (the series is degenerate)".to_owned())),
                None => Err(KronosError::Cancelled),
            },
        );
        Ok(())
    }

    /// Removes the requests `which` picks (and their rows), handing each back with the
    /// outcome `outcome` gives it (called in the order of the requests).
    fn leave(
        &mut self,
        which: impl Fn(&Running<T>) -> bool,
        done: &mut Vec<Finished<T>>,
        mut outcome: impl FnMut(&Running<T>) -> Result<SeriesForecast, KronosError>,
    ) {
        if !self.running.iter().any(&which) {
            return;
        }
        let mut leaving: Vec<usize> = Vec::new();
        let mut kept = Vec::new();
        for running in std::mem::take(&mut self.running) {
            if which(&running) {
                leaving.extend(&running.rows);
                let result = outcome(&running);
                done.push((running.tag, result));
            } else {
                kept.push(running);
            }
        }
        self.running = kept;
        if self.running.is_empty() {
            self.layout = None;
            self.rows.clear();
            return;
        }
        leaving.sort_unstable();
        let Some(layout) = self.layout.as_mut() else { return };
        let moves = layout.remove_rows(&leaving);
        // the path rows follow their rows; the requests learn where their rows went
        let mut rows: Vec<Option<PathRow>> = std::mem::take(&mut self.rows).into_iter().map(Some).collect();
        let mut moved_to = std::collections::HashMap::new();
        for &(from, to) in &moves {
            rows.swap(from, to);
            moved_to.insert(from, to);
        }
        rows.truncate(layout.rows());
        self.rows = rows.into_iter().flatten().collect();
        for running in &mut self.running {
            for row in &mut running.rows {
                if let Some(&to) = moved_to.get(row) {
                    *row = to;
                }
            }
        }
    }
}

/// Whether a request was cancelled.
fn is_cancelled(request: &SeriesRequest) -> bool {
    request.watch.as_ref().is_some_and(|w| w.is_cancelled())
}
