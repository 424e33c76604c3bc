//! Where a continuous batch keeps its rows: tokens, time features and key/value caches
//! in buffers with spare rows and columns, so that a request joining or leaving copies
//! only its own rows (a full copy happens only when the buffers run out of room).
//!
//! Rows are aligned on the right: every row's newest token is at column `width - 1`
//! and row `r`'s first `pads[r]` columns are padding (positions restart at each row's
//! first real column). Rows in use are `0..rows()`; a leaving row's place is taken by
//! one of the last rows.
//!
//! Also here: how rows get in ([`prefill`]: newcomers' histories once per series,
//! forked into their paths) and out ([`decode_rows`]: a finished request's paths back
//! to candles).

use tch::Tensor;

use super::attention::{key_padding_mask, AttentionContext};
use super::inference::GenerateOptions;
use super::model::KronosModel;
use super::paths::{decode_generated, draw, report_step, PathRow, SeriesHeads};
use super::predictor::{PredictorCache, TIME_FEATURES};
use super::series::{write_history, write_stamps, GeneratedPath, Normalisation, SeriesRequest};
use super::KronosError;

/// Spare columns a new layout gets beyond what its rows need (the width grows by one
/// column a step; a layout without room is copied, trimmed, into a new one).
pub(crate) const SPARE_COLUMNS: i64 = 64;

/// Rows' tokens, time features and caches (see the module docs).
pub(crate) struct Layout {
    /// Token ids `[row capacity, capacity]`.
    pub(crate) s1: Tensor,
    pub(crate) s2: Tensor,
    /// Time features of every input column `[row capacity, capacity, 5]`.
    pub(crate) stamps: Tensor,
    /// Keys and values of columns `[0, width - 1)`.
    pub(crate) cache: PredictorCache,
    /// Each row's padding columns (one per row in use).
    pub(crate) pads: Vec<i64>,
    /// Token columns filled; every row's newest token is at `width - 1`.
    pub(crate) width: i64,
}

impl Layout {
    /// Rows in use.
    pub(crate) fn rows(&self) -> usize {
        self.pads.len()
    }

    /// Columns of the buffers.
    pub(crate) fn capacity(&self) -> i64 {
        self.s1.size()[1]
    }

    /// Whether `part` can be copied in place: spare rows, its rows no longer than this
    /// layout's width, and room for `remaining` more steps.
    pub(crate) fn fits(&self, part: &Layout, remaining: i64) -> bool {
        self.cache.has_room(part.rows() as i64)
            && part.width <= self.width
            && self.width + remaining <= self.capacity()
            && part.stamps.size()[1] + self.width - part.width <= self.capacity()
    }

    /// Copies `part`'s rows after the rows in use, right-aligned (see [`Layout::fits`]).
    pub(crate) fn insert(&mut self, part: &Layout) {
        let shift = self.width - part.width;
        let at = self.rows() as i64;
        for (buffer, source) in [(&self.s1, &part.s1), (&self.s2, &part.s2), (&self.stamps, &part.stamps)] {
            copy_columns(buffer, at, source, shift);
        }
        self.cache.insert_rows(&part.cache, shift);
        self.pads.extend(part.pads.iter().map(|p| p + shift));
    }

