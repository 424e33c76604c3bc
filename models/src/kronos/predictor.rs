//! The Kronos predictor: a causal decoder over (s1, s2) token pairs with learned time
//! embeddings, a head for s1 and a dependency-aware layer that conditions the s2 head
//! on the chosen s1.

use tch::{nn, Kind, Tensor};

use super::attention::{inv_freq, AttentionContext, KvCache};
use super::config::PredictorConfig;
use super::dropout::dropout;
use super::layers::{Dropouts, Embedding, Linear, LinearInit, RmsNorm, TransformerBlock};

/// Heads of the dependency layer's cross-attention, whatever the model's head count.
pub const DEPENDENCY_HEADS: usize = 4;

/// Time features per bar, in the order the model expects.
pub const TIME_FEATURES: usize = 5;

/// Learned (or fixed sinusoidal) embeddings of minute, hour, weekday, day and month.
#[derive(Debug)]
struct TimeEmbedding {
    minute: Embedding,
    hour: Embedding,
    weekday: Embedding,
    day: Embedding,
    month: Embedding,
}

impl TimeEmbedding {
    fn new(p: nn::Path, d: i64, learned: bool) -> Self {
        let table = |name: &str, n: i64| {
            if learned {
                Embedding::new(&p / name, n, d)
            } else {
                Embedding::sinusoidal(&p / name, n, d)
            }
        };
        Self {
            minute: table("minute_embed", 60),
            hour: table("hour_embed", 24),
            weekday: table("weekday_embed", 7),
            day: table("day_embed", 32),
            month: table("month_embed", 13),
        }
    }

    /// `stamps [B, T, 5]` (i64) → `[B, T, d]`, summed in the reference's order.
    fn forward(&self, stamps: &Tensor) -> Tensor {
        let col = |i: i64| stamps.select(-1, i);
        self.hour.forward(&col(1))
            + self.weekday.forward(&col(2))
            + self.day.forward(&col(3))
            + self.month.forward(&col(4))
            + self.minute.forward(&col(0))
    }
}

/// Keys and values of the dependency layer's cross-attention over the context.
#[derive(Debug)]
pub struct DependencyKeys {
    keys: Tensor,
    values: Tensor,
}

impl DependencyKeys {
    /// The rows at `index` (an Int64 tensor; a row may repeat: one per sample path).
    pub fn select_rows(&self, index: &Tensor) -> Self {
        Self { keys: self.keys.index_select(0, index), values: self.values.index_select(0, index) }
    }
}

/// Everything one generation caches: a key/value cache per block plus the dependency
/// layer's keys and values.
#[derive(Debug)]
pub struct PredictorCache {
    blocks: Vec<KvCache>,
    dependency: KvCache,
}

impl PredictorCache {
    /// Positions cached.
    pub fn len(&self) -> i64 {
        self.dependency.len()
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.dependency.is_empty()
    }

    /// Keeps only the rows at `index` (rows that leave a running batch).
    pub fn retain_rows(&mut self, index: &Tensor) {
        for block in &mut self.blocks {
            block.retain_rows(index);
        }
        self.dependency.retain_rows(index);
    }

    /// Rows of several caches stacked into one (see [`KvCache::join`]).
    pub fn join(parts: &[(&PredictorCache, i64)], len: i64, capacity: i64, row_capacity: i64) -> Self {
        let layer = |pick: &dyn Fn(&PredictorCache) -> &KvCache| {
            let layer_parts: Vec<(&KvCache, i64)> = parts.iter().map(|(cache, shift)| (pick(cache), *shift)).collect();
            KvCache::join(&layer_parts, len, capacity, row_capacity)
        };
        let blocks = parts.first().map_or(0, |(cache, _)| cache.blocks.len());
        Self {
            blocks: (0..blocks).map(|i| layer(&|cache: &PredictorCache| &cache.blocks[i])).collect(),
            dependency: layer(&|cache: &PredictorCache| &cache.dependency),
        }
    }

    /// Copies the rows of `part` after the rows in use (see [`KvCache::insert_rows`]).
    pub fn insert_rows(&mut self, part: &PredictorCache, shift: i64) {
        for (block, other) in self.blocks.iter_mut().zip(&part.blocks) {
            block.insert_rows(other, shift);
        }
        self.dependency.insert_rows(&part.dependency, shift);
    }

    /// Whether `rows` more rows fit.
    pub fn has_room(&self, rows: i64) -> bool {
        self.dependency.has_room(rows)
    }

