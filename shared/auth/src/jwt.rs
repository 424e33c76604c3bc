//! Access tokens: JWTs signed with HMAC-SHA256, valid for minutes. The algorithm is
//! pinned (a token naming any other — `none` included — is refused before its
//! signature is looked at), every token names its key (`kid`), and the keys a
//! deployment accepts are the current one plus the previous ones, so a rotated key
//! keeps its tokens valid until they expire. The claims carry the user and the
//! session (refresh-token family); what the user may do is read from the database
//! per request, so a role change or a revoked session applies at once.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Shortest signing secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;
/// The one algorithm signed and accepted.
pub const ALGORITHM: Algorithm = Algorithm::HS256;
/// Clock skew tolerated on `exp`, in seconds.
const LEEWAY_SECS: u64 = 5;

/// One signing key.
#[derive(Clone)]
pub struct SigningKey {
    /// Its id, written in each token's header.
    pub kid: String,
    secret: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A key named `kid` (1 to 64 of `[A-Za-z0-9._-]`) with a secret of at least
    /// [`MIN_SECRET_BYTES`].
    pub fn new(kid: impl Into<String>, secret: impl Into<Vec<u8>>) -> Result<Self> {
        let kid = kid.into();
        let secret = secret.into();
        let kid_ok = !kid.is_empty()
            && kid.len() <= 64
            && kid.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !kid_ok {
            return Err(Error::invalid("kid", format!("key id {kid:?} must be 1 to 64 of A-Z a-z 0-9 . _ -")));
        }
        if secret.len() < MIN_SECRET_BYTES {
            return Err(Error::invalid(
                "secret",
                format!("key {kid}: the secret must be at least {MIN_SECRET_BYTES} bytes"),
            ));
        }
        Ok(Self { kid, secret })
    }
}

/// What an access token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user's id.
    pub sub: String,
    /// The session (refresh-token family) it was issued in.
    pub sid: String,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Expires at (Unix seconds).
    pub exp: u64,
}

impl AccessClaims {
    /// The user id, when `sub` is one.
    pub fn user_id(&self) -> Result<i64> {
        self.sub.parse().map_err(|_| Error::Unauthenticated("sub is not a user id"))
    }
}

/// Signs and verifies access tokens.
#[derive(Debug, Clone)]
pub struct TokenKeys {
    current: SigningKey,
    previous: Vec<SigningKey>,
    issuer: String,
    ttl: Duration,
}

/// The platform's issuer and audience.
pub const ISSUER: &str = "kronos";

impl TokenKeys {
    /// Keys that sign with `current` and also accept `previous`; tokens live `ttl`.
    pub fn new(current: SigningKey, previous: Vec<SigningKey>, ttl: Duration) -> Result<Self> {
        if previous.iter().any(|k| k.kid == current.kid) {
            return Err(Error::invalid("kid", format!("key id {} is used twice", current.kid)));
        }
        Ok(Self { current, previous, issuer: ISSUER.into(), ttl })
    }

    /// How long a token lives.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A token for `user_id` in session `session`, valid from now for the ttl.
    pub fn issue(&self, user_id: i64, session: &str) -> Result<(String, AccessClaims)> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|e| Error::Internal(e.to_string()))?.as_secs();
        self.issue_at(user_id, session, now)
    }

    /// A token for `user_id` in session `session` issued at `now` (Unix seconds).
    pub fn issue_at(&self, user_id: i64, session: &str, now: u64) -> Result<(String, AccessClaims)> {
        let claims = AccessClaims {
            sub: user_id.to_string(),
            sid: session.to_owned(),
            iss: self.issuer.clone(),
            aud: self.issuer.clone(),
            iat: now,
            exp: now + self.ttl.as_secs(),
        };
        let header = Header { kid: Some(self.current.kid.clone()), ..Header::new(ALGORITHM) };
        let token = encode(&header, &claims, &EncodingKey::from_secret(&self.current.secret))
            .map_err(|e| Error::Internal(format!("signing a token: {e}")))?;
        Ok((token, claims))
    }

    /// The claims of a token this deployment signed that has not expired.
    pub fn verify(&self, token: &str) -> Result<AccessClaims> {
        let header =
            decode_header(token).map_err(|_| Error::Unauthenticated("malformed token or unknown algorithm"))?;
        if header.alg != ALGORITHM {
            return Err(Error::Unauthenticated("algorithm not accepted"));
        }
        let kid = header.kid.ok_or(Error::Unauthenticated("token names no key"))?;
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.kid == kid)
            .ok_or(Error::Unauthenticated("unknown key"))?;
        let mut validation = Validation::new(ALGORITHM);
        validation.algorithms = vec![ALGORITHM];
        validation.leeway = LEEWAY_SECS;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        decode::<AccessClaims>(token, &DecodingKey::from_secret(&key.secret), &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => Error::Unauthenticated("token expired"),
                jsonwebtoken::errors::ErrorKind::InvalidSignature => Error::Unauthenticated("bad signature"),
                _ => Error::Unauthenticated("invalid token"),
            })
    }
}

