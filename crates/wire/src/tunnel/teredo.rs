//! Teredo (RFC 4380): IPv6 in UDP, optionally behind an authentication
//! header and/or an origin indication.
//!
//! [`teredo`] replicates Zeek's `TeredoEncapsulation::DoParse` plus the
//! `IP::ParsePacket` check that follows it, so it rejects non-Teredo UDP
//! reliably; [`teredo_detect`] is Zeek's `TeredoAnalyzer::DetectProtocol`,
//! the heuristic Zeek runs on UDP ports without a registered analyzer.

use super::{ip_exact, Inner, IpHint};
use crate::anomaly::Anomaly;
use crate::bytes::{be16, tail, u8_at};

/// Decodes a Teredo UDP payload to its IPv6 packet.
///
/// The inner packet must be exactly as long as the rest of the payload; a
/// bubble (no next header, payload length 0) may be followed by extra bytes
/// (Zeek only raises `Teredo_bubble_with_payload` then). Every error means
/// Zeek's analyzer violation, after which Zeek stops treating the
/// connection as Teredo.
pub fn teredo(udp_payload: &[u8]) -> Result<Inner<'_>, Anomaly> {
    let ip = parse_headers(udp_payload)?;
    match ip_exact(ip, IpHint::V6) {
        Err(Anomaly::InnerIpPayloadLengthMismatch) if is_bubble(ip) => Ok(Inner::Ipv6(ip)),
        r => r,
    }
}

/// Authentication (tag 1) and origin indication (tag 0) headers in Zeek's
/// order (origin may follow authentication, not the reverse, each at most
/// once), then something that looks like IPv6. Returns the IPv6 bytes.
fn parse_headers(mut d: &[u8]) -> Result<&[u8], Anomaly> {
    let mut found_origin = false;
    let mut found_auth = false;
    // At most two headers precede IPv6, so this loop runs at most 3 times.
    loop {
        let Some(tag) = be16(d, 0) else {
            return Err(Anomaly::TruncatedTeredo);
        };
        if tag == 0 {
            if found_origin {
                return Err(Anomaly::BadTeredoEncapsulation);
            }
            if d.len() < 8 {
                return Err(Anomaly::TruncatedTeredoOriginIndication);
            }
            found_origin = true;
            d = tail(d, 8);
        } else if tag == 1 {
            if found_origin || found_auth {
                return Err(Anomaly::BadTeredoEncapsulation);
            }
            let (Some(id_len), Some(au_len)) = (u8_at(d, 2), u8_at(d, 3)) else {
                return Err(Anomaly::TruncatedTeredoAuthentication);
            };
            // Tag, lengths, client id, authenticator, nonce, confirmation.
            let total = 4 + usize::from(id_len) + usize::from(au_len) + 8 + 1;
            if d.len() < total {
                return Err(Anomaly::TruncatedTeredoAuthentication);
            }
            found_auth = true;
            d = tail(d, total);
        } else if tag >> 12 == 6 {
            if d.len() < 40 {
                return Err(Anomaly::TruncatedIpv6InTeredo);
            }
            return Ok(d);
        } else {
            return Err(Anomaly::BadTeredoEncapsulation);
        }
    }
}

/// A Teredo bubble: IPv6 with next header 59 and payload length 0.
#[inline]
fn is_bubble(ip: &[u8]) -> bool {
    u8_at(ip, 6) == Some(59) && be16(ip, 4) == Some(0)
}

/// The Teredo prefix 2001:0000::/32 as the first 4 bytes of an address.
const TEREDO_PREFIX: [u8; 4] = [0x20, 0x01, 0x00, 0x00];

