//! The building blocks shared by the tokenizer and the predictor: linear layers,
//! RMSNorm, the SwiGLU feed-forward network, rotary embeddings, causal self-attention
//! (with an optional key/value cache) and pre-norm transformer blocks.
//!
//! Variable names follow the official checkpoints (`q_proj.weight`, `norm1.weight`, …).

use tch::{nn, Kind, Tensor};

use super::attention::{AttentionContext, KvCache};
use super::dropout::dropout;

/// How a linear layer's weights are initialised when created (loading overwrites them).
#[derive(Debug, Clone, Copy)]
pub enum LinearInit {
    /// PyTorch's default: uniform in ±1/√fan_in for weight and bias.
    Default,
    /// Xavier normal weight and zero bias (the predictor's `_init_weights`).
    XavierNormal,
}

thread_local! {
    /// The element type linear layers multiply in on this thread, when set.
    static MATMUL_KIND: std::cell::Cell<Option<Kind>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` with every linear layer's matrix product in `kind` (inputs and weights cast
/// to it, results cast back to the input's type): mixed-precision training as
/// `torch.autocast` does it for linear layers, with the weights, their gradients, the
/// optimizer state and everything but the products kept in f32. Backward passes follow
/// the casts recorded in the forward pass.
pub fn with_matmul_kind<T>(kind: Kind, f: impl FnOnce() -> T) -> T {
    let previous = MATMUL_KIND.with(|k| k.replace(Some(kind)));
    let out = f();
    MATMUL_KIND.with(|k| k.set(previous));
    out
}

/// The element type set by [`with_matmul_kind`] on this thread, if any (for work handed
/// to other threads).
pub fn current_matmul_kind() -> Option<Kind> {
    MATMUL_KIND.with(|k| k.get())
}

/// `y = x Wᵀ + b`.
#[derive(Debug)]
pub struct Linear {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl Linear {
    /// Creates `weight [out, in]` (and `bias [out]`) under `p`.
    pub fn new(p: nn::Path, inputs: i64, outputs: i64, bias: bool, init: LinearInit) -> Self {
        let bound = 1.0 / (inputs as f64).sqrt();
        let (w_init, b_init) = match init {
            LinearInit::Default => {
                (nn::Init::Uniform { lo: -bound, up: bound }, nn::Init::Uniform { lo: -bound, up: bound })
            }
            LinearInit::XavierNormal => {
                let std = (2.0 / (inputs + outputs) as f64).sqrt();
                (nn::Init::Randn { mean: 0.0, stdev: std }, nn::Init::Const(0.0))
            }
        };
        let weight = p.var("weight", &[outputs, inputs], w_init);
        let bias = bias.then(|| p.var("bias", &[outputs], b_init));
        Self { weight, bias }
    }

    /// The weights' element type.
    pub fn kind(&self) -> Kind {
        self.weight.kind()
    }

    /// Applies the layer to the last dimension (in the kind [`with_matmul_kind`] set, if
    /// any).
    pub fn forward(&self, x: &Tensor) -> Tensor {
        match MATMUL_KIND.with(std::cell::Cell::get) {
            Some(kind) if kind != self.weight.kind() => {
                let bias = self.bias.as_ref().map(|b| b.to_kind(kind));
                x.to_kind(kind).linear(&self.weight.to_kind(kind), bias.as_ref()).to_kind(x.kind())
            }
            _ => x.linear(&self.weight, self.bias.as_ref()),
        }
    }
}

/// An embedding table `weight [n, d]`.
#[derive(Debug)]
pub struct Embedding {
    weight: Tensor,
}

impl Embedding {
    /// Creates the table, initialised N(0, d^-1/2) as in the reference.
    pub fn new(p: nn::Path, n: i64, d: i64) -> Self {
        let stdev = (d as f64).powf(-0.5);
        Self { weight: p.var("weight", &[n, d], nn::Init::Randn { mean: 0.0, stdev }) }
    }

    /// A fixed sinusoidal table (the reference's `FixedEmbedding`, not trained).
    pub fn sinusoidal(p: nn::Path, n: i64, d: i64) -> Self {
        let device = p.device();
        let position = Tensor::arange(n, (Kind::Float, device)).unsqueeze(1);
        let div_term = (Tensor::arange_start_step(0, d, 2, (Kind::Float, device)) * -(10000f64.ln() / d as f64)).exp();
        let table = Tensor::zeros([n, d], (Kind::Float, device));
        let angles = position * div_term.unsqueeze(0);
        table.slice(1, 0, d, 2).copy_(&angles.sin());
        table.slice(1, 1, d, 2).copy_(&angles.cos());
        let weight = p.var_copy("emb.weight", &table);
        Self { weight: weight.set_requires_grad(false) }
    }

    /// Looks up `ids` (any shape) → `[..., d]`.
    pub fn forward(&self, ids: &Tensor) -> Tensor {
        Tensor::embedding(&self.weight, ids, -1, false, false)
    }
}

/// RMSNorm with a learned scale, eps 1e-5, computed in f32.
#[derive(Debug)]
pub struct RmsNorm {
    weight: Tensor,
}

impl RmsNorm {
    /// Creates `weight [d]` initialised to ones.
    pub fn new(p: nn::Path, d: i64) -> Self {
        Self { weight: p.var("weight", &[d], nn::Init::Const(1.0)) }
    }

    /// Normalises the last dimension.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let xf = x.to_kind(Kind::Float);
        let ms = (&xf * &xf).mean_dim(-1, true, Kind::Float);
        let normed = (xf * (ms + 1e-5).rsqrt()).to_kind(x.kind());
        normed * &self.weight
    }
}

/// `w2(silu(w1 x) · w3 x)`, no biases, dropout on the output in training.
#[derive(Debug)]
pub struct FeedForward {
    w1: Linear,
    w2: Linear,
    w3: Linear,
    dropout: f64,
}

impl FeedForward {
    /// Creates `w1`, `w2`, `w3` under `p`.
    pub fn new(p: nn::Path, d_model: i64, ff_dim: i64, dropout: f64, init: LinearInit) -> Self {
        Self {
            w1: Linear::new(&p / "w1", d_model, ff_dim, false, init),
            w3: Linear::new(&p / "w3", d_model, ff_dim, false, init),
            w2: Linear::new(&p / "w2", ff_dim, d_model, false, init),
            dropout,
        }
    }

    /// Applies the network.
    pub fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        let gated = self.w1.forward(x).silu() * self.w3.forward(x);
        dropout(&self.w2.forward(&gated), self.dropout, train)
    }
}

/// Multi-head causal self-attention with rotary embeddings and projection biases.
#[derive(Debug)]
pub struct SelfAttention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    out_proj: Linear,
    n_heads: i64,
    attn_dropout: f64,
    resid_dropout: f64,
}

impl SelfAttention {
    /// Creates the projections under `p`.
    pub fn new(
        p: nn::Path,
        d_model: i64,
        n_heads: i64,
        attn_dropout: f64,
        resid_dropout: f64,
        init: LinearInit,
    ) -> Self {
        Self {
            q_proj: Linear::new(&p / "q_proj", d_model, d_model, true, init),
            k_proj: Linear::new(&p / "k_proj", d_model, d_model, true, init),
            v_proj: Linear::new(&p / "v_proj", d_model, d_model, true, init),
            out_proj: Linear::new(&p / "out_proj", d_model, d_model, true, init),
            n_heads,
            attn_dropout,
            resid_dropout,
        }
    }

    /// `x [B, T, d]` → `[B, T, d]`. With a cache, `x` holds only the new positions and
    /// attends to everything cached before them.
    pub fn forward(&self, x: &Tensor, ctx: &AttentionContext, cache: Option<&mut KvCache>, train: bool) -> Tensor {
        let (b, t, d) = x.size3().unwrap_or((0, 0, 0));
        let split = |y: Tensor| y.view([b, t, self.n_heads, d / self.n_heads]).transpose(1, 2);
        let q = ctx.rotate(&split(self.q_proj.forward(x)));
        let k = ctx.rotate(&split(self.k_proj.forward(x)));
        let v = split(self.v_proj.forward(x));
        let (k, v) = match cache {
            Some(cache) => cache.append(&k, &v),
            None => (k, v),
        };
        let attn_dropout = if train { self.attn_dropout } else { 0.0 };
        let attended = ctx.attend(&q, &k, &v, attn_dropout);
        let merged = attended.transpose(1, 2).contiguous().view([b, t, d]);
        dropout(&self.out_proj.forward(&merged), self.resid_dropout, train)
    }
}

/// Dropout rates of one block.
#[derive(Debug, Clone, Copy, Default)]
pub struct Dropouts {
    /// After the feed-forward network.
    pub ffn: f64,
    /// On attention weights.
    pub attn: f64,
    /// On the attention output.
    pub resid: f64,
}

/// Pre-norm block: `x + attn(norm1 x)`, then `h + ffn(norm2 h)`.
#[derive(Debug)]
pub struct TransformerBlock {
    norm1: RmsNorm,
    self_attn: SelfAttention,
    norm2: RmsNorm,
    ffn: FeedForward,
}

impl TransformerBlock {
    /// Creates the block's variables under `p`.
    pub fn new(p: nn::Path, d_model: i64, n_heads: i64, ff_dim: i64, dropouts: Dropouts, init: LinearInit) -> Self {
        Self {
            norm1: RmsNorm::new(&p / "norm1", d_model),
            self_attn: SelfAttention::new(&p / "self_attn", d_model, n_heads, dropouts.attn, dropouts.resid, init),
            norm2: RmsNorm::new(&p / "norm2", d_model),
            ffn: FeedForward::new(&p / "ffn", d_model, ff_dim, dropouts.ffn, init),
        }
    }

    /// Applies the block.
    pub fn forward(&self, x: &Tensor, ctx: &AttentionContext, cache: Option<&mut KvCache>, train: bool) -> Tensor {
        let h = x + self.self_attn.forward(&self.norm1.forward(x), ctx, cache, train);
        let out = self.ffn.forward(&self.norm2.forward(&h), train);
        h + out
    }
}
