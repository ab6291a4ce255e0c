//! QUIC: long-header packets (Initial/Handshake) of a known version. Zeek
//! confirms once it has decrypted the client's Initial and parsed the
//! ClientHello in it; here a client Initial of a known version, padded to
//! the 1200 bytes RFC 9000 requires, answered by a long-header packet of
//! the same version stands in for that.

/// The version of a long-header packet, if `p` is one of a known version
/// (1, 2, drafts 0xff0000xx, or version negotiation 0).
pub fn long_header(p: &[u8]) -> Option<u32> {
    let [b0, v0, v1, v2, v3, dcid_len, ..] = *p else {
        return None;
    };
    if b0 & 0xc0 != 0xc0 && !(b0 & 0x80 != 0 && [v0, v1, v2, v3] == [0; 4]) {
        return None;
    }
    let v = u32::from_be_bytes([v0, v1, v2, v3]);
    let known = v == 0 || v == 1 || v == 0x6b33_43cf || (v >> 8) == 0x00ff_0000;
    (known && dcid_len <= 20 && p.len() > 6 + usize::from(dcid_len)).then_some(v)
}

/// A client Initial: a long header of type Initial, padded to 1200 bytes.
pub fn client_initial(p: &[u8]) -> bool {
    let Some(v) = long_header(p) else {
        return false;
    };
    // Initial is type 0 in v1, type 1 in v2.
    let ty = (p[0] >> 4) & 3;
    let initial = if v == 0x6b33_43cf { ty == 1 } else { ty == 0 };
    v != 0 && initial && p.len() >= 1200
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial() {
        let mut p = vec![0u8; 1250];
        p[..6].copy_from_slice(&[0xc3, 0, 0, 0, 1, 8]);
        assert!(client_initial(&p));
        assert_eq!(long_header(&p), Some(1));
        assert!(!client_initial(&p[..600]));
        p[4] = 7; // unknown version
        assert!(!client_initial(&p));
        assert_eq!(long_header(b"\x40\x01\x02"), None);
    }
}
