//! AYIYA ("Anything In Anything", SixXS): identity, signature and a next
//! header in front of an IP packet. Follows Zeek's AYIYA analyzer exactly,
//! including its 8-bit arithmetic for the identity length.

use super::{ip_by_nibble, Inner, IpHint};
use crate::anomaly::Anomaly;
use crate::bytes::tail;

/// Decodes an AYIYA UDP payload to `(next_header, inner)`.
///
/// Header length = 8 + identity length (2^n bytes, n = high nibble of
/// byte 0, computed in 8 bits as Zeek does, so n ≥ 8 gives 0) + signature
/// length (high nibble of byte 1, in 4-byte words). Only the "forward"
/// opcode (1) carries a packet ([`Anomaly::AyiyaNotForward`] otherwise,
/// which is not an error in Zeek); next header 4 is IPv4, 41 IPv6.
pub fn ayiya(udp_payload: &[u8]) -> Result<(u8, Inner<'_>), Anomaly> {
    let [id, sig, op, next_header, _, _, _, _, ..] = *udp_payload else {
        return Err(Anomaly::TruncatedAyiya);
    };
    // `uint8_t identity_len = 1 << (data[0] >> 4)` in Zeek: wraps to 0.
    let identity_len = usize::from(1u32.checked_shl(u32::from(id >> 4)).unwrap_or(0) as u8);
    let signature_len = usize::from(sig >> 4) * 4;
    let hdr = 8 + identity_len + signature_len;
    if hdr > udp_payload.len() {
        return Err(Anomaly::TruncatedAyiya);
    }
    if op & 0x0f != 1 {
        return Err(Anomaly::AyiyaNotForward);
    }
    let rest = tail(udp_payload, hdr);
    if rest.is_empty() {
        return Err(Anomaly::AyiyaEmptyPacket);
    }
    let hint = match next_header {
        4 => IpHint::V4,
        41 => IpHint::V6,
        _ => return Err(Anomaly::UnknownProtocol),
    };
    Ok((next_header, ip_by_nibble(rest, hint)))
}

/// Zeek's AYIYA protocol detection (`AYIYAAnalyzer::DetectProtocol`):
/// bytes 1 and 2 are 0x52 and 0x11 (SHA-1 signature, forward with
/// identity type 1, as SixXS clients send).
#[inline]
pub fn ayiya_detect(udp_payload: &[u8]) -> bool {
    matches!(udp_payload, [_, 0x52, 0x11, ..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::tests::hex;

    // ayiya-tunnel frame 1: identity 16 bytes (n=4), SHA-1 signature
    // (5 words), forward, next header 41, then IPv6.
    const AYIYA: &str = "41521129 4af64bfd
        20014978000f004c0000000000000001
        e1cbc30d88bd052ad921d321f0c397ee8492acf5
        6000000000403a40";

    #[test]
    fn parses_ayiya() {
        let a = hex(AYIYA);
        assert_eq!(ayiya(&a), Ok((41, Inner::Ipv6(&a[44..]))));
        assert!(ayiya_detect(&a));
    }

    #[test]
    fn rejects_other_opcodes_and_next_headers() {
        let mut a = hex(AYIYA);
        a[2] = 0x12;
        assert_eq!(ayiya(&a), Err(Anomaly::AyiyaNotForward));
        let mut a = hex(AYIYA);
        a[3] = 17;
        assert_eq!(ayiya(&a), Err(Anomaly::UnknownProtocol));
        assert!(!ayiya_detect(&[0x41, 0x52]));
    }

    #[test]
    fn truncated_ayiya() {
        let a = hex(AYIYA);
        assert_eq!(ayiya(&a[..7]), Err(Anomaly::TruncatedAyiya));
        assert_eq!(ayiya(&a[..43]), Err(Anomaly::TruncatedAyiya));
        assert_eq!(ayiya(&a[..44]), Err(Anomaly::AyiyaEmptyPacket));
        // Identity nibble 8 wraps to length 0 in Zeek's 8-bit arithmetic.
        let mut w = a.clone();
        w[0] = 0x81;
        w[1] = 0x02;
        assert_eq!(ayiya(&w), Ok((41, Inner::Ipv6(&w[8..]))));
    }
}
