//! `/v1/me*`: the caller's account, profile, password, usage and API keys.

pub mod api_keys;
pub mod password;
pub mod show;
pub mod update;
pub mod usage;
pub mod verification;