    /// The rows of `old` (if any) and `part` in new buffers: right-aligned to the longer
    /// of the two after trimming `old`'s common padding, with room for `remaining` more
    /// steps plus [`SPARE_COLUMNS`] and for at least `row_capacity` rows.
    pub(crate) fn merged(old: Option<Layout>, part: Layout, remaining: i64, row_capacity: usize) -> Layout {
        let (old_width, trim) = old.as_ref().map_or((0, 0), |o| (o.width, o.pads.iter().copied().min().unwrap_or(0)));
        let width = (old_width - trim).max(part.width);
        let future = part.stamps.size()[1] - part.width;
        let capacity = width + remaining.max(future) + SPARE_COLUMNS;
        let rows = old.as_ref().map_or(0, Layout::rows) + part.rows();
        let row_capacity = rows.max(row_capacity) as i64;
        let mut layers: Vec<(&Layout, i64)> = Vec::new();
        if let Some(old) = old.as_ref() {
            layers.push((old, width - old_width));
        }
        layers.push((&part, width - part.width));
        let buffer = |t: &Tensor| {
            let mut shape = t.size();
            shape[0] = row_capacity;
            shape[1] = capacity;
            Tensor::zeros(shape.as_slice(), (t.kind(), t.device()))
        };
        let caches: Vec<(&PredictorCache, i64)> = layers.iter().map(|(l, s)| (&l.cache, *s)).collect();
        let merged = Layout {
            s1: buffer(&part.s1),
            s2: buffer(&part.s2),
            stamps: buffer(&part.stamps),
            cache: PredictorCache::join(&caches, width - 1, capacity, row_capacity),
            pads: layers.iter().flat_map(|(l, s)| l.pads.iter().map(move |p| p + s)).collect(),
            width,
        };
        let mut at = 0;
        for (layer, shift) in &layers {
            for (buffer, source) in [(&merged.s1, &layer.s1), (&merged.s2, &layer.s2), (&merged.stamps, &layer.stamps)]
            {
                copy_columns(buffer, at, &source.narrow(0, 0, layer.rows() as i64), *shift);
            }
            at += layer.rows() as i64;
        }
        merged
    }

    /// Removes the rows `leaving` (sorted, distinct): the last rows that stay move into
    /// the places freed below the new row count. Returns the moves `(from, to)`.
    pub(crate) fn remove_rows(&mut self, leaving: &[usize]) -> Vec<(usize, usize)> {
        let rows = self.rows();
        let kept = rows - leaving.len();
        let holes = leaving.iter().copied().filter(|&r| r < kept);
        let movers = (kept..rows).filter(|r| leaving.binary_search(r).is_err());
        let moves: Vec<(usize, usize)> = movers.zip(holes).collect();
        let device = self.s1.device();
        let index = |pick: fn(&(usize, usize)) -> usize| {
            Tensor::from_slice(&moves.iter().map(|m| pick(m) as i64).collect::<Vec<_>>()).to_device(device)
        };
        let (from, to) = (index(|m| m.0), index(|m| m.1));
        if !moves.is_empty() {
            for buffer in [&mut self.s1, &mut self.s2, &mut self.stamps] {
                let moved = buffer.index_select(0, &from);
                let _ = buffer.index_copy_(0, &to, &moved);
            }
        }
        self.cache.move_rows(&from, &to, kept as i64);
        for &(from, to) in &moves {
            self.pads[to] = self.pads[from];
        }
        self.pads.truncate(kept);
        moves
    }

    /// Rows in use of a buffer.
    pub(crate) fn live(&self, buffer: &Tensor) -> Tensor {
        buffer.narrow(0, 0, self.rows() as i64)
    }
}

/// Copies `source`'s rows into `buffer` from row `at`, column `c` to `c + shift`
/// (columns falling outside the buffer are dropped).
fn copy_columns(buffer: &Tensor, at: i64, source: &Tensor, shift: i64) {
    let size = source.size();
    let from = (-shift).max(0);
    let count = size[1].min(buffer.size()[1] - shift) - from;
    if count > 0 && size[0] > 0 {
        buffer.narrow(0, at, size[0]).narrow(1, from + shift, count).copy_(&source.narrow(1, from, count));
    }
}

/// A series joining a continuous batch: what its prefill needs.
pub(crate) struct Newcomer<'a> {
    pub(crate) request: &'a SeriesRequest,
    pub(crate) norm: &'a Normalisation,
    pub(crate) pred_len: usize,
    /// Its series number in the batch (its paths' rows carry it).
    pub(crate) series: usize,
}

