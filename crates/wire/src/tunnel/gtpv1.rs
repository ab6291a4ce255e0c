//! GTPv1-U (3GPP TS 29.281): the user-plane tunnel of mobile networks.
//!
//! Follows Zeek's binpac grammar (`gtpv1-protocol.pac`) and
//! `process_gtpv1`/`process_g_pdu`: 8-byte header; 4 more bytes (sequence,
//! N-PDU, next extension type) when any of E/S/PN is set; extension headers
//! (length in 4-byte units, last byte = next type) while E is set, until a
//! next type of 0; only version 1 with PT = 1 and message type 255 (T-PDU)
//! carries a packet, which must be IPv4/IPv6 filling the rest exactly.

use super::{ip_exact, Inner, IpHint};
use crate::anomaly::Anomaly;
use crate::bytes::{tail, u8_at};

/// Decodes a GTPv1-U UDP payload to the IP packet of a T-PDU.
///
/// [`Anomaly::Gtpv1NotTpdu`] (GTP', or a control/echo message) is not an
/// error in Zeek; the other errors are analyzer violations. (Refusing
/// GTP-in-GTP is the caller's job: it knows the encapsulation stack.)
pub fn gtpv1(udp_payload: &[u8]) -> Result<Inner<'_>, Anomaly> {
    let d = udp_payload;
    let [flags, msg_type, _, _, _, _, _, _, ..] = *d else {
        return Err(Anomaly::TruncatedGtpv1);
    };
    let mut hdr = 8usize;
    if flags & 0x07 != 0 {
        hdr += 4;
    }
    if d.len() < hdr {
        return Err(Anomaly::TruncatedGtpv1);
    }
    if flags & 0x04 != 0 {
        // Each extension header: length (4-byte units, incl. itself),
        // contents, next type. binpac fails on a length of 0.
        loop {
            let Some(units) = u8_at(d, hdr) else {
                return Err(Anomaly::TruncatedGtpv1);
            };
            if units == 0 {
                return Err(Anomaly::TruncatedGtpv1);
            }
            let ext_len = usize::from(units) * 4;
            let Some(next_type) = u8_at(d, hdr + ext_len - 1) else {
                return Err(Anomaly::TruncatedGtpv1);
            };
            hdr += ext_len;
            if next_type == 0 {
                break;
            }
        }
    }
    if flags >> 5 != 1 {
        return Err(Anomaly::Gtpv1BadVersion);
    }
    if flags & 0x10 == 0 || msg_type != 0xff {
        return Err(Anomaly::Gtpv1NotTpdu);
    }
    let packet = tail(d, hdr);
    if packet.len() < 20 {
        return Err(Anomaly::TruncatedGtpv1);
    }
    let hint = match u8_at(packet, 0).map(|b| b >> 4) {
        Some(4) => IpHint::V4,
        Some(6) => IpHint::V6,
        _ => return Err(Anomaly::Gtpv1NonIp),
    };
    ip_exact(packet, hint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::tests::hex;

    // gtp-outer-ip-fragments frame 1: flags 0x30 (v1, PT), T-PDU, length
    // 0x34, TEID, then a 52-byte IPv4/TCP SYN.
    const GTP: &str = "30ff0034 8c61be36
        45000034 52654000 8006b030 0a832fb9 4f656e8d
        07830050 cd6c69b7 00000000 8002ffff 37f20000 020405b4 01030301 01010402";

    #[test]
    fn parses_t_pdu() {
        let g = hex(GTP);
        assert_eq!(gtpv1(&g), Ok(Inner::Ipv4(&g[8..])));
    }

    #[test]
    fn parses_sequence_and_extension_headers() {
        let g = hex(GTP);
        // E and S set: seq, N-PDU, next type 0x85; one 4-byte extension
        // header (PDU session container) ending in next type 0.
        let mut e = vec![0x36, 0xff, 0x00, 0x3c, 0x8c, 0x61, 0xbe, 0x36];
        e.extend_from_slice(&[0x00, 0x01, 0x00, 0x85]);
        e.extend_from_slice(&[0x01, 0x10, 0x09, 0x00]);
        e.extend_from_slice(&g[8..]);
        assert_eq!(gtpv1(&e), Ok(Inner::Ipv4(&e[16..])));
        assert_eq!(gtpv1(&e[..14]), Err(Anomaly::TruncatedGtpv1));
        let mut z = e.clone();
        z[12] = 0;
        assert_eq!(gtpv1(&z), Err(Anomaly::TruncatedGtpv1));
    }

    #[test]
    fn rejects_non_t_pdu_and_bad_versions() {
        let mut g = hex(GTP);
        g[1] = 1; // echo request
        assert_eq!(gtpv1(&g), Err(Anomaly::Gtpv1NotTpdu));
        let mut g = hex(GTP);
        g[0] = 0x50; // version 2
        assert_eq!(gtpv1(&g), Err(Anomaly::Gtpv1BadVersion));
        let mut g = hex(GTP);
        g[8] = 0x55;
        assert_eq!(gtpv1(&g), Err(Anomaly::Gtpv1NonIp));
        let mut g = hex(GTP);
        g.push(0);
        assert_eq!(gtpv1(&g), Err(Anomaly::InnerIpPayloadLengthMismatch));
    }

    #[test]
    fn truncated_gtpv1() {
        let g = hex(GTP);
        assert_eq!(gtpv1(&g[..7]), Err(Anomaly::TruncatedGtpv1));
        assert_eq!(gtpv1(&g[..20]), Err(Anomaly::TruncatedGtpv1));
        assert_eq!(gtpv1(&g[..40]), Err(Anomaly::TruncatedInnerIp));
    }
}
