//! The pod's traffic capture: nat rules that send inbound TCP to the proxy's inbound port and
//! outbound TCP to its outbound port, in meshctl's own chains (`MESHCTL_*`) only.
//!
//! [`rules`] generates the `iptables-restore` input (pure); [`apply`] runs it (I/O), one atomic
//! restore transaction per address family.

pub mod apply;
pub mod rules;

use std::fmt;
use std::net::IpAddr;

use thiserror::Error;

pub use apply::{Applied, BackendChoice, apply_rules};
pub use rules::{RuleSettings, restore_input};

/// Our chains, in the order they are declared.
pub const CHAIN_INBOUND: &str = "MESHCTL_INBOUND";
pub const CHAIN_IN_REDIRECT: &str = "MESHCTL_IN_REDIRECT";
pub const CHAIN_OUTPUT: &str = "MESHCTL_OUTPUT";
pub const CHAIN_REDIRECT: &str = "MESHCTL_REDIRECT";
pub const CHAINS: [&str; 4] = [
    CHAIN_INBOUND,
    CHAIN_IN_REDIRECT,
    CHAIN_OUTPUT,
    CHAIN_REDIRECT,
];

#[derive(Debug, Error)]
pub enum NetfilterError {
    #[error(
        "invalid port '{value}' in {list}: expected a port (1-65535) or a range like 8000-8100"
    )]
    InvalidPort { list: String, value: String },
    #[error(
        "invalid CIDR '{value}' in {list}: expected an address or address/prefix, e.g. 10.96.0.0/12"
    )]
    InvalidCidr { list: String, value: String },
    #[error(
        "{tool} not found ({backend} backend): install iptables in the proxy-init image, \
         or choose the other backend with --iptables-backend"
    )]
    ToolMissing { tool: String, backend: String },
    #[error("could not run {tool}: {message}")]
    ToolFailed { tool: String, message: String },
    #[error("{tool} refused the {family} rules (nothing was changed): {stderr}")]
    Refused {
        tool: String,
        family: Family,
        stderr: String,
    },
    #[error(
        "{tool} refused the {family} rules after the {applied} rules were applied; \
         rolling those back also failed, the pod's rules are incomplete: {stderr} (rollback: {rollback})"
    )]
    RollbackFailed {
        tool: String,
        family: Family,
        applied: Family,
        stderr: String,
        rollback: String,
    },
    #[error("unknown iptables backend '{0}' (accepted: auto, nft, legacy)")]
    UnknownBackend(String),
}

/// An address family: one restore transaction each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(ip: &IpAddr) -> Family {
        if ip.is_ipv4() { Family::V4 } else { Family::V6 }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        })
    }
}

/// A TCP port or an inclusive range of ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    pub fn single(port: u16) -> PortRange {
        PortRange {
            first: port,
            last: port,
        }
    }

    pub fn contains(&self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }
}

impl fmt::Display for PortRange {
    /// In iptables' `--dport` syntax.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}:{}", self.first, self.last)
        }
    }
}

/// An address block, e.g. `10.96.0.0/12` (a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn list_items(raw: &str) -> impl Iterator<Item = &str> {
    raw.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Parses a comma-separated port list (`80,443,8000-8100`; `8000:8100` also accepted). `list`
/// names the flag for error messages.
pub fn parse_ports(list: &str, raw: &str) -> Result<Vec<PortRange>, NetfilterError> {
    let mut out = Vec::new();
    for item in list_items(raw) {
        let invalid = || NetfilterError::InvalidPort {
            list: list.to_string(),
            value: item.to_string(),
        };
        let port = |s: &str| match s.trim().parse::<u16>() {
            Ok(p) if p > 0 => Ok(p),
            _ => Err(invalid()),
        };
        let range = match item.split_once(['-', ':']) {
            Some((a, b)) => PortRange {
                first: port(a)?,
                last: port(b)?,
            },
            None => PortRange::single(port(item)?),
        };
        if range.first > range.last {
            return Err(invalid());
        }
        if !out.contains(&range) {
            out.push(range);
        }
    }
    Ok(out)
}

/// Parses a comma-separated list of single ports (no ranges), e.g. opaque ports.
pub fn parse_single_ports(list: &str, raw: &str) -> Result<Vec<u16>, NetfilterError> {
    let ranges = parse_ports(list, raw)?;
    let mut out = Vec::new();
    for r in ranges {
        if r.first != r.last {
            return Err(NetfilterError::InvalidPort {
                list: list.to_string(),
                value: format!("{}-{}", r.first, r.last),
            });
        }
        out.push(r.first);
    }
    Ok(out)
}

/// Parses a comma-separated CIDR list. Host bits are cleared, as iptables would.
pub fn parse_cidrs(list: &str, raw: &str) -> Result<Vec<Cidr>, NetfilterError> {
    let mut out = Vec::new();
    for item in list_items(raw) {
        let invalid = || NetfilterError::InvalidCidr {
            list: list.to_string(),
            value: item.to_string(),
        };
        let (addr, prefix) = match item.split_once('/') {
            Some((a, p)) => (
                a.parse::<IpAddr>().map_err(|_| invalid())?,
                Some(p.parse::<u8>().map_err(|_| invalid())?),
            ),
            None => (item.parse::<IpAddr>().map_err(|_| invalid())?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(invalid());
        }
        let cidr = Cidr {
            addr: mask(addr, prefix),
            prefix,
        };
        if !out.contains(&cidr) {
            out.push(cidr);
        }
    }
    Ok(out)
}

fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let m = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix))
            };
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let m = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix))
            };
            IpAddr::V6((bits & m).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_ranges() {
        let p = parse_ports("--skip-inbound-ports", "22, 8000-8100,9000:9001,22").unwrap();
        assert_eq!(
            p,
            vec![
                PortRange::single(22),
                PortRange {
                    first: 8000,
                    last: 8100
                },
                PortRange {
                    first: 9000,
                    last: 9001
                }
            ]
        );
        assert_eq!(p[1].to_string(), "8000:8100");
        assert!(parse_ports("--x", "").unwrap().is_empty());
        for bad in ["0", "70000", "http", "9-8", "1-"] {
            let err = parse_ports("--skip-inbound-ports", bad).unwrap_err();
            assert!(err.to_string().contains("--skip-inbound-ports"), "{err}");
        }
        assert!(parse_single_ports("--opaque-ports", "1-3").is_err());
    }

    #[test]
    fn cidrs_are_normalised() {
        let c = parse_cidrs("--skip-outbound-cidrs", "10.96.1.2/12,fd00::1/64,1.2.3.4").unwrap();
        let shown: Vec<String> = c.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["10.96.0.0/12", "fd00::/64", "1.2.3.4/32"]);
        assert_eq!(c[1].family(), Family::V6);
        for bad in ["10.0.0.0/33", "nope", "10.0.0.0/x"] {
            assert!(parse_cidrs("--skip-outbound-cidrs", bad).is_err(), "{bad}");
        }
    }
}
