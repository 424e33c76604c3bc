//! What handlers take from a request the `authorize` middleware let through: the
//! caller (required or optional) and the client's address and user agent.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::request::Parts,
};

use super::principal::Principal;
use crate::{error::ApiError, state::AppState};

/// The authenticated caller (a route that takes it is never public).
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| ApiError::unauthenticated("log in or send an API key"))
    }
}

/// The caller, when the request authenticated (public routes).
#[derive(Debug, Clone)]
pub struct MaybeCaller(pub Option<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(Self(parts.extensions.get::<Principal>().cloned()))
    }
}

/// The client: its address (the peer, or the `X-Forwarded-For` entry the configured
/// proxies vouch for) and user agent, for rate limits and the audit log.
#[derive(Debug, Clone)]
pub struct Client {
    /// Address.
    pub ip: String,
    /// `User-Agent`, cut to 256 characters.
    pub user_agent: Option<String>,
}

impl Client {
    /// The client of a request with these parts, trusting `hops` proxies.
    pub fn of(parts: &Parts, hops: usize) -> Self {
        Self::from_request(&parts.headers, &parts.extensions, hops)
    }

    /// The client of a request with these headers and extensions, trusting `hops`
    /// proxies.
    pub fn from_request(headers: &axum::http::HeaderMap, extensions: &axum::http::Extensions, hops: usize) -> Self {
        let peer = extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
        let forwarded = (hops > 0)
            .then(|| {
                let chain: Vec<&str> = headers
                    .get_all("x-forwarded-for")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(','))
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect();
                chain.len().checked_sub(hops).and_then(|i| chain.get(i)).map(|s| (*s).to_owned())
            })
            .flatten();
        let user_agent = headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(256).collect());
        Self { ip: forwarded.or(peer).unwrap_or_else(|| "unknown".into()), user_agent }
    }
}

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Self::of(parts, state.config.auth.trusted_proxy_hops))
    }
}
