//! Rotary tables, attention masks and key/value caches for batches of left-padded
//! series of different lengths.
//!
//! Every row of a batch is aligned on the right: row `r`'s first `pad[r]` columns are
//! padding. Positions restart at 0 at each row's first real column, padding keys are
//! never attended to, and a padding query attends only to itself (so no softmax row is
//! empty and no NaN can appear). With no padding the plain causal kernel runs, which
//! is what the reference does.

use tch::{Device, Kind, Tensor};

/// Inverse frequencies of GPT-NeoX rotary embeddings: `1 / 10000^(2i/dim)`, in f32.
pub fn inv_freq(head_dim: i64, device: Device) -> Tensor {
    let exponents = Tensor::arange_start_step(0, head_dim, 2, (Kind::Float, device)) / head_dim as f64;
    let base = Tensor::from(10000f32).to_device(device);
    base.pow(&exponents).reciprocal()
}

/// Which keys each query may see.
#[derive(Debug)]
enum Mask {
    /// Every query sees every key (one query over a cache without padding).
    Full,
    /// Square, lower-triangular.
    Causal,
    /// Explicit boolean `[B, 1, Tq, Tk]`, true = attend.
    Explicit(Tensor),
}

/// Rotary tables and the mask shared by all attention layers of one forward pass.
#[derive(Debug)]
pub struct AttentionContext {
    cos: Tensor,
    sin: Tensor,
    mask: Mask,
}

impl AttentionContext {
    /// Queries are columns `[q_start, q_start + q_len)` of a `k_len`-column key space
    /// whose row `r` starts with `pads[r]` padding columns.
    pub fn new(inv_freq: &Tensor, pads: &[i64], q_start: i64, q_len: i64, k_len: i64) -> Self {
        let device = inv_freq.device();
        let rows = pads.len() as i64;
        let padded = pads.iter().any(|&p| p > 0);
        let query_cols = Tensor::arange_start(q_start, q_start + q_len, (Kind::Int64, device));
        let pad = Tensor::from_slice(pads).to_device(device);
        let positions = if padded {
            (query_cols.unsqueeze(0) - pad.unsqueeze(1)).clamp_min(0)
        } else {
            query_cols.unsqueeze(0).expand([rows, q_len], false)
        };
        let freqs = positions.to_kind(Kind::Float).unsqueeze(-1) * inv_freq;
        let emb = Tensor::cat(&[&freqs, &freqs], -1).unsqueeze(1);
        let mask = if padded {
            let keys = Tensor::arange(k_len, (Kind::Int64, device)).view([1, 1, 1, k_len]);
            let queries = query_cols.view([1, 1, q_len, 1]);
            let first = pad.view([rows, 1, 1, 1]);
            let visible =
                keys.le_tensor(&queries).logical_and(&keys.ge_tensor(&first).logical_or(&keys.eq_tensor(&queries)));
            Mask::Explicit(visible)
        } else if q_len == k_len {
            Mask::Causal
        } else if q_len == 1 {
            Mask::Full
        } else {
            let keys = Tensor::arange(k_len, (Kind::Int64, device)).view([1, 1, 1, k_len]);
            Mask::Explicit(keys.le_tensor(&query_cols.view([1, 1, q_len, 1])))
        };
        Self { cos: emb.cos(), sin: emb.sin(), mask }
    }

    /// Context for a full, unpadded causal pass over `len` positions.
    pub fn causal(inv_freq: &Tensor, rows: usize, len: i64) -> Self {
        Self::new(inv_freq, &vec![0; rows], 0, len, len)
    }

    /// Applies the rotary embedding to `x [B, H, T, hd]`.
    pub fn rotate(&self, x: &Tensor) -> Tensor {
        let cos = self.cos.to_kind(x.kind());
        let sin = self.sin.to_kind(x.kind());
        let half = x.size()[3] / 2;
        let x1 = x.narrow(3, 0, half);
        let x2 = x.narrow(3, half, half);
        let rotated = Tensor::cat(&[&x2.neg(), &x1], -1);
        x * cos + rotated * sin
    }

