//! From a presented credential to a [`Principal`]: an access token is verified (key,
//! algorithm, expiry) and its session looked up; an API key is looked up by its hash.
//! What the database says (the user's role, tier and state, the session's or key's
//! revocation) is cached for a few seconds per credential (`KRONOS_AUTH_CACHE_SECS`,
//! default 5), so a revocation or a role change applies within that time on every
//! replica, and at once on the replica that made it. An access token's signature is
//! checked once: what it says (user, session, expiry) is a pure function of the token
//! and the keys, so a token seen before is only checked against the clock.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use chrono::Utc;
use kronos_auth::{jwt::TokenKeys, secret};
use kronos_db::{api_keys, sessions, users, DbPool};
use uuid::Uuid;

use super::principal::{Credential, Principal};
use crate::error::ApiError;

/// Most cached credentials (the cache is emptied when it is full).
const MAX_CACHED: usize = 100_000;

/// How a credential arrived.
#[derive(Debug, Clone, Copy)]
pub enum Presented<'a> {
    /// `Authorization: Bearer …` (an access token or an API key).
    Bearer(&'a str),
    /// The session cookie (an access token).
    Cookie(&'a str),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum CacheKey {
    Session { user_id: i64, family: Uuid },
    Key(String),
}

/// Verifies credentials and remembers what the database said about them.
#[derive(Debug)]
pub struct Authenticator {
    keys: TokenKeys,
    ttl: Duration,
    cache: Mutex<HashMap<CacheKey, (Instant, Option<Principal>)>>,
    /// Access tokens whose signature was verified, with what they say.
    verified: Mutex<HashMap<Box<str>, Verified>>,
}

/// What a verified access token says.
#[derive(Debug, Clone, Copy)]
struct Verified {
    user_id: i64,
    family: Uuid,
    /// Unix seconds.
    expires: u64,
}

impl Authenticator {
    /// An authenticator over `keys`, caching for `ttl`.
    pub fn new(keys: TokenKeys, ttl: Duration) -> Self {
        Self { keys, ttl, cache: Mutex::default(), verified: Mutex::default() }
    }

    /// The token keys (login and refresh sign with them).
    pub fn keys(&self) -> &TokenKeys {
        &self.keys
    }

    /// The caller `presented` authenticates; `401` when it does not.
    pub async fn authenticate(&self, pool: &DbPool, presented: Presented<'_>) -> Result<Principal, ApiError> {
        let (raw, cookie) = match presented {
            Presented::Bearer(raw) => (raw, false),
            Presented::Cookie(raw) => (raw, true),
        };
        let key = if secret::is_api_key(raw) && !cookie {
            CacheKey::Key(secret::hash_secret(raw))
        } else {
            let Verified { user_id, family, .. } = self.verify(raw)?;
            CacheKey::Session { user_id, family }
        };
        let principal = match self.cached(&key) {
            Some(found) => found,
            None => {
                let found = load(pool, &key).await?;
                self.remember(key, found.clone());
                found
            }
        };
        let mut principal = principal.ok_or_else(|| {
            ApiError::unauthenticated("the credential was revoked, expired or belongs to a disabled account")
        })?;
        if let Credential::Session { cookie: c, .. } = &mut principal.credential {
            *c = cookie;
        }
        Ok(principal)
    }

    /// What access token `raw` says, once its signature and expiry are checked (the
    /// signature only the first time this process sees it).
    fn verify(&self, raw: &str) -> Result<Verified, ApiError> {
        let now = u64::try_from(Utc::now().timestamp()).unwrap_or(0);
        let seen = self.verified.lock().ok().and_then(|v| v.get(raw).copied());
        if let Some(seen) = seen.filter(|v| v.expires > now) {
            return Ok(seen);
        }
        let claims = self.keys.verify(raw).map_err(|e| {
            tracing::debug!(error = %e, "access token refused");
            ApiError::unauthenticated("the access token is invalid or expired")
        })?;
        let user_id = claims.user_id().map_err(|_| ApiError::unauthenticated("the access token is invalid"))?;
        let family = claims.sid.parse().map_err(|_| ApiError::unauthenticated("the access token is invalid"))?;
        let verified = Verified { user_id, family, expires: claims.exp };
        if let Ok(mut memo) = self.verified.lock() {
            if memo.len() >= MAX_CACHED {
                // expired tokens go first; a flood of fresh ones empties it
                memo.retain(|_, v| v.expires > now);
                if memo.len() >= MAX_CACHED / 2 {
                    memo.clear();
                }
            }
            memo.insert(raw.into(), verified);
        }
        Ok(verified)
    }

    fn cached(&self, key: &CacheKey) -> Option<Option<Principal>> {
        let cache = self.cache.lock().ok()?;
        cache.get(key).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, p)| p.clone())
    }

    fn remember(&self, key: CacheKey, principal: Option<Principal>) {
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
            cache.insert(key, (Instant::now(), principal));
        }
    }

    /// Forgets what is cached of user `user_id` (their role, tier, state, sessions or
    /// keys changed here), so this replica applies the change at once.
    pub fn forget_user(&self, user_id: i64) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|key, (_, principal)| {
                let of_user = match key {
                    CacheKey::Session { user_id: u, .. } => *u == user_id,
                    CacheKey::Key(_) => principal.as_ref().is_some_and(|p| p.user_id == user_id),
                };
                !of_user
            });
        }
    }
}

/// What the database says of `key`: the principal, or `None` when it no longer
/// authenticates (revoked, expired, unknown, or the account is disabled).
async fn load(pool: &DbPool, key: &CacheKey) -> Result<Option<Principal>, ApiError> {
    let mut conn = pool.get().await.map_err(kronos_db::Error::from)?;
    let (user_id, credential) = match key {
        CacheKey::Session { user_id, family } => {
            if !sessions::live(&mut conn, *user_id, *family).await? {
                return Ok(None);
            }
            (*user_id, Credential::Session { family: *family, cookie: false })
        }
        CacheKey::Key(hash) => {
            let Some(key) = api_keys::find_by_hash(&mut conn, hash).await? else { return Ok(None) };
            if !key.usable(Utc::now()) {
                return Ok(None);
            }
            api_keys::touch(&mut conn, key.id).await?;
            (key.user_id, Credential::ApiKey { id: key.id, scopes: key.scopes })
        }
    };
    let Some(user) = users::find(&mut conn, user_id).await? else { return Ok(None) };
    if user.disabled {
        return Ok(None);
    }
    Ok(Some(Principal { user_id, role: user.role, tier: user.tier, verified: user.verified(), credential }))
}
