//! IPv4 and IPv6 headers, IPv6 extension headers and fragment information.
//!
//! The checks and their order follow Zeek's IP analyzer
//! (`src/packet_analysis/protocol/ip/IP.cc`) and its IPv6 header chain
//! (`src/IP.cc`), so that the same packets are dropped with the same weird:
//!
//! 1. fewer than 20 bytes captured → `truncated_IP`; version not 4/6 →
//!    `unknown_ip_version`; IPv6 with fewer than 40 bytes → `truncated_IP`;
//! 2. IPv4 total length 0 (TSO) → `ip_hdr_len_zero`, unless checksums are
//!    ignored, then the captured length stands in;
//! 3. wire length below the total length → `truncated_IP_len` (snaplen
//!    truncation alone is fine: the payload is just clipped);
//! 4. header longer than the total length → `invalid_IP_header_size`,
//!    longer than what was captured → `internally_truncated_header`,
//!    IPv4 IHL < 5 → `IPv4_min_header_size`.
//!
//! The IPv4 header checksum is verified into
//! [`IpPacket::header_checksum_ok`] but never rejects: the caller drops the
//! packet (`bad_IP_checksum`) unless checksums are ignored.

use crate::anomaly::Anomaly;
use crate::bytes::{arr16, be16, be32, u8_at};
use crate::checksum;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Fragment information of an IP packet that is a fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    /// Identification (IPv4: 16 bits, IPv6: 32 bits).
    pub id: u32,
    /// Offset of this fragment's data in the original payload, in bytes.
    pub offset: u32,
    /// More fragments follow.
    pub more: bool,
}

/// A decoded IPv4 or IPv6 packet (lenient view).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpPacket<'a> {
    /// 4 or 6.
    pub version: u8,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Transport protocol: IPv4 protocol, or the IPv6 next header after the
    /// extension headers (for a fragment: the fragment header's next header).
    pub protocol: u8,
    /// Length of the whole packet per its header: IPv4 total length, IPv6
    /// payload length + 40 (extension headers included).
    pub total_len: u32,
    /// Length of the header(s) before the transport data: IPv4 IHL*4, IPv6
    /// 40 + extension headers up to and including a fragment header.
    pub header_len: u32,
    /// TTL / hop limit.
    pub ttl: u8,
    /// Type of service / traffic class.
    pub tos: u8,
    /// Set when this packet is a fragment (offset > 0 or more fragments).
    pub fragment: Option<Fragment>,
    /// IPv4 header checksum verified (always true for IPv6).
    pub header_checksum_ok: bool,
    /// The captured header bytes (`header_len` or fewer).
    pub header: &'a [u8],
    /// The captured transport bytes: at most `total_len - header_len`,
    /// fewer when the capture was cut short.
    pub payload: &'a [u8],
}

impl IpPacket<'_> {
    /// Length of the transport data according to the IP header.
    #[inline]
    pub fn payload_len(&self) -> u32 {
        self.total_len.saturating_sub(self.header_len)
    }

    /// True when all transport bytes were captured.
    #[inline]
    pub fn payload_complete(&self) -> bool {
        self.payload.len() as u64 >= u64::from(self.payload_len())
    }

    /// True for an IPv4 packet whose total-length field is 0 (TCP
    /// segmentation offload). Only decodable with
    /// [`DecodeOptions::ignore_checksums`]; Zeek raises `ip_hdr_len_zero`
    /// for it in both modes.
    #[inline]
    pub fn total_len_field_zero(&self) -> bool {
        self.version == 4 && be16(self.header, 2) == Some(0)
    }

    /// True for an IPv6 header chain that ends in ESP (protocol 50): Zeek
    /// stops there and creates no connection. (IPv4 protocol 50 is handled
    /// like any unknown transport.)
    #[inline]
    pub fn ends_in_esp(&self) -> bool {
        self.version == 6 && self.protocol == IPPROTO_ESP
    }
}

/// How to decode (mirrors Zeek's `-C`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecodeOptions {
    /// Zeek's `ignore_checksums`: an IPv4 total length of 0 (TSO) is then
    /// replaced by the captured length instead of dropping the packet.
    pub ignore_checksums: bool,
}