/// Tokenizes the newcomers' histories and runs them through the predictor once per
/// series, forks each series into its sample paths and draws their first step: the
/// newcomers' rows as a layout of their own, to be joined to the running one, and the
/// path rows in the same order.
pub(crate) fn prefill(model: &KronosModel, newcomers: &[Newcomer<'_>]) -> Result<(Layout, Vec<PathRow>), KronosError> {
    let device = model.device();
    let kind = model.kind();
    let predictor = &model.predictor;
    let lmax = newcomers.iter().map(|r| r.request.history.len() as i64).max().unwrap_or(0);
    let future = newcomers.iter().map(|r| r.pred_len as i64).max().unwrap_or(0);
    let series = newcomers.len() as i64;
    let series_pads: Vec<i64> = newcomers.iter().map(|r| lmax - r.request.history.len() as i64).collect();

    // histories and time features, right-aligned; one row per series
    let mut x = vec![0f32; (series * lmax * 6) as usize];
    let stamp_width = lmax + future;
    let mut stamps = vec![0i64; (series * stamp_width) as usize * TIME_FEATURES];
    for (k, r) in newcomers.iter().enumerate() {
        let pad = series_pads[k] as usize;
        write_history(&mut x, k, lmax as usize, pad, r.request, r.norm);
        write_stamps(&mut stamps, k, stamp_width as usize, pad, r.request);
    }
    let x = Tensor::from_slice(&x).view([series, lmax, 6]).to_device(device).to_kind(kind);
    let stamps = Tensor::from_slice(&stamps).view([series, stamp_width, TIME_FEATURES as i64]).to_device(device);

    let (s1_hist, s2_hist) =
        model.tokenizer.encode(&x, &AttentionContext::new(model.tokenizer.inv_freq(), &series_pads, 0, lmax, lmax));
    let mut cache = predictor.new_cache(series, lmax, kind);
    let ctx = AttentionContext::new(predictor.inv_freq(), &series_pads, 0, lmax, lmax);
    let hidden = predictor.hidden(&s1_hist, &s2_hist, &stamps.narrow(1, 0, lmax), &ctx, Some(&mut cache), false);
    let keys = predictor.dependency_keys(&hidden, Some(&mut cache));

    // fork every series into its sample paths
    let mut owner = Vec::new();
    let mut rows = Vec::new();
    for (k, r) in newcomers.iter().enumerate() {
        for path in 0..r.request.sampling.samples {
            owner.push(k as i64);
            rows.push(PathRow {
                series: r.series,
                len: r.request.history.len(),
                rng: r.request.sampling.path_rng(path),
                params: r.request.sampling,
                watch: r.request.watch.clone(),
            });
        }
    }
    let owner_index = Tensor::from_slice(&owner).to_device(device);
    let keys = keys.select_rows(&owner_index);
    cache.retain_rows(&owner_index);
    let last = hidden.select(1, -1).index_select(0, &owner_index);
    let pads: Vec<i64> = owner.iter().map(|&k| series_pads[k as usize]).collect();
    let alive: Vec<usize> = (0..rows.len()).collect();
    let s1_next = draw(&mut rows, &alive, &predictor.s1_logits(&last), device)?;
    let key_mask = key_padding_mask(&pads, lmax, device);
    let s2_next = draw(&mut rows, &alive, &predictor.s2_logits(&last, &s1_next, &keys, key_mask.as_ref()), device)?;
    report_step(&rows, &alive);

    let part = Layout {
        s1: Tensor::cat(&[s1_hist.index_select(0, &owner_index), s1_next.unsqueeze(1)], 1),
        s2: Tensor::cat(&[s2_hist.index_select(0, &owner_index), s2_next.unsqueeze(1)], 1),
        stamps: stamps.index_select(0, &owner_index),
        cache,
        pads,
        width: lmax + 1,
    };
    Ok((part, rows))
}

/// Decodes the paths in `rows` (one request's, in path order, all at their last step,
/// after a history of `history` bars) with the tokenizer, as [`KronosModel::forecast`]
/// decodes one request alone: the last `max_context` tokens, the shared part once when
/// there are several paths.
pub(crate) fn decode_rows(
    model: &KronosModel,
    layout: &Layout,
    rows: &[usize],
    history: usize,
    options: &GenerateOptions,
) -> Result<Vec<GeneratedPath>, KronosError> {
    let horizon = options.pred_len as i64;
    let window = (history as i64 + horizon).min(options.max_context as i64);
    let start = layout.width - window;
    let index: Vec<i64> = rows.iter().map(|&r| r as i64).collect();
    let index = Tensor::from_slice(&index).to_device(layout.s1.device());
    let s1 = layout.s1.index_select(0, &index).narrow(1, start, window);
    let s2 = layout.s2.index_select(0, &index).narrow(1, start, window);
    let series = SeriesHeads::one(rows.len(), s1.device());
    decode_generated(&model.tokenizer, &s1, &s2, &vec![0; rows.len()], &series, horizon, true)
}
