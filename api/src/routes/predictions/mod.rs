//! `/v1/predictions`.

pub mod create;
pub mod list;
pub mod show;
