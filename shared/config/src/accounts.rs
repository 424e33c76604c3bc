//! Accounts settings: token keys and lifetimes, password hashing cost, rate limits,
//! the public address emails link to, and the SMTP server that delivers them.

use std::time::Duration;

use crate::{
    env::{parse, parse_bool, Env},
    error::{Error, Result},
};

/// A secret setting: its `Debug` shows its length, never its value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value (for the one place that uses it).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

/// A rate limit: at most `max` hits per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Hits allowed per window.
    pub max: u64,
    /// The window.
    pub window: Duration,
}

impl std::str::FromStr for Rate {
    type Err = String;

    /// `5/300`: 5 per 300 seconds.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (max, secs) = s.split_once('/').ok_or_else(|| format!("{s:?} is not count/seconds"))?;
        let max = max.trim().parse().map_err(|_| format!("{s:?}: {max:?} is not a count"))?;
        let secs: u64 = secs.trim().parse().map_err(|_| format!("{s:?}: {secs:?} is not seconds"))?;
        if secs == 0 {
            return Err(format!("{s:?}: the window must be at least one second"));
        }
        Ok(Self { max, window: Duration::from_secs(secs) })
    }
}

/// Authentication and account settings.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Access-token signing keys, `(kid, secret)`, the first signing and all accepted
    /// (`KRONOS_JWT_KEYS`: `kid=secret,kid=secret`; `ops/up` writes one; secrets of at
    /// least 32 bytes). Empty: the API refuses to start.
    pub jwt_keys: Vec<(String, Secret)>,
    /// Access-token lifetime (`KRONOS_ACCESS_TOKEN_SECS`, default 900).
    pub access_ttl: Duration,
    /// Refresh-token (session) lifetime (`KRONOS_REFRESH_TOKEN_DAYS`, default 30).
    pub refresh_ttl: Duration,
    /// argon2id memory in KiB (`KRONOS_ARGON2_MEMORY_KIB`, default 19456 = 19 MiB).
    pub argon2_memory_kib: u32,
    /// argon2id passes (`KRONOS_ARGON2_ITERATIONS`, default 2).
    pub argon2_iterations: u32,
    /// argon2id lanes (`KRONOS_ARGON2_PARALLELISM`, default 1).
    pub argon2_parallelism: u32,
    /// How long what the database says of a credential is reused
    /// (`KRONOS_AUTH_CACHE_SECS`, default 5): the longest a revocation takes elsewhere.
    pub cache_ttl: Duration,
    /// The address users reach the platform at; email links and the CSRF origin check
    /// use it (`KRONOS_PUBLIC_URL`, default `http://127.0.0.1:8080`).
    pub public_url: String,
    /// Mark cookies `Secure` (`KRONOS_SECURE_COOKIES`, default: when the public URL is
    /// `https`).
    pub secure_cookies: bool,
    /// Registrations per client address (`KRONOS_RATE_REGISTER`, default `5/300`).
    pub rate_register: Rate,
    /// Logins per client address and per account (`KRONOS_RATE_LOGIN`, default `10/300`).
    pub rate_login: Rate,
    /// Password-reset requests per client address and per account
    /// (`KRONOS_RATE_PASSWORD_RESET`, default `5/300`).
    pub rate_password_reset: Rate,
    /// How long a verification link works (`KRONOS_VERIFY_LINK_HOURS`, default 24).
    pub verify_link: Duration,
    /// How long a password-reset link works (`KRONOS_RESET_LINK_MINUTES`, default 60).
    pub reset_link: Duration,
    /// Bearer token that `GET /metrics` asks for (`KRONOS_METRICS_TOKEN`; unset: open).
    pub metrics_token: Option<Secret>,
    /// Proxies in front of the API whose `X-Forwarded-For` entries are trusted, counted
    /// from the right (`KRONOS_TRUSTED_PROXY_HOPS`, default 0: the peer address).
    pub trusted_proxy_hops: usize,
}

