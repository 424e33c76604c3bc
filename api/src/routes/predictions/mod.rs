//! `/v1/predictions`.

pub mod create;
pub mod show;
