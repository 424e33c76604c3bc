//! A client of the Hugging Face Hub's documented file API, enough to fetch a model's
//! files reproducibly:
//!
//! - `GET {endpoint}/api/models/{repo}/revision/{revision}?blobs=true` names the
//!   revision's commit and its files with their sizes and checksums (the SHA-256 of
//!   files kept in Git LFS, the Git blob id of the others);
//! - `GET {endpoint}/{repo}/resolve/{commit}/{file}` serves a file (large ones through
//!   a redirect to a CDN), with `Range` requests to resume.
//!
//! Downloads are pinned to the commit the listing named, written to a `.part` file
//! that a later attempt (or a later run) resumes, and checked against the listing's
//! size and checksum before they take their final name. The endpoint is configurable
//! (like `HF_ENDPOINT`) and a token optional; the token is sent only to the endpoint's
//! host and never appears in errors or debug output.

mod client;
mod download;
mod error;
mod listing;
mod repo;

pub use client::{HubClient, DEFAULT_ENDPOINT};
pub use download::Downloaded;
pub use error::{Error, Result};
pub use listing::{Checksum, RepoFile, RepoRevision};
pub use repo::RepoId;
