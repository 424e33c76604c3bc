//! Password hashing off the async threads: argon2id is built to cost tens of
//! milliseconds of CPU and memory, so every hash and verification runs on a blocking
//! thread.

use std::sync::Arc;

use kronos_auth::password::Passwords;

use crate::error::ApiError;

/// Hashes `password` on a blocking thread.
pub async fn hash(passwords: &Arc<Passwords>, password: &str) -> Result<String, ApiError> {
    let (passwords, password) = (Arc::clone(passwords), password.to_owned());
    tokio::task::spawn_blocking(move || passwords.hash(&password))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing stopped");
            ApiError::internal()
        })?
        .map_err(ApiError::from)
}

/// Whether `password` matches `phc` (`None`: no account, which costs the same time
/// and fails), on a blocking thread.
pub async fn verify(passwords: &Arc<Passwords>, password: &str, phc: Option<&str>) -> Result<bool, ApiError> {
    let (passwords, password, phc) = (Arc::clone(passwords), password.to_owned(), phc.map(str::to_owned));
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => passwords.verify(&password, &phc),
        None => passwords.verify_nobody(&password),
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "password verification stopped");
        ApiError::internal()
    })
}
