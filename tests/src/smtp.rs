//! The messages the SMTP capture server (aiosmtpd from PyPI, started by `ops/test`)
//! received: it files each in a maildir (`KRONOS_TEST_MAILDIR`); tests find theirs by
//! recipient, every test's addresses being its own.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

/// A received message, decoded.
#[derive(Debug, Clone)]
pub struct Received {
    /// `To`.
    pub to: String,
    /// `From`.
    pub from: String,
    /// `Subject`.
    pub subject: String,
    /// `Message-ID` (without the angle brackets).
    pub message_id: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

impl Received {
    /// The first link in the text that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> Option<String> {
        let start = self.text.find(prefix)?;
        let rest = &self.text[start..];
        Some(rest.split_whitespace().next().unwrap_or(rest).to_owned())
    }

    /// The `token` parameter of the first link starting with `prefix`.
    pub fn token(&self, prefix: &str) -> Option<String> {
        let link = self.link(prefix)?;
        link.split_once("token=").map(|(_, t)| t.split('&').next().unwrap_or(t).to_owned())
    }
}

fn maildir() -> PathBuf {
    std::env::var_os("KRONOS_TEST_MAILDIR")
        .map(PathBuf::from)
        .expect("KRONOS_TEST_MAILDIR is not set: run the tests through ops/test, which starts the SMTP server")
}

/// Every message delivered to `to` so far, oldest first.
pub fn messages_to(to: &str) -> Vec<Received> {
    let mut found: Vec<(std::time::SystemTime, Received)> = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(maildir().join(sub)) else { continue };
        for entry in entries.flatten() {
            let Ok(raw) = std::fs::read(entry.path()) else { continue };
            let Some(message) = mail_parser::MessageParser::default().parse(&raw) else { continue };
            let recipient =
                message.to().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default().to_owned();
            if !recipient.eq_ignore_ascii_case(to) {
                continue;
            }
            let received = Received {
                to: recipient,
                from: message.from().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default().to_owned(),
                subject: message.subject().unwrap_or_default().to_owned(),
                message_id: message.message_id().unwrap_or_default().to_owned(),
                text: message.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
                html: message.body_html(0).map(|t| t.into_owned()).unwrap_or_default(),
            };
            let at = entry.metadata().and_then(|m| m.modified()).unwrap_or(std::time::SystemTime::UNIX_EPOCH);
            found.push((at, received));
        }
    }
    found.sort_by_key(|(at, _)| *at);
    found.into_iter().map(|(_, m)| m).collect()
}

/// Waits until `to` has received at least `count` messages (at most `limit`), and
/// returns them, oldest first.
pub async fn wait_for(to: &str, count: usize, limit: Duration) -> Vec<Received> {
    let started = Instant::now();
    loop {
        let messages = messages_to(to);
        if messages.len() >= count {
            return messages;
        }
        assert!(started.elapsed() < limit, "{to} received {} of {count} messages within {limit:?}", messages.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
