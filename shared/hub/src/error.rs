//! What can go wrong talking to the Hub, worded for the person who ran the command.

/// A Hub client error. None of them carries the token.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An argument is not acceptable (`field` names it).
    #[error("{field}: {message}")]
    Invalid {
        /// The argument.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// The repository, revision or file does not exist (or is private and no valid
    /// token was sent: the Hub answers the same for both).
    #[error("{what} not found on {endpoint}{hint}: {message}")]
    NotFound {
        /// `repository acme/x`, `revision main of acme/x`, `file x of acme/x`.
        what: String,
        /// The Hub's address.
        endpoint: String,
        /// A hint about the token.
        hint: &'static str,
        /// The Hub's own words.
        message: String,
    },
    /// The repository needs a token, or a different one.
    #[error("{repo}: {message} ({hint})")]
    Unauthorized {
        /// The repository.
        repo: String,
        /// The Hub's own words.
        message: String,
        /// What to do.
        hint: &'static str,
    },
    /// Any other answer that is not a success.
    #[error("{what}: the Hub answered HTTP {status}: {message}")]
    Status {
        /// The request.
        what: String,
        /// Status code.
        status: u16,
        /// The Hub's own words.
        message: String,
    },
    /// The connection failed, also after retries.
    #[error("{what}: {message}")]
    Transport {
        /// The request.
        what: String,
        /// Why.
        message: String,
    },
    /// A download stopped by failures that may pass (a dropped connection, a server
    /// error); what arrived is kept and the next try resumes from it.
    #[error("{file}: {message}; {kept} bytes kept, run again to resume")]
    Interrupted {
        /// The file.
        file: String,
        /// The last failure.
        message: String,
        /// Bytes on disk.
        kept: u64,
    },
    /// The listing is not in the documented shape.
    #[error("the revision listing of {repo} is not in the Hub's format: {message}")]
    Listing {
        /// The repository.
        repo: String,
        /// Why.
        message: String,
    },
    /// The downloaded file is not the one the Hub listed; it was deleted.
    #[error("{file}: {kind} mismatch (expected {expected}, got {actual}); the download was deleted, run again to fetch it anew")]
    Corrupt {
        /// The file.
        file: String,
        /// `size`, `sha256`, `git blob id`, or `linked etag`.
        kind: &'static str,
        /// What the Hub listed.
        expected: String,
        /// What arrived.
        actual: String,
    },
    /// A local file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
}

/// A Hub result.
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn io(path: &std::path::Path, e: std::io::Error) -> Error {
    Error::Io { path: path.display().to_string(), message: e.to_string() }
}
