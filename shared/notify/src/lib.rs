//! Kronos platform: telling users what happened.
//!
//! `send` queues an optional email — unless the user turned its kind off — with the
//! link that turns that kind off (a page) and the one-click `List-Unsubscribe` address,
//! both carrying a token signed for that user and kind (`kronos_auth::unsubscribe`).
//! `alerts` evaluates users' alert rules after a refresh stored an asset's candles and
//! after a forecast of it, recording each firing once and emailing it. `jobs` tells a
//! user their job finished or failed, when they asked for that kind; `digest` sends the
//! weekly summary of a user's verified forecasts beside naive.

pub mod alerts;
pub mod digest;
mod error;
pub mod jobs;
mod send;

pub use error::{Error, Result};
pub use send::{send, Links};