    /// Scaled dot-product attention under this context's mask. With dropout on the CPU
    /// (training) the attention weights are formed explicitly and dropped by
    /// [`dropout`](super::dropout::dropout), whose draws follow the training step's
    /// stream; libtorch's fused kernel would draw from its global generator.
    pub fn attend(&self, q: &Tensor, k: &Tensor, v: &Tensor, dropout: f64) -> Tensor {
        if dropout > 0.0 && q.device() == Device::Cpu {
            return self.attend_with_host_dropout(q, k, v, dropout);
        }
        match &self.mask {
            Mask::Full => Tensor::scaled_dot_product_attention::<Tensor>(q, k, v, None, dropout, false, None, false),
            Mask::Causal => Tensor::scaled_dot_product_attention::<Tensor>(q, k, v, None, dropout, true, None, false),
            Mask::Explicit(mask) => {
                Tensor::scaled_dot_product_attention(q, k, v, Some(mask), dropout, false, None, false)
            }
        }
    }

    /// `softmax(q kᵀ / √d + mask) · v` with dropout on the weights, as the fused
    /// kernel computes it (a causal mask is the top-left lower triangle).
    fn attend_with_host_dropout(&self, q: &Tensor, k: &Tensor, v: &Tensor, dropout: f64) -> Tensor {
        let head_dim = q.size()[q.dim() - 1];
        let scores = q.matmul(&k.transpose(-2, -1)) * (1.0 / (head_dim as f64).sqrt());
        let (q_len, k_len) = (q.size()[2], k.size()[2]);
        let scores = match &self.mask {
            Mask::Full => scores,
            Mask::Causal => {
                let hidden = Tensor::ones([q_len, k_len], (Kind::Bool, q.device())).triu(1);
                scores.masked_fill(&hidden, f64::NEG_INFINITY)
            }
            Mask::Explicit(visible) => scores.masked_fill(&visible.logical_not(), f64::NEG_INFINITY),
        };
        let weights = scores.softmax(-1, scores.kind());
        super::dropout::dropout(&weights, dropout, true).matmul(v)
    }
}

/// Key-padding mask `[B, 1, 1, k_len]` (true = real column), or `None` without padding.
pub fn key_padding_mask(pads: &[i64], k_len: i64, device: Device) -> Option<Tensor> {
    if pads.iter().all(|&p| p == 0) {
        return None;
    }
    let keys = Tensor::arange(k_len, (Kind::Int64, device)).view([1, 1, 1, k_len]);
    let first = Tensor::from_slice(pads).to_device(device).view([pads.len() as i64, 1, 1, 1]);
    Some(keys.ge_tensor(&first))
}

/// Keys and values of one attention layer for the positions seen so far, in a buffer
/// allocated once for the whole generation. The first `rows` rows of the buffer are in
/// use (a continuous batch keeps spare rows for requests that join).
#[derive(Debug)]
pub struct KvCache {
    keys: Tensor,
    values: Tensor,
    len: i64,
    rows: i64,
}

impl KvCache {
    /// An empty cache for `[rows, heads, capacity, head_dim]`.
    pub fn new(rows: i64, heads: i64, capacity: i64, head_dim: i64, kind: Kind, device: Device) -> Self {
        let shape = [rows, heads, capacity, head_dim];
        Self { keys: Tensor::zeros(shape, (kind, device)), values: Tensor::zeros(shape, (kind, device)), len: 0, rows }
    }

