//! MySQL: the server speaks first with a handshake packet (protocol 9 or
//! 10); Zeek confirms on the client's handshake response that follows it
//! (`proc_mysql_handshake_response_packet`).

/// The server's initial handshake: a 3-byte length, sequence 0, protocol
/// version 9 or 10, then a NUL-terminated printable version string.
pub fn greeting(p: &[u8]) -> bool {
    let [l0, l1, l2, 0, 9 | 10, ref rest @ ..] = *p else {
        return false;
    };
    let len = u32::from_le_bytes([l0, l1, l2, 0]) as usize;
    if !(10..=1024).contains(&len) {
        return false;
    }
    match rest.iter().position(|&b| b == 0) {
        Some(n) => n > 0 && rest[..n].iter().all(|b| b.is_ascii_graphic()),
        None => false,
    }
}

/// The client's handshake response (or SSL request): sequence 1 and a
/// plausible length.
pub fn handshake_response(p: &[u8]) -> bool {
    let [l0, l1, l2, 1, ..] = *p else {
        return false;
    };
    let len = u32::from_le_bytes([l0, l1, l2, 0]);
    (4..=65_536).contains(&len) && p.len() >= 8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake() {
        let g = b"\x4a\x00\x00\x00\x0a5.7.33-log\x00\x08\x00\x00\x00";
        assert!(greeting(g));
        assert!(!greeting(b"\x4a\x00\x00\x00\x0bx\x00"));
        assert!(!greeting(b"SSH-2.0-x\r\n"));
        assert!(handshake_response(b"\x20\x00\x00\x01\x85\xa6\x03\x00"));
        assert!(!handshake_response(b"\x20\x00\x00\x00\x85\xa6\x03\x00"));
    }
}
