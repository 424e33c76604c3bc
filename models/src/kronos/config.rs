//! Model configurations as they appear in the official `config.json` files, plus the
//! published presets (Kronos-mini/small/base, Kronos-Tokenizer-2k/base).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::KronosError;

/// The tokenizer's `config.json` (keys as in `NeoQuasar/Kronos-Tokenizer-*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenizerConfig {
    /// Input columns per candle (6: OHLCV + amount).
    pub d_in: usize,
    /// Width of the hidden states.
    pub d_model: usize,
    /// Attention heads.
    pub n_heads: usize,
    /// Feed-forward width.
    pub ff_dim: usize,
    /// Encoder depth; the network has `n_enc_layers - 1` encoder blocks.
    pub n_enc_layers: usize,
    /// Decoder depth; the network has `n_dec_layers - 1` decoder blocks.
    pub n_dec_layers: usize,
    /// Dropout after the feed-forward network (training only).
    #[serde(default)]
    pub ffn_dropout_p: f64,
    /// Dropout on attention weights (training only).
    #[serde(default)]
    pub attn_dropout_p: f64,
    /// Dropout on the attention output (training only).
    #[serde(default)]
    pub resid_dropout_p: f64,
    /// Bits of the coarse token.
    pub s1_bits: usize,
    /// Bits of the fine token.
    pub s2_bits: usize,
    /// Commitment loss weight.
    pub beta: f64,
    /// Per-sample entropy weight.
    pub gamma0: f64,
    /// Codebook entropy weight.
    pub gamma: f64,
    /// Weight of the whole entropy penalty.
    pub zeta: f64,
    /// Bits per group for the codebook entropy approximation.
    pub group_size: usize,
}

/// The predictor's `config.json` (keys as in `NeoQuasar/Kronos-*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictorConfig {
    /// Bits of the coarse token (vocabulary `2^s1_bits`).
    pub s1_bits: usize,
    /// Bits of the fine token (vocabulary `2^s2_bits`).
    pub s2_bits: usize,
    /// Transformer blocks.
    pub n_layers: usize,
    /// Width of the hidden states.
    pub d_model: usize,
    /// Attention heads.
    pub n_heads: usize,
    /// Feed-forward width.
    pub ff_dim: usize,
    /// Dropout after the feed-forward network (training only).
    #[serde(default)]
    pub ffn_dropout_p: f64,
    /// Dropout on attention weights (training only).
    #[serde(default)]
    pub attn_dropout_p: f64,
    /// Dropout on the attention output (training only).
    #[serde(default)]
    pub resid_dropout_p: f64,
    /// Dropout on the input embeddings (training only).
    #[serde(default)]
    pub token_dropout_p: f64,
    /// Learned (true) or fixed sinusoidal (false) time embeddings.
    #[serde(default = "default_true")]
    pub learn_te: bool,
}

fn default_true() -> bool {
    true
}

/// The published model sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Kronos-mini with Kronos-Tokenizer-2k (context 2048).
    Mini,
    /// Kronos-small with Kronos-Tokenizer-base (context 512).
    Small,
    /// Kronos-base with Kronos-Tokenizer-base (context 512).
    Base,
}

impl std::str::FromStr for Preset {
    type Err = KronosError;
    fn from_str(s: &str) -> Result<Self, KronosError> {
        match s {
            "mini" => Ok(Self::Mini),
            "small" => Ok(Self::Small),
            "base" => Ok(Self::Base),
            other => Err(KronosError::Config(format!("unknown preset {other:?}; expected mini, small or base"))),
        }
    }
}

impl Preset {
    /// The preset whose predictor has this shape (bits, layers, width, heads, feed-forward
    /// width), if any: how weights from elsewhere are recognised.
    pub fn of_predictor(config: &PredictorConfig) -> Option<Self> {
        let shape = |c: &PredictorConfig| (c.s1_bits, c.s2_bits, c.n_layers, c.d_model, c.n_heads, c.ff_dim);
        [Self::Mini, Self::Small, Self::Base].into_iter().find(|p| shape(&p.predictor()) == shape(config))
    }

    /// The predictor's configuration.
    pub fn predictor(self) -> PredictorConfig {
        let (d_model, n_layers, n_heads, ff_dim) = match self {
            Self::Mini => (256, 4, 4, 512),
            Self::Small => (512, 8, 8, 1024),
            Self::Base => (832, 12, 16, 2048),
        };
        PredictorConfig {
            s1_bits: 10,
            s2_bits: 10,
            n_layers,
            d_model,
            n_heads,
            ff_dim,
            ffn_dropout_p: 0.25,
            attn_dropout_p: 0.1,
            resid_dropout_p: 0.25,
            token_dropout_p: 0.1,
            learn_te: true,
        }
    }

