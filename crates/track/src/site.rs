//! `Site::local_nets`: which addresses are local (`local_orig`/`local_resp`).

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

/// A list of local networks, split by family with precomputed masks and
/// indexed by the address's first byte, so a lookup compares only the
/// networks that can hold an address starting with that byte (it runs
/// twice per finished connection; with Zeek's 42 default networks a scan
/// of the whole list took ~250 instructions a connection).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalNets {
    nets: Vec<Cidr>,
    v4: ByFirstByte<u32>,
    v6: ByFirstByte<u128>,
}

/// A family's `(network, mask)` pairs grouped by first byte: group `b`
/// holds every network that contains some address whose first byte is
/// `b` (a network shorter than /8 is in several groups).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ByFirstByte<T> {
    /// Group `b` is `grouped[start[b]..start[b + 1]]`; empty before the
    /// first network is added.
    start: Vec<u32>,
    grouped: Vec<(T, T)>,
}

/// An address type split into its first byte and the rest.
trait Addr: Copy + Eq + core::ops::BitAnd<Output = Self> {
    /// The first byte (network order).
    fn first(self) -> u8;
}

impl Addr for u32 {
    fn first(self) -> u8 {
        (self >> 24) as u8
    }
}

impl Addr for u128 {
    fn first(self) -> u8 {
        (self >> 120) as u8
    }
}

impl<T: Addr> ByFirstByte<T> {
    /// The groups of `all`, the networks as `(network, mask)` pairs (built
    /// once per `extend`: 256 passes over the list).
    fn new(all: &[(T, T)]) -> Self {
        let mut g = ByFirstByte {
            start: vec![0],
            grouped: Vec::new(),
        };
        for b in 0..=255u8 {
            for &(n, m) in all {
                // Some address starting with `b` is in the network when
                // `b` agrees with it on the mask's first byte.
                if b & m.first() == n.first() {
                    g.grouped.push((n, m));
                }
            }
            g.start.push(g.grouped.len() as u32);
        }
        g
    }

    #[inline]
    fn contains(&self, a: T) -> bool {
        let b = usize::from(a.first());
        let (Some(&lo), Some(&hi)) = (self.start.get(b), self.start.get(b + 1)) else {
            return false;
        };
        self.grouped
            .get(lo as usize..hi as usize)
            .is_some_and(|g| g.iter().any(|&(n, m)| a & m == n))
    }
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
    #[inline]
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.v4.contains(u32::from(a)),
            IpAddr::V6(a) => self.v6.contains(u128::from(a)),
        }
    }

    /// Appends networks.
    pub fn extend(&mut self, nets: impl IntoIterator<Item = Cidr>) {
        self.nets.extend(nets);
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        for c in &self.nets {
            match c.addr() {
                IpAddr::V4(a) => {
                    let m = mask32(c.prefix().min(32));
                    v4.push((u32::from(a) & m, m));
                }
                IpAddr::V6(a) => {
                    let m = mask128(c.prefix().min(128));
                    v6.push((u128::from(a) & m, m));
                }
            }
        }
        self.v4 = ByFirstByte::new(&v4);
        self.v6 = ByFirstByte::new(&v6);
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

    /// The first-byte index gives the same answers as a scan of every
    /// network, for Zeek's list and for random ones (short prefixes
    /// spanning many first bytes included).
    #[test]
    fn index_agrees_with_a_scan() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let scan = |nets: &[Cidr], a: IpAddr| {
            nets.iter().any(|c| match (c.addr(), a) {
                (IpAddr::V4(n), IpAddr::V4(a)) => u32::from(a) & mask32(c.prefix()) == u32::from(n),
                (IpAddr::V6(n), IpAddr::V6(a)) => {
                    u128::from(a) & mask128(c.prefix()) == u128::from(n)
                }
                _ => false,
            })
        };
        let mut lists = vec![private_address_space(), Vec::new()];
        for _ in 0..20 {
            let mut l = Vec::new();
            for _ in 0..(next() % 12) {
                let r = next();
                let c = if r & 1 == 0 {
                    Cidr::new(
                        IpAddr::V4(Ipv4Addr::from(next() as u32)),
                        (r >> 8) as u8 % 33,
                    )
                } else {
                    let a = u128::from(next()) << 64 | u128::from(next());
                    Cidr::new(IpAddr::V6(Ipv6Addr::from(a)), (r >> 8) as u8 % 129)
                };
                l.extend(c.ok().filter(|c| c.addr().is_ipv4() == (r & 1 == 0)));
            }
            lists.push(l);
        }
        for nets in &lists {
            let local = LocalNets::new(nets.clone());
            for i in 0..4000 {
                let r = next();
                // Half the probes inside a listed network, half anywhere.
                let a = match nets.get((r % 64) as usize) {
                    Some(c) if i % 2 == 0 => match c.addr() {
                        IpAddr::V4(n) => IpAddr::V4(Ipv4Addr::from(
                            u32::from(n) | (next() as u32 & !mask32(c.prefix())),
                        )),
                        IpAddr::V6(n) => IpAddr::V6(Ipv6Addr::from(
                            u128::from(n) | (u128::from(next()) & !mask128(c.prefix())),
                        )),
                    },
                    _ if r & 1 == 0 => IpAddr::V4(Ipv4Addr::from(next() as u32)),
                    _ => IpAddr::V6(Ipv6Addr::from(
                        u128::from(next()) << 64 | u128::from(next()),
                    )),
                };
                assert_eq!(local.contains(a), scan(nets, a), "{a} in {nets:?}");
            }
        }
    }

    #[test]
    fn parses_cidrs() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains("10.255.0.1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nonsense".parse::<Cidr>().is_err());
        let h = Cidr::parse_net_or_host("2001:db8::1").unwrap();
        assert_eq!(h.prefix(), 128);
    }
}

#[cfg(test)]
mod cidr_tests {
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
