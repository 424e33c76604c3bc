//! The model registry's vocabulary: families, lifecycle statuses and sources, as enums
//! spelt in the database and the API as lower-case words.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::{error::Error, words::word_enum};

word_enum!(
    /// What kind of model a registered version is.
    ModelFamily, "family" {
        /// Kronos (tokenizer + autoregressive predictor): serves forecasts.
        Kronos => "kronos",
        /// LSTM regressor baseline (measured, not served).
        Lstm => "lstm",
        /// GRU regressor baseline (measured, not served).
        Gru => "gru",
        /// Transformer regressor baseline (measured, not served).
        Transformer => "transformer",
    }
);

word_enum!(
    /// Where a version is in its lineage's lifecycle.
    ModelStatus, "status" {
        /// Registered, not serving.
        Candidate => "candidate",
        /// Serves the lineage's name (one per lineage).
        Production => "production",
        /// Replaced by a later production version.
        Archived => "archived",
    }
);

word_enum!(
    /// How a version entered the registry.
    ModelSource, "source" {
        /// Imported weights (a Hugging Face layout).
        Import => "import",
        /// Fresh random weights of a preset.
        Init => "init",
        /// Trained or fine-tuned by a training job.
        Training => "training",
        /// Downloaded from the Hugging Face Hub (`kronos models pull`; see `HubOrigin`).
        Hub => "hub",
    }
);

/// Where a version pulled from the Hugging Face Hub came from: enough to fetch the
/// very same files again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HubOrigin {
    /// The Hub's address.
    pub endpoint: String,
    /// The predictor's repository.
    pub predictor: HubSnapshot,
    /// The tokenizer's repository.
    pub tokenizer: HubSnapshot,
}

/// One repository at the commit its files were downloaded from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HubSnapshot {
    /// Repository id, e.g. `NeoQuasar/Kronos-small`.
    pub repo: String,
    /// The revision asked for (branch, tag or commit).
    pub revision: String,
    /// The commit it named (40 hex digits).
    pub commit: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_unknown_ones_name_the_field() {
        for f in ModelFamily::ALL {
            assert_eq!(f.as_str().parse::<ModelFamily>().ok(), Some(*f));
            assert_eq!(serde_json::to_value(f).ok(), Some(serde_json::json!(f.as_str())));
        }
        let Err(Error::Invalid { field, message }) = "svm".parse::<ModelFamily>() else { panic!("accepted") };
        assert_eq!(field, "family");
        assert!(message.contains("kronos, lstm, gru, transformer"), "{message}");
        assert_eq!("production".parse::<ModelStatus>().ok(), Some(ModelStatus::Production));
    }
}