    /// Copies rows `from` over rows `to` and keeps `rows` rows (see [`KvCache::move_rows`]).
    pub fn move_rows(&mut self, from: &Tensor, to: &Tensor, rows: i64) {
        for block in &mut self.blocks {
            block.move_rows(from, to, rows);
        }
        self.dependency.move_rows(from, to, rows);
    }

    /// Bytes held by every layer's keys and values.
    pub fn bytes(&self) -> i64 {
        self.blocks.iter().map(KvCache::bytes).sum::<i64>() + self.dependency.bytes()
    }
}

/// The predictor network (variable names as in `Kronos-*`).
#[derive(Debug)]
pub struct Predictor {
    config: PredictorConfig,
    emb_s1: Embedding,
    emb_s2: Embedding,
    fusion_proj: Linear,
    time_emb: TimeEmbedding,
    transformer: Vec<TransformerBlock>,
    norm: RmsNorm,
    cross_q: Linear,
    cross_k: Linear,
    cross_v: Linear,
    cross_out: Linear,
    dep_norm: RmsNorm,
    proj_s1: Linear,
    proj_s2: Linear,
    inv_freq: Tensor,
    dep_inv_freq: Tensor,
}

impl Predictor {
    /// Creates the variables under `p` (the reference's `_init_weights`).
    pub fn new(p: &nn::Path, config: &PredictorConfig) -> Self {
        let d = config.d_model as i64;
        let init = LinearInit::XavierNormal;
        let dropouts =
            Dropouts { ffn: config.ffn_dropout_p, attn: config.attn_dropout_p, resid: config.resid_dropout_p };
        let embedding = p / "embedding";
        let dep = p / "dep_layer";
        let cross = &dep / "cross_attn";
        let head = p / "head";
        Self {
            emb_s1: Embedding::new(&embedding / "emb_s1", 1 << config.s1_bits, d),
            emb_s2: Embedding::new(&embedding / "emb_s2", 1 << config.s2_bits, d),
            fusion_proj: Linear::new(&embedding / "fusion_proj", 2 * d, d, true, init),
            time_emb: TimeEmbedding::new(p / "time_emb", d, config.learn_te),
            transformer: (0..config.n_layers)
                .map(|i| {
                    TransformerBlock::new(
                        p / "transformer" / i,
                        d,
                        config.n_heads as i64,
                        config.ff_dim as i64,
                        dropouts,
                        init,
                    )
                })
                .collect(),
            norm: RmsNorm::new(p / "norm", d),
            cross_q: Linear::new(&cross / "q_proj", d, d, true, init),
            cross_k: Linear::new(&cross / "k_proj", d, d, true, init),
            cross_v: Linear::new(&cross / "v_proj", d, d, true, init),
            cross_out: Linear::new(&cross / "out_proj", d, d, true, init),
            dep_norm: RmsNorm::new(&dep / "norm", d),
            proj_s1: Linear::new(&head / "proj_s1", d, 1 << config.s1_bits, true, init),
            proj_s2: Linear::new(&head / "proj_s2", d, 1 << config.s2_bits, true, init),
            inv_freq: inv_freq(d / config.n_heads as i64, p.device()),
            dep_inv_freq: inv_freq(d / DEPENDENCY_HEADS as i64, p.device()),
            config: config.clone(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PredictorConfig {
        &self.config
    }

    /// The weights' element type.
    pub fn kind(&self) -> Kind {
        self.proj_s1.kind()
    }

    /// Inverse rotary frequencies of the transformer's heads.
    pub fn inv_freq(&self) -> &Tensor {
        &self.inv_freq
    }

    /// An empty cache for `rows` sequences of up to `capacity` positions.
    pub fn new_cache(&self, rows: i64, capacity: i64, kind: Kind) -> PredictorCache {
        let d = self.config.d_model as i64;
        let heads = self.config.n_heads as i64;
        let device = self.inv_freq.device();
        let dep_heads = DEPENDENCY_HEADS as i64;
        PredictorCache {
            blocks: (0..self.transformer.len())
                .map(|_| KvCache::new(rows, heads, capacity, d / heads, kind, device))
                .collect(),
            dependency: KvCache::new(rows, dep_heads, capacity, d / dep_heads, kind, device),
        }
    }

    /// Token and time embeddings `[B, T, d]`.
    pub fn embed(&self, s1: &Tensor, s2: &Tensor, stamps: &Tensor, train: bool) -> Tensor {
        let scale = (self.config.d_model as f64).sqrt();
        let e1 = self.emb_s1.forward(s1) * scale;
        let e2 = self.emb_s2.forward(s2) * scale;
        let x = self.fusion_proj.forward(&Tensor::cat(&[e1, e2], -1)) + self.time_emb.forward(stamps);
        dropout(&x, self.config.token_dropout_p, train)
    }

    /// The normalised context `[B, T, d]` after all blocks. With a cache, the inputs are
    /// the new positions only and their keys and values are appended to it.
    pub fn hidden(
        &self,
        s1: &Tensor,
        s2: &Tensor,
        stamps: &Tensor,
        ctx: &AttentionContext,
        mut cache: Option<&mut PredictorCache>,
        train: bool,
    ) -> Tensor {
        let mut x = self.embed(s1, s2, stamps, train);
        for (i, block) in self.transformer.iter().enumerate() {
            let layer_cache = cache.as_deref_mut().map(|c| &mut c.blocks[i]);
            x = block.forward(&x, ctx, layer_cache, train);
        }
        self.norm.forward(&x)
    }

    /// s1 logits of hidden states `[..., d]`.
    pub fn s1_logits(&self, hidden: &Tensor) -> Tensor {
        self.proj_s1.forward(hidden)
    }

    /// Projects context `[B, T, d]` into the dependency layer's keys and values; with a
    /// cache they are appended and the whole cached range is returned.
    pub fn dependency_keys(&self, hidden: &Tensor, cache: Option<&mut PredictorCache>) -> DependencyKeys {
        let (keys, values) =
            (self.split_dep(&self.cross_k.forward(hidden)), self.split_dep(&self.cross_v.forward(hidden)));
        let (keys, values) = match cache {
            Some(cache) => cache.dependency.append(&keys, &values),
            None => (keys, values),
        };
        DependencyKeys { keys, values }
    }

    /// s2 logits `[B, V2]` for the last position `last [B, d]` given the chosen s1 ids
    /// `[B]`: `proj_s2(norm(last + CrossAttn(q = emb_s1(s1), k = v = context)))`. A single
    /// query has position 0, so the rotary embedding is the identity.
    pub fn s2_logits(&self, last: &Tensor, s1: &Tensor, keys: &DependencyKeys, key_mask: Option<&Tensor>) -> Tensor {
        let sibling = self.emb_s1.forward(s1).unsqueeze(1);
        let q = self.split_dep(&self.cross_q.forward(&sibling));
        let attended =
            Tensor::scaled_dot_product_attention(&q, &keys.keys, &keys.values, key_mask, 0.0, false, None, false);
        let b = attended.size()[0];
        let merged = attended.transpose(1, 2).contiguous().view([b, 1, self.config.d_model as i64]);
        let x = last.unsqueeze(1) + self.cross_out.forward(&merged);
        self.proj_s2.forward(&self.dep_norm.forward(&x)).squeeze_dim(1)
    }

    /// s2 logits for every position (training and validation losses): the sibling
    /// embeddings `emb_s1(s1_ids) [B, T, d]` attend (with rotary positions) over the
    /// context. The reference makes this attention causal only in training mode; a loss
    /// measured on whole windows must keep it causal, or position t sees t + 1.
    pub fn s2_logits_all(&self, hidden: &Tensor, s1: &Tensor, causal: bool) -> Tensor {
        let sibling = self.emb_s1.forward(s1);
        let (b, t, d) = hidden.size3().unwrap_or((0, 0, 0));
        let ctx = AttentionContext::causal(&self.dep_inv_freq, b as usize, t);
        let q = ctx.rotate(&self.split_dep(&self.cross_q.forward(&sibling)));
        let k = ctx.rotate(&self.split_dep(&self.cross_k.forward(hidden)));
        let v = self.split_dep(&self.cross_v.forward(hidden));
        // the reference builds this layer without dropout
        let attended = Tensor::scaled_dot_product_attention::<Tensor>(&q, &k, &v, None, 0.0, causal, None, false);
        let merged = attended.transpose(1, 2).contiguous().view([b, t, d]);
        let out = self.cross_out.forward(&merged);
        self.proj_s2.forward(&self.dep_norm.forward(&(hidden + out)))
    }

    fn split_dep(&self, x: &Tensor) -> Tensor {
        let (b, t, d) = x.size3().unwrap_or((0, 0, 0));
        let heads = DEPENDENCY_HEADS as i64;
        x.view([b, t, heads, d / heads]).transpose(1, 2)
    }
}
