//! The frozen tokenizer's tokens of each training window, kept for the predictor stage.
//!
//! In stage 2 the tokenizer does not change, and a window is drawn again and again
//! (batches are drawn with replacement from a fixed set of windows), yet the reference
//! re-encodes every window of every batch: about a fifth of a Kronos-mini predictor
//! step. The cache encodes only the windows of a batch it has not seen and keeps their
//! tokens (two `u16` per bar) up to a byte budget; past the budget windows are encoded
//! every time, as before. The tokens of a window are the ones the tokenizer gives it
//! in any batch: each window is normalised on its own and the encoder is per-window.

use std::collections::HashMap;
use std::sync::Mutex;

use tch::{Device, Kind, Tensor};

use super::windows::{WindowBatch, WindowRef};
use crate::kronos::{tokenizer::causal_context, KronosModel};

/// Default byte budget: 256 MiB (about 330,000 windows of 101 bars).
pub const DEFAULT_TOKEN_CACHE_BYTES: usize = 256 << 20;

/// A window of a window set: `(WindowSet::id, window)`.
type SetWindow = (u64, WindowRef);

/// Each window's `(s1, s2)` tokens as the frozen tokenizer encodes them.
#[derive(Debug)]
pub struct TokenCache {
    /// By window set and window.
    windows: Mutex<HashMap<SetWindow, Box<[u16]>>>,
    budget_bytes: usize,
}

impl TokenCache {
    /// An empty cache holding at most `budget_bytes` of tokens.
    pub fn new(budget_bytes: usize) -> Self {
        Self { windows: Mutex::new(HashMap::new()), budget_bytes }
    }

    /// Forgets every window (the tokenizer's weights are about to change).
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Windows whose tokens are kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no window is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tokens `s1, s2 [B, L]` (i64, on `x`'s device) of `batch`'s windows, `x` being
    /// its normalised bars in the model's type. Windows not seen before are encoded
    /// together, without gradients, and kept while the budget lasts.
    pub fn tokens(&self, model: &KronosModel, batch: &WindowBatch, x: &Tensor) -> (Tensor, Tensor) {
        let windows: Vec<SetWindow> = batch.windows.iter().map(|w| (batch.set, *w)).collect();
        let (b, len, _) = x.size3().unwrap_or((0, 0, 0));
        let len = len as usize;
        let config = model.tokenizer.config();
        if windows.len() != b as usize || config.s1_bits.max(config.s2_bits) > 16 {
            return encode(model, x);
        }
        let window_bytes = 4 * len;
        let (missing, full) = {
            let kept = self.lock();
            let mut missing: Vec<usize> = Vec::new();
            for (row, window) in windows.iter().enumerate() {
                if !kept.contains_key(window) && !missing.iter().any(|m| windows[*m] == *window) {
                    missing.push(row);
                }
            }
            (missing, (kept.len() + 1) * window_bytes > self.budget_bytes)
        };
        if missing.len() == windows.len() && full {
            // nothing to reuse and no room to keep: encode the batch as it is
            return encode(model, x);
        }
        // encode the new windows without holding the lock (another thread's part may
        // be looking up its own)
        let mut fresh: HashMap<SetWindow, Box<[u16]>> = HashMap::new();
        if !missing.is_empty() {
            let rows = Tensor::from_slice(&missing.iter().map(|r| *r as i64).collect::<Vec<_>>()).to_device(x.device());
            let (s1, s2) = encode(model, &x.index_select(0, &rows));
            let (Some(s1), Some(s2)) = (host_values(&s1), host_values(&s2)) else {
                return encode(model, x);
            };
            for (i, row) in missing.iter().enumerate() {
                let tokens = s1[i * len..(i + 1) * len].iter().chain(&s2[i * len..(i + 1) * len]).map(|t| *t as u16);
                fresh.insert(windows[*row], tokens.collect());
            }
        }
        let mut kept = self.lock();
        let mut s1 = Vec::with_capacity(windows.len() * len);
        let mut s2 = Vec::with_capacity(windows.len() * len);
        for window in &windows {
            let Some(tokens) = kept.get(window).or_else(|| fresh.get(window)).filter(|t| t.len() == 2 * len) else {
                return encode(model, x);
            };
            s1.extend(tokens[..len].iter().map(|t| i64::from(*t)));
            s2.extend(tokens[len..].iter().map(|t| i64::from(*t)));
        }
        for (window, tokens) in fresh {
            if (kept.len() + 1) * window_bytes > self.budget_bytes {
                break;
            }
            kept.entry(window).or_insert(tokens);
        }
        let shape = [b, len as i64];
        (
            Tensor::from_slice(&s1).view(shape).to_device(x.device()),
            Tensor::from_slice(&s2).view(shape).to_device(x.device()),
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SetWindow, Box<[u16]>>> {
        self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The tokenizer's tokens of `x [B, L, 6]`, without gradients.
pub fn encode(model: &KronosModel, x: &Tensor) -> (Tensor, Tensor) {
    let (b, t, _) = x.size3().unwrap_or((0, 0, 0));
    tch::no_grad(|| {
        let ctx = causal_context(&model.tokenizer, b as usize, t);
        model.tokenizer.encode(x, &ctx)
    })
}

/// The tokens of `[N, L]` on the host, row after row.
fn host_values(tokens: &Tensor) -> Option<Vec<i64>> {
    Vec::try_from(tokens.to_device(Device::Cpu).to_kind(Kind::Int64).reshape([-1])).ok()
}
