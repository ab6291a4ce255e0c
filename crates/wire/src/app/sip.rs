//! SIP: a request line `METHOD sip:uri SIP/2.0` or a status line
//! `SIP/2.0 code reason`, which Zeek's SIP analyzer confirms on.

use super::text::{first_line, word};

/// A SIP status line (`SIP/2.0 200 OK`): what Zeek's signature finds on
/// any port.
pub fn status(p: &[u8]) -> bool {
    first_line(p)
        .strip_prefix(b"SIP/2.0 ")
        .and_then(super::text::reply_code)
        .is_some_and(|c| (100..700).contains(&c))
}

/// A SIP request or response (on SIP's port the analyzer parses both).
pub fn message(p: &[u8]) -> bool {
    const METHODS: &[&[u8]] = &[
        b"INVITE",
        b"ACK",
        b"BYE",
        b"CANCEL",
        b"OPTIONS",
        b"REGISTER",
        b"PRACK",
        b"SUBSCRIBE",
        b"NOTIFY",
        b"PUBLISH",
        b"INFO",
        b"REFER",
        b"MESSAGE",
        b"UPDATE",
    ];
    let line = first_line(p);
    if let Some(rest) = line.strip_prefix(b"SIP/2.0 ") {
        return super::text::reply_code(rest).is_some_and(|c| (100..700).contains(&c));
    }
    let (method, rest) = word(line);
    let (uri, version) = word(rest);
    METHODS.contains(&method) && uri.contains(&b':') && version == b"SIP/2.0"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        assert!(message(b"REGISTER sip:example.com SIP/2.0\r\nVia: x\r\n"));
        assert!(message(b"SIP/2.0 200 OK\r\n"));
        assert!(!message(b"GET / HTTP/1.1\r\n"));
        assert!(!message(b"SIP/2.0 999 x\r\n"));
        assert!(status(b"SIP/2.0 180 Ringing\r\n"));
        assert!(!status(b"INVITE sip:bob@example.com SIP/2.0\r\n"));
    }
}
