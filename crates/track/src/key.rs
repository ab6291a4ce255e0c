//! `FlowKey`: the connection lookup key, the same for both directions.
//!
//! Zeek keys a connection by its 5-tuple in canonical order (smaller
//! address/port first) so both directions find one entry; one-way ICMP
//! types keep their direction (`ConnKey` with `is_one_way`). VLANs, MACs and
//! tunnels are not part of the key (Zeek's default key policy).

use core::net::IpAddr;

/// Canonical connection key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowKey {
    /// First address as a big-endian integer (IPv4 as an IPv4-mapped IPv6
    /// address). Integers rather than byte arrays: building, hashing and
    /// comparing keys then needs no byte swaps.
    pub a: u128,
    /// Second address.
    pub b: u128,
    /// Port of `a` (ICMP: type or counterpart).
    pub pa: u16,
    /// Port of `b`.
    pub pb: u16,
    /// IP protocol.
    pub proto: u8,
    /// Bit 0: IPv6; bit 1: one-way (not canonicalised).
    pub flags: u8,
}

impl core::hash::Hash for FlowKey {
    /// Three machine words instead of 38 byte-sized writes: this runs
    /// once per packet.
    #[inline]
    fn hash<H: core::hash::Hasher>(&self, h: &mut H) {
        let w = |x: u128| (x as u64) ^ ((x >> 64) as u64).rotate_left(32);
        h.write_u64(w(self.a));
        h.write_u64(w(self.b));
        h.write_u64(
            u64::from(self.pa)
                | (u64::from(self.pb) << 16)
                | (u64::from(self.proto) << 32)
                | (u64::from(self.flags) << 40),
        );
    }
}

/// Turns an address into the 16 bytes used in keys.
#[inline]
pub fn addr_bytes(ip: IpAddr) -> [u8; 16] {
    addr_u128(ip).to_be_bytes()
}

/// The address as a big-endian integer (IPv4 as `::ffff:a.b.c.d`), built
/// from the address's words rather than byte by byte.
#[inline]
pub fn addr_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => 0xffff_0000_0000 | u128::from(a.to_bits()),
        IpAddr::V6(a) => a.to_bits(),
    }
}

impl FlowKey {
    /// Builds the key of a packet from `src:sport` to `dst:dport`; returns it
    /// and whether the source is the key's `a` side.
    #[inline]
    pub fn new(
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
        proto: u8,
        one_way: bool,
    ) -> (FlowKey, bool) {
        let v6 = src.is_ipv6();
        let flags = u8::from(v6) | (u8::from(one_way) << 1);
        // Zeek's addr_port_canon_lt: compare addresses, then ports. As
        // big-endian integers the comparison is two instructions.
        let (si, di) = (addr_u128(src), addr_u128(dst));
        let src_first = one_way || si < di || (si == di && sport < dport);
        let (s, d) = (si, di);
        if src_first {
            (
                FlowKey {
                    a: s,
                    b: d,
                    pa: sport,
                    pb: dport,
                    proto,
                    flags,
                },
                true,
            )
        } else {
            (
                FlowKey {
                    a: d,
                    b: s,
                    pa: dport,
                    pb: sport,
                    proto,
                    flags,
                },
                false,
            )
        }
    }

    /// Address `a` as an `IpAddr`.
    pub fn addr_a(&self) -> IpAddr {
        to_ip(self.a, self.flags & 1 != 0)
    }

    /// Address `b` as an `IpAddr`.
    pub fn addr_b(&self) -> IpAddr {
        to_ip(self.b, self.flags & 1 != 0)
    }
}

/// A key address back to an address: an IPv4-mapped one in an IPv4 key
/// is IPv4.
pub fn to_ip(x: u128, v6: bool) -> IpAddr {
    if !v6 && x >> 32 == 0xffff {
        IpAddr::V4(core::net::Ipv4Addr::from_bits(x as u32))
    } else {
        IpAddr::V6(core::net::Ipv6Addr::from_bits(x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_share_a_key() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let (k1, s1) = FlowKey::new(a, 1234, b, 80, 6, false);
        let (k2, s2) = FlowKey::new(b, 80, a, 1234, 6, false);
        assert_eq!(k1, k2);
        assert_ne!(s1, s2);
        assert_eq!(k1.addr_a(), a);
    }

    #[test]
    fn key_bytes_are_the_mapped_address() {
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        let mapped: core::net::Ipv6Addr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(addr_bytes(v4), mapped.octets());
        assert_eq!(to_ip(addr_u128(v4), false), v4);
        assert_eq!(to_ip(addr_u128(v4), true), IpAddr::V6(mapped));
        let v6: IpAddr = "2001:db8::1:2".parse().unwrap();
        assert_eq!(
            addr_bytes(v6),
            "2001:db8::1:2"
                .parse::<core::net::Ipv6Addr>()
                .unwrap()
                .octets()
        );
        // Canonical order compares the addresses as big-endian numbers.
        let lo: IpAddr = "10.0.0.255".parse().unwrap();
        let hi: IpAddr = "10.0.1.0".parse().unwrap();
        assert!(FlowKey::new(lo, 9, hi, 1, 6, false).1);
        assert!(!FlowKey::new(hi, 1, lo, 9, 6, false).1);
    }

    #[test]
    fn one_way_keys_keep_direction() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let (k1, _) = FlowKey::new(b, 3, a, 3, 1, true);
        let (k2, _) = FlowKey::new(a, 3, b, 3, 1, true);
        assert_ne!(k1, k2);
    }
}
