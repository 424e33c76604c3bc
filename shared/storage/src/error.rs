//! The error of the object store.

use thiserror::Error;

/// Errors of the object store and the model files in it.
#[derive(Debug, Error)]
pub enum Error {
    /// The object does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The store answered with an error.
    #[error("object store error: {0}")]
    Store(#[from] object_store::Error),
    /// A local file could not be read or written.
    #[error("data error: {0}")]
    Data(String),
    /// The store cannot be opened with this configuration.
    #[error("configuration error: {0}")]
    Config(String),
}

/// Result alias over [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
