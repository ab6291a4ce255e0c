//! ICMPv4 / ICMPv6 header view.
//!
//! Only the common 8-byte header is decoded; the connection tracker derives
//! Zeek's pseudo-ports (type, counterpart type) from `icmp_type`/`code`.

use super::{check_header_trunc, clip};
use crate::anomaly::Anomaly;

/// An ICMP message (lenient view).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpMessage<'a> {
    /// True for ICMPv6.
    pub v6: bool,
    /// Type.
    pub icmp_type: u8,
    /// Code.
    pub code: u8,
    /// Checksum field.
    pub checksum: u16,
    /// Captured bytes after the 8-byte header.
    pub payload: &'a [u8],
}

/// Decodes the ICMP header at the start of `payload`. Fewer than 8 bytes →
/// [`Anomaly::TruncatedHeader`]. Use [`decode_with_len`] to get Zeek's
/// distinction between a short packet and a short capture.
#[inline]
pub fn decode(payload: &[u8], v6: bool) -> Result<IcmpMessage<'_>, Anomaly> {
    let [t, c, s0, s1, _, _, _, _, ..] = *payload else {
        return Err(Anomaly::TruncatedHeader);
    };
    Ok(IcmpMessage {
        v6,
        icmp_type: t,
        code: c,
        checksum: u16::from_be_bytes([s0, s1]),
        payload: payload.get(8..).unwrap_or(&[]),
    })
}

/// Like [`decode`], with the IP payload length: applies Zeek's
/// `CheckHeaderTrunc` (`truncated_header` when the IP payload is shorter
/// than 8, `internally_truncated_header` when only the capture is) and clips
/// the payload to `payload_len` (Ethernet padding).
#[inline]
pub fn decode_with_len(
    payload: &[u8],
    payload_len: u32,
    v6: bool,
) -> Result<IcmpMessage<'_>, Anomaly> {
    check_header_trunc(payload, payload_len, 8)?;
    let body = if payload_len == 0 {
        payload
    } else {
        clip(payload, payload_len)
    };
    decode(body, v6)
}

#[cfg(test)]
mod tests {
    use super::*;

    // ICMP echo request from gre-tunnel (inner): type 8, code 0,
    // checksum 0x46c9, id 0xcb68, seq 1, then data.
    const ECHO: &[u8] = &[0x08, 0x00, 0x46, 0xc9, 0xcb, 0x68, 0x00, 0x01, 0xaa, 0xbb];

    #[test]
    fn parses_echo() {
        let m = decode(ECHO, false).unwrap();
        assert_eq!((m.icmp_type, m.code, m.checksum), (8, 0, 0x46c9));
        assert_eq!(m.payload, &[0xaa, 0xbb]);
        assert!(!m.v6);
    }

    #[test]
    fn parses_with_len_clipping_padding() {
        let m = decode_with_len(ECHO, 9, true).unwrap();
        assert_eq!(m.payload, &[0xaa]);
        assert!(m.v6);
    }

    #[test]
    fn truncated_header() {
        assert_eq!(decode(&ECHO[..7], false), Err(Anomaly::TruncatedHeader));
        assert_eq!(
            decode_with_len(&ECHO[..7], 7, false),
            Err(Anomaly::TruncatedHeader)
        );
        assert_eq!(
            decode_with_len(&ECHO[..7], 10, false),
            Err(Anomaly::InternallyTruncatedHeader)
        );
    }

    #[test]
    fn rejects_empty() {
        assert_eq!(decode(&[], true), Err(Anomaly::TruncatedHeader));
    }
}
