//! Internet checksums (RFC 1071): IPv4 header, TCP/UDP/ICMPv6 with their
//! pseudo-headers, ICMPv4 without one.
//!
//! This runs on every packet when checksums are validated, so the sum adds
//! 8-byte little-endian words with end-around carry: a chain of
//! add-with-carry that the compiler turns into one `adc` per word on x86-64
//! (`adcs` on AArch64), no target features needed. That works because
//! 2^16 ≡ 1 (mod 2^16 − 1), so a ones'-complement sum of 64-bit words folds
//! to the same 16-bit sum. Words are read little-endian (no byte swaps) and
//! the folded result is swapped once, which RFC 1071 §2(B) allows.

use crate::bytes::be16;
use crate::ip::IpPacket;
use core::net::IpAddr;

/// Reduces a 64-bit partial sum below 2^33 without changing it modulo
/// 2^16 − 1 (2^32 ≡ 1).
#[inline(always)]
fn fold32(s: u64) -> u64 {
    (s & 0xffff_ffff) + (s >> 32)
}

/// `a + b + carry` and the carry out: written as two overflowing adds,
/// which LLVM recognises as one add-with-carry.
#[inline(always)]
fn adc(a: u64, b: u64, carry: bool) -> (u64, bool) {
    let (s, c1) = a.overflowing_add(b);
    let (s, c2) = s.overflowing_add(u64::from(carry));
    (s, c1 | c2)
}

/// The little-endian word at `data[8 * i..]`; `data` is a fixed-size
/// array at every call, so the bounds check folds away.
#[inline(always)]
fn word<const N: usize>(data: &[u8; N], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&data[8 * i..8 * i + 8]);
    u64::from_le_bytes(w)
}

/// Adds the `N / 8` words of `data` to `acc` in one carry chain; the
/// carry out of the chain is returned for the caller to count.
#[inline(always)]
fn add_words<const N: usize>(acc: u64, data: &[u8; N]) -> (u64, bool) {
    let (mut s, mut c) = (acc, false);
    for i in 0..N / 8 {
        (s, c) = adc(s, word(data, i), c);
    }
    (s, c)
}

/// Splits off the first `N` bytes of `data` as an array.
#[inline(always)]
fn take<const N: usize>(data: &[u8]) -> Option<(&[u8; N], &[u8])> {
    let (head, rest) = data.split_first_chunk::<N>()?;
    Some((head, rest))
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
        // §2(B)): sum little-endian words, which needs no byte swaps, then
        // swap the folded result once. `acc` plus `carries` is the sum
        // modulo 2^64 − 1; a carry out of a chain is counted rather than
        // added back into `acc` (that add could carry again).
        let (mut acc, mut carries) = (0u64, 0u64);
        let mut rest = data;
        // 64 bytes per step: eight dependent `adc`s, one carry count.
        while let Some((block, r)) = take::<64>(rest) {
            let (s, c) = add_words(acc, block);
            acc = s;
            carries += u64::from(c);
            rest = r;
        }
        // Below 64 bytes: 32, 16 and 8 byte steps, at most one of each.
        if let Some((block, r)) = take::<32>(rest) {
            let (s, c) = add_words(acc, block);
            (acc, carries, rest) = (s, carries + u64::from(c), r);
        }
        if let Some((block, r)) = take::<16>(rest) {
            let (s, c) = add_words(acc, block);
            (acc, carries, rest) = (s, carries + u64::from(c), r);
        }
        if let Some((block, r)) = take::<8>(rest) {
            let (s, c) = add_words(acc, block);
            (acc, carries, rest) = (s, carries + u64::from(c), r);
        }
        // The tail: at most 7 bytes, starting at a multiple of 8, so each
        // byte keeps its position within a little-endian word (an odd last
        // byte is a low half, as it must be).
        let t = if rest.is_empty() {
            0
        } else if let Some(last) = data.last_chunk::<8>() {
            // The last 8 bytes of `data` end with the tail: shift out the
            // bytes already summed (1 to 7 of them) instead of branching
            // on the tail length.
            u64::from_le_bytes(*last) >> (64 - 8 * rest.len())
        } else {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            u64::from_le_bytes(w)
        };
        let (s, c) = acc.overflowing_add(t);
        self.add_le_sum(s, carries + u64::from(c))
    }

    /// Adds 64-bit words that hold data read little-endian (see
    /// [`Sum::add_bytes`]).
    #[inline(always)]
    fn add_le_words<const N: usize>(self, words: &[u64; N]) -> Sum {
        let (mut s, mut c) = (0u64, false);
        for w in words {
            (s, c) = adc(s, *w, c);
        }
        self.add_le_sum(s, u64::from(c))
    }

    /// Adds a sum of little-endian words, `acc` plus `carries` carries out
    /// of it: folded to 16 bits, then byte-swapped once.
    #[inline(always)]
    fn add_le_sum(self, acc: u64, carries: u64) -> Sum {
        // `carries` is far below 2^64 − 1, so one end-around carry is enough.
        let (s, c) = acc.overflowing_add(carries);
        let le = Sum(s + u64::from(c)).fold();
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
        // Two end-around-carry adds, 64 → 32 → 16 bits, without a loop.
        // A carry out leaves the low half at most 2^n − 2, so adding it
        // back cannot carry again; the result is 0 only for a zero sum,
        // as with repeated folding.
        let (lo, c) = (self.0 as u32).overflowing_add((self.0 >> 32) as u32);
        let s = lo + u32::from(c);
        let (lo, c) = (s as u16).overflowing_add((s >> 16) as u16);
        lo + u16::from(c)
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
    // Almost every header is 20 bytes: two 8-byte and one 4-byte
    // little-endian word in one carry chain, at fixed offsets.
    if let Ok(h) = <&[u8; 20]>::try_from(header) {
        let w = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&h[i..i + 8]);
            u64::from_le_bytes(b)
        };
        let last = u32::from_le_bytes([h[16], h[17], h[18], h[19]]);
        return Sum::ZERO
            .add_le_words(&[w(0), w(8), u64::from(last)])
            .verifies();
    }
    Sum::ZERO.add_bytes(header).verifies()
}

