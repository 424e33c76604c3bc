//! Who is calling and what they may do.
//!
//! `access` classifies every route (public, user with scopes, verified user, session,
//! admin); `resolve` turns a bearer token, an API key or the session cookie into a
//! [`principal::Principal`], with a few seconds' cache; `middleware::authorize` checks
//! each request against its route's class (and the CSRF rule for cookie sessions, and
//! the daily API-call quota of key requests) before any handler runs; `extract` gives
//! handlers the caller and the client's address; `limits` counts rate limits in Redis;
//! `meter` counts API calls against the tier's daily limit; `cookies` reads and writes the session cookies.

pub mod access;
pub mod cookies;
pub mod extract;
pub mod limits;
pub mod meter;
pub mod middleware;
pub mod principal;
pub mod resolve;

pub use extract::{Caller, Client};
pub use principal::{Credential, Principal};