/// Zeek's heuristic for Teredo on arbitrary UDP ports
/// (`TeredoAnalyzer::DetectProtocol`): an IPv6 header with a Teredo
/// (2001:0::/32) source or destination, or an authentication/origin
/// indication header followed by an IPv6 version nibble.
///
/// A `true` only says "try [`teredo`]"; Zeek then parses it as usual.
pub fn teredo_detect(udp_payload: &[u8]) -> bool {
    let d = udp_payload;
    let len = d.len();
    let (Some(b0), Some(b1)) = (u8_at(d, 0), u8_at(d, 1)) else {
        return false;
    };
    if len < 40 || (len > 8 && b0 >> 4 != 6 && (b0 != 0x00 || (b1 != 0x00 && b1 != 0x01))) {
        return false;
    }
    // The old DPD signature: 0x6X, then the Teredo prefix in the source
    // (offset 8) or destination (offset 24) address, 40 bytes in all
    // (matched as a prefix; '.' matches any byte in this matcher).
    if b0 >> 4 == 6
        && (d.get(8..12) == Some(&TEREDO_PREFIX[..]) || d.get(24..28) == Some(&TEREDO_PREFIX[..]))
    {
        return true;
    }
    let mut d = d;
    let mut val = u16::from(b1);
    if val == 1 {
        let (Some(id_len), Some(au_len)) = (u8_at(d, 2), u8_at(d, 3)) else {
            return false;
        };
        let skip = 13 + usize::from(id_len) + usize::from(au_len);
        if d.len() < skip {
            return false;
        }
        d = tail(d, skip);
        if d.len() < 40 {
            return false;
        }
        // Zeek reads these two octets with htons on a host-order load,
        // i.e. as a big-endian number.
        val = be16(d, 0).unwrap_or(u16::MAX);
    }
    if val == 0 {
        if d.len() < 8 {
            return false;
        }
        let d = tail(d, 8);
        if d.len() < 40 {
            return false;
        }
        return u8_at(d, 0).map(|b| b >> 4) == Some(6);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::tests::hex;

    // teredo-tunnel frame 6 (UDP 3797 -> 3544): authentication header
    // (no id, no auth value, nonce, confirmation 0), then an IPv6 router
    // solicitation fe80::8000:ffff:ffff:fffd -> ff02::2.
    const AUTH_RS: &str = "0001 0000 cd5669400b22df88 00
        6000000000183afffe80000000000000 8000ffffffff fffd
        ff020000000000000000000000000002
        8500a91d00000000 0102000000000000 8000f12ab9c82815";

    #[test]
    fn parses_teredo_with_authentication() {
        let t = hex(AUTH_RS);
        assert_eq!(teredo(&t), Ok(Inner::Ipv6(&t[13..])));
        // Zeek's heuristic expects an origin indication after the
        // authentication header, so this one is only found on port 3544.
        assert!(!teredo_detect(&t));
        let mut with_origin = t[..13].to_vec();
        with_origin.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        with_origin.extend_from_slice(&t[13..]);
        assert!(teredo_detect(&with_origin));
        assert_eq!(teredo(&with_origin), Ok(Inner::Ipv6(&with_origin[21..])));
    }

    #[test]
    fn parses_origin_indication_and_bubble() {
        // Origin indication, then a bubble with 2 bytes of trailing junk.
        let mut t = vec![0x00, 0x00, 0xf1, 0x2a, 0xb9, 0xc8, 0x28, 0x15];
        let mut bubble = vec![0x60, 0, 0, 0, 0, 0, 59, 21];
        bubble.extend_from_slice(&[0x20, 0x01, 0x00, 0x00]);
        bubble.extend_from_slice(&[0; 28]);
        t.extend_from_slice(&bubble);
        assert_eq!(teredo(&t), Ok(Inner::Ipv6(&t[8..])));
        t.extend_from_slice(&[0, 0]);
        assert_eq!(teredo(&t), Ok(Inner::Ipv6(&t[8..])));
        assert!(teredo_detect(&bubble));
        assert!(teredo_detect(&t));
    }

    #[test]
    fn rejects_non_teredo() {
        // A DNS query is not Teredo.
        let dns = hex("a72f0100000100000000000007636170746976650561 70706c6503636f6d0000010001");
        assert_eq!(teredo(&dns), Err(Anomaly::BadTeredoEncapsulation));
        assert!(!teredo_detect(&dns));
        // IPv6 whose payload length does not match.
        let t = hex(AUTH_RS);
        let mut longer = t[13..].to_vec();
        longer.push(0);
        assert_eq!(teredo(&longer), Err(Anomaly::InnerIpPayloadLengthMismatch));
        // Origin indication twice; authentication after origin.
        assert_eq!(teredo(&[0u8; 60]), Err(Anomaly::BadTeredoEncapsulation));
        let mut ao = vec![0u8; 8];
        ao.extend_from_slice(&t);
        assert_eq!(teredo(&ao), Err(Anomaly::BadTeredoEncapsulation));
    }

    #[test]
    fn truncated_teredo() {
        let t = hex(AUTH_RS);
        assert_eq!(teredo(&t[..1]), Err(Anomaly::TruncatedTeredo));
        assert_eq!(
            teredo(&t[..12]),
            Err(Anomaly::TruncatedTeredoAuthentication)
        );
        assert_eq!(teredo(&t[..40]), Err(Anomaly::TruncatedIpv6InTeredo));
        assert_eq!(teredo(&t[..60]), Err(Anomaly::TruncatedInnerIp));
        assert_eq!(
            teredo(&[0, 0, 1]),
            Err(Anomaly::TruncatedTeredoOriginIndication)
        );
    }
}
