//! SSH: Zeek's SSH analyzer parses the identification lines of both sides
//! (its DPD signature wants `SSH-1.` or `SSH-2.` from both) and confirms
//! only when a side sends NEWKEYS (message 21, or SSH1's session key), the
//! end of the clear-text key exchange. HTTP on port 22 answered by an SSH
//! server therefore never gets `ssh`.

/// Largest plausible clear-text SSH packet (RFC 4253 asks for 35000).
const MAX_PACKET: u32 = 35_000;

/// The identification string `SSH-<major>.`.
pub fn banner(p: &[u8]) -> bool {
    matches!(
        p,
        [
            b'S' | b's',
            b'S' | b's',
            b'H' | b'h',
            b'-',
            b'1' | b'2',
            b'.',
            ..
        ]
    )
}

/// An identification string of protocol 1 (`SSH-1.x` but not `SSH-1.99`,
/// which means 2): the session then speaks SSH1 packets.
pub fn banner_v1(p: &[u8]) -> bool {
    banner(p) && p[4] == b'1' && !p[5..].starts_with(b".99")
}

/// The bytes after the identification line (and after any line before it,
/// which RFC 4253 allows a server to send), where the binary packets begin;
/// `None` when the line end was not in this payload.
pub fn after_banner(p: &[u8]) -> Option<&[u8]> {
    let mut rest = p;
    // A server may send a few lines before its identification.
    for _ in 0..8 {
        let nl = rest.iter().position(|&b| b == b'\n')?;
        let line = &rest[..nl];
        rest = &rest[nl + 1..];
        if banner(line) {
            return Some(rest);
        }
    }
    None
}

/// What walking a direction's binary packets found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    /// A NEWKEYS message: Zeek confirms SSH.
    NewKeys,
    /// Packets so far are well-formed; `skip` says where the next begins.
    More,
    /// Not SSH binary packets (or a header split across segments, which
    /// is not followed).
    Lost,
}

/// Walks SSH2 binary packets in `p`, which starts `*skip` bytes before the
/// next packet header (that much of the previous packet is still to come);
/// updates `*skip` for the next segment.
pub fn walk(p: &[u8], skip: &mut u32) -> Walk {
    let mut off = *skip as usize;
    loop {
        if off >= p.len() {
            *skip = u32::try_from(off - p.len()).unwrap_or(u32::MAX);
            return Walk::More;
        }
        let Some(&[a, b, c, d, pad, msg]) = p.get(off..off + 6) else {
            return Walk::Lost;
        };
        let len = u32::from_be_bytes([a, b, c, d]);
        if !(5..=MAX_PACKET).contains(&len) || u32::from(pad) + 1 >= len {
            return Walk::Lost;
        }
        if msg == 21 {
            return Walk::NewKeys;
        }
        off += 4 + len as usize;
    }
}

/// Walks SSH1 packets (length, 1–8 bytes of padding, type, data, CRC);
/// SSH_CMSG_SESSION_KEY (3) ends the clear-text part and is where Zeek
/// confirms.
pub fn walk_v1(p: &[u8], skip: &mut u32) -> Walk {
    let mut off = *skip as usize;
    loop {
        if off >= p.len() {
            *skip = u32::try_from(off - p.len()).unwrap_or(u32::MAX);
            return Walk::More;
        }
        let Some(&[a, b, c, d]) = p.get(off..off + 4) else {
            return Walk::Lost;
        };
        let len = u32::from_be_bytes([a, b, c, d]);
        if !(5..=262_144).contains(&len) {
            return Walk::Lost;
        }
        let pad = 8 - (len % 8) as usize;
        let Some(&msg) = p.get(off + 4 + pad) else {
            return Walk::Lost;
        };
        if msg == 3 {
            return Walk::NewKeys;
        }
        off += 4 + pad + len as usize;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banners() {
        assert!(banner(b"SSH-2.0-OpenSSH_5.9p1 Debian-5ubuntu1\r\n"));
        assert!(banner(b"SSH-1.99-Cisco-1.25\r\n"));
        assert!(!banner(b"GET / HTTP/1.1\r\n"));
        assert!(!banner(b"SSH-3.0-x"));
        assert_eq!(
            after_banner(b"SSH-2.0-x\r\n\x00\x00"),
            Some(&b"\x00\x00"[..])
        );
        assert_eq!(after_banner(b"SSH-2.0-x"), None);
    }

    #[test]
    fn ssh1() {
        assert!(banner_v1(b"SSH-1.5-OpenSSH_6.2\n"));
        assert!(!banner_v1(b"SSH-1.99-OpenSSH_6.6.1\n"));
        assert!(!banner_v1(b"SSH-2.0-x\n"));
        // Public key (431 bytes, 1 byte of padding), then session key.
        let mut p = vec![0, 0, 0x01, 0xaf, 0, 2];
        p.resize(4 + 1 + 431, 0);
        let mut skip = 0;
        assert_eq!(walk_v1(&p, &mut skip), Walk::More);
        let key = [0, 0, 1, 0x14, 0, 0, 0, 0, 3, 3];
        assert_eq!(walk_v1(&key, &mut skip), Walk::NewKeys);
    }

    #[test]
    fn packets() {
        // KEXINIT (20 bytes of body), then NEWKEYS.
        let mut p = vec![0, 0, 0, 20, 4, 20];
        p.extend_from_slice(&[0; 18]);
        let mut skip = 0;
        assert_eq!(walk(&p, &mut skip), Walk::More);
        assert_eq!(skip, 0);
        // A packet continuing into the next segment.
        assert_eq!(walk(&p[..10], &mut skip), Walk::More);
        assert_eq!(skip, 14);
        let newkeys = [0, 0, 0, 12, 10, 21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let mut next = vec![0; 14];
        next.extend_from_slice(&newkeys);
        assert_eq!(walk(&next, &mut skip), Walk::NewKeys);
        let mut skip = 0;
        assert_eq!(walk(b"GET / HTTP/1.1\r\n", &mut skip), Walk::Lost);
    }
}
