//! Unsubscribe tokens: a link in every optional email that turns that one kind of email
//! off for that one user, without logging in. The token names the user and the kind and
//! carries an HMAC of both under a key derived from the access-token keys with a label
//! of its own, so it can do nothing else: it is not a session, it cannot turn off
//! another kind, and a changed user id or kind breaks it. It does not expire (old
//! emails keep working); rotating the access-token keys out ends it.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};

const LABEL: &[u8] = b"kronos unsubscribe token v1";

fn hmac(key: &[u8]) -> Result<Hmac<Sha256>> {
    Hmac::<Sha256>::new_from_slice(key).map_err(|e| Error::Internal(e.to_string()))
}

fn tag(secret: &[u8], user_id: i64, kind: &str) -> Result<[u8; 16]> {
    let mut kdf = hmac(secret)?;
    kdf.update(LABEL);
    let mut mac = hmac(&kdf.finalize().into_bytes())?;
    mac.update(format!("{user_id}:{kind}").as_bytes());
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    Ok(out)
}

/// The token that turns `kind` off for `user_id`, signed with `secret` (the current
/// access-token signing key).
pub fn token(secret: &[u8], user_id: i64, kind: &str) -> Result<String> {
    Ok(format!("{user_id}.{kind}.{}", hex::encode(tag(secret, user_id, kind)?)))
}

/// Reads a token signed with any of `secrets`: the user and the kind it turns off.
pub fn read(secrets: &[&[u8]], token: &str) -> Result<(i64, String)> {
    let bad = || Error::invalid("token", "not an unsubscribe token (copy the whole link)");
    let mut parts = token.trim().splitn(3, '.');
    let (Some(user), Some(kind), Some(signature)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let user_id: i64 = user.parse().map_err(|_| bad())?;
    let valid_kind = !kind.is_empty() && kind.len() <= 40 && kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    let signature = hex::decode(signature).map_err(|_| bad())?;
    if !valid_kind || signature.len() != 16 {
        return Err(bad());
    }
    let mut matched = 0u8;
    for secret in secrets {
        matched |= tag(secret, user_id, kind)?.ct_eq(&signature).unwrap_u8();
    }
    if matched == 1 {
        Ok((user_id, kind.to_owned()))
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_turns_off_one_kind_for_one_user() {
        let key = b"0123456789abcdef0123456789abcdef";
        let t = token(key, 42, "billing").unwrap();
        assert!(t.starts_with("42.billing."));
        assert_eq!(read(&[key], &t).unwrap(), (42, "billing".to_owned()));
        // another user, another kind, another key, a cut token
        assert!(read(&[key], &t.replacen("42.", "43.", 1)).is_err());
        assert!(read(&[key], &t.replacen("billing", "alerts", 1)).is_err());
        assert!(read(&[b"another key, also of 32 bytes.."], &t).is_err());
        assert!(read(&[key], &t[..t.len() - 2]).is_err());
        for bad in ["", "42", "42.billing", "x.billing.00", "42.BILLING.00", "42.billing.zz"] {
            assert!(read(&[key], bad).is_err(), "{bad:?}");
        }
        // a rotated-out key still reads old links while it is listed
        assert_eq!(read(&[b"new key", key], &t).unwrap().0, 42);
    }
}
