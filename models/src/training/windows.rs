//! Training windows cut from candle series: `lookback + horizon + 1` consecutive bars,
//! normalised with the statistics of the look-back rows only (normalising over the whole
//! window would leak the future into the inputs), split by time into training and
//! validation sets with no overlap.
//!
//! The split is one cut time for all series: bars before it are for training, bars
//! from it on for validation, so no asset's validation period precedes another
//! asset's training data. Batches are drawn from a seed and the step number, so a
//! resumed run draws exactly the batches the interrupted one would have.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDateTime;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use tch::{Device, Tensor};

use crate::kronos::{fill_missing_amount, predictor::TIME_FEATURES, time_features, Normalisation};
use crate::{Bar, CLOSE};

use super::TrainError;

/// One asset's bars, oldest first.
#[derive(Debug, Clone)]
pub struct Series {
    /// Asset symbol (for reports).
    pub symbol: String,
    /// Bar open times (UTC).
    pub times: Vec<NaiveDateTime>,
    /// Bars.
    pub bars: Vec<Bar>,
}

/// How windows are cut.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowSpec {
    /// Rows the model sees before the forecast.
    pub lookback: usize,
    /// Rows forecast.
    pub horizon: usize,
    /// Share of the time range (by bar count over all series) kept for validation.
    pub validation_fraction: f64,
    /// Most validation windows (evenly spaced) used for the validation loss and metrics.
    pub max_validation_windows: usize,
}

impl WindowSpec {
    /// Rows per window.
    pub fn len(&self) -> usize {
        self.lookback + self.horizon + 1
    }

    /// Never true: a window has at least one row.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Where a window starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WindowRef {
    /// Index into the series list.
    pub series: usize,
    /// First row.
    pub start: usize,
}

/// A batch ready for a network.
#[derive(Debug)]
pub struct WindowBatch {
    /// Normalised bars `[B, L, 6]` (f32).
    pub x: Tensor,
    /// Calendar features `[B, L, 5]` (i64).
    pub stamps: Tensor,
    /// Each window's normalisation (from its look-back rows).
    pub norms: Vec<Normalisation>,
    /// Which window each row is.
    pub windows: Vec<WindowRef>,
    /// The [`WindowSet::id`] of the set the windows are from.
    pub set: u64,
}

impl WindowBatch {
    /// Rows `start .. start + len` of the batch (views of its tensors).
    pub fn rows(&self, start: usize, len: usize) -> WindowBatch {
        WindowBatch {
            x: self.x.narrow(0, start as i64, len as i64),
            stamps: self.stamps.narrow(0, start as i64, len as i64),
            norms: self.norms[start..start + len].to_vec(),
            windows: self.windows[start..start + len].to_vec(),
            set: self.set,
        }
    }
}

/// The series with their training and validation windows.
#[derive(Debug)]
pub struct WindowSet {
    /// The data.
    pub series: Vec<Series>,
    /// How windows are cut.
    pub spec: WindowSpec,
    /// Training windows (all starts whose rows lie before the cut).
    pub train: Vec<WindowRef>,
    /// Validation windows (rows at or after the cut).
    pub validation: Vec<WindowRef>,
    /// First validation bar time.
    pub cut: NaiveDateTime,
    /// Tells this set from every other made in the process (a window is named by its
    /// series index and start, which another set may use for other bars).
    pub id: u64,
}

/// The next [`WindowSet::id`].
static NEXT_SET_ID: AtomicU64 = AtomicU64::new(1);

