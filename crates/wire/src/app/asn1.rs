//! The BER-encoded protocols: SNMP and Kerberos. Zeek confirms both once a
//! message decodes; here the outer structure is checked (tags, lengths
//! that agree with the datagram, the version number inside).

/// A BER tag and length at `off`: (tag, content length, content offset).
fn tlv(p: &[u8], off: usize) -> Option<(u8, usize, usize)> {
    let tag = *p.get(off)?;
    let l = *p.get(off + 1)?;
    if l < 0x80 {
        return Some((tag, usize::from(l), off + 2));
    }
    let n = usize::from(l & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let mut len = 0usize;
    for i in 0..n {
        len = (len << 8) | usize::from(*p.get(off + 2 + i)?);
    }
    Some((tag, len, off + 2 + n))
}

/// An SNMP message: SEQUENCE { INTEGER version (0, 1 or 3), then for v1
/// and v2c an OCTET STRING community and a PDU (context tags 0–8), for v3
/// a header SEQUENCE }.
pub fn snmp(p: &[u8]) -> bool {
    let Some((0x30, len, off)) = tlv(p, 0) else {
        return false;
    };
    if off + len != p.len() {
        return false;
    }
    let Some((0x02, 1, voff)) = tlv(p, off) else {
        return false;
    };
    match p.get(voff) {
        Some(0 | 1) => {
            let Some((0x04, clen, coff)) = tlv(p, voff + 1) else {
                return false;
            };
            matches!(tlv(p, coff + clen), Some((0xa0..=0xa8, _, _)))
        }
        Some(3) => matches!(tlv(p, voff + 1), Some((0x30, _, _))),
        _ => false,
    }
}

/// A Kerberos message over UDP: an APPLICATION tag (AS-REQ/REP,
/// TGS-REQ/REP, AP-REQ/REP, KRB-ERROR) whose length fills the datagram,
/// a SEQUENCE, and `pvno` 5 in its first or second field.
pub fn krb(p: &[u8]) -> bool {
    let Some((tag, len, off)) = tlv(p, 0) else {
        return false;
    };
    if !matches!(tag, 0x6a..=0x6f | 0x7e) || off + len != p.len() {
        return false;
    }
    let Some((0x30, _, soff)) = tlv(p, off) else {
        return false;
    };
    // pvno [0] or [1] INTEGER 5.
    let field = |o: usize| matches!(p.get(o..o + 5), Some([0xa0 | 0xa1, 3, 2, 1, 5]));
    // AS-REQ/TGS-REQ start with pvno as [1], the others as [0]; AP-REQ
    // and friends may also carry it second.
    field(soff) || tlv(p, soff).is_some_and(|(t, l, o)| t == 0xa0 && field(o + l))
}

/// Kerberos over TCP: a 4-byte record length, then a message as over UDP.
pub fn krb_tcp(p: &[u8]) -> bool {
    let [a, b, c, d, ref rest @ ..] = *p else {
        return false;
    };
    let len = u32::from_be_bytes([a, b, c, d]) as usize;
    len == rest.len() && krb(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An SNMPv1 get-request for sysDescr.0, community "public".
    const SNMP_GET: &[u8] = b"\x30\x26\x02\x01\x00\x04\x06public\xa0\x19\x02\x01\x01\x02\x01\x00\x02\x01\x00\x30\x0e\x30\x0c\x06\x08\x2b\x06\x01\x02\x01\x01\x01\x00\x05\x00";

    #[test]
    fn snmp_messages() {
        assert!(snmp(SNMP_GET));
        assert!(!snmp(&SNMP_GET[..SNMP_GET.len() - 1]));
        assert!(!snmp(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"));
    }

    #[test]
    fn krb_messages() {
        // AS-REQ: [APPLICATION 10] SEQUENCE { [1] pvno 5, [2] msg-type 10 }.
        let as_req = b"\x6a\x0e\x30\x0c\xa1\x03\x02\x01\x05\xa2\x03\x02\x01\x0a\xa4\x00";
        assert!(krb(as_req));
        let mut tcp = vec![0, 0, 0, as_req.len() as u8];
        tcp.extend_from_slice(as_req);
        assert!(krb_tcp(&tcp));
        // KRB-ERROR with pvno [0].
        assert!(krb(b"\x7e\x0a\x30\x08\xa0\x03\x02\x01\x05\xa1\x01\x00"));
        let mut bad = as_req.to_vec();
        bad[8] = 4; // pvno 4
        assert!(!krb(&bad));
        assert!(!krb(SNMP_GET));
    }
}
