//! Internet checksums (RFC 1071): IPv4 header, TCP/UDP/ICMPv6 with their
//! pseudo-headers, ICMPv4 without one.
//!
//! This runs on every packet when checksums are validated, so the sum reads
//! 8 bytes at a time, adds their 32-bit halves into 64-bit accumulators (no
//! carries to chase) and folds to 16 bits once at the end. That works
//! because 2^16 ≡ 1 (mod 2^16 − 1): a 32-bit word is congruent to the sum
//! of its two 16-bit halves. Words are read little-endian (no byte swaps)
//! and the folded result is swapped once, which RFC 1071 §2(B) allows.

use crate::bytes::be16;
use crate::ip::IpPacket;
use core::net::IpAddr;

/// Reduces a 64-bit partial sum below 2^33 without changing it modulo
/// 2^16 − 1 (2^32 ≡ 1).
#[inline(always)]
fn fold32(s: u64) -> u64 {
    (s & 0xffff_ffff) + (s >> 32)
}

/// A running ones'-complement sum, not yet folded to 16 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sum(u64);

impl Sum {
    /// The empty sum.
    pub const ZERO: Sum = Sum(0);

    /// Adds `data` as a sequence of big-endian 16-bit words (an odd last
    /// byte is padded with a zero low byte, as RFC 1071 says).
    ///
    /// Only the last chunk of a checksummed range may have an odd length.
    #[inline(always)]
    pub fn add_bytes(self, data: &[u8]) -> Sum {
        // The ones'-complement sum does not care about byte order (RFC 1071
        // §2(B)): sum little-endian words, which needs no byte swaps and
        // lets the compiler vectorise, then swap the folded result once.
        // 32 bytes per step into eight independent lanes: no dependency
        // chain between the adds, and the compiler vectorises it.
        let mut lanes = [0u64; 8];
        let mut wide = data.chunks_exact(32);
        for c in &mut wide {
            for (i, w) in c.chunks_exact(4).enumerate() {
                if let Ok(w) = <[u8; 4]>::try_from(w) {
                    lanes[i] += u64::from(u32::from_le_bytes(w));
                }
            }
        }
        let (mut lo, mut hi) = (lanes.iter().sum::<u64>(), 0u64);
        let mut chunks = wide.remainder().chunks_exact(8);
        for c in &mut chunks {
            if let Ok(c) = <[u8; 8]>::try_from(c) {
                let w = u64::from_le_bytes(c);
                lo += w & 0xffff_ffff;
                hi += w >> 32;
            }
        }
        // The tail: at most 7 bytes. An odd last byte is the low half of a
        // little-endian word, as it must be.
        let mut rest = chunks.remainder();
        let mut t = 0u64;
        if let [x0, x1, x2, x3, r @ ..] = rest {
            t += u64::from(u32::from_le_bytes([*x0, *x1, *x2, *x3]));
            rest = r;
        }
        if let [x0, x1, r @ ..] = rest {
            t += u64::from(u16::from_le_bytes([*x0, *x1]));
            rest = r;
        }
        if let [x0] = rest {
            t += u64::from(*x0);
        }
        let acc = lo + hi + t;
        let le = Sum(acc).fold();
        Sum(fold32(self.0) + u64::from(le.swap_bytes()))
    }

    /// Adds one 16-bit word.
    #[inline]
    pub fn add_u16(self, w: u16) -> Sum {
        self.add_u32(u32::from(w))
    }

    /// Adds a 32-bit value (≡ its two 16-bit halves).
    #[inline]
    pub fn add_u32(self, w: u32) -> Sum {
        Sum(fold32(self.0) + u64::from(w))
    }

    /// Folds to 16 bits (the ones'-complement sum, not yet inverted).
    #[inline]
    pub fn fold(self) -> u16 {
        let mut s = self.0;
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        // The loop leaves s <= 0xffff.
        s as u16
    }

    /// True when the folded sum is 0xffff, i.e. a range that includes its
    /// own checksum field verifies.
    #[inline]
    pub fn verifies(self) -> bool {
        self.fold() == 0xffff
    }
}

/// The ones'-complement sum of `data` (Zeek's `in_cksum`, not inverted).
#[inline]
pub fn sum(data: &[u8]) -> u16 {
    Sum::ZERO.add_bytes(data).fold()
}

/// The Internet checksum of `data` (inverted sum), as a sender would put it
/// in the header with the checksum field zeroed.
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    !sum(data)
}

/// True when an IPv4 header (all `IHL*4` bytes, checksum field included)
/// verifies.
#[inline]
pub fn ipv4_header_ok(header: &[u8]) -> bool {
    // Almost every header is 20 bytes: ten words summed into a u32 cannot
    // overflow, and the fixed size lets the compiler unroll it all.
    if let Ok(h) = <&[u8; 20]>::try_from(header) {
        let s: u32 = h
            .chunks_exact(2)
            .map(|w| match *w {
                [a, b] => u32::from(u16::from_be_bytes([a, b])),
                _ => 0,
            })
            .sum();
        let s = (s & 0xffff) + (s >> 16);
        let s = (s & 0xffff) + (s >> 16);
        return s == 0xffff;
    }
    Sum::ZERO.add_bytes(header).verifies()
}