impl WindowSet {
    /// Cuts windows from `series` (missing amounts are filled as at inference).
    pub fn new(mut series: Vec<Series>, spec: WindowSpec) -> Result<Self, TrainError> {
        if spec.lookback < 2 || spec.horizon < 1 {
            return Err(TrainError::Param("lookback", "lookback must be ≥ 2 and horizon ≥ 1".into()));
        }
        if !(0.0..1.0).contains(&spec.validation_fraction) || spec.validation_fraction <= 0.0 {
            return Err(TrainError::Param("validation_fraction", "must be in (0, 1)".into()));
        }
        for s in &mut series {
            if s.times.len() != s.bars.len() {
                return Err(TrainError::Data(format!("{}: times and bars differ in length", s.symbol)));
            }
            if s.times.windows(2).any(|w| w[1] <= w[0]) {
                return Err(TrainError::Data(format!("{}: bar times are not increasing", s.symbol)));
            }
            fill_missing_amount(&mut s.bars);
        }
        let mut all_times: Vec<NaiveDateTime> = series.iter().flat_map(|s| s.times.iter().copied()).collect();
        if all_times.is_empty() {
            return Err(TrainError::Data("no candles to train on".into()));
        }
        all_times.sort_unstable();
        let cut_index = ((all_times.len() as f64) * (1.0 - spec.validation_fraction)).floor() as usize;
        let cut = all_times[cut_index.min(all_times.len() - 1)];
        let len = spec.len();
        let mut train = Vec::new();
        let mut validation = Vec::new();
        for (i, s) in series.iter().enumerate() {
            let split = s.times.partition_point(|t| *t < cut);
            if split >= len {
                train.extend((0..=split - len).map(|start| WindowRef { series: i, start }));
            }
            let rest = s.bars.len() - split;
            if rest >= len {
                validation.extend((split..=s.bars.len() - len).map(|start| WindowRef { series: i, start }));
            }
        }
        if train.is_empty() {
            return Err(TrainError::Data(format!(
                "no training window of {len} bars before {cut}: choose a longer date range or a shorter lookback"
            )));
        }
        if validation.is_empty() {
            return Err(TrainError::Data(format!(
                "no validation window of {len} bars from {cut} on: choose a longer date range or a larger validation share"
            )));
        }
        let validation = evenly_spaced(validation, spec.max_validation_windows.max(1));
        Ok(Self { series, spec, train, validation, cut, id: NEXT_SET_ID.fetch_add(1, Ordering::Relaxed) })
    }

    /// The training batch of step `step`: `batch_size` windows drawn with replacement
    /// by a generator seeded from `(seed, step)`.
    pub fn train_batch(&self, seed: u64, step: usize, batch_size: usize, device: Device) -> WindowBatch {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let picks: Vec<WindowRef> =
            (0..batch_size).map(|_| self.train[(rng.next_u64() % self.train.len() as u64) as usize]).collect();
        self.batch(&picks, device)
    }

    /// Builds the batch of the given windows.
    pub fn batch(&self, windows: &[WindowRef], device: Device) -> WindowBatch {
        let len = self.spec.len();
        let mut x = Vec::with_capacity(windows.len() * len * 6);
        let mut stamps = Vec::with_capacity(windows.len() * len * TIME_FEATURES);
        let mut norms = Vec::with_capacity(windows.len());
        for w in windows {
            let s = &self.series[w.series];
            let rows = &s.bars[w.start..w.start + len];
            let norm = Normalisation::of(&rows[..self.spec.lookback]);
            for row in rows {
                x.extend_from_slice(&norm.apply(row));
            }
            for t in &s.times[w.start..w.start + len] {
                stamps.extend_from_slice(&time_features(*t));
            }
            norms.push(norm);
        }
        let b = windows.len() as i64;
        WindowBatch {
            x: Tensor::from_slice(&x).view([b, len as i64, 6]).to_device(device),
            stamps: Tensor::from_slice(&stamps).view([b, len as i64, TIME_FEATURES as i64]).to_device(device),
            norms,
            windows: windows.to_vec(),
            set: self.id,
        }
    }

    /// The look-back bars, their times and the actual closes of the horizon of a window.
    pub fn split_window(&self, w: WindowRef) -> (&[Bar], &[NaiveDateTime], Vec<f64>) {
        let s = &self.series[w.series];
        let lookback = self.spec.lookback;
        let start = w.start;
        let actual = s.bars[start + lookback..start + lookback + self.spec.horizon].iter().map(|b| b[CLOSE]).collect();
        (&s.bars[start..start + lookback], &s.times[start..start + lookback + self.spec.horizon], actual)
    }

