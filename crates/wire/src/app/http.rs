//! HTTP: Zeek's HTTP analyzer confirms when it parses a reply status line
//! while a request is outstanding, so a connection needs a request line
//! from the originator and then a status line from the responder.

use super::text::{first_line, trim_start, word};

/// Methods Zeek's DPD signature accepts on any port (`dpd_http_client`).
const DPD_METHODS: &[&[u8]] = &[b"GET", b"HEAD", b"POST"];

/// A request line (`METHOD SP target [SP HTTP/x.y]`). With `any_method`
/// (the analyzer was attached by an HTTP port) any upper-case token is a
/// method, as Zeek's parser allows; otherwise only the signature's.
pub fn request_line(p: &[u8], any_method: bool) -> bool {
    let line = trim_start(first_line(p));
    let (method, rest) = word(line);
    let method_ok = if any_method {
        (3..=16).contains(&method.len())
            && method
                .iter()
                .all(|b| b.is_ascii_uppercase() || *b == b'-' || *b == b'_')
    } else {
        DPD_METHODS.contains(&method)
    };
    if !method_ok || rest.is_empty() || line.len() == method.len() {
        return false;
    }
    let (target, version) = word(rest);
    // HTTP/0.9 has no version; otherwise it must say HTTP/ (or the start
    // of it, when the line goes on in the next segment).
    !target.is_empty()
        && (version.is_empty() || version.starts_with(b"HTTP/") || b"HTTP/".starts_with(version))
}

/// An HTTP/0.9 request (`GET /path` with no version): its reply is the
/// body itself, without a status line.
pub fn request_is_09(p: &[u8]) -> bool {
    let line = trim_start(first_line(p));
    let (_, rest) = word(line);
    let (_, version) = word(rest);
    request_line(p, true) && version.is_empty() && p.contains(&b'\n')
}

/// The start of a request when the first segments are tiny: a method
/// followed by a space within the first bytes of the stream.
pub fn request_start(head: &[u8], any_method: bool) -> bool {
    let line = trim_start(head);
    let Some(sp) = line.iter().position(|&b| b == b' ') else {
        return false;
    };
    let method = &line[..sp];
    if any_method {
        (3..=16).contains(&method.len()) && method.iter().all(u8::is_ascii_uppercase)
    } else {
        DPD_METHODS.contains(&method)
    }
}

/// A status line: `HTTP/` and a digit.
pub fn status_line(p: &[u8]) -> bool {
    matches!(p, [b'H', b'T', b'T', b'P', b'/', d, ..] if d.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        assert!(request_line(
            b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n",
            false
        ));
        assert!(request_line(b"  POST /x HTTP/1.0\r\n", false));
        assert!(request_line(b"OPTIONS * HTTP/1.1\r\n", true));
        assert!(!request_line(b"OPTIONS * HTTP/1.1\r\n", false));
        assert!(!request_line(b"GET\r\n", true));
        // The line continues in the next segment.
        assert!(request_line(b"GET /index.html HT", false));
        assert!(!request_line(b"GET /index.html XYZ/1.0\r\n", false));
        assert!(!request_line(b"SSH-2.0-OpenSSH_8.9\r\n", true));
        assert!(!request_line(b"\x16\x03\x01\x02\x00\x01", true));
    }

    #[test]
    fn old_and_split_requests() {
        assert!(request_is_09(b"GET /\r\n\r\n"));
        assert!(!request_is_09(b"GET / HTTP/1.0\r\n"));
        assert!(request_start(b"GET / HT", false));
        assert!(!request_start(b"GETX/ HT", false));
        assert!(!request_start(b"\x16\x03\x01\x00\x85\x01\x00\x00", true));
    }

    #[test]
    fn replies() {
        assert!(status_line(b"HTTP/1.1 200 OK\r\n"));
        assert!(!status_line(b"HTTP/x"));
        assert!(!status_line(b"SSH-2.0-x"));
    }
}
