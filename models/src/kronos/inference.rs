//! Batched autoregressive forecasting with the reference's semantics.
//!
//! Differences from the reference that do not change results:
//! - series of different lengths share a batch (left padding with masks; positions
//!   restart at each series' first candle, as if it ran alone);
//! - while no window has slid, keys and values are cached and each step runs only the
//!   new position (exact: nothing a cached state depends on has changed); once any
//!   series' window slides, every step recomputes the whole window, as the reference
//!   does (the states of the remaining tokens change when the oldest one leaves);
//! - only the last position goes through the s1 head and the dependency layer;
//! - tokens are drawn on the host from one seeded generator per sample path, so a
//!   path's result does not depend on what else shares its batch.

use tch::{Kind, Tensor};

use super::attention::{key_padding_mask, AttentionContext};
use super::model::KronosModel;
use super::paths::{decode_generated, draw, prefix_groups, report_step, PathRow, SeriesHeads};
use super::predictor::{PredictorCache, TIME_FEATURES};
use super::series::{
    check_series, summarise, write_history, write_stamps, GeneratedPath, Normalisation, SeriesForecast, SeriesRequest,
};
use super::KronosError;

/// Most sample paths generated in one pass on a CPU (see `ops/bench-kronos`: 128-row
/// passes ran ~25 % slower per row than 32-row passes).
pub const CPU_ROWS_PER_PASS: usize = 32;

/// Settings shared by a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerateOptions {
    /// Steps to forecast.
    pub pred_len: usize,
    /// Longest window the predictor sees.
    pub max_context: usize,
    /// Use the key/value cache where it is exact (false: recompute every step, as the
    /// reference does; for comparisons).
    pub use_cache: bool,
    /// Tokenize each series' history and run it through the predictor once, then fork
    /// the cache into the series' sample paths (false: once per path; for comparisons).
    /// The paths draw the same tokens either way.
    pub share_prefix: bool,
}

impl GenerateOptions {
    /// `pred_len` steps over windows of at most `max_context`, with the cache and the
    /// shared prefix (the fastest exact settings).
    pub fn new(pred_len: usize, max_context: usize) -> Self {
        Self { pred_len, max_context, use_cache: true, share_prefix: true }
    }
}

impl KronosModel {
    /// Forecasts every request, batched on this model's device; fails as a whole when
    /// any request is unusable or cancelled (see [`KronosModel::forecast_each`]).
    pub fn forecast(
        &self,
        requests: &[SeriesRequest],
        options: &GenerateOptions,
    ) -> Result<Vec<SeriesForecast>, KronosError> {
        validate_options(options)?;
        for (i, request) in requests.iter().enumerate() {
            check_series(request, options).map_err(|e| match e {
                KronosError::Input(m) => KronosError::Input(format!("series {i}: {m}")),
                other => other,
            })?;
        }
        let refs: Vec<&SeriesRequest> = requests.iter().collect();
        self.run(&refs, options)?.into_iter().collect()
    }

