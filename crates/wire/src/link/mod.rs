//! Link layers: peel everything below IP and say where IP starts.
//!
//! Covers Ethernet (incl. 802.3/LLC/SNAP), 802.1Q/802.1ad/0x9100 VLAN tags
//! (any number, first two recorded), MPLS label stacks, PPPoE sessions,
//! PBB (802.1ah), Cisco FabricPath, VN-Tag, Linux SLL/SLL2, BSD null/loopback,
//! NFLOG, raw IP, 802.11 and radiotap, PPP.
//!
//! The layouts and truncation checks (and their weird names) follow Zeek's
//! packet analyzers under `src/packet_analysis/protocol/`. Where IP follows,
//! the IP version nibble decides v4/v6 (Zeek's IP analyzer ignores the
//! EtherType too); the EtherType only decides when no byte is left to look
//! at, so that [`crate::ip::decode`] reports the truncation. Frame trailers
//! (Ethernet padding, 802.11 FCS) are left alone: IP lengths come from the
//! IP header.

use crate::anomaly::Anomaly;
use crate::bytes::{be16, be32, le16, mac, tail, u8_at};

/// A pcap LINKTYPE value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback (host byte order family).
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet.
    pub const ETHERNET: LinkType = LinkType(1);
    /// PPP.
    pub const PPP: LinkType = LinkType(9);
    /// PPP in HDLC-like framing (Zeek's "PPP serial").
    pub const PPP_HDLC: LinkType = LinkType(50);
    /// Raw IP (OpenBSD numbering of DLT_RAW is 14; LINKTYPE_RAW is 101).
    pub const RAW: LinkType = LinkType(101);
    /// IEEE 802.11 without radio header.
    pub const IEEE802_11: LinkType = LinkType(105);
    /// OpenBSD loopback (network byte order family).
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1.
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// 802.11 with radiotap header.
    pub const IEEE802_11_RADIOTAP: LinkType = LinkType(127);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux netfilter NFLOG.
    pub const NFLOG: LinkType = LinkType(239);
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: LinkType = LinkType(276);
}

/// What follows the link layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// An IPv4 packet starts at `LinkLayer::offset`.
    Ipv4,
    /// An IPv6 packet starts at `LinkLayer::offset`.
    Ipv6,
    /// Something else (ARP, LLDP, ...), identified by its EtherType if known.
    Other(u16),
}

/// The result of peeling the link layer(s) off a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkLayer {
    /// Where the network-layer header starts in the frame.
    pub offset: usize,
    /// What the network layer is.
    pub network: Network,
    /// Outer VLAN id of the frame, if tagged.
    pub vlan: Option<u16>,
    /// Inner VLAN id (Q-in-Q), if double tagged.
    pub inner_vlan: Option<u16>,
    /// Source MAC address, when the link layer has one.
    pub src_mac: Option<[u8; 6]>,
    /// Destination MAC address, when the link layer has one.
    pub dst_mac: Option<[u8; 6]>,
}

impl LinkLayer {
    /// Nothing known yet.
    const EMPTY: LinkLayer = LinkLayer {
        offset: 0,
        network: Network::Other(0),
        vlan: None,
        inner_vlan: None,
        src_mac: None,
        dst_mac: None,
    };

    /// True when an IP packet follows.
    #[inline]
    pub fn is_ip(&self) -> bool {
        matches!(self.network, Network::Ipv4 | Network::Ipv6)
    }
}

/// EtherTypes we act on.
mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const IPV6: u16 = 0x86dd;
    pub const VLAN: u16 = 0x8100;
    pub const QINQ: u16 = 0x88a8;
    pub const QINQ_OLD: u16 = 0x9100;
    pub const MPLS_UC: u16 = 0x8847;
    pub const MPLS_MC: u16 = 0x8848;
    pub const PPPOE_SESSION: u16 = 0x8864;
    pub const PBB: u16 = 0x88e7;
    pub const VNTAG: u16 = 0x8926;
    pub const FABRICPATH: u16 = 0x8903;
}

/// PPP protocol numbers for IP.
const PPP_IPV4: u16 = 0x0021;
const PPP_IPV6: u16 = 0x0057;

