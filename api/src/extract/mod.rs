//! Extractors: every way input enters a handler (JSON body, path, query) checks its
//! strings once, here, and fails with an [`crate::error::ApiError`] naming the field.

mod json;
mod page;
mod path;
mod query;
pub mod text;

pub use json::{canonical_hash, parse_json, ValidJson};
pub use page::page_size;
pub use path::ApiPath;
pub use query::{parse_query, ApiQuery};
