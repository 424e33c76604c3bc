//! The Kronos tokenizer: a causal transformer autoencoder with binary spherical
//! quantisation that turns each normalised candle into a coarse (s1) and a fine (s2)
//! token, and back.

use tch::{nn, Kind, Tensor};

use super::attention::{inv_freq, AttentionContext, KvCache};
use super::config::TokenizerConfig;
use super::layers::{Dropouts, Linear, LinearInit, TransformerBlock};

/// The tokenizer network (variable names as in `Kronos-Tokenizer-*`).
#[derive(Debug)]
pub struct Tokenizer {
    config: TokenizerConfig,
    embed: Linear,
    encoder: Vec<TransformerBlock>,
    decoder: Vec<TransformerBlock>,
    quant_embed: Linear,
    post_quant_embed_pre: Linear,
    post_quant_embed: Linear,
    head: Linear,
    inv_freq: Tensor,
}

impl Tokenizer {
    /// Creates the variables under `p` (PyTorch's default initialisation).
    pub fn new(p: &nn::Path, config: &TokenizerConfig) -> Self {
        let d = config.d_model as i64;
        let bits = (config.s1_bits + config.s2_bits) as i64;
        let init = LinearInit::Default;
        let dropouts =
            Dropouts { ffn: config.ffn_dropout_p, attn: config.attn_dropout_p, resid: config.resid_dropout_p };
        let block = |prefix: &str, i: usize| {
            TransformerBlock::new(p / prefix / i, d, config.n_heads as i64, config.ff_dim as i64, dropouts, init)
        };
        Self {
            embed: Linear::new(p / "embed", config.d_in as i64, d, true, init),
            encoder: (0..config.n_enc_layers - 1).map(|i| block("encoder", i)).collect(),
            decoder: (0..config.n_dec_layers - 1).map(|i| block("decoder", i)).collect(),
            quant_embed: Linear::new(p / "quant_embed", d, bits, true, init),
            post_quant_embed_pre: Linear::new(p / "post_quant_embed_pre", config.s1_bits as i64, d, true, init),
            post_quant_embed: Linear::new(p / "post_quant_embed", bits, d, true, init),
            head: Linear::new(p / "head", d, config.d_in as i64, true, init),
            inv_freq: inv_freq(d / config.n_heads as i64, p.device()),
            config: config.clone(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TokenizerConfig {
        &self.config
    }

    /// Inverse rotary frequencies of this network's heads.
    pub fn inv_freq(&self) -> &Tensor {
        &self.inv_freq
    }

    /// The encoder's pre-quantisation output `[B, T, s1_bits + s2_bits]`.
    pub fn encode_latent(&self, x: &Tensor, ctx: &AttentionContext, train: bool) -> Tensor {
        let mut z = self.embed.forward(x);
        for block in &self.encoder {
            z = block.forward(&z, ctx, None, train);
        }
        self.quant_embed.forward(&z)
    }

    /// Encodes normalised candles `x [B, T, d_in]` into `(s1, s2)` token ids `[B, T]`.
    /// A bit is set where the latent is strictly positive; bit i has weight 2^i.
    pub fn encode(&self, x: &Tensor, ctx: &AttentionContext) -> (Tensor, Tensor) {
        let bits = self.encode_latent(x, ctx, false).gt(0.0).to_kind(Kind::Int64);
        let s1 = self.config.s1_bits as i64;
        let s2 = self.config.s2_bits as i64;
        (bits_to_index(&bits.narrow(-1, 0, s1)), bits_to_index(&bits.narrow(-1, s1, s2)))
    }

    /// The codebook vectors (±1/√bits) of token ids `(s1, s2)`: `[B, T, bits]`.
    pub fn codes(&self, s1: &Tensor, s2: &Tensor) -> Tensor {
        let total = (self.config.s1_bits + self.config.s2_bits) as f64;
        let bits = Tensor::cat(&[index_to_bits(s1, self.config.s1_bits), index_to_bits(s2, self.config.s2_bits)], -1);
        (bits.to_kind(Kind::Float) * 2.0 - 1.0) * (1.0 / total.sqrt())
    }

    /// Decodes token ids back to normalised candles `[B, T, d_in]`.
    pub fn decode(&self, s1: &Tensor, s2: &Tensor, ctx: &AttentionContext) -> Tensor {
        let quantized = self.codes(s1, s2).to_kind(self.head_kind());
        self.decode_codes(&self.post_quant_embed.forward(&quantized), ctx, false)
    }

    /// Decodes the tails of sequences that share their earlier tokens, running the
    /// decoder over each shared prefix once: `prefix_s1/s2 [G, P]` (left-padded as
    /// `prefix_ctx` says) fill each decoder block's key/value cache, the cache forks to
    /// the rows of `owner` (row i continues prefix `owner[i]`), and only the tails
    /// `tail_s1/s2 [R, H]` run through the decoder, attending to their prefix's cached
    /// keys (`tail_ctx`: queries from P, keys `P + H`). The decoder is causal, so this
    /// equals decoding every row's whole sequence (up to float rounding). Returns the
    /// tails' normalised candles `[R, H, d_in]`.
    #[expect(clippy::too_many_arguments, reason = "a prefix and a tail, each tokens and their attention context")]
    pub fn decode_after_shared_prefix(
        &self,
        prefix_s1: &Tensor,
        prefix_s2: &Tensor,
        prefix_ctx: &AttentionContext,
        owner: &Tensor,
        tail_s1: &Tensor,
        tail_s2: &Tensor,
        tail_ctx: &AttentionContext,
    ) -> Tensor {
        let kind = self.head_kind();
        let (groups, prefix_len) = prefix_s1.size2().unwrap_or((0, 0));
        let tail_len = tail_s1.size().get(1).copied().unwrap_or(0);
        let d = self.config.d_model as i64;
        let heads = self.config.n_heads as i64;
        let device = self.inv_freq.device();
        let mut caches: Vec<KvCache> = self
            .decoder
            .iter()
            .map(|_| KvCache::new(groups, heads, prefix_len + tail_len, d / heads, kind, device))
            .collect();
        let mut z = self.post_quant_embed.forward(&self.codes(prefix_s1, prefix_s2).to_kind(kind));
        for (block, cache) in self.decoder.iter().zip(caches.iter_mut()) {
            z = block.forward(&z, prefix_ctx, Some(cache), false);
        }
        for cache in caches.iter_mut() {
            cache.retain_rows(owner);
        }
        let mut z = self.post_quant_embed.forward(&self.codes(tail_s1, tail_s2).to_kind(kind));
        for (block, cache) in self.decoder.iter().zip(caches.iter_mut()) {
            z = block.forward(&z, tail_ctx, Some(cache), false);
        }
        self.head.forward(&z)
    }

    /// Runs the decoder blocks and the head on embedded codes.
    pub fn decode_codes(&self, z: &Tensor, ctx: &AttentionContext, train: bool) -> Tensor {
        let mut z = z.shallow_clone();
        for block in &self.decoder {
            z = block.forward(&z, ctx, None, train);
        }
        self.head.forward(&z)
    }

    /// The coarse path's embedding of the s1 half of quantised codes (training).
    pub fn embed_coarse(&self, codes_s1: &Tensor) -> Tensor {
        self.post_quant_embed_pre.forward(codes_s1)
    }

    /// The full path's embedding of quantised codes (training).
    pub fn embed_codes(&self, codes: &Tensor) -> Tensor {
        self.post_quant_embed.forward(codes)
    }

    fn head_kind(&self) -> Kind {
        self.head.kind()
    }
}

/// `Σ bitᵢ · 2^i` over the last dimension of a 0/1 tensor.
fn bits_to_index(bits: &Tensor) -> Tensor {
    let n = bits.size()[bits.dim() - 1];
    let weights = powers_of_two(n as usize, bits.device());
    (bits * weights).sum_dim_intlist(-1, false, Kind::Int64)
}

/// Bit i of each id, as 0/1 along a new last dimension of size `n`.
fn index_to_bits(ids: &Tensor, n: usize) -> Tensor {
    let weights = powers_of_two(n, ids.device());
    ids.unsqueeze(-1).bitwise_and_tensor(&weights).ne(0)
}

/// `[1, 2, 4, …, 2^(n-1)]` as i64.
fn powers_of_two(n: usize, device: tch::Device) -> Tensor {
    let powers: Vec<i64> = (0..n).map(|i| 1i64 << i).collect();
    Tensor::from_slice(&powers).to_device(device)
}

/// Convenience for tests and tools: an unpadded causal context for the tokenizer.
pub fn causal_context(tokenizer: &Tokenizer, rows: usize, len: i64) -> AttentionContext {
    AttentionContext::causal(tokenizer.inv_freq(), rows, len)
}