    /// Training bars in all (tokens per epoch, for reports).
    pub fn train_rows(&self) -> usize {
        self.series.iter().map(|s| s.times.partition_point(|t| *t < self.cut)).sum()
    }
}

/// At most `n` items, evenly spaced, keeping the first and the last.
fn evenly_spaced(items: Vec<WindowRef>, n: usize) -> Vec<WindowRef> {
    if items.len() <= n {
        return items;
    }
    if n == 1 {
        return vec![items[items.len() - 1]];
    }
    (0..n).map(|k| items[k * (items.len() - 1) / (n - 1)]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, NaiveDate};

    fn series(symbol: &str, n: usize, start_day: i64) -> Series {
        let t0 = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap() + Duration::days(start_day);
        Series {
            symbol: symbol.into(),
            times: (0..n).map(|i| t0 + Duration::days(i as i64)).collect(),
            bars: (0..n)
                .map(|i| {
                    let c = 100.0 + i as f64;
                    [c, c + 1.0, c - 1.0, c, 10.0, 0.0]
                })
                .collect(),
        }
    }

    fn spec() -> WindowSpec {
        WindowSpec { lookback: 8, horizon: 3, validation_fraction: 0.25, max_validation_windows: 1000 }
    }

    #[test]
    fn splits_by_one_cut_time_without_overlap() {
        let set = WindowSet::new(vec![series("A", 100, 0), series("B", 100, 20)], spec()).unwrap();
        let len = spec().len();
        for w in &set.train {
            let s = &set.series[w.series];
            assert!(s.times[w.start + len - 1] < set.cut, "training window reaches past the cut");
        }
        for w in &set.validation {
            assert!(set.series[w.series].times[w.start] >= set.cut);
        }
        // 200 bars, 25 % for validation: sorted times are days 0..19 once, 20..99 twice,
        // 100..119 once, so index 150 is day 20 + (150 − 20) / 2 = 85
        assert_eq!(set.cut, series("A", 100, 0).times[85]);
        assert!(!set.train.is_empty() && !set.validation.is_empty());
    }

    #[test]
    fn normalises_with_lookback_rows_only() {
        let set = WindowSet::new(vec![series("A", 100, 0)], spec()).unwrap();
        let batch = set.batch(&[WindowRef { series: 0, start: 10 }], Device::Cpu);
        // closes 110..=117 in the look-back: mean 113.5, population std √5.25
        let close_mean = batch.norms[0].mean[CLOSE];
        assert!((close_mean - 113.5).abs() < 1e-4);
        let x: Vec<f32> = Vec::try_from(batch.x.view([-1])).unwrap();
        let last = x[(spec().len() - 1) * 6 + CLOSE];
        let expect = ((121.0 - 113.5) / (5.25f32.sqrt() + 1e-5)).min(5.0);
        assert!((last - expect).abs() < 1e-4, "{last} vs {expect}");
        // missing amounts are filled as at inference
        assert!(set.series[0].bars[0][5] > 0.0);
    }

    #[test]
    fn batches_repeat_for_the_same_step() {
        let set = WindowSet::new(vec![series("A", 100, 0)], spec()).unwrap();
        let a = set.train_batch(7, 3, 4, Device::Cpu);
        let b = set.train_batch(7, 3, 4, Device::Cpu);
        let c = set.train_batch(7, 4, 4, Device::Cpu);
        // the test series is linear, so normalised windows look alike: compare the dates
        assert!(a.x.equal(&b.x) && a.stamps.equal(&b.stamps));
        assert!(!a.stamps.equal(&c.stamps));
    }

    #[test]
    fn refuses_too_little_data() {
        let err = WindowSet::new(vec![series("A", 20, 0)], spec()).unwrap_err();
        assert!(err.to_string().contains("window"), "{err}");
    }
}
