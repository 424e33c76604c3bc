//! Bulk batches and completion callbacks: who may send batches, how big an upload may
//! be, how series are cut into chunks and fed to the workers, and where callbacks may
//! go.

use std::{net::IpAddr, time::Duration};

use kronos_types::accounts::Tier;

use crate::{
    env::{parse, Env},
    error::{Error, Result},
};

/// Batch and callback settings.
#[derive(Debug, Clone)]
pub struct BatchConfig {
    /// Tiers that may send batches (`KRONOS_BATCH_TIERS`, comma-separated, default
    /// `enterprise`).
    pub tiers: Vec<Tier>,
    /// Largest upload in bytes, as sent (`KRONOS_BATCH_MAX_UPLOAD_BYTES`, default 4 GiB).
    pub max_upload_bytes: u64,
    /// Series per chunk job (`KRONOS_BATCH_CHUNK_SERIES`, default 64: one batch of the
    /// device's batcher).
    pub chunk_series: usize,
    /// Addresses callbacks may reach although they are loopback, private or link-local
    /// (`KRONOS_CALLBACK_ALLOW`, comma-separated CIDR blocks; default none).
    pub callback_allow: Vec<Cidr>,
    /// Longest wait for a callback receiver's answer (`KRONOS_CALLBACK_TIMEOUT_SECS`,
    /// default 10).
    pub callback_timeout: Duration,
    /// First retry delay of a failed callback (`KRONOS_CALLBACK_RETRY_BASE_SECS`,
    /// default 10), doubling up to an hour.
    pub callback_retry_base: Duration,
    /// How long a callback is retried (`KRONOS_CALLBACK_RETRY_SECS`, default a day).
    pub callback_window: Duration,
}

impl BatchConfig {
    /// Reads the batch settings.
    pub fn from_env(env: &Env) -> Result<Self> {
        let mut tiers = Vec::new();
        for word in env.var("KRONOS_BATCH_TIERS").unwrap_or_else(|| "enterprise".into()).split(',') {
            let word = word.trim();
            if word.is_empty() {
                continue;
            }
            let tier: Tier = word.parse().map_err(|e| Error::Config(format!("KRONOS_BATCH_TIERS: {e}")))?;
            tiers.push(tier);
        }
        let mut callback_allow = Vec::new();
        for block in env.var("KRONOS_CALLBACK_ALLOW").unwrap_or_default().split(',') {
            let block = block.trim();
            if !block.is_empty() {
                callback_allow.push(block.parse().map_err(|e| Error::Config(format!("KRONOS_CALLBACK_ALLOW: {e}")))?);
            }
        }
        let chunk_series: usize = parse(env, "KRONOS_BATCH_CHUNK_SERIES", 64)?;
        if chunk_series == 0 {
            return Err(Error::Config("KRONOS_BATCH_CHUNK_SERIES must be at least 1".into()));
        }
        Ok(Self {
            tiers,
            max_upload_bytes: parse(env, "KRONOS_BATCH_MAX_UPLOAD_BYTES", 4 << 30)?,
            chunk_series,
            callback_allow,
            callback_timeout: Duration::from_secs(parse(env, "KRONOS_CALLBACK_TIMEOUT_SECS", 10)?),
            callback_retry_base: Duration::from_secs(parse(env, "KRONOS_CALLBACK_RETRY_BASE_SECS", 10)?),
            callback_window: Duration::from_secs(parse(env, "KRONOS_CALLBACK_RETRY_SECS", 86_400)?),
        })
    }
}

impl Default for BatchConfig {
    /// The settings with every variable unset.
    fn default() -> Self {
        Self {
            tiers: vec![Tier::Enterprise],
            max_upload_bytes: 4 << 30,
            chunk_series: 64,
            callback_allow: Vec::new(),
            callback_timeout: Duration::from_secs(10),
            callback_retry_base: Duration::from_secs(10),
            callback_window: Duration::from_secs(86_400),
        }
    }
}

impl BatchConfig {
    /// The variables that reproduce these settings in another process.
    pub fn to_env(&self) -> Vec<(String, String)> {
        let tiers: Vec<&str> = self.tiers.iter().map(|t| t.as_str()).collect();
        let allow: Vec<String> = self.callback_allow.iter().map(Cidr::to_string).collect();
        vec![
            ("KRONOS_BATCH_TIERS".into(), tiers.join(",")),
            ("KRONOS_BATCH_MAX_UPLOAD_BYTES".into(), self.max_upload_bytes.to_string()),
            ("KRONOS_BATCH_CHUNK_SERIES".into(), self.chunk_series.to_string()),
            ("KRONOS_CALLBACK_ALLOW".into(), allow.join(",")),
            ("KRONOS_CALLBACK_TIMEOUT_SECS".into(), self.callback_timeout.as_secs().to_string()),
            ("KRONOS_CALLBACK_RETRY_BASE_SECS".into(), self.callback_retry_base.as_secs().to_string()),
            ("KRONOS_CALLBACK_RETRY_SECS".into(), self.callback_window.as_secs().to_string()),
        ]
    }
}

/// A block of addresses, `ADDRESS/PREFIX` (a bare address is the one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` lies in the block (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl std::str::FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (address, prefix) = s.split_once('/').map_or((s, None), |(a, p)| (a, Some(p)));
        let network: IpAddr = address.parse().map_err(|_| format!("{s:?} is not an address or CIDR block"))?;
        let most = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => most,
            Some(p) => {
                p.parse::<u8>().ok().filter(|p| *p <= most).ok_or_else(|| format!("{s:?}: bad prefix length"))?
            }
        };
        Ok(Self { network, prefix })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_contain_their_addresses() {
        let block: Cidr = "127.0.0.0/8".parse().unwrap();
        assert!(block.contains("127.1.2.3".parse().unwrap()));
        assert!(block.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!block.contains("10.0.0.1".parse().unwrap()));
        let one: Cidr = "10.1.2.3".parse().unwrap();
        assert!(one.contains("10.1.2.3".parse().unwrap()) && !one.contains("10.1.2.4".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("192.168.1.1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err() && "nope".parse::<Cidr>().is_err());
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()) && !v6.contains("fe80::1".parse().unwrap()));
    }
}