    /// Forecasts every request batched together, each with its own outcome: a request
    /// that cannot be forecast (non-finite values, values 32-bit floats cannot hold, a
    /// series whose normalisation breaks, a non-finite result) or that was cancelled
    /// fails alone, and the others are forecast as if it had not been there. If the
    /// batched generation itself fails, every request is retried alone, so a failure
    /// that no check foresaw still stays with its own request.
    pub fn forecast_each(
        &self,
        requests: &[SeriesRequest],
        options: &GenerateOptions,
    ) -> Vec<Result<SeriesForecast, KronosError>> {
        if let Err(e) = validate_options(options) {
            let message = e.to_string();
            return requests.iter().map(|_| Err(KronosError::Input(message.clone()))).collect();
        }
        let mut out: Vec<Option<Result<SeriesForecast, KronosError>>> = requests
            .iter()
            .map(|request| match check_series(request, options) {
                Ok(()) if request.watch.as_ref().is_some_and(|w| w.is_cancelled()) => Some(Err(KronosError::Cancelled)),
                Ok(()) => None,
                Err(e) => Some(Err(e)),
            })
            .collect();
        let valid: Vec<usize> = (0..requests.len()).filter(|&i| out[i].is_none()).collect();
        let refs: Vec<&SeriesRequest> = valid.iter().map(|&i| &requests[i]).collect();
        let results = match self.run(&refs, options) {
            Ok(results) => results,
            Err(_) if refs.len() > 1 => refs
                .iter()
                .map(|r| self.run(std::slice::from_ref(r), options).and_then(|mut one| one.remove(0)))
                .collect(),
            Err(e) => vec![Err(e)],
        };
        for (i, result) in valid.into_iter().zip(results) {
            out[i] = Some(result.and_then(|f| {
                if f.is_finite() {
                    Ok(f)
                } else {
                    Err(KronosError::Input("the forecast is not finite (the series is degenerate)".to_owned()))
                }
            }));
        }
        out.into_iter().map(|r| r.unwrap_or(Err(KronosError::Cancelled))).collect()
    }

    /// Generates checked requests; a request whose rows were all dropped (cancelled)
    /// gets `Err(Cancelled)`.
    fn run(
        &self,
        requests: &[&SeriesRequest],
        options: &GenerateOptions,
    ) -> Result<Vec<Result<SeriesForecast, KronosError>>, KronosError> {
        let norms: Vec<Normalisation> = requests.iter().map(|r| Normalisation::of(&r.history)).collect();
        let mut rows: Vec<PathRow> = Vec::new();
        for (series, request) in requests.iter().enumerate() {
            for path in 0..request.sampling.samples {
                rows.push(PathRow {
                    series,
                    len: request.history.len(),
                    rng: request.sampling.path_rng(path),
                    params: request.sampling,
                    watch: request.watch.clone(),
                });
            }
        }
        // paths whose window never slides get the cache; the others recompute
        let slides = |row: &PathRow| row.len + options.pred_len - 1 > options.max_context;
        let (mut sliding, mut steady): (Vec<PathRow>, Vec<PathRow>) = rows.into_iter().partition(slides);
        let mut paths: Vec<Vec<GeneratedPath>> = vec![Vec::new(); requests.len()];
        // on a CPU, passes over more rows than this run slower per row (memory traffic of
        // activations and caches outgrows the caches); results do not depend on it
        let rows_per_pass = if self.device().is_cuda() { usize::MAX } else { CPU_ROWS_PER_PASS };
        for group in [&mut steady, &mut sliding] {
            for chunk in group.chunks_mut(rows_per_pass) {
                let generated = self.generate(requests, &norms, chunk, options)?;
                for (row, path) in chunk.iter().zip(generated) {
                    if let Some(path) = path {
                        paths[row.series].push(path);
                    }
                }
            }
        }
        Ok(requests
            .iter()
            .zip(norms.iter())
            .zip(paths)
            .map(|((request, norm), paths)| {
                if paths.len() < request.sampling.samples {
                    Err(KronosError::Cancelled)
                } else {
                    Ok(summarise(request, norm, paths))
                }
            })
            .collect())
    }

