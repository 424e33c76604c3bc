//! The error of the plain types: input that fails validation.

use thiserror::Error;

/// Input that fails validation. Every crate's error has an `Invalid` variant with the
/// same fields, so the field's name reaches the client whichever layer refused it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// `field` names the offending input; `message` says what is wrong with it.
    #[error("{message}")]
    Invalid {
        /// The field that failed validation.
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

impl Error {
    /// A validation error on `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), message: message.into() }
    }

    /// The offending field.
    pub fn field(&self) -> &str {
        match self {
            Self::Invalid { field, .. } => field,
        }
    }

    /// What is wrong with it.
    pub fn message(&self) -> &str {
        match self {
            Self::Invalid { message, .. } => message,
        }
    }
}

/// Result alias over [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