/// Sum of the TCP/UDP/ICMPv6 pseudo-header for `src`/`dst`, `proto` and
/// the upper-layer length `len` (RFC 793 for IPv4, RFC 8200 §8.1 for IPv6).
#[inline]
pub fn pseudo_header(src: IpAddr, dst: IpAddr, proto: u8, len: u32) -> Sum {
    let s = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => Sum::ZERO
            .add_u32(u32::from_be_bytes(s.octets()))
            .add_u32(u32::from_be_bytes(d.octets())),
        _ => Sum::ZERO.add_bytes(&addr16(src)).add_bytes(&addr16(dst)),
    };
    s.add_u32(len).add_u16(u16::from(proto))
}

/// An address as 16 bytes (IPv4-mapped for IPv4; only reached for mixed
/// families, which no valid packet has).
#[inline]
fn addr16(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// Verifies the transport checksum of `ip`'s payload: TCP (6) and UDP (17)
/// with the pseudo-header, ICMPv4 (1, no pseudo-header) and ICMPv6 (58,
/// pseudo-header).
///
/// Returns `None` when it cannot or need not be checked, as Zeek skips it:
/// the transport bytes were not all captured (snaplen), the packet is a
/// fragment (check the reassembled datagram instead), or the protocol has no
/// checksum we verify. UDP over IPv4 with checksum 0 means "no checksum" and
/// verifies. Callers must additionally skip UDP when the frame itself was
/// cut short (Zeek requires `wire_len <= caplen` for UDP) and exempt VXLAN
/// with checksum 0 (spec §3.5).
pub fn transport_ok(ip: &IpPacket<'_>) -> Option<bool> {
    if ip.fragment.is_some() {
        return None;
    }
    let len = ip.payload_len();
    let data = ip.payload.get(..usize::try_from(len).ok()?)?;
    let pseudo = || pseudo_header(ip.src, ip.dst, ip.protocol, len);
    let ok = match ip.protocol {
        6 => pseudo().add_bytes(data).verifies(),
        17 => {
            if ip.version == 4 && be16(data, 6) == Some(0) {
                return Some(true);
            }
            pseudo().add_bytes(data).verifies()
        }
        1 if ip.version == 4 => Sum::ZERO.add_bytes(data).verifies(),
        58 if ip.version == 6 => pseudo().add_bytes(data).verifies(),
        _ => return None,
    };
    Some(ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ip;

    /// Naive RFC 1071 reference: 16-bit words, fold at the end.
    fn reference(data: &[u8]) -> u16 {
        let mut s: u64 = 0;
        for c in data.chunks(2) {
            let w = if c.len() == 2 {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from(c[0]) << 8
            };
            s += u64::from(w);
        }
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        s as u16
    }

    #[test]
    fn parses_sum_matches_reference_for_all_lengths() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 37 + 11) as u8).collect();
        for n in 0..data.len() {
            assert_eq!(sum(&data[..n]), reference(&data[..n]), "len {n}");
        }
        let ff = [0xffu8; 4096];
        for n in (0..ff.len()).filter(|n| *n < 80 || n % 61 == 0) {
            assert_eq!(sum(&ff[..n]), reference(&ff[..n]), "ff len {n}");
        }
    }

    #[test]
    fn parses_rfc1071_example() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        assert_eq!(
            sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
    }

    // IPv4/UDP DNS query from dns-radiotap (frame 1), IP header onwards.
    const DNS_V4: &[u8] = &[
        0x45, 0x00, 0x00, 0x3f, 0xd6, 0x8d, 0x00, 0x00, 0x40, 0x11, 0xae, 0xa2, 0xac, 0x11, 0x9c,
        0x4c, 0xd0, 0x43, 0xdc, 0xdc, // IPv4 172.17.156.76 -> 208.67.220.220
        0xf1, 0x2a, 0x00, 0x35, 0x00, 0x2b, 0xc5, 0xdf, // UDP 61738 -> 53, len 43
        0xa7, 0x2f, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x63, 0x61,
        0x70, 0x74, 0x69, 0x76, 0x65, 0x05, 0x61, 0x70, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d,
        0x00, 0x00, 0x01, 0x00, 0x01, // captive.apple.com A IN
    ];

    #[test]
    fn parses_good_ipv4_and_udp_checksums() {
        let p = ip::decode(DNS_V4, DNS_V4.len() as u32).unwrap();
        assert!(p.header_checksum_ok);
        assert!(ipv4_header_ok(&DNS_V4[..20]));
        assert_eq!(transport_ok(&p), Some(true));
    }

    #[test]
    fn rejects_corrupted_udp_checksum() {
        let mut b = DNS_V4.to_vec();
        b[30] ^= 0x55;
        let p = ip::decode(&b, b.len() as u32).unwrap();
        assert_eq!(transport_ok(&p), Some(false));
        // Checksum 0 on IPv4 UDP means "none".
        b[26] = 0;
        b[27] = 0;
        let p = ip::decode(&b, b.len() as u32).unwrap();
        assert_eq!(transport_ok(&p), Some(true));
    }

    #[test]
    fn truncated_payload_is_not_checked() {
        let p = ip::decode(&DNS_V4[..40], DNS_V4.len() as u32).unwrap();
        assert_eq!(transport_ok(&p), None);
    }
}
