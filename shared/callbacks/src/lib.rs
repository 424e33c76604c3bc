//! Completion callbacks: when a batch (or a job given a `callback_url`) ends, its owner's
//! receiver gets a POST with the outcome, signed in Stripe's scheme with the secret of
//! the API key that submitted the work.
//!
//! - [`target`]: an address is accepted only if it is `http(s)` and every address its
//!   host resolves to is public — loopback, private, link-local, shared, multicast and
//!   unspecified addresses are refused unless the operator allows their block
//!   (`KRONOS_CALLBACK_ALLOW`) — at submission and again at each delivery, which then
//!   connects to the address it checked (no second lookup for a rebinding DNS to win).
//! - [`deliver`]: one signed POST, no redirects, a timeout.
//! - [`worker`]: the delivery loop: due callbacks are leased, posted, and retried with
//!   doubling delays (jittered, at most an hour) for `KRONOS_CALLBACK_RETRY_SECS` (a
//!   day), every attempt recorded.

pub mod deliver;
pub mod target;
pub mod worker;

/// The header carrying the signature (`t=<unix seconds>,v1=<hex HMAC-SHA256>`).
pub const SIGNATURE_HEADER: &str = "Kronos-Signature";
/// The header carrying the callback's id (the same on every retry: drop repeats by it).
pub const EVENT_ID_HEADER: &str = "Kronos-Event-Id";