    /// The matching tokenizer's configuration (Tokenizer-2k for mini, -base otherwise).
    pub fn tokenizer(self) -> TokenizerConfig {
        TokenizerConfig {
            d_in: 6,
            d_model: 256,
            n_heads: 4,
            ff_dim: 512,
            n_enc_layers: 4,
            n_dec_layers: 4,
            ffn_dropout_p: 0.0,
            attn_dropout_p: 0.0,
            resid_dropout_p: 0.0,
            s1_bits: 10,
            s2_bits: 10,
            beta: 0.05,
            gamma0: 1.0,
            gamma: 1.1,
            zeta: 0.05,
            group_size: if self == Self::Mini { 5 } else { 4 },
        }
    }

    /// The official Hugging Face Hub repositories of this size: (predictor, tokenizer).
    pub fn hub_repos(self) -> (&'static str, &'static str) {
        match self {
            Self::Mini => ("NeoQuasar/Kronos-mini", "NeoQuasar/Kronos-Tokenizer-2k"),
            Self::Small => ("NeoQuasar/Kronos-small", "NeoQuasar/Kronos-Tokenizer-base"),
            Self::Base => ("NeoQuasar/Kronos-base", "NeoQuasar/Kronos-Tokenizer-base"),
        }
    }

    /// The size whose official predictor repository is `repo` (the Hub's ids are
    /// case-insensitive).
    pub fn from_hub_repo(repo: &str) -> Option<Self> {
        [Self::Mini, Self::Small, Self::Base].into_iter().find(|p| p.hub_repos().0.eq_ignore_ascii_case(repo))
    }

    /// The context length the model was trained with (the default `max_context`).
    pub fn max_context(self) -> usize {
        if self == Self::Mini {
            2048
        } else {
            512
        }
    }
}

/// Reads and checks a `config.json`.
pub fn read_config<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, KronosError> {
    let text = std::fs::read_to_string(path).map_err(|e| KronosError::Io(format!("{}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| KronosError::Config(format!("{}: {e}", path.display())))
}

impl TokenizerConfig {
    /// Checks the shape constraints the network relies on.
    pub fn validate(&self) -> Result<(), KronosError> {
        check_heads(self.d_model, self.n_heads)?;
        if self.n_enc_layers == 0 || self.n_dec_layers == 0 {
            return Err(KronosError::Config("n_enc_layers and n_dec_layers must be at least 1".into()));
        }
        let bits = self.s1_bits + self.s2_bits;
        if self.group_size == 0 || !bits.is_multiple_of(self.group_size) {
            return Err(KronosError::Config(format!(
                "s1_bits + s2_bits ({bits}) must be a multiple of group_size ({})",
                self.group_size
            )));
        }
        check_bits(self.s1_bits, self.s2_bits)
    }
}

impl PredictorConfig {
    /// Checks the shape constraints the network relies on (the dependency layer always
    /// has 4 heads, so `d_model` must divide by 4 as well).
    pub fn validate(&self) -> Result<(), KronosError> {
        check_heads(self.d_model, self.n_heads)?;
        check_heads(self.d_model, super::predictor::DEPENDENCY_HEADS)?;
        check_bits(self.s1_bits, self.s2_bits)
    }
}

fn check_heads(d_model: usize, n_heads: usize) -> Result<(), KronosError> {
    if n_heads == 0 || !d_model.is_multiple_of(n_heads) || !(d_model / n_heads).is_multiple_of(2) {
        return Err(KronosError::Config(format!("d_model ({d_model}) must split into {n_heads} heads of even width")));
    }
    Ok(())
}

fn check_bits(s1_bits: usize, s2_bits: usize) -> Result<(), KronosError> {
    if !(1..=16).contains(&s1_bits) || !(1..=16).contains(&s2_bits) {
        return Err(KronosError::Config("s1_bits and s2_bits must be between 1 and 16".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_repositories_name_their_size_and_tokenizer() {
        assert_eq!(Preset::from_hub_repo("NeoQuasar/Kronos-small"), Some(Preset::Small));
        assert_eq!(Preset::from_hub_repo("neoquasar/kronos-MINI"), Some(Preset::Mini));
        assert_eq!(Preset::from_hub_repo("NeoQuasar/Kronos-Tokenizer-base"), None);
        assert_eq!(Preset::from_hub_repo("acme/Kronos-small"), None);
        assert_eq!(Preset::Mini.hub_repos().1, "NeoQuasar/Kronos-Tokenizer-2k");
        assert_eq!(Preset::Base.hub_repos().1, "NeoQuasar/Kronos-Tokenizer-base");
    }

    #[test]
    fn presets_are_recognised_by_their_predictor_shape() {
        for preset in [Preset::Mini, Preset::Small, Preset::Base] {
            let mut config = preset.predictor();
            config.ffn_dropout_p = 0.0; // dropouts do not change the shape
            assert_eq!(Preset::of_predictor(&config), Some(preset));
        }
        let other = PredictorConfig { n_layers: 2, d_model: 64, ..Preset::Mini.predictor() };
        assert_eq!(Preset::of_predictor(&other), None);
    }
}
