//! Signed webhook payloads in Stripe's documented scheme, for the webhooks Stripe sends
//! us and the callbacks we send: the header `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`,
//! where each `v1` is the hex HMAC-SHA256 of `<t>.<raw body>` keyed with the endpoint's
//! secret (the whole secret string, `whsec_…` included). Verification accepts any `v1`
//! made with any of the endpoint's secrets (rotation), compares in constant time, and
//! refuses a timestamp further than the tolerance from now (either side: a replayed
//! old delivery, or one dated ahead).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Stripe's default tolerance, in seconds.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// Why a signature header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Not `t=…,v1=…`: no timestamp, a repeated one, or a `v1` that is not 64 hex digits.
    #[error("the signature header is malformed: {0}")]
    Malformed(&'static str),
    /// No `v1` signature at all.
    #[error("the signature header has no v1 signature")]
    NoSignature,
    /// The timestamp is further than the tolerance from now.
    #[error("the signature's timestamp is {age_secs} s from now (tolerance {tolerance_secs} s)")]
    Stale {
        /// Now minus the timestamp.
        age_secs: i64,
        /// Allowed distance.
        tolerance_secs: i64,
    },
    /// No `v1` matches the payload under any of the secrets.
    #[error("no signature matches the payload")]
    Mismatch,
}

/// The HMAC; `None` only if the key were refused, which HMAC never does (any length).
fn mac(secret: &[u8], timestamp: i64, payload: &[u8]) -> Option<[u8; 32]> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    Some(mac.finalize().into_bytes().into())
}

/// The header value that signs `payload` at `timestamp` with `secret`.
pub fn sign(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    match mac(secret.as_bytes(), timestamp, payload) {
        Some(mac) => format!("t={timestamp},v1={}", hex::encode(mac)),
        // no signature: every verifier refuses it
        None => format!("t={timestamp}"),
    }
}

/// Checks `header` against the raw `payload`: some `v1` must be the HMAC under one of
/// `secrets`, and the timestamp within `tolerance_secs` of `now` (Unix seconds).
/// Returns the signed timestamp.
pub fn verify(
    header: &str,
    payload: &[u8],
    secrets: &[&str],
    now: i64,
    tolerance_secs: i64,
) -> Result<i64, SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        let Some((key, value)) = item.trim().split_once('=') else {
            return Err(SignatureError::Malformed("an item without '='"));
        };
        match key {
            "t" => {
                if timestamp.is_some() {
                    return Err(SignatureError::Malformed("more than one timestamp"));
                }
                let t: i64 = value.parse().map_err(|_| SignatureError::Malformed("the timestamp is not an integer"))?;
                timestamp = Some(t);
            }
            "v1" => {
                let bytes = hex::decode(value).map_err(|_| SignatureError::Malformed("a v1 signature is not hex"))?;
                let bytes: [u8; 32] =
                    bytes.try_into().map_err(|_| SignatureError::Malformed("a v1 signature is not 32 bytes"))?;
                signatures.push(bytes);
            }
            // other schemes (v0: test-mode only) are ignored, as Stripe's libraries do
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed("no timestamp"))?;
    if signatures.is_empty() {
        return Err(SignatureError::NoSignature);
    }
    let age_secs = now.saturating_sub(timestamp);
    if age_secs.saturating_abs() > tolerance_secs {
        return Err(SignatureError::Stale { age_secs, tolerance_secs });
    }
    let mut matched = 0u8;
    for secret in secrets {
        let Some(expected) = mac(secret.as_bytes(), timestamp, payload) else { continue };
        for signature in &signatures {
            matched |= expected.ct_eq(signature).unwrap_u8();
        }
    }
    if matched == 1 {
        Ok(timestamp)
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";

    #[test]
    fn matches_stripes_published_computation() {
        // HMAC-SHA256("whsec_test_secret", "1700000000.{}") computed independently
        // with Python's hmac module
        let header = sign(SECRET, 1_700_000_000, b"{}");
        assert_eq!(header, "t=1700000000,v1=ceb8863f7208fa249a6cd8f951e993c7563412aca65866f6272283debe143ab3");
        assert_eq!(verify(&header, b"{}", &[SECRET], 1_700_000_100, 300), Ok(1_700_000_000));
    }

    #[test]
    fn refuses_forgeries_stale_times_and_malformed_headers() {
        let now = 1_700_000_000;
        let body = br#"{"id":"evt_1"}"#;
        let good = sign(SECRET, now, body);
        assert_eq!(verify(&good, body, &["whsec_other"], now, 300), Err(SignatureError::Mismatch));
        assert_eq!(
            verify(&good, br#"{"id": "evt_1"}"#, &[SECRET], now, 300),
            Err(SignatureError::Mismatch),
            "re-serialised body"
        );
        assert!(matches!(
            verify(&good, body, &[SECRET], now + 301, 300),
            Err(SignatureError::Stale { age_secs: 301, .. })
        ));
        assert!(matches!(verify(&good, body, &[SECRET], now - 301, 300), Err(SignatureError::Stale { .. })));
        for bad in ["", "v1=00", "t=x,v1=00", "t=1,t=2,v1=00", "garbage", &format!("t={now},v1=zz")] {
            assert!(verify(bad, body, &[SECRET], now, 300).is_err(), "{bad:?}");
        }
        assert_eq!(verify(&format!("t={now},v0=abc"), body, &[SECRET], now, 300), Err(SignatureError::NoSignature));
    }

    #[test]
    fn any_v1_under_any_secret_is_accepted_during_rotation() {
        let now = 1_700_000_000;
        let body = b"payload";
        let old = sign("whsec_old", now, body);
        let new = sign("whsec_new", now, body);
        let both = format!("{},{}", old, new.split_once(',').unwrap().1);
        assert_eq!(verify(&both, body, &["whsec_new"], now, 300), Ok(now));
        assert_eq!(verify(&old, body, &["whsec_new", "whsec_old"], now, 300), Ok(now));
        let unrelated = format!("t={now},v1={}", "0".repeat(64));
        assert_eq!(verify(&unrelated, body, &["whsec_new"], now, 300), Err(SignatureError::Mismatch));
    }
}