/// Peels the link layer(s) of a frame of type `link` and says where the
/// network layer starts.
///
/// Unknown link types are treated as raw IP, like Zeek's root analyzer.
/// Frames that carry no IP (ARP, STP, 802.11 management, encrypted 802.11,
/// PPP control) are `Ok` with [`Network::Other`]. VLAN tags: the first is
/// `vlan`, any later one `inner_vlan` (the last one wins for triple tags,
/// as in Zeek).
///
/// Forced inline: the frame loop calls it for every packet, and a mere
/// hint was not followed there.
#[inline(always)]
pub fn decode(link: LinkType, data: &[u8]) -> Result<LinkLayer, Anomaly> {
    let ll = LinkLayer::EMPTY;
    // Fast path for the common case, untagged Ethernet II carrying IP: one
    // bounds check instead of the general state machine.
    if link.0 == 1 {
        if let [d0, d1, d2, d3, d4, d5, s0, s1, s2, s3, s4, s5, t0, t1, v, _, _, ..] = *data {
            // The version nibble decides, the EtherType is the fallback
            // (as in `ip_at`).
            let network = match (u16::from_be_bytes([t0, t1]), v >> 4) {
                (ethertype::IPV4 | ethertype::IPV6, 4) => Some(Network::Ipv4),
                (ethertype::IPV4 | ethertype::IPV6, 6) => Some(Network::Ipv6),
                (ethertype::IPV4, _) => Some(Network::Ipv4),
                (ethertype::IPV6, _) => Some(Network::Ipv6),
                _ => None,
            };
            if let Some(network) = network {
                return Ok(LinkLayer {
                    offset: 14,
                    network,
                    dst_mac: Some([d0, d1, d2, d3, d4, d5]),
                    src_mac: Some([s0, s1, s2, s3, s4, s5]),
                    ..ll
                });
            }
        }
    }
    match link.0 {
        1 => walk(data, 0, At::Ethernet, ll),
        0 => null(data, false),
        108 => null(data, true),
        113 => sll(data),
        276 => sll2(data),
        105 => ieee802_11(data, 0, ll),
        127 => radiotap(data),
        9 => ppp(data),
        50 => ppp_hdlc(data),
        239 => nflog(data),
        229 => Ok(ip_at(data, 0, Network::Ipv6, ll)),
        // RAW (12, 14, 101), IPV4 (228) and anything unknown: Zeek's root
        // analyzer falls back to IP.
        _ => Ok(ip_at(data, 0, Network::Ipv4, ll)),
    }
}

/// An IP packet at `off`: v4/v6 from the version nibble, `hint` when there
/// is no byte or the nibble is neither (ip::decode then reports it).
#[inline(always)]
fn ip_at(data: &[u8], off: usize, hint: Network, mut ll: LinkLayer) -> LinkLayer {
    ll.offset = off;
    ll.network = match u8_at(data, off).map(|b| b >> 4) {
        Some(4) => Network::Ipv4,
        Some(6) => Network::Ipv6,
        _ => hint,
    };
    ll
}

/// Something that is not IP at `off`.
#[inline(always)]
fn other_at(off: usize, ethertype: u16, mut ll: LinkLayer) -> LinkLayer {
    ll.offset = off;
    ll.network = Network::Other(ethertype);
    ll
}

/// What starts at the current offset of [`walk`].
#[derive(Clone, Copy)]
enum At {
    /// An Ethernet header (or Cisco FabricPath in front of one).
    Ethernet,
    /// The payload of a header whose EtherType was this.
    EtherType(u16),
    /// An 802.2 LLC header (802.3 frame, or a length after a VLAN tag).
    Llc,
}

