//! Line helpers for the text protocols (HTTP, FTP, SMTP, POP3, IMAP, IRC,
//! SIP): their recognisers only ever look at the first line of a payload.

/// The first line of `data` without its line ending (CR LF or LF), or all
/// of `data` when no line ending was captured; capped at 512 bytes: every
/// recogniser decides on the start of the line, and binary payload that
/// happens to start with a printable byte is not scanned further.
pub fn first_line(data: &[u8]) -> &[u8] {
    let data = &data[..data.len().min(512)];
    let end = find_newline(data).unwrap_or(data.len());
    let line = &data[..end];
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Index of the first `\n` in `data`, eight bytes at a time: the service
/// detectors cut (and re-cut) the first line of every payload they look
/// at, and lines are tens of bytes long, where a byte loop costs some
/// three instructions a byte.
#[inline]
pub fn find_newline(data: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = LO * b'\n' as u64;
    // Bytes equal to `\n` become zero; `(w - LO) & !w & HI` sets the top
    // bit of the lowest zero byte (a borrow can only mark bytes above a
    // true zero), so the lowest mark is exact in little-endian order.
    let first_zero = |w: u64| {
        let w = w ^ NL;
        let z = w.wrapping_sub(LO) & !w & HI;
        (z != 0).then(|| z.trailing_zeros() as usize / 8)
    };
    let mut chunks = data.chunks_exact(8);
    let mut at = 0;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        if let Some(i) = first_zero(u64::from_le_bytes(w)) {
            return Some(at + i);
        }
        at += 8;
    }
    // The tail, padded with zero bytes (never `\n`).
    let rest = chunks.remainder();
    let mut w = [0u8; 8];
    w[..rest.len()].copy_from_slice(rest);
    first_zero(u64::from_le_bytes(w)).map(|i| at + i)
}

/// `line` without leading spaces and tabs.
pub fn trim_start(line: &[u8]) -> &[u8] {
    let n = line
        .iter()
        .position(|b| *b != b' ' && *b != b'\t')
        .unwrap_or(line.len());
    &line[n..]
}

/// The first word of `line` (up to a space or tab) and the rest after it.
pub fn word(line: &[u8]) -> (&[u8], &[u8]) {
    let n = line
        .iter()
        .position(|b| *b == b' ' || *b == b'\t')
        .unwrap_or(line.len());
    (&line[..n], trim_start(&line[n..]))
}

/// `a` equals `b` ignoring ASCII case.
pub fn eq_ci(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// `a` starts with `prefix`, ignoring ASCII case.
pub fn starts_ci(a: &[u8], prefix: &[u8]) -> bool {
    a.len() >= prefix.len() && a[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Three ASCII digits at the start of `line`, as a number.
pub fn reply_code(line: &[u8]) -> Option<u16> {
    match line {
        [a, b, c, ..] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_words() {
        assert_eq!(first_line(b"USER x\r\nPASS y\r\n"), b"USER x");
        assert_eq!(first_line(b"partial"), b"partial");
        assert_eq!(word(b"USER  anon"), (&b"USER"[..], &b"anon"[..]));
        assert_eq!(reply_code(b"220 ok"), Some(220));
        assert_eq!(reply_code(b"2x0"), None);
        assert!(starts_ci(b"ehlo x", b"EHLO"));
    }

    #[test]
    fn find_newline_matches_byte_scan() {
        // Every length up to a few words, the newline (or none) at every
        // position, with neighbours that trip a sloppy zero-byte test
        // (0x0b: one off in the low bits; 0x8a, 0x8b: the high bit set).
        for len in 0..40 {
            for nl in 0..=len {
                for fill in [b'a', 0x0b, 0x8a, 0x8b, 0x09, 0x00, 0xff] {
                    let mut v = vec![fill; len];
                    if nl < len {
                        v[nl] = b'\n';
                        if nl + 1 < len {
                            v[nl + 1] = b'\n';
                        }
                    }
                    let want = v.iter().position(|&b| b == b'\n');
                    assert_eq!(find_newline(&v), want, "{v:?}");
                }
            }
        }
        assert_eq!(first_line(b"abc\r\r\n"), b"abc\r");
        let long = [b'x'; 600];
        assert_eq!(first_line(&long).len(), 512);
    }
}
