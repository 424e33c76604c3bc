//! Extractors: every way input enters a handler (JSON body, path, query) checks its
//! strings once, here, and fails with an [`crate::error::ApiError`] naming the field.

mod json;
mod path;
mod query;
pub mod text;

pub use json::{canonical_hash, ValidJson};
pub use path::ApiPath;
pub use query::ApiQuery;
