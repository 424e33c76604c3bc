//! Notification errors.

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database refused or failed.
    #[error(transparent)]
    Db(#[from] kronos_db::Error),
    /// An unsubscribe token could not be made.
    #[error(transparent)]
    Auth(#[from] kronos_auth::Error),
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e.into())
    }
}

/// A notification result.
pub type Result<T> = std::result::Result<T, Error>;
