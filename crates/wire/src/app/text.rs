//! Line helpers for the text protocols (HTTP, FTP, SMTP, POP3, IMAP, IRC,
//! SIP): their recognisers only ever look at the first line of a payload.

/// The first line of `data` without its line ending (CR LF or LF), or all
/// of `data` when no line ending was captured; capped at 512 bytes: every
/// recogniser decides on the start of the line, and binary payload that
/// happens to start with a printable byte is not scanned further.
pub fn first_line(data: &[u8]) -> &[u8] {
    let data = &data[..data.len().min(512)];
    let end = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let line = &data[..end];
    line.strip_suffix(b"\r").unwrap_or(line)
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
}
