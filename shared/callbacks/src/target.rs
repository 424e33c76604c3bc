//! Callback addresses and the SSRF guard.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use kronos_config::Cidr;
use reqwest::Url;

/// Why an address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not an absolute `http(s)` URL with a host, or with credentials in it.
    #[error("{0}")]
    Malformed(String),
    /// The host did not resolve.
    #[error("{0}")]
    Unresolved(String),
    /// The host resolves to an address callbacks may not reach.
    #[error("{0}")]
    Forbidden(String),
}

/// Longest callback address.
pub const MAX_URL: usize = 2048;

/// Parses a callback address: absolute `http` or `https`, a host, no user or password,
/// at most 2,048 characters.
pub fn parse(raw: &str) -> Result<Url, TargetError> {
    if raw.len() > MAX_URL {
        return Err(TargetError::Malformed(format!("callback_url is longer than {MAX_URL} characters")));
    }
    let url = Url::parse(raw).map_err(|e| TargetError::Malformed(format!("callback_url is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TargetError::Malformed("callback_url must be an http or https URL".into()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(TargetError::Malformed("callback_url has no host".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TargetError::Malformed("callback_url must not carry a user name or password".into()));
    }
    Ok(url)
}

/// Whether callbacks may never reach `ip` (unless allowed): loopback, private, link-local,
/// shared (100.64/10), unspecified, broadcast, multicast, documentation and unique-local
/// addresses, and IPv4-mapped or NAT64 forms of them.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return internal_v4(v4);
            }
            let segments = v6.segments();
            // 64:ff9b::/96 (NAT64) carries an IPv4 address in its last 32 bits
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let v4 = Ipv4Addr::from((u32::from(segments[6]) << 16) | u32::from(segments[7]));
                return internal_v4(v4);
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (segments[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (segments[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (segments[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || segments[0] == 0x2001 && segments[1] == 0x0db8 // documentation
                || v6 == Ipv6Addr::from(1u128) // ::1
        }
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

/// Resolves `url`'s host and checks every address; returns the address to connect to.
/// An address in an `allow` block passes although it is internal.
pub async fn resolve(url: &Url, allow: &[Cidr]) -> Result<SocketAddr, TargetError> {
    let host = url.host_str().ok_or_else(|| TargetError::Malformed("callback_url has no host".into()))?;
    let port = url.port_or_known_default().unwrap_or(443);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((bare, port))
            .await
            .map_err(|e| TargetError::Unresolved(format!("callback_url's host {host} does not resolve: {e}")))?
            .collect(),
    };
    if addresses.is_empty() {
        return Err(TargetError::Unresolved(format!("callback_url's host {host} has no address")));
    }
    for address in &addresses {
        let ip = address.ip();
        if is_internal(ip) && !allow.iter().any(|block| block.contains(ip)) {
            return Err(TargetError::Forbidden(format!(
                "callback_url's host {host} resolves to {ip}, a loopback, private or link-local address that \
                 callbacks may not reach"
            )));
        }
    }
    Ok(addresses[0])
}

/// Checks a callback address as a client gives it: parsed, resolved, every address
/// allowed. Returns it normalised.
pub async fn check(raw: &str, allow: &[Cidr]) -> Result<Url, TargetError> {
    let url = parse(raw)?;
    resolve(&url, allow).await?;
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip} should be internal");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip} should be public");
        }
    }

    #[test]
    fn addresses_are_parsed_strictly() {
        assert!(parse("https://example.com/hook").is_ok());
        assert!(parse("ftp://example.com/").is_err());
        assert!(parse("https://user:pw@example.com/").is_err());
        assert!(parse("/relative").is_err());
        assert!(parse(&format!("https://example.com/{}", "a".repeat(MAX_URL))).is_err());
    }

    #[tokio::test]
    async fn internal_targets_are_refused_unless_allowed() {
        let metadata = check("http://169.254.169.254/latest/meta-data", &[]).await;
        assert!(matches!(metadata, Err(TargetError::Forbidden(_))), "{metadata:?}");
        assert!(matches!(check("http://[::1]:8080/", &[]).await, Err(TargetError::Forbidden(_))));
        assert!(matches!(check("http://localhost:9/", &[]).await, Err(TargetError::Forbidden(_))));
        let allow: Vec<Cidr> = vec!["127.0.0.0/8".parse().unwrap()];
        assert!(check("http://127.0.0.1:9/hook", &allow).await.is_ok());
        assert!(matches!(check("http://10.0.0.1/", &allow).await, Err(TargetError::Forbidden(_))));
    }
}