    /// Generates `pred_len` steps for every path and decodes them: per path the
    /// normalised bars and the (s1, s2) tokens; `None` for the paths of requests
    /// cancelled while they ran (their rows leave the batch between steps).
    fn generate(
        &self,
        requests: &[&SeriesRequest],
        norms: &[Normalisation],
        rows: &mut [PathRow],
        options: &GenerateOptions,
    ) -> Result<Vec<Option<GeneratedPath>>, KronosError> {
        let device = self.device();
        let kind = self.kind();
        let horizon = options.pred_len as i64;
        let max_context = options.max_context as i64;
        let r = rows.len() as i64;
        let mut lens: Vec<i64> = rows.iter().map(|row| row.len as i64).collect();
        let lmax = lens.iter().copied().max().unwrap_or(0);
        let total = lmax + horizon;
        let mut pads: Vec<i64> = lens.iter().map(|l| lmax - l).collect();

        // the rows whose histories are tokenized: each series' first path with a shared
        // prefix (`owner`: the encoded row each path takes its tokens from), else every path
        let (encoded, owner) = if options.share_prefix {
            prefix_groups(rows.iter().map(|row| row.series))
        } else {
            ((0..rows.len()).collect(), (0..r).collect())
        };
        let e = encoded.len() as i64;

        // inputs, right-aligned
        let mut x = vec![0f32; (e * lmax * 6) as usize];
        for (k, &i) in encoded.iter().enumerate() {
            let series = rows[i].series;
            write_history(&mut x, k, lmax as usize, pads[i] as usize, requests[series], &norms[series]);
        }
        let mut stamps = vec![0i64; (r * total * TIME_FEATURES as i64) as usize];
        for (i, row) in rows.iter().enumerate() {
            write_stamps(&mut stamps, i, total as usize, pads[i] as usize, requests[row.series]);
        }
        let x = Tensor::from_slice(&x).view([e, lmax, 6]).to_device(device).to_kind(kind);
        let mut stamps = Tensor::from_slice(&stamps).view([r, total, TIME_FEATURES as i64]).to_device(device);
        // rows still generating, as indices into `rows` (cancelled requests leave)
        let mut alive: Vec<usize> = (0..rows.len()).collect();

        tch::no_grad(|| {
            let encoded_pads: Vec<i64> = encoded.iter().map(|&i| pads[i]).collect();
            let encode_ctx = AttentionContext::new(self.tokenizer.inv_freq(), &encoded_pads, 0, lmax, lmax);
            let (s1_hist, s2_hist) = self.tokenizer.encode(&x, &encode_ctx);
            let mut s1 = Tensor::zeros([r, total], (Kind::Int64, device));
            let mut s2 = Tensor::zeros([r, total], (Kind::Int64, device));
            let owner = Tensor::from_slice(&owner).to_device(device);
            s1.narrow(1, 0, lmax).copy_(&s1_hist.index_select(0, &owner));
            s2.narrow(1, 0, lmax).copy_(&s2_hist.index_select(0, &owner));

            let predictor = &self.predictor;
            let mut cache: Option<PredictorCache> = None;
            for step in 0..horizon {
                // between steps: rows of cancelled requests leave the batch
                if alive.iter().any(|&i| rows[i].cancelled()) {
                    let keep: Vec<usize> = (0..alive.len()).filter(|&k| !rows[alive[k]].cancelled()).collect();
                    if keep.is_empty() {
                        return Ok(rows.iter().map(|_| None).collect());
                    }
                    let index =
                        Tensor::from_slice(&keep.iter().map(|&k| k as i64).collect::<Vec<_>>()).to_device(device);
                    s1 = s1.index_select(0, &index);
                    s2 = s2.index_select(0, &index);
                    stamps = stamps.index_select(0, &index);
                    if let Some(cache) = cache.as_mut() {
                        cache.retain_rows(&index);
                    }
                    alive = keep.iter().map(|&k| alive[k]).collect();
                    lens = keep.iter().map(|&k| lens[k]).collect();
                    pads = keep.iter().map(|&k| pads[k]).collect();
                }
                let rows_now = alive.len() as i64;
                let end = lmax + step;
                let windows: Vec<i64> = lens.iter().map(|l| (l + step).min(max_context)).collect();
                let slid = lens.iter().any(|l| l + step > max_context);
                let (last, keys, key_mask) = if options.use_cache && options.share_prefix && step == 0 && !slid {
                    // the history, once per series (the paths have drawn nothing yet); the
                    // cache forks into the paths
                    let SeriesHeads { heads, owner, pads: head_pads, count } =
                        SeriesHeads::of(rows, &alive, &pads, device);
                    let mut prefix = predictor.new_cache(count as i64, total, kind);
                    let ctx = AttentionContext::new(predictor.inv_freq(), &head_pads, 0, end, end);
                    let hidden = predictor.hidden(
                        &s1.narrow(1, 0, end).index_select(0, &heads),
                        &s2.narrow(1, 0, end).index_select(0, &heads),
                        &stamps.narrow(1, 0, end).index_select(0, &heads),
                        &ctx,
                        Some(&mut prefix),
                        false,
                    );
                    let keys = predictor.dependency_keys(&hidden, Some(&mut prefix)).select_rows(&owner);
                    prefix.retain_rows(&owner);
                    cache = Some(prefix);
                    (hidden.select(1, -1).index_select(0, &owner), keys, key_padding_mask(&pads, end, device))
                } else if options.use_cache && !slid {
                    let cache = cache.get_or_insert_with(|| predictor.new_cache(rows_now, total, kind));
                    let start = cache.len();
                    let ctx = AttentionContext::new(predictor.inv_freq(), &pads, start, end - start, end);
                    let hidden = predictor.hidden(
                        &s1.narrow(1, start, end - start),
                        &s2.narrow(1, start, end - start),
                        &stamps.narrow(1, start, end - start),
                        &ctx,
                        Some(&mut *cache),
                        false,
                    );
                    let keys = predictor.dependency_keys(&hidden, Some(cache));
                    (hidden.select(1, -1), keys, key_padding_mask(&pads, end, device))
                } else {
                    cache = None;
                    let width = windows.iter().copied().max().unwrap_or(1);
                    let start = end - width;
                    let window_pads: Vec<i64> = windows.iter().map(|w| width - w).collect();
                    let ctx = AttentionContext::new(predictor.inv_freq(), &window_pads, 0, width, width);
                    let hidden = predictor.hidden(
                        &s1.narrow(1, start, width),
                        &s2.narrow(1, start, width),
                        &stamps.narrow(1, start, width),
                        &ctx,
                        None,
                        false,
                    );
                    let keys = predictor.dependency_keys(&hidden, None);
                    (hidden.select(1, -1), keys, key_padding_mask(&window_pads, width, device))
                };
                let s1_logits = predictor.s1_logits(&last);
                let s1_next = draw(rows, &alive, &s1_logits, device)?;
                let s2_logits = predictor.s2_logits(&last, &s1_next, &keys, key_mask.as_ref());
                let s2_next = draw(rows, &alive, &s2_logits, device)?;
                s1.narrow(1, end, 1).copy_(&s1_next.unsqueeze(1));
                s2.narrow(1, end, 1).copy_(&s2_next.unsqueeze(1));
                report_step(rows, &alive);
            }

            // decode each path's last max_context tokens, keep the generated rows
            let decoded: Vec<i64> = lens.iter().map(|l| (l + horizon).min(max_context)).collect();
            let width = decoded.iter().copied().max().unwrap_or(1);
            let decode_pads: Vec<i64> = decoded.iter().map(|d| width - d).collect();
            let start = total - width;
            let series = SeriesHeads::of(rows, &alive, &decode_pads, device);
            let generated = decode_generated(
                &self.tokenizer,
                &s1.narrow(1, start, width),
                &s2.narrow(1, start, width),
                &decode_pads,
                &series,
                horizon,
                options.use_cache && options.share_prefix,
            )?;
            let mut out: Vec<Option<GeneratedPath>> = rows.iter().map(|_| None).collect();
            for (&i, path) in alive.iter().zip(generated) {
                out[i] = Some(path);
            }
            Ok(out)
        })
    }
}

pub(crate) fn validate_options(options: &GenerateOptions) -> Result<(), KronosError> {
    if options.pred_len == 0 {
        return Err(KronosError::Param("pred_len", "must be at least 1".into()));
    }
    if options.max_context < options.pred_len {
        return Err(KronosError::Param("max_context", "must be at least pred_len".into()));
    }
    Ok(())
}
