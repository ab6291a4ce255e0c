//! Geneve (RFC 8926): 8 bytes plus options, then the packet named by the
//! protocol type. Checks follow Zeek's Geneve analyzer.

use super::{ip_by_nibble, Inner, IpHint};
use crate::anomaly::Anomaly;
use crate::bytes::tail;

/// Decodes a Geneve UDP payload: protocol 0x6558 → Ethernet, 0x0800 /
/// 0x86DD → IP.
///
/// (Zeek's script registers 0x0800 and, by a typo, 0x08DD for IP; we take
/// 0x08DD too so nothing Zeek decodes is lost, plus the real 0x86DD.)
pub fn geneve(udp_payload: &[u8]) -> Result<Inner<'_>, Anomaly> {
    let [b0, _, p0, p1, _, _, _, _, ..] = *udp_payload else {
        return Err(Anomaly::GeneveHeaderTruncation);
    };
    if b0 >> 6 != 0 {
        return Err(Anomaly::GeneveInvalidVersion);
    }
    let hdr = 8 + usize::from(b0 & 0x3f) * 4;
    if hdr > udp_payload.len() {
        return Err(Anomaly::GeneveHeaderTruncation);
    }
    let rest = tail(udp_payload, hdr);
    if rest.is_empty() {
        return Err(Anomaly::GeneveEmptyPacket);
    }
    match u16::from_be_bytes([p0, p1]) {
        0x6558 => Ok(Inner::Ethernet(rest)),
        0x0800 => Ok(ip_by_nibble(rest, IpHint::V4)),
        0x86dd | 0x08dd => Ok(ip_by_nibble(rest, IpHint::V6)),
        _ => Err(Anomaly::UnknownProtocol),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::tests::hex;

    // geneve-vxlan-truncated frame 1: Geneve, no options, protocol 0x0800,
    // VNI 0x1092, inner IPv4.
    const GENEVE_IP: &str = "00000800 00109200 4500 0084 0000 0000 2011 9c67";

    #[test]
    fn parses_geneve_ip() {
        let g = hex(GENEVE_IP);
        assert_eq!(geneve(&g), Ok(Inner::Ipv4(&g[8..])));
    }

    #[test]
    fn parses_geneve_ethernet_with_options() {
        // One 8-byte option (length 2 words), then Ethernet.
        let mut g = vec![0x02, 0x00, 0x65, 0x58, 0, 0, 1, 0];
        g.extend_from_slice(&[0x01, 0x02, 0x03, 0x01, 0xaa, 0xbb, 0xcc, 0xdd]);
        g.extend_from_slice(&[0xff; 14]);
        assert_eq!(geneve(&g), Ok(Inner::Ethernet(&g[16..])));
        assert_eq!(geneve(&g[..12]), Err(Anomaly::GeneveHeaderTruncation));
    }

    #[test]
    fn rejects_bad_version_and_protocol() {
        let mut g = hex(GENEVE_IP);
        g[0] = 0x40;
        assert_eq!(geneve(&g), Err(Anomaly::GeneveInvalidVersion));
        let mut g = hex(GENEVE_IP);
        g[2] = 0x08;
        g[3] = 0x06;
        assert_eq!(geneve(&g), Err(Anomaly::UnknownProtocol));
    }

    #[test]
    fn truncated_geneve() {
        let g = hex(GENEVE_IP);
        assert_eq!(geneve(&g[..7]), Err(Anomaly::GeneveHeaderTruncation));
        assert_eq!(geneve(&g[..8]), Err(Anomaly::GeneveEmptyPacket));
    }
}