/// The Ethernet family state machine: Ethernet, VLAN, MPLS, PPPoE, PBB,
/// VN-Tag, LLC/SNAP. It is a loop, not recursion, so a frame stacked with
/// thousands of tags cannot exhaust the stack; every step that does not
/// return moves `off` forward, so it terminates.
fn walk(data: &[u8], mut off: usize, mut at: At, mut ll: LinkLayer) -> Result<LinkLayer, Anomaly> {
    loop {
        let rem = data.len().saturating_sub(off);
        match at {
            At::Ethernet => {
                // Zeek wants more than 16 bytes before reading the header.
                if rem <= 16 {
                    return Err(Anomaly::TruncatedEthernetFrame);
                }
                if be16(data, off + 12) == Some(ethertype::FABRICPATH) {
                    // FabricPath: 12 bytes of switch addresses, the
                    // EtherType, 2 bytes FTAG/TTL, then the classic frame.
                    if rem <= 16 + 14 {
                        return Err(Anomaly::TruncatedLinkHeaderCfp);
                    }
                    off += 16;
                }
                ll.dst_mac = mac(data, off);
                ll.src_mac = mac(data, off + 6);
                let Some(et) = be16(data, off + 12) else {
                    return Err(Anomaly::TruncatedEthernetFrame);
                };
                off += 14;
                if et >= 1536 {
                    at = At::EtherType(et);
                } else if et <= 1500 {
                    if data.len().saturating_sub(off) < usize::from(et) {
                        return Err(Anomaly::TruncatedEthernetFrame);
                    }
                    at = At::Llc;
                } else {
                    return Err(Anomaly::UndefinedEtherType);
                }
            }
            At::EtherType(et) => match et {
                ethertype::IPV4 => return Ok(ip_at(data, off, Network::Ipv4, ll)),
                ethertype::IPV6 => return Ok(ip_at(data, off, Network::Ipv6, ll)),
                ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_OLD => {
                    if rem <= 4 {
                        return Err(Anomaly::TruncatedVlanHeader);
                    }
                    let (Some(tci), Some(proto)) = (be16(data, off), be16(data, off + 2)) else {
                        return Err(Anomaly::TruncatedVlanHeader);
                    };
                    if ll.vlan.is_none() {
                        ll.vlan = Some(tci & 0x0fff);
                    } else {
                        ll.inner_vlan = Some(tci & 0x0fff);
                    }
                    off += 4;
                    if proto >= 1536 {
                        at = At::EtherType(proto);
                    } else if proto <= 1500 {
                        if rem - 4 < 2 {
                            return Err(Anomaly::TruncatedVlanHeader);
                        }
                        at = At::Llc;
                    } else {
                        return Err(Anomaly::UndefinedVlanProtocol);
                    }
                }
                ethertype::MPLS_UC | ethertype::MPLS_MC => {
                    // Labels until bottom-of-stack; the payload is assumed
                    // to be IP (RFC 3032 does not say what it is).
                    loop {
                        if data.len().saturating_sub(off) <= 4 {
                            return Err(Anomaly::TruncatedLinkHeader);
                        }
                        let bos = u8_at(data, off + 2).unwrap_or(1) & 0x01 != 0;
                        off += 4;
                        if bos {
                            break;
                        }
                    }
                    return Ok(ip_at(data, off, Network::Ipv4, ll));
                }
                ethertype::PPPOE_SESSION => {
                    if rem <= 8 {
                        return Err(Anomaly::TruncatedPppoeHeader);
                    }
                    let proto = be16(data, off + 6).unwrap_or(0);
                    off += 8;
                    return Ok(match proto {
                        PPP_IPV4 => ip_at(data, off, Network::Ipv4, ll),
                        PPP_IPV6 => ip_at(data, off, Network::Ipv6, ll),
                        _ => other_at(off, et, ll),
                    });
                }
                ethertype::PBB => {
                    // 4-byte I-tag, then the customer's Ethernet header.
                    if rem <= 18 {
                        return Err(Anomaly::TruncatedPbbHeader);
                    }
                    off += 4;
                    at = At::Ethernet;
                }
                ethertype::VNTAG => {
                    if rem <= 6 {
                        return Err(Anomaly::TruncatedVntagHeader);
                    }
                    let proto = be16(data, off + 4).unwrap_or(0);
                    off += 6;
                    at = At::EtherType(proto);
                }
                _ => return Ok(other_at(off, et, ll)),
            },
            At::Llc => {
                let d = tail(data, off);
                match d {
                    [0xaa, 0xaa, ..] => {
                        // SNAP: LLC (3 bytes, 4 if the control field is not
                        // an unnumbered PDU), OUI, EtherType.
                        let Some(ctl) = u8_at(d, 2) else {
                            return Err(Anomaly::TruncatedSnapLlcHeader);
                        };
                        let llc_len = if ctl & 0x03 == 0x03 { 3 } else { 4 };
                        if d.len() < llc_len + 5 {
                            return Err(Anomaly::TruncatedSnapHeader);
                        }
                        let oui = be32(d, llc_len).unwrap_or(0) >> 8;
                        let proto = be16(d, llc_len + 3).unwrap_or(0);
                        off += llc_len + 5;
                        if oui != 0 {
                            return Ok(other_at(off, 0, ll));
                        }
                        at = At::EtherType(proto);
                    }
                    // Novell raw 802.3 (IPX) and plain 802.2 LLC (STP, ...).
                    _ => return Ok(other_at(off, 0, ll)),
                }
            }
        }
    }
}

