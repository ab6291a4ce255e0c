//! GRE (RFC 2784/2890), PPTP's enhanced GRE (RFC 2637) and ERSPAN I/II/III.
//!
//! Follows Zeek's GRE and ERSPAN analyzers: version 0 dispatches on the
//! protocol type (IPv4/IPv6, MPLS, transparent Ethernet bridging, ERSPAN);
//! version 1 must carry PPP (0x880b) with IPv4/IPv6 inside, and the inner IP
//! packet must fill the rest of the payload exactly.

use super::{ip_by_nibble, ip_exact, Inner, IpHint};
use crate::anomaly::Anomaly;
use crate::bytes::{be16, tail, u8_at};

const FLAG_CHECKSUM: u16 = 0x8000;
const FLAG_ROUTING: u16 = 0x4000;
const FLAG_KEY: u16 = 0x2000;
const FLAG_SEQUENCE: u16 = 0x1000;
const FLAG_ACK: u16 = 0x0080;
/// Reserved bits Zeek refuses.
const FLAGS_RESERVED: u16 = 0x0078;

const PROTO_IPV4: u16 = 0x0800;
const PROTO_IPV6: u16 = 0x86dd;
const PROTO_MPLS: u16 = 0x8847;
const PROTO_TEB: u16 = 0x6558;
const PROTO_ERSPAN_I_II: u16 = 0x88be;
const PROTO_ERSPAN_III: u16 = 0x22eb;
const PROTO_PPP: u16 = 0x880b;

/// Ethernet header length, which Zeek requires after bridging/ERSPAN.
const ETH_LEN: usize = 14;

/// What follows the GRE header.
enum Next {
    Ethernet,
    Erspan,
    Ip(IpHint),
    Mpls,
    Pptp,
}

/// Aruba's 802.11-in-GRE protocol types (Zeek hands these to its 802.11
/// analyzer; [`Inner`] has no 802.11 variant, so they are reported).
#[inline]
fn is_aruba(p: u16) -> bool {
    (p & 0x8200 == 0x8200 && p & 0x0f == 0)
        || (p & 0x8300 == 0x8300 && p & 0x0f == 0 && p <= 0x8370)
        || p == 0x9000
}

/// Decodes a GRE packet (the payload of IP protocol 47, or of UDP 4754).
pub fn gre(ip_payload: &[u8]) -> Result<Inner<'_>, Anomaly> {
    let d = ip_payload;
    let (Some(flags), Some(proto)) = (be16(d, 0), be16(d, 2)) else {
        return Err(Anomaly::TruncatedGre);
    };
    let version = flags & 0x0007;
    let gre_len = 4 + [FLAG_CHECKSUM, FLAG_KEY, FLAG_SEQUENCE, FLAG_ACK]
        .iter()
        .filter(|&&f| flags & f != 0)
        .count()
        * 4;
    let len = d.len();
    let next = match version {
        0 => match proto {
            PROTO_TEB | PROTO_ERSPAN_I_II => {
                if len <= gre_len + ETH_LEN {
                    return Err(Anomaly::TruncatedGre);
                }
                // ERSPAN type I has no header of its own and no sequence
                // number; type II sets the sequence bit.
                if proto == PROTO_ERSPAN_I_II && flags & FLAG_SEQUENCE != 0 {
                    Next::Erspan
                } else {
                    Next::Ethernet
                }
            }
            PROTO_ERSPAN_III => Next::Erspan,
            PROTO_IPV4 => Next::Ip(IpHint::V4),
            PROTO_IPV6 => Next::Ip(IpHint::V6),
            PROTO_MPLS => Next::Mpls,
            p if is_aruba(p) => {
                if len <= gre_len {
                    return Err(Anomaly::TruncatedGre);
                }
                return Err(Anomaly::UnknownProtocol);
            }
            _ => return Err(Anomaly::UnknownProtocol),
        },
        1 => {
            if proto != PROTO_PPP {
                return Err(Anomaly::EgreProtocolType);
            }
            Next::Pptp
        }
        _ => return Err(Anomaly::UnknownGreVersion),
    };
    if flags & FLAG_ROUTING != 0 {
        return Err(Anomaly::GreRouting);
    }
    if flags & FLAGS_RESERVED != 0 {
        return Err(Anomaly::UnknownGreFlags);
    }
    let min = gre_len
        + match next {
            Next::Pptp => 4,
            Next::Ethernet => ETH_LEN,
            _ => 0,
        };
    if len < min {
        return Err(Anomaly::TruncatedGre);
    }
    let rest = tail(d, gre_len);
    match next {
        Next::Ethernet => Ok(Inner::Ethernet(rest)),
        Next::Erspan => erspan(rest),
        Next::Ip(hint) => Ok(ip_by_nibble(rest, hint)),
        Next::Mpls => mpls(rest),
        Next::Pptp => pptp(rest),
    }
}