const IPPROTO_HOPOPTS: u8 = 0;
const IPPROTO_ROUTING: u8 = 43;
const IPPROTO_FRAGMENT: u8 = 44;
const IPPROTO_ESP: u8 = 50;
const IPPROTO_AH: u8 = 51;
const IPPROTO_DSTOPTS: u8 = 60;
/// "No next header", also what the chain reports after ESP.
const IPPROTO_NONE: u8 = 59;

/// Decodes the IP packet at the start of `data` with default options
/// (checksums checked: a TSO total length of 0 is an error).
///
/// `wire_len` is how many bytes of the packet were on the wire from the IP
/// header on (frame wire length minus the link-layer offset).
#[inline]
pub fn decode(data: &[u8], wire_len: u32) -> Result<IpPacket<'_>, Anomaly> {
    decode_with(data, wire_len, DecodeOptions::default())
}

/// [`decode`] with explicit options. Forced inline: the frame loop calls it
/// for every packet (the version decoders behind it stay calls).
#[inline(always)]
pub fn decode_with(
    data: &[u8],
    wire_len: u32,
    opts: DecodeOptions,
) -> Result<IpPacket<'_>, Anomaly> {
    // Zeek checks for a whole IPv4 header before even looking at the
    // version, so a 19-byte IPv6 fragment of a header is truncated_IP too.
    let Some(&first) = data.first() else {
        return Err(Anomaly::TruncatedIp);
    };
    if data.len() < 20 {
        return Err(Anomaly::TruncatedIp);
    }
    match first >> 4 {
        4 => decode_v4(data, wire_len, opts),
        6 => decode_v6(data, wire_len),
        _ => Err(Anomaly::UnknownIpVersion),
    }
}

/// Captured length as `u32` (captures are far below 4 GiB; saturate anyway).
#[inline(always)]
fn cap32(data: &[u8]) -> u32 {
    u32::try_from(data.len()).unwrap_or(u32::MAX)
}

#[inline]
fn decode_v4(data: &[u8], wire_len: u32, opts: DecodeOptions) -> Result<IpPacket<'_>, Anomaly> {
    // 20 bytes are known to be there; destructure once so the field reads
    // below need no further bounds checks.
    let [vihl, tos, tl0, tl1, id0, id1, off0, off1, ttl, protocol, _, _, s0, s1, s2, s3, d0, d1, d2, d3, ..] =
        *data
    else {
        return Err(Anomaly::TruncatedIp);
    };
    let mut total_len = u32::from(u16::from_be_bytes([tl0, tl1]));
    if total_len == 0 {
        if !opts.ignore_checksums {
            return Err(Anomaly::IpHdrLenZero);
        }
        // TSO zeroes the field; Zeek falls back to the captured length.
        total_len = cap32(data);
    }
    if wire_len < total_len {
        return Err(Anomaly::TruncatedIpLen);
    }
    let header_len = u32::from(vihl & 0x0f) * 4;
    if header_len > total_len {
        return Err(Anomaly::InvalidIpHeaderSize);
    }
    let captured = cap32(data);
    if header_len > captured {
        return Err(Anomaly::InternallyTruncatedHeader);
    }
    if header_len < 20 {
        return Err(Anomaly::Ipv4MinHeaderSize);
    }
    let hl = header_len as usize;
    let header = data.get(..hl).unwrap_or(data);
    let end = total_len.min(captured) as usize;
    let payload = data.get(hl..end).unwrap_or(&[]);
    let off = u16::from_be_bytes([off0, off1]);
    let fragment = (off & 0x3fff != 0).then(|| Fragment {
        id: u32::from(u16::from_be_bytes([id0, id1])),
        offset: u32::from(off & 0x1fff) * 8,
        more: off & 0x2000 != 0,
    });
    Ok(IpPacket {
        version: 4,
        src: IpAddr::V4(Ipv4Addr::new(s0, s1, s2, s3)),
        dst: IpAddr::V4(Ipv4Addr::new(d0, d1, d2, d3)),
        protocol,
        total_len,
        header_len,
        ttl,
        tos,
        fragment,
        header_checksum_ok: checksum::ipv4_header_ok(header),
        header,
        payload,
    })
}

