//! `Cidr`: an IP network (`10.0.0.0/8`, `2001:db8::/32`), parsed with std.
//!
//! Semantics follow Zeek's `subnet`: host bits are masked off at parse time,
//! and IPv4 lives inside IPv6 as `::ffff:0:0/96`, so an IPv4-mapped IPv6
//! address or network is treated as the IPv4 one.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::str::FromStr;

/// An IP network: address with host bits cleared, and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// A network; host bits of `addr` are cleared. Errors if `prefix` is
    /// longer than the address.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Cidr, String> {
        match addr {
            IpAddr::V4(a) => {
                if prefix > 32 {
                    return Err(format!("prefix /{prefix} is longer than 32"));
                }
                Ok(Cidr {
                    addr: IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask32(prefix))),
                    prefix,
                })
            }
            IpAddr::V6(a) => {
                if prefix > 128 {
                    return Err(format!("prefix /{prefix} is longer than 128"));
                }
                if let (Some(v4), true) = (a.to_ipv4_mapped(), prefix >= 96) {
                    return Cidr::new(IpAddr::V4(v4), prefix - 96);
                }
                Ok(Cidr {
                    addr: IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask128(prefix))),
                    prefix,
                })
            }
        }
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// A network (`10.0.0.0/8`) or a single address (`192.0.2.1`, taken
    /// as `/32` or `/128`), for settings that name hosts as well as
    /// networks (the long-connection ignore lists).
    pub fn parse_net_or_host(s: &str) -> Result<Cidr, String> {
        let t = s.trim();
        if t.contains('/') {
            return t.parse();
        }
        let addr: IpAddr = t
            .parse()
            .map_err(|_| format!("invalid network `{s}`: expected ADDRESS or ADDRESS/PREFIX"))?;
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        Cidr::new(addr, prefix)
    }

    /// True if `ip` is inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(a) => a.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => u32::from(a) & mask32(self.prefix) == u32::from(n),
            (IpAddr::V6(n), IpAddr::V6(a)) => u128::from(a) & mask128(self.prefix) == u128::from(n),
            _ => false,
        }
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Cidr, String> {
        let t = s.trim();
        let (addr, prefix) = t
            .split_once('/')
            .ok_or_else(|| format!("invalid network `{s}`: expected ADDRESS/PREFIX"))?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("invalid network `{s}`: bad address `{addr}`"))?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| format!("invalid network `{s}`: bad prefix `{prefix}`"))?;
        Cidr::new(addr, prefix).map_err(|e| format!("invalid network `{s}`: {e}"))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_masks() {
        assert_eq!(c("10.0.0.0/8").to_string(), "10.0.0.0/8");
        assert_eq!(c("10.1.2.3/8").to_string(), "10.0.0.0/8");
        assert_eq!(c("2001:db8::1/32").to_string(), "2001:db8::/32");
        assert_eq!(c("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert_eq!(c("1.2.3.4/32").to_string(), "1.2.3.4/32");
        assert_eq!(c("::ffff:10.0.0.0/104").to_string(), "10.0.0.0/8");
        assert_eq!(c(" fe80::/10 ").prefix(), 10);
    }

    #[test]
    fn rejects() {
        for bad in [
            "10.0.0.0",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "x/8",
            "10.0.0.0/-1",
            "/8",
        ] {
            let err = bad.parse::<Cidr>().unwrap_err();
            assert!(err.contains(bad.trim()), "{err}");
        }
    }

    #[test]
    fn net_or_host() {
        let h = Cidr::parse_net_or_host("192.0.2.1").unwrap();
        assert_eq!(h.to_string(), "192.0.2.1/32");
        assert_eq!(
            Cidr::parse_net_or_host("2001:db8::1").unwrap().prefix(),
            128
        );
        assert_eq!(
            Cidr::parse_net_or_host("10.1.2.3/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        let e = Cidr::parse_net_or_host("10.0.0/33").unwrap_err();
        assert!(e.contains("invalid network `10.0.0/33`"), "{e}");
        let e = Cidr::parse_net_or_host("host.example").unwrap_err();
        assert!(e.contains("invalid network `host.example`"), "{e}");
    }

    #[test]
    fn membership() {
        assert!(c("10.0.0.0/8").contains(ip("10.255.0.1")));
        assert!(!c("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(c("10.0.0.0/8").contains(ip("::ffff:10.0.0.1")));
        assert!(!c("10.0.0.0/8").contains(ip("::10.0.0.1")));
        assert!(c("fe80::/10").contains(ip("fe80::216:cbff:fe9a:4cb9")));
        assert!(!c("fe80::/10").contains(ip("10.0.0.1")));
        assert!(c("0.0.0.0/0").contains(ip("8.8.8.8")));
        assert!(c("::/0").contains(ip("2001::1")));
        assert!(c("255.255.255.255/32").contains(ip("255.255.255.255")));
    }
}
