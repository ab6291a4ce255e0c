//! `Site::local_nets`: which addresses are local (`local_orig`/`local_resp`).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// Network address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix: u8,
}

impl Cidr {
    /// True if `ip` is inside this prefix.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let p = u32::from(self.prefix.min(32));
                let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let p = u32::from(self.prefix.min(128));
                let mask = if p == 0 { 0 } else { u128::MAX << (128 - p) };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl core::str::FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| format!("`{s}` is not an address or CIDR"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}` has a bad prefix length"))?,
        };
        Ok(Cidr { addr, prefix })
    }
}

/// A list of local networks, split by family with precomputed masks so a
/// lookup is a few compares (it runs twice per finished connection).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalNets {
    nets: Vec<Cidr>,
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl LocalNets {
    /// No local networks: `local_orig`/`local_resp` stay unset.
    pub fn empty() -> Self {
        LocalNets::default()
    }

    /// The given networks.
    pub fn new(nets: Vec<Cidr>) -> Self {
        let mut n = LocalNets::default();
        n.extend(nets);
        n
    }

    /// Zeek's default: `Site::private_address_space` (spec §9.5).
    pub fn zeek_default() -> Self {
        LocalNets::new(private_address_space())
    }

    /// True when no network is configured.
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// True if `ip` is in a local network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                self.v4.iter().any(|&(n, m)| a & m == n)
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                self.v6.iter().any(|&(n, m)| a & m == n)
            }
        }
    }

    /// Appends networks.
    pub fn extend(&mut self, nets: impl IntoIterator<Item = Cidr>) {
        for c in nets {
            match c.addr {
                IpAddr::V4(a) => {
                    let p = u32::from(c.prefix.min(32));
                    let m = if p == 0 { 0 } else { u32::MAX << (32 - p) };
                    self.v4.push((u32::from(a) & m, m));
                }
                IpAddr::V6(a) => {
                    let p = u32::from(c.prefix.min(128));
                    let m = if p == 0 { 0 } else { u128::MAX << (128 - p) };
                    self.v6.push((u128::from(a) & m, m));
                }
            }
            self.nets.push(c);
        }
    }

    /// The networks, as configured.
    pub fn nets(&self) -> &[Cidr] {
        &self.nets
    }
}

fn v4(a: u8, b: u8, c: u8, d: u8, p: u8) -> Cidr {
    Cidr {
        addr: IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
        prefix: p,
    }
}

fn v6(s: &str, p: u8) -> Cidr {
    Cidr {
        addr: IpAddr::V6(s.parse::<Ipv6Addr>().unwrap_or(Ipv6Addr::UNSPECIFIED)),
        prefix: p,
    }
}

/// `Site::private_address_space` (zeek: scripts/base/utils/site.zeek),
/// with the 6to4 (2002::/16) form of every IPv4 range.
pub fn private_address_space() -> Vec<Cidr> {
    let v4s = [
        v4(0, 0, 0, 0, 8),
        v4(10, 0, 0, 0, 8),
        v4(100, 64, 0, 0, 10),
        v4(127, 0, 0, 0, 8),
        v4(169, 254, 0, 0, 16),
        v4(172, 16, 0, 0, 12),
        v4(192, 0, 0, 0, 24),
        v4(192, 0, 2, 0, 24),
        v4(192, 168, 0, 0, 16),
        v4(198, 18, 0, 0, 15),
        v4(198, 51, 100, 0, 24),
        v4(203, 0, 113, 0, 24),
        v4(224, 0, 0, 0, 24),
        v4(239, 0, 0, 0, 8),
        v4(240, 0, 0, 0, 4),
        v4(255, 255, 255, 255, 32),
    ];
    let mut out = Vec::new();
    for c in v4s {
        out.push(c);
        // 6to4: 2002:AABB:CCDD::/(16 + prefix)
        if let IpAddr::V4(a) = c.addr {
            let o = a.octets();
            let seg1 = u16::from_be_bytes([o[0], o[1]]);
            let seg2 = u16::from_be_bytes([o[2], o[3]]);
            out.push(Cidr {
                addr: IpAddr::V6(Ipv6Addr::new(0x2002, seg1, seg2, 0, 0, 0, 0, 0)),
                prefix: 16 + c.prefix,
            });
        }
    }
    out.extend([
        v6("::", 128),
        v6("::1", 128),
        v6("64:ff9b:1::", 48),
        v6("100::", 64),
        v6("2001::", 23),
        v6("2001:2::", 48),
        v6("2001:db8::", 32),
        v6("fc00::", 7),
        v6("fe80::", 10),
        v6("fec0::", 10),
    ]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges_are_local() {
        let n = LocalNets::zeek_default();
        for a in [
            "10.1.2.3",
            "192.168.1.1",
            "224.0.0.251",
            "239.1.2.3",
            "fe80::1",
            "2001:0:4136::1",
        ] {
            assert!(n.contains(a.parse().unwrap()), "{a}");
        }
        for a in ["8.8.4.4", "1.1.1.1", "224.0.1.1", "2a00::1"] {
            assert!(!n.contains(a.parse().unwrap()), "{a}");
        }
    }

    #[test]
    fn parses_cidrs() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains("10.255.0.1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nonsense".parse::<Cidr>().is_err());
        let h: Cidr = "2001:db8::1".parse().unwrap();
        assert_eq!(h.prefix, 128);
    }
}
