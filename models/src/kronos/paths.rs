//! Sample paths while they are generated: each path's row (its series, RNG and
//! sampling settings), which rows share a series' prefix, drawing the next tokens and
//! reporting progress.

use std::sync::Arc;

use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};

use super::attention::AttentionContext;
use super::sampling::{sample_token, SamplingParams};
use super::series::GeneratedPath;
use super::series::RequestWatch;
use super::tokenizer::Tokenizer;
use super::KronosError;

/// One sample path during generation.
pub(crate) struct PathRow {
    /// The request (series) it belongs to.
    pub(crate) series: usize,
    /// Its history's length.
    pub(crate) len: usize,
    /// Its own seeded generator.
    pub(crate) rng: ChaCha8Rng,
    /// How its tokens are drawn.
    pub(crate) params: SamplingParams,
    /// Its request's progress and cancellation.
    pub(crate) watch: Option<Arc<RequestWatch>>,
}

impl PathRow {
    /// Whether its request was cancelled.
    pub(crate) fn cancelled(&self) -> bool {
        self.watch.as_ref().is_some_and(|w| w.is_cancelled())
    }
}

/// The live rows grouped by series: the first row of each series (`heads`, indices
/// into the live rows), each live row's group (`owner`), and each head's padding.
pub(crate) struct SeriesHeads {
    /// Each series' first live row.
    pub heads: Tensor,
    /// Each live row's series group (an index into `heads`).
    pub owner: Tensor,
    /// Each head's left padding (from `pads`, one per live row).
    pub pads: Vec<i64>,
    /// How many series there are.
    pub count: usize,
}

impl SeriesHeads {
    /// `rows` rows of one series, without padding.
    pub(crate) fn one(rows: usize, device: Device) -> Self {
        Self {
            heads: Tensor::zeros([1], (Kind::Int64, device)),
            owner: Tensor::zeros([rows as i64], (Kind::Int64, device)),
            pads: vec![0],
            count: 1,
        }
    }

    /// Groups `alive` (indices into `rows`); `pads` holds one padding per live row.
    pub(crate) fn of(rows: &[PathRow], alive: &[usize], pads: &[i64], device: Device) -> Self {
        let (heads, owner) = prefix_groups(alive.iter().map(|&i| rows[i].series));
        let head_pads = heads.iter().map(|&k| pads[k]).collect();
        let heads: Vec<i64> = heads.into_iter().map(|k| k as i64).collect();
        Self {
            count: heads.len(),
            heads: Tensor::from_slice(&heads).to_device(device),
            owner: Tensor::from_slice(&owner).to_device(device),
            pads: head_pads,
        }
    }
}

/// Groups consecutive rows of the same series (a series' sample paths): the position
/// of each group's first row, and each row's group number.
pub(crate) fn prefix_groups(series: impl Iterator<Item = usize>) -> (Vec<usize>, Vec<i64>) {
    let mut heads = Vec::new();
    let mut owner = Vec::new();
    let mut previous = None;
    for (k, s) in series.enumerate() {
        if previous != Some(s) {
            heads.push(k);
            previous = Some(s);
        }
        owner.push(heads.len() as i64 - 1);
    }
    (heads, owner)
}

/// Counts one generated step for every live row, per request.
pub(crate) fn report_step(rows: &[PathRow], alive: &[usize]) {
    let mut k = 0;
    while k < alive.len() {
        let series = rows[alive[k]].series;
        let mut n = 0;
        while k < alive.len() && rows[alive[k]].series == series {
            n += 1;
            k += 1;
        }
        if let Some(watch) = &rows[alive[k - 1]].watch {
            watch.advance(n);
        }
    }
}

/// Samples one token per live row from `logits [R, V]` (row k is `rows[alive[k]]`);
/// returns the ids `[R]` on `device`.
pub(crate) fn draw(
    rows: &mut [PathRow],
    alive: &[usize],
    logits: &Tensor,
    device: Device,
) -> Result<Tensor, KronosError> {
    let vocab = logits.size()[1] as usize;
    let host = host_f32(logits)?;
    let ids: Vec<i64> = alive
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let row = &mut rows[i];
            sample_token(&host[k * vocab..(k + 1) * vocab], &row.params, &mut row.rng) as i64
        })
        .collect();
    Ok(Tensor::from_slice(&ids).to_device(device))
}

/// Decodes token windows `s1, s2 [R, width]` (row r right-aligned after `pads[r]`,
/// grouped into series by `series`) back to normalised candles and returns each row's
/// last `horizon` bars and tokens, in row order. With `share` and fewer series than
/// rows, the tokens before the generated ones are decoded once per series and only the
/// tails per row ([`Tokenizer::decode_after_shared_prefix`]); else in one pass.
pub(crate) fn decode_generated(
    tokenizer: &Tokenizer,
    s1: &Tensor,
    s2: &Tensor,
    pads: &[i64],
    series: &SeriesHeads,
    horizon: i64,
    share: bool,
) -> Result<Vec<GeneratedPath>, KronosError> {
    let (rows, width) = s1.size2()?;
    let shared = width - horizon;
    let inv_freq = tokenizer.inv_freq();
    let (tail_s1, tail_s2) = (s1.narrow(1, shared, horizon), s2.narrow(1, shared, horizon));
    let bars = if share && shared > 0 && (series.count as i64) < rows {
        tokenizer.decode_after_shared_prefix(
            &s1.narrow(1, 0, shared).index_select(0, &series.heads),
            &s2.narrow(1, 0, shared).index_select(0, &series.heads),
            &AttentionContext::new(inv_freq, &series.pads, 0, shared, shared),
            &series.owner,
            &tail_s1,
            &tail_s2,
            &AttentionContext::new(inv_freq, pads, shared, horizon, width),
        )
    } else {
        let ctx = AttentionContext::new(inv_freq, pads, 0, width, width);
        tokenizer.decode(s1, s2, &ctx).narrow(1, shared, horizon)
    };
    let bars = host_f32(&bars)?;
    let (s1_gen, s2_gen) = (host_i64(&tail_s1)?, host_i64(&tail_s2)?);
    let h = horizon as usize;
    Ok((0..rows as usize)
        .map(|k| {
            let bars = (0..h).map(|t| std::array::from_fn(|c| bars[(k * h + t) * 6 + c])).collect();
            (bars, s1_gen[k * h..(k + 1) * h].to_vec(), s2_gen[k * h..(k + 1) * h].to_vec())
        })
        .collect())
}

/// A tensor's values on the host, as f32.
pub(crate) fn host_f32(t: &Tensor) -> Result<Vec<f32>, KronosError> {
    let flat = t.to_kind(Kind::Float).to_device(Device::Cpu).contiguous().view(-1);
    Vec::<f32>::try_from(&flat).map_err(KronosError::from)
}

/// A tensor's values on the host, as i64.
pub(crate) fn host_i64(t: &Tensor) -> Result<Vec<i64>, KronosError> {
    let flat = t.to_device(Device::Cpu).contiguous().view(-1);
    Vec::<i64>::try_from(&flat).map_err(KronosError::from)
}