impl AuthConfig {
    /// Reads the accounts settings.
    pub fn from_env(env: &Env) -> Result<Self> {
        let jwt_keys = env
            .var("KRONOS_JWT_KEYS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|entry| {
                entry
                    .split_once('=')
                    .map(|(kid, secret)| (kid.trim().to_owned(), Secret::new(secret.trim())))
                    .ok_or_else(|| Error::Config("KRONOS_JWT_KEYS: each key is kid=secret".into()))
            })
            .collect::<Result<Vec<_>>>()?;
        let public_url = env.var("KRONOS_PUBLIC_URL").unwrap_or_else(|| "http://127.0.0.1:8080".into());
        let public_url = public_url.trim_end_matches('/').to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(Error::Config(format!("KRONOS_PUBLIC_URL={public_url:?} is not an http(s) URL")));
        }
        let rate = |name: &str, default: &str| -> Result<Rate> {
            env.var(name).as_deref().unwrap_or(default).parse().map_err(|e| Error::Config(format!("{name}: {e}")))
        };
        Ok(Self {
            jwt_keys,
            access_ttl: Duration::from_secs(parse(env, "KRONOS_ACCESS_TOKEN_SECS", 900)?),
            refresh_ttl: Duration::from_secs(parse::<u64>(env, "KRONOS_REFRESH_TOKEN_DAYS", 30)? * 86_400),
            argon2_memory_kib: parse(env, "KRONOS_ARGON2_MEMORY_KIB", 19_456)?,
            argon2_iterations: parse(env, "KRONOS_ARGON2_ITERATIONS", 2)?,
            argon2_parallelism: parse(env, "KRONOS_ARGON2_PARALLELISM", 1)?,
            cache_ttl: Duration::from_secs(parse(env, "KRONOS_AUTH_CACHE_SECS", 5)?),
            secure_cookies: parse_bool(env, "KRONOS_SECURE_COOKIES", public_url.starts_with("https://"))?,
            public_url,
            rate_register: rate("KRONOS_RATE_REGISTER", "5/300")?,
            rate_login: rate("KRONOS_RATE_LOGIN", "10/300")?,
            rate_password_reset: rate("KRONOS_RATE_PASSWORD_RESET", "5/300")?,
            verify_link: Duration::from_secs(parse::<u64>(env, "KRONOS_VERIFY_LINK_HOURS", 24)? * 3600),
            reset_link: Duration::from_secs(parse::<u64>(env, "KRONOS_RESET_LINK_MINUTES", 60)? * 60),
            metrics_token: env.var("KRONOS_METRICS_TOKEN").filter(|t| !t.is_empty()).map(Secret::new),
            trusted_proxy_hops: parse(env, "KRONOS_TRUSTED_PROXY_HOPS", 0)?,
        })
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain text (a local relay or a test server only).
    None,
    /// Upgrade with STARTTLS (required).
    StartTls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

/// The SMTP server transactional email goes through.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// Host (`KRONOS_SMTP_HOST`, default `127.0.0.1`).
    pub host: String,
    /// Port (`KRONOS_SMTP_PORT`, default 587).
    pub port: u16,
    /// `none`, `starttls` or `tls` (`KRONOS_SMTP_SECURITY`, default `starttls`).
    pub security: SmtpSecurity,
    /// Login (`KRONOS_SMTP_USERNAME`; unset: no authentication).
    pub username: Option<String>,
    /// Password (`KRONOS_SMTP_PASSWORD`).
    pub password: Option<Secret>,
    /// Sender (`KRONOS_EMAIL_FROM`, default `Kronos <no-reply@localhost>`).
    pub from: String,
    /// Longest wait for the server (`KRONOS_SMTP_TIMEOUT_SECS`, default 10).
    pub timeout: Duration,
}

impl EmailConfig {
    /// Reads the SMTP settings.
    pub fn from_env(env: &Env) -> Result<Self> {
        let security = match env.var("KRONOS_SMTP_SECURITY").as_deref().unwrap_or("starttls") {
            "none" => SmtpSecurity::None,
            "starttls" => SmtpSecurity::StartTls,
            "tls" => SmtpSecurity::Tls,
            other => {
                return Err(Error::Config(format!("KRONOS_SMTP_SECURITY={other:?}: expected none, starttls or tls")))
            }
        };
        Ok(Self {
            host: env.var("KRONOS_SMTP_HOST").unwrap_or_else(|| "127.0.0.1".into()),
            port: parse(env, "KRONOS_SMTP_PORT", 587)?,
            security,
            username: env.var("KRONOS_SMTP_USERNAME").filter(|u| !u.is_empty()),
            password: env.var("KRONOS_SMTP_PASSWORD").filter(|p| !p.is_empty()).map(Secret::new),
            from: env.var("KRONOS_EMAIL_FROM").unwrap_or_else(|| "Kronos <no-reply@localhost>".into()),
            timeout: Duration::from_secs(parse(env, "KRONOS_SMTP_TIMEOUT_SECS", 10)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_secrets_do_not_print() {
        assert_eq!("5/300".parse::<Rate>().unwrap(), Rate { max: 5, window: Duration::from_secs(300) });
        assert!("5".parse::<Rate>().is_err() && "5/0".parse::<Rate>().is_err() && "x/3".parse::<Rate>().is_err());
        let s = Secret::new("hunter2-hunter2");
        assert_eq!(format!("{s:?}"), "Secret(15 bytes)");
        assert_eq!(s.expose(), "hunter2-hunter2");
    }
}
