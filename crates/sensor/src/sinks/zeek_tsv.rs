//! The TSV encoding of Zeek's ASCII writer (spec §1.1, §1.2): header lines,
//! value rendering and escaping. Pure functions appending to a buffer; the
//! row bookkeeping lives in [`super::zeek_log`].

use core::net::IpAddr;

use super::format;
use super::wall_clock::WallTime;
use super::zeek_fields::LogSchema;

/// Column separator.
pub const SEPARATOR: u8 = b'\t';
/// Separator between set elements.
pub const SET_SEPARATOR: u8 = b',';
/// Placeholder for an empty string or container.
pub const EMPTY_FIELD: &[u8] = b"(empty)";
/// Placeholder for an unset field.
pub const UNSET_FIELD: &[u8] = b"-";

/// Appends the header: the fixed meta lines, `#open`, `#fields`, `#types`.
pub fn push_header(out: &mut Vec<u8>, schema: &LogSchema, open: WallTime) {
    // The first line is special: a space, then the separator escaped.
    out.extend_from_slice(b"#separator \\x09\n");
    meta_line(out, b"set_separator", &[SET_SEPARATOR]);
    meta_line(out, b"empty_field", EMPTY_FIELD);
    meta_line(out, b"unset_field", UNSET_FIELD);
    meta_line(out, b"path", schema.path.as_bytes());
    push_time_line(out, b"open", open);
    out.extend_from_slice(b"#fields");
    for f in schema.fields {
        out.push(SEPARATOR);
        out.extend_from_slice(f.name.as_bytes());
    }
    out.push(b'\n');
    out.extend_from_slice(b"#types");
    for f in schema.fields {
        out.push(SEPARATOR);
        out.extend_from_slice(f.ty.name().as_bytes());
    }
    out.push(b'\n');
}

/// Appends `#close<TAB>YYYY-MM-DD-HH-MM-SS`.
pub fn push_close(out: &mut Vec<u8>, close: WallTime) {
    push_time_line(out, b"close", close);
}

fn meta_line(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    out.push(b'#');
    out.extend_from_slice(key);
    out.push(SEPARATOR);
    // Meta values are written escaped too; the defaults need no escaping,
    // but a path with odd bytes would.
    push_escaped(out, value, false);
    out.push(b'\n');
}

fn push_time_line(out: &mut Vec<u8>, key: &[u8], t: WallTime) {
    out.push(b'#');
    out.extend_from_slice(key);
    out.push(SEPARATOR);
    t.push_zeek(out);
    out.push(b'\n');
}

/// `time` / `interval`: six decimals, correctly rounded.
#[inline]
pub fn push_time(out: &mut Vec<u8>, secs: f64) {
    format::push_fixed6(out, secs);
}

/// `addr`.
#[inline]
pub fn push_addr(out: &mut Vec<u8>, a: IpAddr) {
    format::push_addr(out, a);
}

/// `bool`.
#[inline]
pub fn push_bool(out: &mut Vec<u8>, b: bool) {
    out.push(if b { b'T' } else { b'F' });
}

/// A `string` value (or one set element when `in_set`): `(empty)` when
/// empty; the placeholders `-` and `(empty)` get their first byte
/// hex-escaped so they stay distinguishable; otherwise [`push_escaped`].
pub fn push_string(out: &mut Vec<u8>, s: &[u8], in_set: bool) {
    if s.is_empty() {
        out.extend_from_slice(EMPTY_FIELD);
    } else if s == UNSET_FIELD || s == EMPTY_FIELD {
        push_hex(out, s[0]);
        out.extend_from_slice(&s[1..]);
    } else {
        push_escaped(out, s, in_set);
    }
}

/// Appends a `set[string]`: elements joined with `,`, `(empty)` if none.
pub fn push_string_set<'s>(out: &mut Vec<u8>, items: impl IntoIterator<Item = &'s [u8]>) {
    let start = out.len();
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(SET_SEPARATOR);
        }
        push_string(out, item, true);
    }
    if out.len() == start {
        out.extend_from_slice(EMPTY_FIELD);
    }
}