    /// Positions cached.
    pub fn len(&self) -> i64 {
        self.len
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Keeps only the rows at `index` (an Int64 tensor of row positions, in order).
    pub fn retain_rows(&mut self, index: &Tensor) {
        self.keys = self.keys.index_select(0, index);
        self.values = self.values.index_select(0, index);
        self.rows = index.size().first().copied().unwrap_or(0);
    }

    /// Rows of several caches stacked into a buffer of at least `row_capacity` rows and
    /// `capacity` columns holding `len` positions: part `(cache, shift)` moves its column
    /// `c` to `c + shift` (columns that would fall before 0 must be padding; they are
    /// dropped). Columns no part fills are zero, for padding that masks hide. Used when
    /// rows join a running batch that has no room for them.
    pub fn join(parts: &[(&KvCache, i64)], len: i64, capacity: i64, row_capacity: i64) -> Self {
        let first = parts.first().map(|(cache, _)| cache.keys.size()).unwrap_or_default();
        let rows: i64 = parts.iter().map(|(cache, _)| cache.rows).sum();
        let (heads, head_dim) = (first.get(1).copied().unwrap_or(0), first.get(3).copied().unwrap_or(0));
        let options = parts.first().map_or((Kind::Float, Device::Cpu), |(c, _)| (c.keys.kind(), c.keys.device()));
        let shape = [rows.max(row_capacity), heads, capacity, head_dim];
        let mut joined =
            Self { keys: Tensor::zeros(shape, options), values: Tensor::zeros(shape, options), len, rows: 0 };
        for (part, shift) in parts {
            joined.insert_rows(part, *shift);
        }
        joined
    }

    /// Copies the rows of `part` after the rows in use, its column `c` to `c + shift`
    /// (the buffer must have room: see [`KvCache::has_room`]).
    pub fn insert_rows(&mut self, part: &KvCache, shift: i64) {
        let from = (-shift).max(0);
        let count = part.len.min(self.capacity() - shift) - from;
        if count > 0 {
            let to = from + shift;
            let rows = |t: &Tensor| t.narrow(0, self.rows, part.rows).narrow(2, to, count);
            rows(&self.keys).copy_(&part.keys.narrow(0, 0, part.rows).narrow(2, from, count));
            rows(&self.values).copy_(&part.values.narrow(0, 0, part.rows).narrow(2, from, count));
        }
        self.rows += part.rows;
    }

    /// Whether `rows` more rows fit in the buffer.
    pub fn has_room(&self, rows: i64) -> bool {
        self.rows + rows <= self.keys.size()[0]
    }

    /// Columns of the buffer.
    pub fn capacity(&self) -> i64 {
        self.keys.size()[2]
    }

    /// Copies rows `from` over rows `to` (Int64 tensors of equal length), then keeps the
    /// first `rows` rows in use: how rows leave a continuous batch without moving the
    /// others (the last rows fill the holes).
    pub fn move_rows(&mut self, from: &Tensor, to: &Tensor, rows: i64) {
        if from.numel() > 0 {
            let _ = self.keys.index_copy_(0, to, &self.keys.index_select(0, from));
            let _ = self.values.index_copy_(0, to, &self.values.index_select(0, from));
        }
        self.rows = rows;
    }

    /// Bytes held by the keys and values.
    pub fn bytes(&self) -> i64 {
        2 * self.keys.numel() as i64 * self.keys.kind().elt_size_in_bytes() as i64
    }

    /// Appends `k, v [B, H, T, hd]` (B: the rows in use) and returns views of
    /// everything cached.
    pub fn append(&mut self, k: &Tensor, v: &Tensor) -> (Tensor, Tensor) {
        let t = k.size()[2];
        let keys = self.keys.narrow(0, 0, self.rows);
        let values = self.values.narrow(0, 0, self.rows);
        keys.narrow(2, self.len, t).copy_(k);
        values.narrow(2, self.len, t).copy_(v);
        self.len += t;
        (keys.narrow(2, 0, self.len), values.narrow(2, 0, self.len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_formed_for_host_dropout_equal_the_fused_kernel() {
        tch::manual_seed(2);
        let opts = (Kind::Float, Device::Cpu);
        let (q, k, v) =
            (Tensor::randn([2, 3, 7, 8], opts), Tensor::randn([2, 3, 7, 8], opts), Tensor::randn([2, 3, 7, 8], opts));
        let inv_freq = inv_freq(8, Device::Cpu);
        let padded = AttentionContext::new(&inv_freq, &[0, 2], 0, 7, 7);
        let contexts = [AttentionContext::causal(&inv_freq, 2, 7), padded];
        for ctx in &contexts {
            // a drop rate of 1e-12 drops nothing here but takes the explicit path
            let explicit = ctx.attend(&q, &k, &v, 1e-12);
            let fused = ctx.attend(&q, &k, &v, 0.0);
            // rows whose queries see no key are undefined in both; compare the rest
            let defined = fused.isfinite().logical_and(&explicit.isfinite());
            let gap = (explicit - &fused).abs().masked_fill(&defined.logical_not(), 0.0).max().double_value(&[]);
            assert!(gap < 1e-5, "{gap}");
        }
    }
}
