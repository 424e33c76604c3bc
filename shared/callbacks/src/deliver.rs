//! One delivery: the signed POST of a callback's body to the address checked just
//! before, without following redirects.

use std::time::{Duration, Instant};

use kronos_config::Cidr;

use crate::{target, EVENT_ID_HEADER, SIGNATURE_HEADER};

/// What one attempt saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// Why the attempt failed (`None`: delivered).
    pub error: Option<String>,
    /// How long it took.
    pub elapsed: Duration,
    /// Whether another attempt could succeed (a refused address cannot).
    pub retryable: bool,
}

impl Delivery {
    /// Whether the receiver took it (2xx).
    pub fn delivered(&self) -> bool {
        self.error.is_none()
    }
}

/// Posts `body` to `url`, signed with `secret` at the current time; the event id header
/// carries `event_id`. The address is checked (and pinned) first.
pub async fn post(url: &str, body: &[u8], secret: &str, event_id: &str, allow: &[Cidr], timeout: Duration) -> Delivery {
    let started = Instant::now();
    let refused = |error: String, retryable: bool| Delivery {
        status: None,
        error: Some(error),
        elapsed: started.elapsed(),
        retryable,
    };
    let parsed = match target::parse(url) {
        Ok(url) => url,
        Err(e) => return refused(e.to_string(), false),
    };
    // the address is resolved and checked now and the connection goes to that address:
    // a DNS answer that changed since the check cannot point the request elsewhere
    let address = match target::resolve(&parsed, allow).await {
        Ok(address) => address,
        Err(e @ target::TargetError::Forbidden(_)) => return refused(e.to_string(), false),
        Err(e) => return refused(e.to_string(), true),
    };
    let host = parsed.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_owned();
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .resolve(&host, address)
        .user_agent("Kronos-Callbacks/1")
        .build()
    {
        Ok(client) => client,
        Err(e) => return refused(format!("cannot build the HTTP client: {e}"), true),
    };
    let signature = kronos_auth::signature::sign(secret, chrono::Utc::now().timestamp(), body);
    let sent = client
        .post(parsed)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .header(EVENT_ID_HEADER, event_id)
        .body(body.to_vec())
        .send()
        .await;
    match sent {
        Ok(response) => {
            let status = response.status();
            let error = (!status.is_success()).then(|| format!("the receiver answered {status}"));
            Delivery { status: Some(status.as_u16()), error, elapsed: started.elapsed(), retryable: true }
        }
        Err(e) => {
            let what =
                if e.is_timeout() { "no answer in time".to_owned() } else { format!("cannot reach the receiver: {e}") };
            refused(what, true)
        }
    }
}