/// Escapes like Zeek's `ODesc::AddBytes` with UTF-8 enabled: a backslash,
/// the separator (and `,` inside sets), ASCII control bytes and bytes that
/// are not part of valid UTF-8 become `\xNN`; valid UTF-8 passes through.
pub fn push_escaped(out: &mut Vec<u8>, s: &[u8], in_set: bool) {
    let needs = |b: u8| ESCAPE[usize::from(b)] & (1 | u8::from(in_set) << 1) != 0;
    if !s.iter().any(|&b| needs(b)) {
        out.extend_from_slice(s);
        return;
    }
    let mut rest = s;
    while !rest.is_empty() {
        // Longest valid UTF-8 prefix, then escape within it byte by byte
        // where needed (multi-byte sequences pass whole).
        let (valid, bad) = match core::str::from_utf8(rest) {
            Ok(v) => (v.len(), 0),
            Err(e) => (
                e.valid_up_to(),
                e.error_len().unwrap_or(rest.len() - e.valid_up_to()),
            ),
        };
        for &b in &rest[..valid] {
            if b < 0x80 && needs(b) {
                push_hex(out, b);
            } else {
                out.push(b);
            }
        }
        for &b in &rest[valid..valid + bad] {
            push_hex(out, b);
        }
        rest = &rest[valid + bad..];
    }
}

/// Per byte: bit 0 = needs a look in any string (control, backslash,
/// non-ASCII), bit 1 = needs escaping inside a set element (`,`).
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        if i < 0x20 || i >= 0x7f || i == b'\\' as usize {
            t[i] = 1;
        }
        i += 1;
    }
    t[SET_SEPARATOR as usize] = 2;
    t
};

/// Appends `\xNN` (lowercase hex).
#[inline]
pub fn push_hex(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(&[
        b'\\',
        b'x',
        HEX[usize::from(b >> 4)],
        HEX[usize::from(b & 0xf)],
    ]);
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
    fn string_escaping() {
        assert_eq!(s(|o| push_string(o, b"", false)), "(empty)");
        assert_eq!(s(|o| push_string(o, b"-", false)), "\\x2d");
        assert_eq!(s(|o| push_string(o, b"(empty)", false)), "\\x28empty)");
        assert_eq!(s(|o| push_string(o, b"ShADadFf", false)), "ShADadFf");
        assert_eq!(s(|o| push_string(o, b"a\tb", false)), "a\\x09b");
        assert_eq!(s(|o| push_string(o, b"a\\b", false)), "a\\x5cb");
        assert_eq!(s(|o| push_string(o, b"a,b", false)), "a,b");
        assert_eq!(s(|o| push_string(o, b"a,b", true)), "a\\x2cb");
        assert_eq!(
            s(|o| push_string(o, b"\x00\x7f\n", false)),
            "\\x00\\x7f\\x0a"
        );
        assert_eq!(s(|o| push_string(o, "grüß".as_bytes(), false)), "grüß");
        assert_eq!(s(|o| push_string(o, b"a\xffb\xc3", false)), "a\\xffb\\xc3");
        assert_eq!(s(|o| push_string(o, b"-x", false)), "-x");
    }

    #[test]
    fn sets() {
        let none: [&[u8]; 0] = [];
        assert_eq!(s(|o| push_string_set(o, none)), "(empty)");
        let two: [&[u8]; 2] = [b"CHhAvVGS1DHFjwGM9", b"a,b"];
        assert_eq!(s(|o| push_string_set(o, two)), "CHhAvVGS1DHFjwGM9,a\\x2cb");
        let empty_elem: [&[u8]; 1] = [b""];
        assert_eq!(s(|o| push_string_set(o, empty_elem)), "(empty)");
    }
}