/// ERSPAN type II (version 1, 8 bytes) or III (version 2, 12 bytes plus an
/// optional 8-byte platform sub-header when the O bit is set), then the
/// mirrored Ethernet frame.
fn erspan(d: &[u8]) -> Result<Inner<'_>, Anomaly> {
    let [b0, ..] = *d else {
        return Err(Anomaly::TruncatedErspan);
    };
    if d.len() < 8 {
        return Err(Anomaly::TruncatedErspan);
    }
    let hdr = match b0 >> 4 {
        1 => 8,
        2 => {
            if d.len() < 12 {
                return Err(Anomaly::TruncatedErspan);
            }
            if u8_at(d, 11).unwrap_or(0) & 0x01 != 0 {
                if d.len() < 20 {
                    return Err(Anomaly::TruncatedErspan);
                }
                20
            } else {
                12
            }
        }
        _ => return Err(Anomaly::UnknownErspanVersion),
    };
    Ok(Inner::Ethernet(tail(d, hdr)))
}

/// An MPLS label stack (Zeek registers GRE 0x8847 → MPLS → IP).
fn mpls(d: &[u8]) -> Result<Inner<'_>, Anomaly> {
    let mut off = 0usize;
    loop {
        if d.len().saturating_sub(off) <= 4 {
            return Err(Anomaly::TruncatedLinkHeader);
        }
        let bos = u8_at(d, off + 2).unwrap_or(1) & 0x01 != 0;
        off += 4;
        if bos {
            return Ok(ip_by_nibble(tail(d, off), IpHint::V4));
        }
    }
}

