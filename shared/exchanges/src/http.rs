//! The HTTP side of a source: base URL, timeout, rate limiter, and retries with
//! exponential backoff that honour `Retry-After` on 429/418/503.

use std::{sync::Arc, time::Duration};

use reqwest::{header::RETRY_AFTER, StatusCode};
use tracing::{debug, warn};

use super::{limiter::RateLimiter, SourceError};

/// Retry settings of a source.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first try.
    pub max_retries: u32,
    /// First backoff; doubles per retry.
    pub base_delay: Duration,
    /// Longest backoff, and longest `Retry-After` we wait for (a longer one fails the
    /// request so the aggregator can try another source).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_retries: 3, base_delay: Duration::from_millis(250), max_delay: Duration::from_secs(10) }
    }
}

/// An HTTP client for one source.
#[derive(Debug, Clone)]
pub struct SourceClient {
    name: &'static str,
    base_url: String,
    client: reqwest::Client,
    limiter: Arc<RateLimiter>,
    retry: RetryPolicy,
}

impl SourceClient {
    /// A client for `base_url` (no trailing slash needed) with `timeout` per request.
    pub fn new(
        name: &'static str,
        base_url: &str,
        timeout: Duration,
        limiter: RateLimiter,
        retry: RetryPolicy,
    ) -> Result<Self, SourceError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("kronos-platform/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SourceError::Transport(e.to_string()))?;
        Ok(Self {
            name,
            base_url: base_url.trim_end_matches('/').to_owned(),
            client,
            limiter: Arc::new(limiter),
            retry,
        })
    }

    /// GETs `path` with `query`, spending `weight` of the rate limit per try, and parses
    /// the body as JSON. Retries timeouts, connection errors, 5xx and rate limits.
    pub async fn get_json(
        &self,
        path: &str,
        query: &[(&str, String)],
        weight: u32,
    ) -> Result<serde_json::Value, SourceError> {
        let url = format!("{}{path}", self.base_url);
        let mut attempt = 0;
        loop {
            self.limiter.acquire(weight).await;
            let outcome = self.try_once(&url, query).await;
            let (error, wait) = match outcome {
                Ok(value) => return Ok(value),
                Err(Failure::Final(e)) => return Err(e),
                Err(Failure::Retry(e, wait)) => (e, wait),
            };
            if attempt >= self.retry.max_retries {
                return Err(error);
            }
            let backoff = self.retry.base_delay.saturating_mul(1 << attempt.min(16)).min(self.retry.max_delay);
            let wait = match wait {
                Some(asked) if asked > self.retry.max_delay => return Err(error),
                Some(asked) => {
                    self.limiter.pause(asked);
                    asked
                }
                None => backoff,
            };
            warn!(source = self.name, %url, %error, attempt, wait_ms = wait.as_millis() as u64, "retrying source request");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn try_once(&self, url: &str, query: &[(&str, String)]) -> Result<serde_json::Value, Failure> {
        let response = self.client.get(url).query(query).send().await.map_err(transport_failure)?;
        let status = response.status();
        let retry_after = response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
        let body = response.bytes().await.map_err(transport_failure)?;
        debug!(source = self.name, %url, status = status.as_u16(), bytes = body.len(), "source response");
        if status == StatusCode::TOO_MANY_REQUESTS || status.as_u16() == 418 {
            // Binance answers 418 once an IP keeps going after 429s.
            return Err(Failure::Retry(SourceError::RateLimited { retry_after }, retry_after));
        }
        if status.is_server_error() {
            let error = SourceError::Status { status: status.as_u16(), body: snippet(&body) };
            return Err(Failure::Retry(error, retry_after));
        }
        if !status.is_success() {
            return Err(Failure::Final(SourceError::Status { status: status.as_u16(), body: snippet(&body) }));
        }
        serde_json::from_slice(&body).map_err(|e| Failure::Final(SourceError::Malformed(format!("not JSON: {e}"))))
    }
}

enum Failure {
    /// Worth another try, after the source's `Retry-After` when it gave one.
    Retry(SourceError, Option<Duration>),
    /// Another try would get the same answer.
    Final(SourceError),
}

/// A request or body read that failed below HTTP: worth another try.
fn transport_failure(e: reqwest::Error) -> Failure {
    let error = if e.is_timeout() { SourceError::Timeout } else { SourceError::Transport(e.to_string()) };
    Failure::Retry(error, None)
}

/// `Retry-After`: delay seconds or an HTTP date.
pub fn parse_retry_after(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(raw).ok()?;
    let delta = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"), Some(Duration::ZERO));
        let later = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let d = parse_retry_after(&later).unwrap();
        assert!(d > Duration::from_secs(25) && d <= Duration::from_secs(30), "{d:?}");
        assert_eq!(parse_retry_after("soon"), None);
    }
}
