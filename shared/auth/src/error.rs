//! The auth primitives' errors.

/// Why an auth primitive refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that breaks a rule (the field and why).
    #[error("{field}: {message}")]
    Invalid {
        /// The offending field.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// A credential that does not authenticate (expired, forged, malformed). The
    /// reason is for logs; clients get one answer for every reason.
    #[error("not authenticated: {0}")]
    Unauthenticated(&'static str),
    /// A misconfiguration or a library failure.
    #[error("auth internal error: {0}")]
    Internal(String),
}

impl Error {
    /// An invalid `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid { field, message: message.into() }
    }
}

/// Result of the auth primitives.
pub type Result<T> = std::result::Result<T, Error>;
