//! The error of configuration.

use thiserror::Error;

/// A setting is missing, malformed or out of range; the message names it.
#[derive(Debug, Error)]
pub enum Error {
    /// What is wrong, naming the variable.
    #[error("configuration error: {0}")]
    Config(String),
}

/// Result alias over [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
