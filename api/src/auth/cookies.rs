//! The browser session's cookies: the access token (`HttpOnly`, `SameSite=Lax`, every
//! path), the refresh token (`HttpOnly`, `SameSite=Strict`, only `/v1/auth`) and the
//! CSRF token (readable by the page, which echoes it in `X-CSRF-Token` on every
//! state-changing request: a cross-site page can make the browser send the cookies but
//! cannot read them to echo). `Secure` when the platform is served over TLS.

use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue};

/// The access token's cookie.
pub const ACCESS: &str = "kronos_access";
/// The refresh token's cookie.
pub const REFRESH: &str = "kronos_refresh";
/// The CSRF token's cookie.
pub const CSRF: &str = "kronos_csrf";
/// The header that echoes the CSRF cookie.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The value of cookie `name` in the request, if sent.
pub fn read<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// Whether the request carries any of the session's cookies.
pub fn any_sent(headers: &HeaderMap) -> bool {
    [ACCESS, REFRESH, CSRF].iter().any(|n| read(headers, n).is_some())
}

fn cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age: Duration,
    http_only: bool,
    same_site: &str,
    secure: bool,
) -> Option<HeaderValue> {
    let mut c = format!("{name}={value}; Path={path}; Max-Age={}; SameSite={same_site}", max_age.as_secs());
    if http_only {
        c.push_str("; HttpOnly");
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).ok()
}

/// What to send to set (or, with empty values and no lifetime, clear) a session.
#[derive(Debug, Clone, Copy)]
pub struct SessionCookies<'a> {
    /// The access token.
    pub access: &'a str,
    /// Its lifetime.
    pub access_ttl: Duration,
    /// The refresh token.
    pub refresh: &'a str,
    /// Its lifetime (also the CSRF cookie's).
    pub refresh_ttl: Duration,
    /// The CSRF token.
    pub csrf: &'a str,
    /// Mark them `Secure`.
    pub secure: bool,
}

impl SessionCookies<'_> {
    /// Adds the three `Set-Cookie` headers to `headers`.
    pub fn apply(&self, headers: &mut HeaderMap) {
        let cookies = [
            cookie(ACCESS, self.access, "/", self.access_ttl, true, "Lax", self.secure),
            cookie(REFRESH, self.refresh, "/v1/auth", self.refresh_ttl, true, "Strict", self.secure),
            cookie(CSRF, self.csrf, "/", self.refresh_ttl, false, "Lax", self.secure),
        ];
        for value in cookies.into_iter().flatten() {
            headers.append(header::SET_COOKIE, value);
        }
    }

    /// Cookies that end a session in the browser.
    pub fn cleared(secure: bool) -> SessionCookies<'static> {
        SessionCookies {
            access: "",
            access_ttl: Duration::ZERO,
            refresh: "",
            refresh_ttl: Duration::ZERO,
            csrf: "",
            secure,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_cookies() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; kronos_access=tok.en; kronos_csrf="));
        assert_eq!(read(&h, ACCESS), Some("tok.en"));
        assert_eq!(read(&h, CSRF), None);
        assert!(any_sent(&h));
        let mut out = HeaderMap::new();
        SessionCookies {
            access: "a",
            access_ttl: Duration::from_secs(900),
            refresh: "r",
            refresh_ttl: Duration::from_secs(60),
            csrf: "c",
            secure: true,
        }
        .apply(&mut out);
        let set: Vec<&str> = out.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).collect();
        assert_eq!(set[0], "kronos_access=a; Path=/; Max-Age=900; SameSite=Lax; HttpOnly; Secure");
        assert_eq!(set[1], "kronos_refresh=r; Path=/v1/auth; Max-Age=60; SameSite=Strict; HttpOnly; Secure");
        assert_eq!(set[2], "kronos_csrf=c; Path=/; Max-Age=60; SameSite=Lax; Secure");
    }
}