#[cfg(test)]
mod tests {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

    use super::*;

    fn key(kid: &str, fill: u8) -> SigningKey {
        SigningKey::new(kid, vec![fill; 32]).unwrap()
    }

    fn keys() -> TokenKeys {
        TokenKeys::new(key("k2", 2), vec![key("k1", 1)], Duration::from_secs(900)).unwrap()
    }

    #[test]
    fn issues_and_verifies_and_accepts_the_previous_key() {
        let (token, claims) = keys().issue(42, "s-1").unwrap();
        let back = keys().verify(&token).unwrap();
        assert_eq!(back, claims);
        assert_eq!(back.user_id().unwrap(), 42);
        assert_eq!(back.exp - back.iat, 900);
        // a token of the rotated-out key still verifies
        let old = TokenKeys::new(key("k1", 1), vec![], Duration::from_secs(900)).unwrap();
        let (old_token, _) = old.issue(7, "s-2").unwrap();
        assert_eq!(keys().verify(&old_token).unwrap().sub, "7");
    }

    #[test]
    fn refuses_forged_expired_and_unsigned_tokens() {
        let k = keys();
        // another deployment's key under a known kid
        let forger = TokenKeys::new(key("k2", 9), vec![], Duration::from_secs(900)).unwrap();
        let (forged, _) = forger.issue(1, "s").unwrap();
        assert!(matches!(k.verify(&forged), Err(Error::Unauthenticated("bad signature"))));
        // unknown kid
        let stranger = TokenKeys::new(key("k9", 2), vec![], Duration::from_secs(900)).unwrap();
        assert!(k.verify(&stranger.issue(1, "s").unwrap().0).is_err());
        // expired
        let short = TokenKeys::new(key("k2", 2), vec![], Duration::from_secs(0)).unwrap();
        let (expired, _) = short.issue(1, "s").unwrap();
        // within the leeway it passes; a token that expired an hour ago does not
        assert!(k.verify(&expired).is_ok());
        let (token, mut claims) = k.issue(1, "s").unwrap();
        claims.exp -= 3600 + 900;
        claims.iat -= 3600 + 900;
        let stale = encode(
            &Header { kid: Some("k2".into()), ..Header::new(ALGORITHM) },
            &claims,
            &EncodingKey::from_secret(&[2; 32]),
        )
        .unwrap();
        assert!(matches!(k.verify(&stale), Err(Error::Unauthenticated("token expired"))));
        // alg none: header {"alg":"none","kid":"k2"}, same claims, empty signature
        let parts: Vec<&str> = token.split('.').collect();
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT","kid":"k2"}"#);
        assert!(k.verify(&format!("{none_header}.{}.", parts[1])).is_err());
        // another HMAC size is refused even with the right secret
        let hs512 = encode(
            &Header { kid: Some("k2".into()), ..Header::new(Algorithm::HS512) },
            &k.verify(&token).unwrap(),
            &EncodingKey::from_secret(&[2; 32]),
        )
        .unwrap();
        assert!(matches!(k.verify(&hs512), Err(Error::Unauthenticated("algorithm not accepted"))));
        // a tampered payload
        let tampered_claims = URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&AccessClaims { sub: "2".into(), ..k.verify(&token).unwrap() }).unwrap());
        assert!(k.verify(&format!("{}.{tampered_claims}.{}", parts[0], parts[2])).is_err());
        assert!(k.verify("not a token").is_err());
    }

    #[test]
    fn refuses_weak_keys_and_duplicate_ids() {
        assert!(SigningKey::new("k", vec![0; 16]).is_err());
        assert!(SigningKey::new("bad kid!", vec![0; 32]).is_err());
        assert!(TokenKeys::new(key("k1", 1), vec![key("k1", 2)], Duration::from_secs(1)).is_err());
    }
}
