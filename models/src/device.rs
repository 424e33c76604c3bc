//! Compute devices: `cpu` or `cuda:N`.

use std::{fmt, str::FromStr};

/// A device a worker pool is pinned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComputeDevice {
    /// The host CPU.
    Cpu,
    /// CUDA GPU number N.
    Cuda(usize),
}

impl ComputeDevice {
    /// The libtorch device.
    pub fn to_tch(self) -> tch::Device {
        match self {
            Self::Cpu => tch::Device::Cpu,
            Self::Cuda(n) => tch::Device::Cuda(n),
        }
    }

    /// Whether this machine has the device.
    pub fn is_available(self) -> bool {
        match self {
            Self::Cpu => true,
            Self::Cuda(n) => tch::Cuda::is_available() && (n as i64) < tch::Cuda::device_count(),
        }
    }
}

impl fmt::Display for ComputeDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cpu => f.write_str("cpu"),
            Self::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

impl FromStr for ComputeDevice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda(0)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Self::Cuda)
                .ok_or_else(|| format!("unknown device {other:?}; expected cpu or cuda:N")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_devices() {
        assert_eq!("cpu".parse::<ComputeDevice>().unwrap(), ComputeDevice::Cpu);
        assert_eq!("cuda:1".parse::<ComputeDevice>().unwrap(), ComputeDevice::Cuda(1));
        assert!("tpu".parse::<ComputeDevice>().is_err());
        assert!(ComputeDevice::Cpu.is_available());
        assert_eq!(ComputeDevice::Cuda(3).to_string(), "cuda:3");
    }
}
