//! The JSON encoding of Zeek's ASCII writer with `LogAscii::use_json=T`
//! (spec §1.4): one compact object per line, keys in column order, unset
//! fields left out, `time`/`interval` as rapidjson doubles. Pure functions
//! appending to a buffer; the row bookkeeping lives in [`super::zeek_log`].

use core::net::IpAddr;

use super::format;

/// Appends `"key":`, preceded by `,` unless it is the first member.
#[inline]
pub fn push_key(out: &mut Vec<u8>, key: &str, first: bool) {
    if !first {
        out.push(b',');
    }
    out.push(b'"');
    // Column names are static ASCII identifiers; nothing to escape.
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

/// A `time`/`interval` number (`TS_EPOCH`, the default).
#[inline]
pub fn push_double(out: &mut Vec<u8>, v: f64) {
    format::push_json_double(out, v);
}

/// An address as a JSON string.
#[inline]
pub fn push_addr(out: &mut Vec<u8>, a: IpAddr) {
    out.push(b'"');
    format::push_addr(out, a);
    out.push(b'"');
}

/// `true` / `false`.
#[inline]
pub fn push_bool(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

/// A JSON string. Zeek first escapes the bytes (`json_escape_utf8`):
/// printable ASCII and valid UTF-8 stay, `\b \f \n \r \t` stay, other
/// control bytes and invalid UTF-8 become the four characters `\xNN`; then
/// rapidjson adds JSON escaping (`"`, `\`, the kept controls), so such a
/// byte reads `\\xNN` in the file.
pub fn push_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    let plain = |b: u8| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\';
    if s.iter().all(|&b| plain(b)) {
        out.extend_from_slice(s);
    } else {
        let mut rest = s;
        while !rest.is_empty() {
            let (valid, bad) = match core::str::from_utf8(rest) {
                Ok(v) => (v.len(), 0),
                Err(e) => (
                    e.valid_up_to(),
                    e.error_len().unwrap_or(rest.len() - e.valid_up_to()),
                ),
            };
            for &b in &rest[..valid] {
                match b {
                    b'"' => out.extend_from_slice(b"\\\""),
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    0x08 => out.extend_from_slice(b"\\b"),
                    0x0c => out.extend_from_slice(b"\\f"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    0..=0x1f | 0x7f => push_double_escaped_hex(out, b),
                    _ => out.push(b),
                }
            }
            for &b in &rest[valid..valid + bad] {
                push_double_escaped_hex(out, b);
            }
            rest = &rest[valid + bad..];
        }
    }
    out.push(b'"');
}

fn push_double_escaped_hex(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(&[
        b'\\',
        b'\\',
        b'x',
        HEX[usize::from(b >> 4)],
        HEX[usize::from(b & 0xf)],
    ]);
}

/// A `set[string]` as an array of strings (`[]` when empty).
pub fn push_string_set<'s>(out: &mut Vec<u8>, items: impl IntoIterator<Item = &'s [u8]>) {
    out.push(b'[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_string(out, item);
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn strings() {
        assert_eq!(s(|o| push_string(o, b"udp")), "\"udp\"");
        assert_eq!(s(|o| push_string(o, b"")), "\"\"");
        assert_eq!(s(|o| push_string(o, b"a\"b\\c")), "\"a\\\"b\\\\c\"");
        assert_eq!(s(|o| push_string(o, b"a\tb\n")), "\"a\\tb\\n\"");
        assert_eq!(s(|o| push_string(o, b"\x01\xff")), "\"\\\\x01\\\\xff\"");
        assert_eq!(s(|o| push_string(o, "é".as_bytes())), "\"é\"");
    }

    #[test]
    fn keys_and_sets() {
        assert_eq!(s(|o| push_key(o, "ts", true)), "\"ts\":");
        assert_eq!(s(|o| push_key(o, "id.orig_h", false)), ",\"id.orig_h\":");
        let none: [&[u8]; 0] = [];
        assert_eq!(s(|o| push_string_set(o, none)), "[]");
        let one: [&[u8]; 1] = [b"CHhAvVGS1DHFjwGM9"];
        assert_eq!(s(|o| push_string_set(o, one)), "[\"CHhAvVGS1DHFjwGM9\"]");
    }
}