/// Sum of the TCP/UDP/ICMPv6 pseudo-header for `src`/`dst`, `proto` and
/// the upper-layer length `len` (RFC 793 for IPv4, RFC 8200 §8.1 for IPv6).
// Always inlined: called once per packet, and a call saves and restores
// six registers around what is a dozen instructions for IPv4.
#[inline(always)]
pub fn pseudo_header(src: IpAddr, dst: IpAddr, proto: u8, len: u32) -> Sum {
    let s = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => Sum::ZERO
            .add_u32(u32::from_be_bytes(s.octets()))
            .add_u32(u32::from_be_bytes(d.octets())),
        // Both addresses as four little-endian words in one carry chain.
        (IpAddr::V6(s), IpAddr::V6(d)) => Sum::ZERO.add_le_words(&[
            u128::from_le_bytes(s.octets()) as u64,
            (u128::from_le_bytes(s.octets()) >> 64) as u64,
            u128::from_le_bytes(d.octets()) as u64,
            (u128::from_le_bytes(d.octets()) >> 64) as u64,
        ]),
        _ => {
            let mut both = [0u8; 32];
            both[..16].copy_from_slice(&addr16(src));
            both[16..].copy_from_slice(&addr16(dst));
            Sum::ZERO.add_bytes(&both)
        }
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
    fn parses_sum_with_every_carry_and_alignment() {
        // All-ones words carry out of every add of the chain; the odd
        // offsets move the tail and the block boundaries around.
        let ff = [0xffu8; 200];
        let mix: Vec<u8> = (0..200u32).map(|i| 0xff - (i % 3) as u8).collect();
        for data in [&ff[..], &mix[..]] {
            for start in 0..8 {
                for n in start..data.len() {
                    let d = &data[start..n];
                    assert_eq!(sum(d), reference(d), "start {start} len {}", d.len());
                }
            }
        }
        // Chunks summed one after another (every chunk but the last even).
        let data: Vec<u8> = (0..500u32).map(|i| (i * 151 + 7) as u8).collect();
        for cut in (0..data.len()).step_by(2) {
            let (a, b) = data.split_at(cut);
            let s = Sum::ZERO.add_bytes(a).add_bytes(b).fold();
            assert_eq!(s, reference(&data), "cut {cut}");
        }
        assert_eq!(Sum(u64::MAX).fold(), 0xffff);
        assert_eq!(Sum(0).fold(), 0);
        assert_eq!(Sum(0x1_0000).fold(), 1);
    }

    #[test]
    fn parses_pseudo_headers_like_the_reference() {
        use core::net::{Ipv4Addr, Ipv6Addr};
        let v6 = |x: u128| IpAddr::V6(Ipv6Addr::from(x));
        let pairs = [
            (v6(0x2001_0db8 << 96 | 0xffff_0007), v6(u128::MAX - 5)),
            (v6(u128::MAX), v6(u128::MAX)),
            (IpAddr::V4(Ipv4Addr::new(255, 254, 1, 2)), v6(1 << 127 | 77)),
            (
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                IpAddr::V4(Ipv4Addr::new(255, 255, 255, 255)),
            ),
        ];
        for (src, dst) in pairs {
            let mut bytes = Vec::new();
            match (src, dst) {
                (IpAddr::V4(s), IpAddr::V4(d)) => {
                    bytes.extend(s.octets());
                    bytes.extend(d.octets());
                }
                _ => {
                    bytes.extend(addr16(src));
                    bytes.extend(addr16(dst));
                }
            }
            bytes.extend(70_000u32.to_be_bytes());
            bytes.extend([0, 0, 0, 6]);
            assert_eq!(
                pseudo_header(src, dst, 6, 70_000).fold(),
                reference(&bytes),
                "{src} {dst}"
            );
        }
    }

    #[test]
    fn parses_ipv4_headers_like_the_reference() {
        let mut h = DNS_V4[..20].to_vec();
        for i in 0..400u32 {
            // Vary the header, then set a correct or an off-by-one checksum.
            h[(i % 20) as usize] = (i * 97 + 13) as u8;
            h[10] = 0;
            h[11] = 0;
            let c = checksum(&h).wrapping_add((i % 3 == 0) as u16);
            h[10..12].copy_from_slice(&c.to_be_bytes());
            assert_eq!(ipv4_header_ok(&h), reference(&h) == 0xffff, "{h:02x?}");
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