/// Extension headers Zeek walks (`isIPv6ExtHeader`, default build without
/// Mobile IPv6: the mobility header 135 is treated as a transport).
#[inline(always)]
fn is_ext_header(t: u8) -> bool {
    matches!(
        t,
        IPPROTO_HOPOPTS
            | IPPROTO_ROUTING
            | IPPROTO_DSTOPTS
            | IPPROTO_FRAGMENT
            | IPPROTO_AH
            | IPPROTO_ESP
    )
}

fn decode_v6(data: &[u8], wire_len: u32) -> Result<IpPacket<'_>, Anomaly> {
    if data.len() < 40 {
        return Err(Anomaly::TruncatedIp);
    }
    let (Some(vtc), Some(plen), Some(src), Some(dst0)) = (
        be32(data, 0),
        be16(data, 4),
        arr16(data, 8),
        arr16(data, 24),
    ) else {
        return Err(Anomaly::TruncatedIp);
    };
    let total_len = u32::from(plen) + 40;
    if wire_len < total_len {
        return Err(Anomaly::TruncatedIpLen);
    }

    // Walk the chain the way IPv6_Hdr_Chain::Init does: over the captured
    // bytes, stopping after a fragment or ESP header, at the first
    // non-extension header, or silently at a header that is not fully
    // captured (it then becomes the "protocol").
    let captured = data.len();
    let mut off = 40usize;
    let mut next = u8_at(data, 6).unwrap_or(IPPROTO_NONE);
    let mut last = 41u8; // the IPv6 header itself
    let mut fragment = None;
    let mut dst = dst0;
    let mut seen_routing = false;
    while last != IPPROTO_FRAGMENT && last != IPPROTO_ESP && is_ext_header(next) {
        let rest = data.get(off..).unwrap_or(&[]);
        let [nh, hlen, ..] = *rest else { break };
        let cur = next;
        let cur_len = match cur {
            IPPROTO_HOPOPTS | IPPROTO_ROUTING | IPPROTO_DSTOPTS => 8 + 8 * usize::from(hlen),
            IPPROTO_AH => 8 + 4 * usize::from(hlen),
            _ => 8, // fragment, ESP (encrypted payload begins after 8 bytes)
        };
        if cur_len > rest.len() {
            break;
        }
        if cur == IPPROTO_ROUTING && !seen_routing {
            seen_routing = true;
            // Type 0 with segments left: the conn is keyed on the final
            // destination, the last address in the header (Zeek's finalDst).
            let (rtype, segleft) = (u8_at(rest, 2), u8_at(rest, 3));
            if rtype == Some(0) && segleft.unwrap_or(0) > 0 && hlen >= 2 && hlen % 2 == 0 {
                if let Some(a) = arr16(rest, cur_len - 16) {
                    dst = a;
                }
            }
        }
        if cur == IPPROTO_FRAGMENT {
            if let (Some(offlg), Some(id)) = (be16(rest, 2), be32(rest, 4)) {
                fragment = Some(Fragment {
                    id,
                    offset: u32::from(offlg & 0xfff8),
                    more: offlg & 1 != 0,
                });
            }
        }
        next = if cur == IPPROTO_ESP { IPPROTO_NONE } else { nh };
        last = cur;
        off += cur_len;
    }
    // ESP ends the chain; report it as the protocol so the caller can stop
    // (see IpPacket::ends_in_esp) instead of seeing "no next header".
    let protocol = if last == IPPROTO_ESP {
        IPPROTO_ESP
    } else {
        next
    };

    let header_len = u32::try_from(off).unwrap_or(u32::MAX);
    if header_len > total_len {
        return Err(Anomaly::InvalidIpHeaderSize);
    }
    // The walk never passes the captured bytes, so the header is complete.
    let end = (total_len as usize).min(captured);
    Ok(IpPacket {
        version: 6,
        src: IpAddr::V6(Ipv6Addr::from(src)),
        dst: IpAddr::V6(Ipv6Addr::from(dst)),
        protocol,
        total_len,
        header_len,
        ttl: u8_at(data, 7).unwrap_or(0),
        tos: ((vtc >> 20) & 0xff) as u8,
        fragment,
        header_checksum_ok: true,
        header: data.get(..off).unwrap_or(data),
        payload: data.get(off..end).unwrap_or(&[]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // IPv4/TCP SYN header, 20 bytes, checksum valid (tcp-missing-syn-flip
    // style): 10.0.0.1 -> 10.0.0.2, total length 40, proto 6.
    fn v4_header(total_len: u16, ihl: u8, flags_off: u16, proto: u8) -> Vec<u8> {
        let mut h = vec![
            0x40 | ihl,
            0x00,
            (total_len >> 8) as u8,
            total_len as u8,
            0x12,
            0x34, // id
            (flags_off >> 8) as u8,
            flags_off as u8,
            64,
            proto,
            0,
            0, // checksum, filled below
            10,
            0,
            0,
            1,
            10,
            0,
            0,
            2,
        ];
        let c = checksum::checksum(&h);
        h[10] = (c >> 8) as u8;
        h[11] = c as u8;
        h
    }

    #[test]
    fn parses_ipv4() {
        let mut p = v4_header(40, 5, 0x4000, 6);
        p.extend_from_slice(&[0u8; 20]);
        p.extend_from_slice(&[0u8; 6]); // Ethernet padding must not matter
        let ip = decode(&p, p.len() as u32).unwrap();
        assert_eq!(ip.version, 4);
        assert_eq!(ip.protocol, 6);
        assert_eq!(ip.total_len, 40);
        assert_eq!(ip.header_len, 20);
        assert_eq!(ip.payload.len(), 20);
        assert_eq!(ip.ttl, 64);
        assert!(ip.header_checksum_ok);
        assert!(ip.fragment.is_none());
        assert_eq!(ip.src, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
    }

    #[test]
    fn parses_bad_ipv4_checksum_without_rejecting() {
        let mut p = v4_header(20, 5, 0, 6);
        p[10] ^= 1;
        let ip = decode(&p, 20).unwrap();
        assert!(!ip.header_checksum_ok);
    }

    #[test]
    fn parses_ipv4_fragment() {
        let p = v4_header(28, 5, 0x2000 | 3, 17);
        let mut p = p;
        p.extend_from_slice(&[0u8; 8]);
        let ip = decode(&p, 28).unwrap();
        assert_eq!(
            ip.fragment,
            Some(Fragment {
                id: 0x1234,
                offset: 24,
                more: true
            })
        );
    }

    #[test]
    fn truncated_snaplen_is_fine_but_wire_short_is_not() {
        let mut p = v4_header(100, 5, 0, 6);
        p.extend_from_slice(&[0u8; 10]);
        let ip = decode(&p, 100).unwrap();
        assert_eq!(ip.payload.len(), 10);
        assert!(!ip.payload_complete());
        assert_eq!(decode(&p, 99), Err(Anomaly::TruncatedIpLen));
    }

    #[test]
    fn rejects_bad_ipv4_headers() {
        assert_eq!(decode(&[0x45; 19], 100), Err(Anomaly::TruncatedIp));
        assert_eq!(decode(&[], 100), Err(Anomaly::TruncatedIp));
        let mut p = v4_header(40, 5, 0, 6);
        p[0] = 0x55;
        p.extend_from_slice(&[0; 20]);
        assert_eq!(decode(&p, 40), Err(Anomaly::UnknownIpVersion));
        let p = v4_header(16, 5, 0, 6);
        assert_eq!(decode(&p, 40), Err(Anomaly::InvalidIpHeaderSize));
        let p = v4_header(40, 15, 0, 6);
        assert_eq!(decode(&p, 40), Err(Anomaly::InvalidIpHeaderSize));
        let p = v4_header(60, 15, 0, 6);
        assert_eq!(decode(&p, 60), Err(Anomaly::InternallyTruncatedHeader));
        let p = v4_header(40, 4, 0, 6);
        assert_eq!(decode(&p, 40), Err(Anomaly::Ipv4MinHeaderSize));
    }

    #[test]
    fn rejects_tso_zero_length_unless_ignoring_checksums() {
        let mut p = v4_header(0, 5, 0, 6);
        p.extend_from_slice(&[0u8; 20]);
        assert_eq!(decode(&p, 40), Err(Anomaly::IpHdrLenZero));
        let ip = decode_with(
            &p,
            40,
            DecodeOptions {
                ignore_checksums: true,
            },
        )
        .unwrap();
        assert_eq!(ip.total_len, 40);
        assert!(ip.total_len_field_zero());
    }

    // IPv6 hop-by-hop + ICMPv6 MLD report header chain (pppoe-icmpv6 style):
    // fe80::1 -> ff02::16, payload length 36 = 8 (HBH) + 28 (MLDv2).
    fn v6_hbh_icmp() -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0, 0, 36, 0x00, 1];
        p.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        p.extend_from_slice(&[0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16]);
        // HBH: next 58, len 0, router alert option, PadN
        p.extend_from_slice(&[58, 0, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00]);
        p.extend_from_slice(&[143, 0, 0, 0, 0, 0, 0, 1]);
        p.extend_from_slice(&[0u8; 20]);
        p
    }

    #[test]
    fn parses_ipv6_extension_headers() {
        let p = v6_hbh_icmp();
        let ip = decode(&p, p.len() as u32).unwrap();
        assert_eq!(ip.version, 6);
        assert_eq!(ip.protocol, 58);
        assert_eq!(ip.header_len, 48);
        assert_eq!(ip.total_len, 76);
        assert_eq!(ip.payload.len(), 28);
        assert_eq!(ip.ttl, 1);
    }

    #[test]
    fn parses_ipv6_fragment_and_esp_and_no_next() {
        let mut p = v6_hbh_icmp();
        // HBH -> fragment header -> UDP
        p[40] = 44;
        p.splice(48..48, [17, 0, 0x00, 0x09, 0xde, 0xad, 0xbe, 0xef]);
        p[5] = 44;
        let ip = decode(&p, p.len() as u32).unwrap();
        assert_eq!(ip.protocol, 17);
        assert_eq!(ip.header_len, 56);
        assert_eq!(
            ip.fragment,
            Some(Fragment {
                id: 0xdeadbeef,
                offset: 8,
                more: true
            })
        );
        // ESP right after the fixed header.
        let mut e = v6_hbh_icmp();
        e[6] = 50;
        let ip = decode(&e, e.len() as u32).unwrap();
        assert!(ip.ends_in_esp());
        assert_eq!(ip.header_len, 48);
        // No next header.
        let mut n = v6_hbh_icmp();
        n[6] = 59;
        let ip = decode(&n, n.len() as u32).unwrap();
        assert_eq!(ip.protocol, 59);
        assert_eq!(ip.header_len, 40);
    }

    #[test]
    fn truncated_ipv6() {
        let p = v6_hbh_icmp();
        assert_eq!(decode(&p[..39], 76), Err(Anomaly::TruncatedIp));
        assert_eq!(decode(&p, 75), Err(Anomaly::TruncatedIpLen));
        // Extension header cut by the snaplen: the walk stops there.
        let ip = decode(&p[..44], 76).unwrap();
        assert_eq!(ip.protocol, 0);
        assert_eq!(ip.header_len, 40);
    }

    #[test]
    fn rejects_ipv6_ext_headers_longer_than_total() {
        let mut p = v6_hbh_icmp();
        p[5] = 4; // payload length 4 < 8-byte HBH header
        assert_eq!(
            decode(&p, p.len() as u32),
            Err(Anomaly::InvalidIpHeaderSize)
        );
    }

    #[test]
    fn parses_ipv6_routing_type0_final_destination() {
        let mut p = vec![0x60, 0, 0, 0, 0, 24, 43, 64];
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        // Routing type 0, len 2 (one address), segments left 1, next 59.
        p.extend_from_slice(&[59, 2, 0, 1, 0, 0, 0, 0]);
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
        let ip = decode(&p, p.len() as u32).unwrap();
        assert_eq!(ip.dst, "2001:db8::9".parse::<IpAddr>().unwrap());
        assert_eq!(ip.protocol, 59);
    }
}
