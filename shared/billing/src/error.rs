//! Billing errors.

/// What went wrong talking to Stripe.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request the platform cannot make (`field` names what is missing).
    #[error("{field}: {message}")]
    Invalid {
        /// The setting or argument.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// Stripe refused the request (its error object: type, code, parameter, message).
    #[error("Stripe answered HTTP {status}: {kind}{code}: {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// `error.type` (`invalid_request_error`, `card_error`, …).
        kind: String,
        /// `error.code`, with a leading space, when given.
        code: String,
        /// `error.message`.
        message: String,
    },
    /// The database refused or failed.
    #[error(transparent)]
    Db(#[from] kronos_db::Error),
    /// Stripe could not be reached, or answered in a shape that is not its documented one.
    #[error("Stripe: {0}")]
    Unavailable(String),
}

/// A billing result.
pub type Result<T> = std::result::Result<T, Error>;

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e.into())
    }
}

impl From<stripe::StripeError> for Error {
    fn from(e: stripe::StripeError) -> Self {
        match e {
            stripe::StripeError::Stripe(errors, status) => Self::Refused {
                status,
                kind: errors.type_.as_str().to_owned(),
                code: errors.code.as_ref().map(|c| format!(" {}", c.as_str())).unwrap_or_default(),
                message: errors.message.clone().unwrap_or_default(),
            },
            other => Self::Unavailable(other.to_string()),
        }
    }
}
