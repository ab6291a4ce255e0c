//! UDP header view.
//!
//! Fewer than 8 bytes → no connection (`truncated_header` /
//! `internally_truncated_header`). The length field is reported but not
//! trusted: the payload is clipped to the IP payload length, as Zeek does
//! (it only raises `UDP_datagram_length_mismatch`, see
//! [`UdpDatagram::length_matches`]).

use super::{check_header_trunc, clip};
use crate::anomaly::Anomaly;

/// A UDP datagram (lenient view).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpDatagram<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// The header's length field (header + payload).
    pub length: u16,
    /// The header's checksum field.
    pub checksum: u16,
    /// Captured payload bytes after the 8-byte header, clipped to the IP
    /// payload length.
    pub payload: &'a [u8],
}

impl UdpDatagram<'_> {
    /// True when the length field equals the IP payload length
    /// (`payload_len`); otherwise Zeek raises
    /// [`Anomaly::UdpDatagramLengthMismatch`] but goes on.
    #[inline]
    pub fn length_matches(&self, payload_len: u32) -> bool {
        u32::from(self.length) == payload_len
    }
}

/// Decodes the UDP header at the start of `payload` (the IP payload as
/// captured); `payload_len` is [`IpPacket::payload_len`](crate::IpPacket::payload_len)
/// (0 for a TSO packet: the captured bytes are used then, as in Zeek).
#[inline]
pub fn decode(payload: &[u8], payload_len: u32) -> Result<UdpDatagram<'_>, Anomaly> {
    check_header_trunc(payload, payload_len, 8)?;
    let [sp0, sp1, dp0, dp1, l0, l1, c0, c1, ..] = *payload else {
        return Err(Anomaly::InternallyTruncatedHeader);
    };
    let body = if payload_len == 0 {
        payload
    } else {
        clip(payload, payload_len)
    };
    Ok(UdpDatagram {
        src_port: u16::from_be_bytes([sp0, sp1]),
        dst_port: u16::from_be_bytes([dp0, dp1]),
        length: u16::from_be_bytes([l0, l1]),
        checksum: u16::from_be_bytes([c0, c1]),
        payload: body.get(8..).unwrap_or(&[]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // DNS query header from udp-bad-checksum style capture: 1920 -> 53,
    // length 12, then 4 payload bytes.
    const DNS: &[u8] = &[0x07, 0x80, 0x00, 0x35, 0x00, 0x0c, 0xab, 0xcd, 1, 2, 3, 4];

    #[test]
    fn parses_datagram() {
        let u = decode(DNS, 12).unwrap();
        assert_eq!((u.src_port, u.dst_port), (1920, 53));
        assert_eq!(u.length, 12);
        assert_eq!(u.checksum, 0xabcd);
        assert_eq!(u.payload, &[1, 2, 3, 4]);
        assert!(u.length_matches(12));
    }

    #[test]
    fn parses_payload_clipped_to_ip_payload() {
        let mut b = DNS.to_vec();
        b.extend_from_slice(&[0; 6]); // Ethernet padding
        let u = decode(&b, 12).unwrap();
        assert_eq!(u.payload, &[1, 2, 3, 4]);
        // A length field that lies does not move the clip.
        b[5] = 0xff;
        let u = decode(&b, 12).unwrap();
        assert_eq!(u.payload.len(), 4);
        assert!(!u.length_matches(12));
    }

    #[test]
    fn truncated_header() {
        assert_eq!(decode(&DNS[..7], 7), Err(Anomaly::TruncatedHeader));
        assert_eq!(
            decode(&DNS[..7], 12),
            Err(Anomaly::InternallyTruncatedHeader)
        );
        let u = decode(&DNS[..10], 12).unwrap();
        assert_eq!(u.payload, &[1, 2]);
    }

    #[test]
    fn rejects_nothing_else() {
        // TSO: payload_len 0 uses what was captured.
        let u = decode(DNS, 0).unwrap();
        assert_eq!(u.payload.len(), 4);
    }
}
