//! Sample paths while they are generated: each path's row (its series, RNG and
//! sampling settings), which rows share a series' prefix, drawing the next tokens and
//! reporting progress.

use std::sync::Arc;

use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};

use super::sampling::{sample_token, SamplingParams};
use super::series::RequestWatch;
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
