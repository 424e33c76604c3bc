//! Kronos platform: authentication primitives, with no I/O.
//!
//! `address` checks email addresses; `password` hashes and checks passwords with argon2id (parameters from config) and
//! states the password rule; `jwt` signs and verifies short-lived access tokens
//! (HS256 pinned, a `kid` per key so a rotated-out key is still accepted); `secret`
//! makes the opaque secrets the platform stores only as SHA-256 hashes: refresh
//! tokens, email-verification and password-reset tokens, and API keys (a recognisable
//! prefix plus 256 random bits); `signature` signs and verifies webhook payloads in
//! Stripe's scheme (timestamped HMAC-SHA256, several signatures for rotation);
//! `unsubscribe` makes the single-purpose tokens of the links that turn one kind of
//! email off.

pub mod address;
pub mod error;
pub mod jwt;
pub mod password;
pub mod secret;
pub mod signature;
pub mod unsubscribe;

pub use error::{Error, Result};
