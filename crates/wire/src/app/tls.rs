//! SSL/TLS and DTLS: Zeek's SSL analyzer confirms on a parsed ClientHello
//! or ServerHello whose version it supports (`proc_client_hello`,
//! `proc_server_hello`), and raises a violation (which removes the service
//! again) when a record header makes no sense, e.g. an HTTP reply to a
//! ClientHello.

/// Versions Zeek's `version_ok` accepts, by their two bytes.
fn version_ok(major: u8, minor: u8) -> bool {
    matches!(
        (major, minor),
        (0, 2) | (3, 0..=4) | (0xfe, 0xff | 0xfd | 0xfc)
    )
}

/// A TLS record carrying a ClientHello (what `dpd_tls_client` matches).
pub fn client_hello(p: &[u8]) -> bool {
    matches!(*p, [0x16, 3, 0..=3, _, _, 1, _, _, _, maj, min, ..] if version_ok(maj, min))
}

/// An SSLv2-framed CLIENT-HELLO (2-byte header with the high bit set):
/// Zeek parses it where the SSL analyzer is attached by port; its
/// signature for it is not loaded by default.
pub fn sslv2_client_hello(p: &[u8]) -> bool {
    matches!(*p, [h, _, 1, maj, min, ..] if h & 0x80 != 0 && matches!((maj, min), (0, 2) | (3, 0..=3)))
}

/// A TLS record carrying a ServerHello, possibly after an alert record (as
/// Zeek's `dpd_tls_server` allows).
pub fn server_hello(p: &[u8]) -> bool {
    let p = match *p {
        [0x15, 3, 0..=3, a, b, ..] => {
            let skip = 5 + usize::from(u16::from_be_bytes([a, b]));
            p.get(skip..).unwrap_or(&[])
        }
        _ => p,
    };
    match *p {
        [0x16, 3, 0..=3, _, _, 2, _, _, _, 3, 0..=4, ..] => true,
        // TLS 1.3 drafts.
        [0x16, 3, 0..=3, _, _, 2, _, _, _, 0x7f, 0..=0x50, ..] => true,
        _ => false,
    }
}

/// Whether the first record header of a direction is one Zeek's record
/// layer accepts (content type 20–24 with a 3.x or DTLS version, or an
/// SSLv2 record). Too short to tell counts as acceptable.
pub fn record_header_ok(p: &[u8]) -> bool {
    match *p {
        [] | [_] => true,
        [h, ..] if h & 0x80 != 0 => true,
        [20..=24, 3 | 0xfe, ..] => true,
        _ => false,
    }
}

/// A DTLS record carrying a ClientHello or ServerHello (DTLS 1.0/1.2/1.3
/// record versions; 13-byte record header).
pub fn dtls_hello(p: &[u8]) -> bool {
    matches!(
        *p,
        [
            0x16,
            0xfe,
            0xff | 0xfd | 0xfc,
            _,
            _,
            _,
            _,
            _,
            _,
            _,
            _,
            _,
            _,
            1 | 2,
            ..
        ]
    ) && p.len() >= 25
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const CLIENT_HELLO: &[u8] = b"\x16\x03\x01\x00\x85\x01\x00\x00\x81\x03\x03\x73\x6f\xf8\x18\x54\x21\x29\xf7\x8f\x49\x2d\x9b\x15\x57\xda\xfc";

    #[test]
    fn hellos() {
        assert!(client_hello(CLIENT_HELLO));
        assert!(!server_hello(CLIENT_HELLO));
        let sh = b"\x16\x03\x03\x00\x5a\x02\x00\x00\x56\x03\x03\x11\x22";
        assert!(server_hello(sh));
        assert!(!client_hello(sh));
        // SSLv2-framed client hello offering SSLv3.
        let v2 = b"\x80\x4c\x01\x03\x00\x00\x33\x00\x00\x00\x10";
        assert!(sslv2_client_hello(v2));
        assert!(!client_hello(v2));
        // Unsupported version.
        assert!(!client_hello(
            b"\x16\x03\x01\x00\x85\x01\x00\x00\x81\x09\x09"
        ));
    }

    #[test]
    fn record_layer() {
        assert!(record_header_ok(b"\x16\x03\x01\x00\x00\x03\x00\x80\x01"));
        assert!(record_header_ok(b"\x17\x03\x03\x01\x00"));
        assert!(!record_header_ok(b"HTTP/1.1 400 Bad Request\r\n"));
        assert!(!client_hello(b"GET / HTTP/1.1\r\n"));
    }

    #[test]
    fn dtls() {
        let mut ch = b"\x16\xfe\xfd\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x01\x00\x00\x74\x00\x00\x00\x00\x00\x00\x00\x74\xfe\xfd".to_vec();
        assert!(dtls_hello(&ch));
        ch[13] = 20;
        assert!(!dtls_hello(&ch));
        assert!(!dtls_hello(CLIENT_HELLO));
    }
}
