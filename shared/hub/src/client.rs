//! The HTTP side: the endpoint, the token, retries, and the Hub's error answers.

use std::{fmt, time::Duration};

use reqwest::{header, RequestBuilder, Response, StatusCode, Url};

use crate::{
    error::{Error, Result},
    listing::{self, RepoRevision},
    repo::{check_revision, encode, RepoId},
};

/// The public Hub.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// How often a request is tried and how long to wait between tries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retries {
    /// Tries of one request without progress.
    pub attempts: u32,
    /// Wait after the first failure; doubled after each.
    pub first_wait: Duration,
}

/// A client of one Hub endpoint.
#[derive(Clone)]
pub struct HubClient {
    http: reqwest::Client,
    endpoint: String,
    token: Option<String>,
    pub(crate) retries: Retries,
}

impl fmt::Debug for HubClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubClient")
            .field("endpoint", &self.endpoint)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .finish_non_exhaustive()
    }
}

/// What a failed request was, for the error message.
#[derive(Clone, Copy)]
pub(crate) enum Target<'a> {
    Listing { revision: &'a str },
    File { commit: &'a str, name: &'a str },
}

impl HubClient {
    /// A client of `endpoint` (`http(s)://host[:port][/path]`, without credentials,
    /// query or fragment), sending `token` as a bearer token when given.
    pub fn new(endpoint: &str, token: Option<String>) -> Result<Self> {
        let invalid = |message: String| Error::Invalid { field: "endpoint", message };
        let url = Url::parse(endpoint.trim()).map_err(|e| invalid(format!("{endpoint:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(invalid(format!("{endpoint:?} is not an http(s) address")));
        }
        if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
            return Err(invalid(
                "give the address without credentials, query or fragment (the token goes in --token or HF_TOKEN)"
                    .into(),
            ));
        }
        let token = token.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
        if let Some(token) = &token {
            if !token.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(Error::Invalid {
                    field: "token",
                    message: "a token is printable ASCII without spaces".into(),
                });
            }
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("kronos/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| invalid(e.to_string()))?;
        let endpoint = url.as_str().trim_end_matches('/').to_owned();
        Ok(Self { http, endpoint, token, retries: Retries { attempts: 4, first_wait: Duration::from_millis(500) } })
    }

    /// The endpoint, without a trailing `/`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Resolves `revision` (branch, tag or commit) of `repo` to its commit and files.
    pub async fn revision(&self, repo: &RepoId, revision: &str) -> Result<RepoRevision> {
        check_revision(revision)?;
        let url = format!("{}/api/models/{}/revision/{}?blobs=true", self.endpoint, repo, encode(revision, false));
        let what = format!("listing {repo}@{revision}");
        let mut failures = 0;
        loop {
            let error = match self.get(&url).send().await {
                Ok(response) if response.status().is_success() => match response.bytes().await {
                    Ok(body) => return listing::parse(repo, &body),
                    Err(e) => Error::Transport { what: what.clone(), message: e.without_url().to_string() },
                },
                Ok(response) => self.refusal(repo, Target::Listing { revision }, response).await,
                Err(e) => Error::Transport { what: what.clone(), message: e.without_url().to_string() },
            };
            failures += 1;
            if !retryable(&error) || failures >= self.retries.attempts {
                return Err(error);
            }
            tokio::time::sleep(self.wait(failures)).await;
        }
    }

    /// A GET with the token, if any (reqwest drops it when a redirect leaves the host).
    pub(crate) fn get(&self, url: &str) -> RequestBuilder {
        let request = self.http.get(url);
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// The resolve address of a file at a commit.
    pub(crate) fn resolve_url(&self, repo: &RepoId, commit: &str, name: &str) -> String {
        format!("{}/{}/resolve/{}/{}", self.endpoint, repo, commit, encode(name, true))
    }

    /// The wait before try `failures + 1`.
    pub(crate) fn wait(&self, failures: u32) -> Duration {
        self.retries.first_wait.saturating_mul(1 << failures.saturating_sub(1).min(6))
    }

    /// The error a non-success answer means, with the Hub's own words
    /// (`X-Error-Code`, `X-Error-Message`, or the JSON body's `error`).
    pub(crate) async fn refusal(&self, repo: &RepoId, target: Target<'_>, response: Response) -> Error {
        let status = response.status();
        let header_text = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let code = header_text("x-error-code").unwrap_or_default();
        let header_message = header_text("x-error-message");
        let retry_after = response.headers().get(header::RETRY_AFTER).is_some();
        let body = response.bytes().await.unwrap_or_default();
        let body_message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned));
        let mut message = header_message
            .or(body_message)
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("no reason given").to_owned());
        message = message.chars().filter(|c| !c.is_control()).take(300).collect();
        let token_hint = if self.token.is_some() {
            ""
        } else {
            " (a private or gated repository needs a token: --token or HF_TOKEN)"
        };
        let endpoint = self.endpoint.clone();
        let what = match target {
            Target::Listing { revision } => format!("listing {repo}@{revision}"),
            Target::File { commit, name } => format!("{name} of {repo}@{commit}"),
        };
        match (status, code.as_str(), target) {
            (_, "GatedRepo", _) => Error::Unauthorized {
                repo: repo.to_string(),
                message,
                hint:
                    "accept the repository's conditions on the Hub, then pass a token with access: --token or HF_TOKEN",
            },
            (_, "RepoNotFound", _) => {
                Error::NotFound { what: format!("repository {repo}"), endpoint, hint: token_hint, message }
            }
            (_, "RevisionNotFound", Target::Listing { revision }) => {
                Error::NotFound { what: format!("revision {revision:?} of {repo}"), endpoint, hint: "", message }
            }
            (_, "EntryNotFound", Target::File { commit, name })
            | (StatusCode::NOT_FOUND, _, Target::File { commit, name }) => {
                Error::NotFound { what: format!("file {name} of {repo}@{commit}"), endpoint, hint: "", message }
            }
            (StatusCode::NOT_FOUND, _, _) => Error::NotFound { what, endpoint, hint: token_hint, message },
            (StatusCode::UNAUTHORIZED, _, _) if self.token.is_some() => Error::Unauthorized {
                repo: repo.to_string(),
                message,
                hint: "the token was refused: check --token or HF_TOKEN",
            },
            (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN, _, _) => Error::Unauthorized {
                repo: repo.to_string(),
                message,
                hint: if self.token.is_some() {
                    "the token has no access to it"
                } else {
                    "pass a token with --token or HF_TOKEN"
                },
            },
            _ => Error::Status {
                what,
                status: status.as_u16(),
                message: if retry_after { format!("{message} (asked to retry later)") } else { message },
            },
        }
    }
}