/// BSD null (host byte order family) and OpenBSD loop (network order).
/// Both byte orders are accepted because captures travel between hosts.
fn null(data: &[u8], network_order: bool) -> Result<LinkLayer, Anomaly> {
    if data.len() <= 4 {
        return Err(Anomaly::NullAnalyzerFailed);
    }
    let Some(&[a, b, c, d]) = data.get(..4) else {
        return Err(Anomaly::NullAnalyzerFailed);
    };
    let (le, be) = (
        u32::from_le_bytes([a, b, c, d]),
        u32::from_be_bytes([a, b, c, d]),
    );
    let family = |f: u32| match f {
        2 => Some(Network::Ipv4),
        // AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD) or 30 (Darwin).
        24 | 28 | 30 => Some(Network::Ipv6),
        _ => None,
    };
    let (first, second) = if network_order { (be, le) } else { (le, be) };
    let ll = LinkLayer::EMPTY;
    Ok(match family(first).or_else(|| family(second)) {
        Some(hint) => ip_at(data, 4, hint, ll),
        None => other_at(4, 0, ll),
    })
}

/// Linux cooked capture v1: 16 bytes, protocol at 14, link address at 6.
fn sll(data: &[u8]) -> Result<LinkLayer, Anomaly> {
    if data.len() <= 16 {
        return Err(Anomaly::TruncatedLinuxSllHeader);
    }
    let mut ll = LinkLayer::EMPTY;
    if be16(data, 4) == Some(6) {
        ll.src_mac = mac(data, 6);
    }
    let proto = be16(data, 14).unwrap_or(0);
    walk(data, 16, At::EtherType(proto), ll)
}

/// Linux cooked capture v2: 20 bytes, protocol at 0, address length at 11,
/// link address at 12.
fn sll2(data: &[u8]) -> Result<LinkLayer, Anomaly> {
    if data.len() <= 20 {
        return Err(Anomaly::TruncatedLinuxSll2Header);
    }
    let mut ll = LinkLayer::EMPTY;
    if u8_at(data, 11) == Some(6) {
        ll.src_mac = mac(data, 12);
    }
    let proto = be16(data, 0).unwrap_or(0);
    walk(data, 20, At::EtherType(proto), ll)
}

/// Radiotap: its own length (little endian) at bytes 2..4, then 802.11.
fn radiotap(data: &[u8]) -> Result<LinkLayer, Anomaly> {
    if data.len() <= 3 {
        return Err(Anomaly::TruncatedRadiotapHeader);
    }
    let rt_len = usize::from(le16(data, 2).unwrap_or(u16::MAX));
    if rt_len >= data.len() {
        return Err(Anomaly::TruncatedRadiotapHeader);
    }
    ieee802_11(data, rt_len, LinkLayer::EMPTY)
}

/// An 802.11 frame at `start`: data frames only; QoS control (2 bytes),
/// the 4th address when both DS bits are set, HT control (4 bytes) when
/// the order bit is set on a QoS frame, then LLC/SNAP with an EtherType.
/// An A-MSDU yields its first subframe.
fn ieee802_11(data: &[u8], start: usize, mut ll: LinkLayer) -> Result<LinkLayer, Anomaly> {
    let d = tail(data, start);
    let len = d.len();
    let mut hdr = 24usize;
    if len <= hdr {
        return Err(Anomaly::Truncated80211Header);
    }
    let (Some(fc), Some(flags)) = (u8_at(d, 0), u8_at(d, 1)) else {
        return Err(Anomaly::Truncated80211Header);
    };
    // Management and control frames, and data subtypes without data
    // (null function, CF-ack/poll only), carry no packet.
    if (fc >> 2) & 0x02 == 0 || (fc >> 4) & 0x04 != 0 {
        return Ok(other_at(start, 0, ll));
    }
    let ds = flags & 0x03;
    if ds == 0x03 {
        hdr += 6;
    }
    if len <= hdr {
        return Err(Anomaly::Truncated80211Header);
    }
    let mut amsdu = false;
    if (fc >> 4) & 0x08 != 0 {
        amsdu = u8_at(d, hdr).unwrap_or(0) & 0x80 != 0;
        // Protected: the payload is encrypted, nothing to see.
        if flags & 0x40 != 0 {
            return Ok(other_at(start + hdr, 0, ll));
        }
        hdr += 2;
        // +HTC/order on a QoS data frame: a 4-byte HT control field
        // follows. (Zeek does not skip it and loses such frames.)
        if flags & 0x80 != 0 {
            hdr += 4;
        }
    }
    if len <= hdr {
        return Err(Anomaly::Truncated80211Header);
    }
    // Receiver/transmitter vs. source/destination depends on the DS bits.
    let (src, dst) = match ds {
        0x00 => (10, 4),
        0x01 => (10, 16),
        0x02 => (16, 4),
        _ => (24, 16),
    };
    ll.src_mac = mac(d, src);
    ll.dst_mac = mac(d, dst);

    let mut llc_len = len - hdr;
    if amsdu {
        // First subframe only: DA, SA, length, then LLC/SNAP.
        if llc_len < 14 {
            return Err(Anomaly::Truncated80211AmsduHeader);
        }
        let sub_len = usize::from(be16(d, hdr + 12).unwrap_or(0));
        if llc_len < sub_len + 14 {
            return Err(Anomaly::Truncated80211AmsduPacket);
        }
        hdr += 14;
        llc_len = sub_len;
    }
    if llc_len < 8 {
        return Err(Anomaly::Truncated80211LlcHeader);
    }
    match tail(d, hdr) {
        [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, p0, p1, ..] => {
            let proto = u16::from_be_bytes([*p0, *p1]);
            walk(data, start + hdr + 8, At::EtherType(proto), ll)
        }
        _ => Ok(other_at(start + hdr, 0, ll)),
    }
}

