//! The SMTP client of email jobs (lettre): one connection pool per process, secured as
//! configured (`KRONOS_SMTP_SECURITY`: STARTTLS by default, TLS, or plain for a local
//! relay). Each message carries its outbox id as its `Message-ID`, so a copy that a
//! crash between sending and recording makes a retry send again is recognisable as the
//! same message.

use kronos_config::{EmailConfig, SmtpSecurity};
use kronos_db::outbox::OutboxEmail;
use lettre::{
    message::{
        header::{ContentType, HeaderName, HeaderValue},
        Mailbox, MultiPart, SinglePart,
    },
    transport::smtp::authentication::Credentials,
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};

/// Why a message was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Retrying cannot help (an address the server refuses for good, a malformed one).
    #[error("{0}")]
    Permanent(String),
    /// The server was unreachable or refused for now.
    #[error("{0}")]
    Transient(String),
}

/// Sends the outbox's messages.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

impl Mailer {
    /// A client of the configured server (it connects when it first sends).
    pub fn from_config(config: &EmailConfig) -> anyhow::Result<Self> {
        let builder = match config.security {
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
            SmtpSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)?,
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)?,
        };
        let mut builder = builder.port(config.port).timeout(Some(config.timeout));
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        let from: Mailbox =
            config.from.parse().map_err(|e| anyhow::anyhow!("KRONOS_EMAIL_FROM={:?}: {e}", config.from))?;
        Ok(Self { transport: builder.build(), from })
    }

    /// Delivers `email` to the server.
    pub async fn send(&self, email: &OutboxEmail) -> Result<(), SendError> {
        let to: Mailbox = email
            .to_address
            .parse()
            .map_err(|e| SendError::Permanent(format!("recipient {:?}: {e}", email.to_address)))?;
        let domain = self.from.email.domain().to_owned();
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(format!("<{}@{domain}>", email.id)));
        if let Some(url) = &email.unsubscribe_url {
            // RFC 8058 one-click unsubscribe: the mail client POSTs to the address
            builder = builder
                .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe"), format!("<{url}>")))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_owned(),
                ));
        }
        let message = builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(email.text_body.clone()))
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(email.html_body.clone())),
            )
            .map_err(|e| SendError::Permanent(format!("building the message: {e}")))?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| {
            if e.is_permanent() {
                SendError::Permanent(format!("the SMTP server refused the message: {e}"))
            } else {
                SendError::Transient(format!("SMTP: {e}"))
            }
        })
    }
}
