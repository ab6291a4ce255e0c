//! VXLAN (RFC 7348): 8-byte header with the "I" (valid VNI) flag, then an
//! Ethernet frame. Checks follow Zeek's VXLAN analyzer.

use super::Inner;
use crate::anomaly::Anomaly;
use crate::bytes::tail;

/// Decodes a VXLAN UDP payload.
pub fn vxlan(udp_payload: &[u8]) -> Result<Inner<'_>, Anomaly> {
    let [flags, _, _, _, _, _, _, _, ..] = *udp_payload else {
        return Err(Anomaly::VxlanHeaderTruncation);
    };
    if flags & 0x08 == 0 {
        return Err(Anomaly::VxlanIFlagNotSet);
    }
    let rest = tail(udp_payload, 8);
    if rest.is_empty() {
        return Err(Anomaly::VxlanEmptyPacket);
    }
    Ok(Inner::Ethernet(rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::tests::hex;

    // vxlan-tunnel frame 1: flags 0x08, VNI 123, inner Ethernet (ARP).
    const VXLAN: &str = "08000000 00007b00 ffffffffffff ba092b6ef8be 0806";

    #[test]
    fn parses_vxlan() {
        let v = hex(VXLAN);
        assert_eq!(vxlan(&v), Ok(Inner::Ethernet(&v[8..])));
    }

    #[test]
    fn rejects_without_i_flag() {
        let mut v = hex(VXLAN);
        v[0] = 0;
        assert_eq!(vxlan(&v), Err(Anomaly::VxlanIFlagNotSet));
    }

    #[test]
    fn truncated_vxlan() {
        let v = hex(VXLAN);
        assert_eq!(vxlan(&v[..7]), Err(Anomaly::VxlanHeaderTruncation));
        assert_eq!(vxlan(&v[..8]), Err(Anomaly::VxlanEmptyPacket));
    }
}