/// DLT_PPP: optional 0xff03 address/control, then the protocol.
fn ppp(data: &[u8]) -> Result<LinkLayer, Anomaly> {
    if data.len() <= 2 {
        return Err(Anomaly::TruncatedPppHeader);
    }
    let (proto, off) = if let [0xff, 0x03, ..] = data {
        if data.len() <= 4 {
            return Err(Anomaly::TruncatedPppHdlcHeader);
        }
        (be16(data, 2).unwrap_or(0), 4)
    } else {
        (be16(data, 0).unwrap_or(0), 2)
    };
    Ok(ppp_payload(data, off, proto))
}

/// PPP in HDLC-like framing (Zeek's PPP serial): address, control,
/// protocol.
fn ppp_hdlc(data: &[u8]) -> Result<LinkLayer, Anomaly> {
    if data.len() <= 4 {
        return Err(Anomaly::TruncatedPppSerialHeader);
    }
    let proto = be16(data, 2).unwrap_or(0);
    Ok(ppp_payload(data, 4, proto))
}

#[inline]
fn ppp_payload(data: &[u8], off: usize, proto: u16) -> LinkLayer {
    let ll = LinkLayer::EMPTY;
    match proto {
        PPP_IPV4 => ip_at(data, off, Network::Ipv4, ll),
        PPP_IPV6 => ip_at(data, off, Network::Ipv6, ll),
        _ => other_at(off, 0, ll),
    }
}