/// Whether another try may succeed: a dropped connection, too many requests, or a
/// server error.
pub(crate) fn retryable(error: &Error) -> bool {
    match error {
        Error::Transport { .. } => true,
        Error::Status { status, .. } => *status == 429 || (*status >= 500 && *status != 501),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_plain_http_addresses_and_tokens_stay_hidden() {
        let client = HubClient::new("http://127.0.0.1:9/hub/", Some(" hf_secret ".into())).unwrap();
        assert_eq!(client.endpoint(), "http://127.0.0.1:9/hub");
        assert!(!format!("{client:?}").contains("hf_secret"));
        assert!(HubClient::new(DEFAULT_ENDPOINT, Some("  ".into())).unwrap().token.is_none());
        for bad in ["ftp://x", "huggingface.co", "https://user:pw@x", "https://x?a=1", "https://x#f", ""] {
            assert!(matches!(HubClient::new(bad, None), Err(Error::Invalid { field: "endpoint", .. })), "{bad:?}");
        }
        assert!(matches!(
            HubClient::new(DEFAULT_ENDPOINT, Some("a b".into())),
            Err(Error::Invalid { field: "token", .. })
        ));
        let repo = RepoId::parse("a/b").unwrap();
        assert_eq!(
            client.resolve_url(&repo, "c0ffee", "x y/m.safetensors"),
            "http://127.0.0.1:9/hub/a/b/resolve/c0ffee/x%20y/m.safetensors"
        );
        assert_eq!(client.wait(1), Duration::from_millis(500));
        assert_eq!(client.wait(3), Duration::from_secs(2));
    }
}
