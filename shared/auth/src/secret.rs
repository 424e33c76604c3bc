//! Opaque secrets: 256 random bits in URL-safe base64, stored only as their SHA-256
//! (a hash of a high-entropy secret needs no salt or stretching: nobody can guess the
//! input). API keys and refresh tokens carry a recognisable prefix so that a leaked
//! one is easy to spot (secret scanners, logs) and easy to tell apart from a JWT.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What every API key starts with.
pub const API_KEY_PREFIX: &str = "kr_live_";
/// What every refresh token starts with.
pub const REFRESH_PREFIX: &str = "krr_";
/// Characters of an API key shown in listings (the prefix and 8 of the secret).
pub const SHOWN_CHARS: usize = API_KEY_PREFIX.len() + 8;

/// 256 random bits from the operating system's generator, URL-safe base64 (43
/// characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a secret: its SHA-256, hex.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `a` and `b` are equal, in time that depends only on their lengths.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A new secret: what the client gets once, and what the platform keeps.
#[derive(Clone)]
pub struct Issued {
    /// The secret itself (shown once; never stored or logged).
    pub plaintext: String,
    /// Its SHA-256, stored.
    pub hash: String,
    /// What listings show of it (`kr_live_AbCdEfGh`).
    pub shown: String,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued").field("shown", &self.shown).finish_non_exhaustive()
    }
}

fn issue(prefix: &str) -> Issued {
    let plaintext = format!("{prefix}{}", random_token());
    let shown = plaintext.chars().take(prefix.len() + 8).collect();
    Issued { hash: hash_secret(&plaintext), plaintext, shown }
}

/// A new API key.
pub fn new_api_key() -> Issued {
    issue(API_KEY_PREFIX)
}

/// A new refresh token.
pub fn new_refresh_token() -> Issued {
    issue(REFRESH_PREFIX)
}

/// A new single-use token for an email link (verification, password reset).
pub fn new_link_token() -> Issued {
    issue("")
}

/// Whether a bearer credential is an API key (else it is taken for an access token).
pub fn is_api_key(credential: &str) -> bool {
    credential.starts_with(API_KEY_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_prefixed_and_hashed() {
        let a = new_api_key();
        let b = new_api_key();
        assert_ne!(a.plaintext, b.plaintext);
        assert!(is_api_key(&a.plaintext) && !is_api_key("eyJhbGciOi.x.y"));
        assert_eq!(a.plaintext.len(), API_KEY_PREFIX.len() + 43);
        assert_eq!(a.shown.len(), SHOWN_CHARS);
        assert!(a.plaintext.starts_with(&a.shown));
        assert_eq!(a.hash, hash_secret(&a.plaintext));
        assert_eq!(a.hash.len(), 64);
        assert!(!format!("{a:?}").contains(&a.plaintext), "Debug hides the secret");
        assert!(new_refresh_token().plaintext.starts_with(REFRESH_PREFIX));
        assert!(constant_time_eq("abc", "abc") && !constant_time_eq("abc", "abd") && !constant_time_eq("a", "ab"));
    }
}