/// NFLOG: family, version, resource id, then TLVs (host byte order,
/// little endian assumed) until the payload TLV (type 9).
fn nflog(data: &[u8]) -> Result<LinkLayer, Anomaly> {
    if data.len() <= 4 {
        return Err(Anomaly::TruncatedNflogHeader);
    }
    let family = u8_at(data, 0).unwrap_or(0);
    if u8_at(data, 1) != Some(0) {
        return Err(Anomaly::UnknownNflogVersion);
    }
    let mut off = 4usize;
    loop {
        if data.len().saturating_sub(off) <= 4 {
            return Err(Anomaly::NflogNoPcapPayload);
        }
        let tlv_len = usize::from(le16(data, off).unwrap_or(0));
        let tlv_type = le16(data, off + 2).unwrap_or(0);
        if tlv_type == 9 {
            off += 4;
            break;
        }
        if tlv_len < 4 {
            return Err(Anomaly::NflogBadTlvLen);
        }
        // TLVs are padded to 32 bits; the padding is not in the length.
        off += (tlv_len + 3) & !3;
    }
    let ll = LinkLayer::EMPTY;
    Ok(match family {
        2 => ip_at(data, off, Network::Ipv4, ll),
        10 => ip_at(data, off, Network::Ipv6, ll),
        _ => other_at(off, 0, ll),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Bytes from a hex dump; whitespace ignored.
    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s
            .bytes()
            .filter(u8::is_ascii_hexdigit)
            .map(|c| (c as char).to_digit(16).unwrap() as u8)
            .collect();
        digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
    }

    fn eth(data: &[u8]) -> Result<LinkLayer, Anomaly> {
        decode(LinkType::ETHERNET, data)
    }

    // cisco-fabric-path frame 2: FabricPath (0x8903) around an Ethernet
    // frame carrying IPv4/UDP 1.1.1.6 -> 2.2.2.2.
    const CFP: &str = "f351d64e6200 964ebf4e521d 8903 0000
                       63937 0b7c70c 1aacfae2a8f4 0800
                       4500001c00010000401174c601010106 02020202
                       deadbeef00085c36 0000";

    #[test]
    fn parses_cisco_fabric_path() {
        let f = hex(CFP);
        let ll = eth(&f).unwrap();
        assert_eq!(ll.offset, 30);
        assert_eq!(ll.network, Network::Ipv4);
        assert_eq!(ll.dst_mac, Some([0x63, 0x93, 0x70, 0xb7, 0xc7, 0x0c]));
        assert_eq!(ll.src_mac, Some([0x1a, 0xac, 0xfa, 0xe2, 0xa8, 0xf4]));
    }

    #[test]
    fn truncated_cisco_fabric_path() {
        let f = hex(CFP);
        assert_eq!(eth(&f[..30]), Err(Anomaly::TruncatedLinkHeaderCfp));
        assert_eq!(eth(&f[..16]), Err(Anomaly::TruncatedEthernetFrame));
    }

    // q-in-q frame 1: 802.1Q vlan 13, 802.1Q vlan 10, IPv4/UDP (BACnet).
    const QINQ: &str = "ffffffffffff 00c0e4012ced 8100 000d 8100 000a 0800
                        4500002e47960000401 1749eac133325ac13333f";

    #[test]
    fn parses_q_in_q() {
        let ll = eth(&hex(QINQ)).unwrap();
        assert_eq!((ll.vlan, ll.inner_vlan), (Some(13), Some(10)));
        assert_eq!((ll.offset, ll.network), (22, Network::Ipv4));
    }

    #[test]
    fn truncated_vlan() {
        let f = hex(QINQ);
        assert_eq!(eth(&f[..18]), Err(Anomaly::TruncatedVlanHeader));
        // Zeek wants more than the 4 tag bytes.
        assert_eq!(eth(&f[..22]), Err(Anomaly::TruncatedVlanHeader));
        assert_eq!(eth(&f[..23]).map(|l| l.offset), Ok(22));
    }

    // vlan-mpls-mixed frame 1: MPLS label 29 (bottom of stack), IPv4/TCP.
    const MPLS: &str = "003096e6fc39 003096052838 8847 0001ddff
                        45c0002c00000000ff06a4e70a0102010a220001";

    #[test]
    fn parses_mpls() {
        let ll = eth(&hex(MPLS)).unwrap();
        assert_eq!((ll.offset, ll.network), (18, Network::Ipv4));
        // Two labels, multicast EtherType, IPv6 payload.
        let mut f = hex(MPLS);
        f[12] = 0x88;
        f[13] = 0x48;
        f[16] = 0x00; // clear bottom-of-stack on the first label
        f.splice(18..18, [0x00, 0x02, 0x01, 0x40]);
        f[22] = 0x60;
        let ll = eth(&f).unwrap();
        assert_eq!((ll.offset, ll.network), (22, Network::Ipv6));
        assert_eq!(eth(&f[..22]), Err(Anomaly::TruncatedLinkHeader));
    }

    // pppoe-icmpv6 frame 54: PPPoE session 0x11, PPP IPv6, ICMPv6 echo.
    const PPPOE: &str = "ca010e880006 cc050e880000 8864 1100 0011 0066 0057
                         6000 0000 003c 3a40";

    #[test]
    fn parses_pppoe() {
        let ll = eth(&hex(PPPOE)).unwrap();
        assert_eq!((ll.offset, ll.network), (22, Network::Ipv6));
        let mut f = hex(PPPOE);
        f[20] = 0xc0;
        f[21] = 0x21; // LCP
        assert_eq!(eth(&f).unwrap().network, Network::Other(0x8864));
        assert_eq!(eth(&f[..22]), Err(Anomaly::TruncatedPppoeHeader));
    }

    // pbb-unknown-transport frame 5: B-VLAN 0xfd3, PBB I-tag, customer
    // Ethernet with C-VLAN 0xfb4, IPv4/TCP.
    const PBB: &str = "02cccc003cff 02cccc003aff 8100 0fd3 88e7 001ebb44
                       10604b7dba75 10604b7f2d27 8100 0fb4 0800
                       4500 0034 4320 4000 8006 affd 0ac7f90b 0ac7f90c";

    #[test]
    fn parses_pbb() {
        let ll = eth(&hex(PBB)).unwrap();
        assert_eq!((ll.offset, ll.network), (40, Network::Ipv4));
        assert_eq!((ll.vlan, ll.inner_vlan), (Some(0xfd3), Some(0xfb4)));
        assert_eq!(ll.dst_mac, Some([0x10, 0x60, 0x4b, 0x7d, 0xba, 0x75]));
        assert_eq!(eth(&hex(PBB)[..36]), Err(Anomaly::TruncatedPbbHeader));
    }

    // wikipedia-mixed frame 4: 802.3 + LLC (STP) — not IP.
    const STP: &str = "0180c2000000 00137f4f8ef2 0027 424203 0000 02023c82d0
                       00137fbe8cc0 0000 0000 82d0 00137fbe8cc0 8193 0000 1400
                       0200 0f00 0000 0000 0000 0000";

    #[test]
    fn parses_llc_as_other() {
        let ll = eth(&hex(STP)).unwrap();
        assert_eq!(ll.network, Network::Other(0));
        // Length field larger than the frame.
        let mut f = hex(STP);
        f[12] = 0x05;
        assert_eq!(eth(&f), Err(Anomaly::TruncatedEthernetFrame));
        f[12] = 0x05;
        f[13] = 0xf0; // 1520: undefined
        assert_eq!(eth(&f), Err(Anomaly::UndefinedEtherType));
    }

    #[test]
    fn parses_snap() {
        // 802.3 length, SNAP with OUI 0 and EtherType IPv4.
        let mut f = hex("ffffffffffff 000000000001 0030 aaaa03 000000 0800");
        f.extend_from_slice(&[0x45; 40]);
        let ll = eth(&f).unwrap();
        assert_eq!((ll.offset, ll.network), (22, Network::Ipv4));
        assert_eq!(eth(&f[..18]), Err(Anomaly::TruncatedEthernetFrame));
    }

    #[test]
    fn parses_arp_as_other() {
        let mut f = hex("ffffffffffff 000000000001 0806");
        f.extend_from_slice(&[0; 28]);
        assert_eq!(eth(&f).unwrap().network, Network::Other(0x0806));
    }

    // dns-radiotap frame 1: radiotap (48 bytes, FCS flag), QoS data ToDS,
    // LLC/SNAP, IPv4.
    const RADIOTAP: &str = "0000 3000 6b081c00 e1615656 00000000 1000a415 4001b6a3
                            014e3497 40010100 a4156c22 1f010700 01000000 00000000
                            8801 2c00 8a15149b5ae0 907240 97b6f5 442b03aaab8d
                            1000 0600 aaaa03000000 0800 45000 03fd68d0000401 1aea2";

    #[test]
    fn parses_radiotap_qos_data() {
        let f = hex(RADIOTAP);
        let ll = decode(LinkType::IEEE802_11_RADIOTAP, &f).unwrap();
        assert_eq!((ll.offset, ll.network), (82, Network::Ipv4));
        // ToDS: source is address 2, destination address 3.
        assert_eq!(ll.src_mac, Some([0x90, 0x72, 0x40, 0x97, 0xb6, 0xf5]));
        assert_eq!(ll.dst_mac, Some([0x44, 0x2b, 0x03, 0xaa, 0xab, 0x8d]));
        // Without radiotap: plain 802.11.
        let ll = decode(LinkType::IEEE802_11, &f[48..]).unwrap();
        assert_eq!(ll.offset, 34);
    }

    #[test]
    fn parses_802_11_ht_control_and_four_addresses() {
        let f = hex(RADIOTAP);
        let mut w = f[48..].to_vec();
        w[1] |= 0x80; // order bit: HT control follows QoS control
        w.splice(26..26, [0u8; 4]);
        let ll = decode(LinkType::IEEE802_11, &w).unwrap();
        assert_eq!((ll.offset, ll.network), (38, Network::Ipv4));
        let mut w4 = f[48..].to_vec();
        w4[1] |= 0x03; // WDS: 4th address
        w4.splice(24..24, [0xee; 6]);
        let ll = decode(LinkType::IEEE802_11, &w4).unwrap();
        assert_eq!(ll.offset, 40);
        assert_eq!(ll.src_mac, Some([0xee; 6]));
    }

    #[test]
    fn rejects_802_11_non_data_and_protected() {
        let f = hex(RADIOTAP);
        let mut w = f[48..].to_vec();
        w[0] = 0x80; // beacon
        assert_eq!(
            decode(LinkType::IEEE802_11, &w).unwrap().network,
            Network::Other(0)
        );
        let mut w = f[48..].to_vec();
        w[1] |= 0x40;
        assert_eq!(
            decode(LinkType::IEEE802_11, &w).unwrap().network,
            Network::Other(0)
        );
    }

    #[test]
    fn truncated_radiotap_and_802_11() {
        let f = hex(RADIOTAP);
        assert_eq!(
            decode(LinkType::IEEE802_11_RADIOTAP, &f[..3]),
            Err(Anomaly::TruncatedRadiotapHeader)
        );
        assert_eq!(
            decode(LinkType::IEEE802_11_RADIOTAP, &f[..48]),
            Err(Anomaly::TruncatedRadiotapHeader)
        );
        assert_eq!(
            decode(LinkType::IEEE802_11_RADIOTAP, &f[..72]),
            Err(Anomaly::Truncated80211Header)
        );
        assert_eq!(
            decode(LinkType::IEEE802_11_RADIOTAP, &f[..80]),
            Err(Anomaly::Truncated80211LlcHeader)
        );
    }

    #[test]
    fn parses_sll_and_sll2() {
        let mut s = hex("0000 0001 0006 001122334455 0000 0800");
        s.extend_from_slice(&[0x45; 20]);
        let ll = decode(LinkType::LINUX_SLL, &s).unwrap();
        assert_eq!((ll.offset, ll.network), (16, Network::Ipv4));
        assert_eq!(ll.src_mac, Some([0, 0x11, 0x22, 0x33, 0x44, 0x55]));
        assert_eq!(
            decode(LinkType::LINUX_SLL, &s[..16]),
            Err(Anomaly::TruncatedLinuxSllHeader)
        );
        let mut s2 = hex("86dd 0000 00000002 0001 00 06 001122334455 0000");
        s2.extend_from_slice(&[0x60; 40]);
        let ll = decode(LinkType::LINUX_SLL2, &s2).unwrap();
        assert_eq!((ll.offset, ll.network), (20, Network::Ipv6));
        assert_eq!(
            decode(LinkType::LINUX_SLL2, &s2[..20]),
            Err(Anomaly::TruncatedLinuxSll2Header)
        );
    }

    #[test]
    fn parses_null_and_loop_in_both_orders() {
        for hdr in [[2u8, 0, 0, 0], [0, 0, 0, 2]] {
            let mut f = hdr.to_vec();
            f.extend_from_slice(&[0x45; 20]);
            for lt in [LinkType::NULL, LinkType::LOOP] {
                let ll = decode(lt, &f).unwrap();
                assert_eq!((ll.offset, ll.network), (4, Network::Ipv4));
            }
        }
        for fam in [24u8, 28, 30] {
            let mut f = vec![fam, 0, 0, 0];
            f.extend_from_slice(&[0x60; 40]);
            assert_eq!(decode(LinkType::NULL, &f).unwrap().network, Network::Ipv6);
        }
        let f = [7u8, 0, 0, 0, 1];
        assert_eq!(
            decode(LinkType::NULL, &f).unwrap().network,
            Network::Other(0)
        );
        assert_eq!(
            decode(LinkType::NULL, &f[..4]),
            Err(Anomaly::NullAnalyzerFailed)
        );
    }

    #[test]
    fn parses_raw_ppp_and_nflog() {
        let v6 = [0x60u8; 40];
        assert_eq!(decode(LinkType::RAW, &v6).unwrap().network, Network::Ipv6);
        assert_eq!(
            decode(LinkType(12), &[0x45; 20]).unwrap().network,
            Network::Ipv4
        );
        let mut p = vec![0xff, 0x03, 0x00, 0x21];
        p.extend_from_slice(&[0x45; 20]);
        assert_eq!(decode(LinkType::PPP, &p).unwrap().offset, 4);
        assert_eq!(decode(LinkType::PPP, &p[2..]).unwrap().offset, 2);
        assert_eq!(
            decode(LinkType::PPP_HDLC, &p).unwrap().network,
            Network::Ipv4
        );
        assert_eq!(
            decode(LinkType::PPP, &p[..4]),
            Err(Anomaly::TruncatedPppHdlcHeader)
        );
        // NFLOG: AF_INET, v0, res 0; prefix TLV (len 5, type 10, padded),
        // payload TLV (type 9).
        let mut n = vec![2, 0, 0, 0, 5, 0, 10, 0, b'x', 0, 0, 0, 24, 0, 9, 0];
        n.extend_from_slice(&[0x45; 20]);
        let ll = decode(LinkType::NFLOG, &n).unwrap();
        assert_eq!((ll.offset, ll.network), (16, Network::Ipv4));
        n[1] = 1;
        assert_eq!(
            decode(LinkType::NFLOG, &n),
            Err(Anomaly::UnknownNflogVersion)
        );
    }

    #[test]
    fn rejects_nothing_on_garbage_without_panicking() {
        for lt in [
            0u32, 1, 9, 50, 101, 105, 108, 113, 127, 228, 229, 239, 276, 9999,
        ] {
            for n in 0..64 {
                let f: Vec<u8> = (0..n).map(|i| (i * 89 + lt as usize) as u8).collect();
                let _ = decode(LinkType(lt), &f);
                let _ = decode(LinkType(lt), &vec![0xff; n]);
                let _ = decode(LinkType(lt), &vec![0xaa; n]);
                let _ = decode(LinkType(lt), &vec![0x81; n]);
            }
        }
    }
}
