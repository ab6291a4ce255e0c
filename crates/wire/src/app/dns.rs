//! DNS (and NetBIOS name service, which shares its format): Zeek's DNS
//! analyzer confirms once it has parsed a message's header, questions and
//! answers (`DNS_Interpreter::ParseMessage`), and gives up on messages with
//! more than `dns_max_queries` (25) questions. A query alone is enough.

/// Zeek's `dns_max_queries`.
const MAX_QUERIES: u16 = 25;

/// One DNS message as carried over UDP: header, then every question and
/// answer record must parse within the datagram.
pub fn message(p: &[u8]) -> bool {
    parse(p, false)
}

/// The start of a DNS message over TCP whose rest is in later segments:
/// what was captured must parse, records cut at the end are accepted.
pub fn tcp_message_start(p: &[u8]) -> bool {
    let [l0, l1, ref rest @ ..] = *p else {
        return false;
    };
    let len = usize::from(u16::from_be_bytes([l0, l1]));
    len >= 12 && rest.len() >= 12 && parse(&rest[..rest.len().min(len)], rest.len() < len)
}

/// Header, questions, answers; with `cut`, running out of bytes after the
/// header is not an error (the message goes on in the next segment).
fn parse(p: &[u8], cut: bool) -> bool {
    let [_, _, _, _, q0, q1, a0, a1, ..] = *p else {
        return false;
    };
    if p.len() < 12 {
        return false;
    }
    let qd = u16::from_be_bytes([q0, q1]);
    let an = u16::from_be_bytes([a0, a1]);
    if qd > MAX_QUERIES {
        return false;
    }
    let mut off = 12;
    for _ in 0..qd {
        match name(p, off).and_then(|o| o.checked_add(4)) {
            Some(o) if o <= p.len() => off = o,
            _ => return cut && malformed_name(p, off).is_none(),
        }
    }
    for _ in 0..an {
        match record(p, off) {
            Some(o) => off = o,
            None => return cut && malformed_name(p, off).is_none(),
        }
    }
    true
}

/// `Some(())` when the name at `off` is malformed (a bad label type)
/// rather than merely cut off by the end of the data.
fn malformed_name(p: &[u8], mut off: usize) -> Option<()> {
    for _ in 0..128 {
        let len = *p.get(off)?;
        match len & 0xc0 {
            0x00 if len == 0 => return None,
            0x00 => off += 1 + usize::from(len),
            0xc0 => return None,
            _ => return Some(()),
        }
    }
    Some(())
}

/// One DNS message over TCP: a 2-byte length, then the message (which may
/// continue in later segments; what was captured must parse as far as it
/// goes up to the answers).
pub fn tcp_message(p: &[u8]) -> bool {
    let [l0, l1, ref rest @ ..] = *p else {
        return false;
    };
    let len = usize::from(u16::from_be_bytes([l0, l1]));
    len >= 12 && message(&rest[..rest.len().min(len)])
}

/// Skips a (possibly compressed) name at `off`; the offset after it.
fn name(p: &[u8], mut off: usize) -> Option<usize> {
    // A name has at most 255 bytes, so at most 128 labels.
    for _ in 0..128 {
        let len = *p.get(off)?;
        match len & 0xc0 {
            0x00 if len == 0 => return Some(off + 1),
            0x00 => off += 1 + usize::from(len),
            // A compression pointer ends the name.
            0xc0 => return p.get(off + 1).map(|_| off + 2),
            // The extended label types (0x40, 0x80) are not DNS.
            _ => return None,
        }
    }
    None
}

/// Skips a resource record at `off`; the offset after it.
fn record(p: &[u8], off: usize) -> Option<usize> {
    let o = name(p, off)?;
    let rdlen = usize::from(u16::from_be_bytes([*p.get(o + 8)?, *p.get(o + 9)?]));
    let end = o + 10 + rdlen;
    (end <= p.len()).then_some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query for example.com A.
    pub(crate) const QUERY: &[u8] =
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01";

    #[test]
    fn query_and_response() {
        assert!(message(QUERY));
        let mut resp = QUERY.to_vec();
        resp[2] = 0x81;
        resp[7] = 1;
        resp.extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\x5d\xb8\xd8\x22");
        assert!(message(&resp));
        // The answer cut short.
        assert!(!message(&resp[..resp.len() - 1]));
        let mut tcp = vec![0, QUERY.len() as u8];
        tcp.extend_from_slice(QUERY);
        assert!(tcp_message(&tcp));
        // A long response over TCP: the first segment holds only a part.
        let mut long = vec![0x04, 0x00];
        long.extend_from_slice(&resp);
        assert!(!tcp_message(&long[..30]));
        assert!(tcp_message_start(&long[..30]));
        assert!(!tcp_message_start(b"\x04\x00GET / HTTP/1.1\r\n"));
    }

    #[test]
    fn not_dns() {
        // Port 53 carries much else: text, zeroes, random bytes.
        assert!(!message(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert!(!message(b"\x00\x01"));
        assert!(!message(&[0xff; 40]));
        // 26 questions: beyond dns_max_queries.
        let mut m = QUERY.to_vec();
        m[5] = 26;
        assert!(!message(&m));
    }
}