/// PPP inside enhanced GRE: optional 0xff03 address/control, a 2-byte (or
/// field-compressed 1-byte) protocol that must be IPv4 or IPv6, then an IP
/// packet that fills the payload exactly.
fn pptp(d: &[u8]) -> Result<Inner<'_>, Anomaly> {
    let d = match d {
        [0xff, 0x03, r @ ..] => r,
        _ => d,
    };
    let (proto, off) = match *d {
        // Protocol field compression: an odd first byte is the whole field.
        [p, ..] if p & 1 == 1 => (u16::from(p), 1),
        [p0, p1, ..] => (u16::from_be_bytes([p0, p1]), 2),
        _ => return Err(Anomaly::TruncatedGre),
    };
    let hint = match proto {
        0x0021 => IpHint::V4,
        0x0057 => IpHint::V6,
        _ => return Err(Anomaly::NonIpPacketInEncap),
    };
    ip_exact(tail(d, off), hint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::tests::hex;

    // gre-tunnel frame 1: GRE v0 without options, IPv4 inside.
    const PLAIN: &str = "0000 0800 4500 0054 0000 4000 4001 da90 423b6fbe ac1c0203";

    #[test]
    fn parses_plain_gre_ipv4() {
        let g = hex(PLAIN);
        assert_eq!(gre(&g), Ok(Inner::Ipv4(&g[4..])));
    }

    // erspan2-icmp frame 1: GRE with sequence (0x1000), ERSPAN 0x88be,
    // ERSPAN II header (version 1), mirrored Ethernet frame.
    const ERSPAN2: &str = "1000 88be 00000704 10170864 00000000
                           6400f1e10303 6400f1e10202 0800 4500 0064";

    #[test]
    fn parses_erspan_type_ii() {
        let g = hex(ERSPAN2);
        assert_eq!(gre(&g), Ok(Inner::Ethernet(&g[16..])));
    }

    #[test]
    fn parses_erspan_type_i_and_iii_and_teb() {
        let g = hex(ERSPAN2);
        // Type I: no sequence bit, the Ethernet frame follows GRE directly.
        let mut t1 = vec![0x00, 0x00, 0x88, 0xbe];
        t1.extend_from_slice(&g[16..]);
        assert_eq!(gre(&t1), Ok(Inner::Ethernet(&t1[4..])));
        let mut teb = t1.clone();
        teb[2] = 0x65;
        teb[3] = 0x58;
        assert_eq!(gre(&teb), Ok(Inner::Ethernet(&teb[4..])));
        // Type III: 12-byte header with the O bit → 8 more bytes.
        let mut t3 = vec![
            0x00, 0x00, 0x22, 0xeb, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
        ];
        t3.extend_from_slice(&[0; 8]);
        t3.extend_from_slice(&g[16..]);
        assert_eq!(gre(&t3), Ok(Inner::Ethernet(&t3[24..])));
        t3[15] = 0;
        assert_eq!(gre(&t3), Ok(Inner::Ethernet(&t3[16..])));
        t3[4] = 0x30;
        assert_eq!(gre(&t3), Err(Anomaly::UnknownErspanVersion));
    }

    #[test]
    fn parses_optional_fields_and_mpls() {
        // Checksum + key + sequence present: 16-byte header.
        let mut g = vec![0xb0, 0x00, 0x86, 0xdd];
        g.extend_from_slice(&[0; 12]);
        g.extend_from_slice(&[0x60; 40]);
        assert_eq!(gre(&g), Ok(Inner::Ipv6(&g[16..])));
        // MPLS: one label, bottom of stack.
        let mut m = vec![0x00, 0x00, 0x88, 0x47, 0x00, 0x01, 0x01, 0x40];
        m.extend_from_slice(&[0x45; 20]);
        assert_eq!(gre(&m), Ok(Inner::Ipv4(&m[8..])));
        assert_eq!(gre(&m[..8]), Err(Anomaly::TruncatedLinkHeader));
    }

    #[test]
    fn parses_pptp() {
        // GRE v1, key + sequence, PPP ff03 0021, 20-byte IPv4 packet.
        let mut g = vec![0x30, 0x01, 0x88, 0x0b, 0x00, 0x14, 0x00, 0x01, 0, 0, 0, 7];
        g.extend_from_slice(&[0xff, 0x03, 0x00, 0x21]);
        let ip = [
            0x45, 0, 0, 20, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        g.extend_from_slice(&ip);
        assert_eq!(gre(&g), Ok(Inner::Ipv4(&g[16..])));
        // Without address/control, protocol field compressed.
        let mut c = g[..12].to_vec();
        c.push(0x21);
        c.extend_from_slice(&ip);
        assert_eq!(gre(&c), Ok(Inner::Ipv4(&c[13..])));
        // Inner length must match exactly.
        let mut long = g.clone();
        long.push(0);
        assert_eq!(gre(&long), Err(Anomaly::InnerIpPayloadLengthMismatch));
        let mut lcp = g.clone();
        lcp[14] = 0xc0;
        assert_eq!(gre(&lcp), Err(Anomaly::NonIpPacketInEncap));
        let mut other = g.clone();
        other[3] = 0x00;
        assert_eq!(gre(&other), Err(Anomaly::EgreProtocolType));
    }

    #[test]
    fn rejects_bad_gre() {
        assert_eq!(gre(&hex("0002 0800 45")), Err(Anomaly::UnknownGreVersion));
        assert_eq!(gre(&hex("4000 0800 45")), Err(Anomaly::GreRouting));
        assert_eq!(gre(&hex("0008 0800 45")), Err(Anomaly::UnknownGreFlags));
        assert_eq!(gre(&hex("0000 0806 0001")), Err(Anomaly::UnknownProtocol));
        assert_eq!(gre(&hex("0000 9000 00")), Err(Anomaly::UnknownProtocol));
    }

    #[test]
    fn truncated_gre() {
        assert_eq!(gre(&[0x00, 0x00, 0x08]), Err(Anomaly::TruncatedGre));
        assert_eq!(gre(&hex("8000 0800 00")), Err(Anomaly::TruncatedGre));
        let g = hex(ERSPAN2);
        assert_eq!(gre(&g[..22]), Err(Anomaly::TruncatedGre));
        assert_eq!(gre(&hex("0000 22eb 2000")), Err(Anomaly::TruncatedErspan));
    }
}
