//! Addresses as Zeek logs them, built on the stack in fixed-size arrays.
//!
//! IPv4 is the dotted quad; IPv6 is glibc's `inet_ntop(AF_INET6)` text
//! (Zeek prints addresses through it): lowercase hex without leading
//! zeros, the first longest run of two or more zero words as `::`, and a
//! dotted IPv4 tail when the first six words are zero or the first five
//! zero and the sixth `ffff`. An IPv4-mapped IPv6 address is printed as
//! IPv4, because Zeek stores IPv4 as mapped IPv6 and tells the families
//! apart by that prefix.
//!
//! Each piece is written with one fixed-size store (a table entry or four
//! hex digits) and the position advanced by its real length, so the text
//! costs no per-character branches and no `Vec` pushes; callers copy the
//! whole array and keep `len` bytes.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Room for any address text (39 bytes at most) plus the slack the
/// fixed-size stores write past the end.
pub(crate) const ADDR_TEXT_CAP: usize = 48;

/// The text of one address: `bytes[..len]`.
#[derive(Clone, Copy)]
pub(crate) struct AddrText {
    pub(crate) bytes: [u8; ADDR_TEXT_CAP],
    pub(crate) len: usize,
}

impl AddrText {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Decimal text of every byte value followed by a dot, left-aligned, and
/// the length of the digits.
const OCTET_TEXT: [([u8; 4], u8); 256] = {
    let mut t = [([0u8; 4], 0u8); 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = if b >= 100 {
            ([b'0' + b / 100, b'0' + b / 10 % 10, b'0' + b % 10, b'.'], 3)
        } else if b >= 10 {
            ([b'0' + b / 10, b'0' + b % 10, b'.', 0], 2)
        } else {
            ([b'0' + b, b'.', 0, 0], 1)
        };
        i += 1;
    }
    t
};

/// Writes the dotted quad of `o` at `out[n..]` and returns the new end.
/// `out` must have 16 bytes of room from `n` (each octet stores 4).
#[inline(always)]
fn put_quad(out: &mut [u8], mut n: usize, o: [u8; 4]) -> usize {
    for b in o {
        let (digits, len) = OCTET_TEXT[usize::from(b)];
        if let Some(t) = out.get_mut(n..n + 4) {
            t.copy_from_slice(&digits);
        }
        n += usize::from(len) + 1;
    }
    // The last octet's dot is not part of the address.
    n - 1
}

/// Room [`write_ipv4`] needs.
pub(crate) const IPV4_TEXT_CAP: usize = 20;

/// Writes a dotted quad at the start of `out` (15 bytes at most are text;
/// the rest may be overwritten) and returns its length.
#[inline]
pub(crate) fn write_ipv4(out: &mut [u8; IPV4_TEXT_CAP], a: Ipv4Addr) -> usize {
    put_quad(out, 0, a.octets())
}

/// Any address, the way Zeek logs it.
#[inline]
pub(crate) fn addr(a: IpAddr) -> AddrText {
    match a {
        IpAddr::V4(v4) => {
            let mut t = AddrText {
                bytes: [0; ADDR_TEXT_CAP],
                len: 0,
            };
            t.len = put_quad(&mut t.bytes, 0, v4.octets());
            t
        }
        IpAddr::V6(v6) => ipv6(v6),
    }
}

/// For every set of zero words (bit `i` set: word `i` is zero), the first
/// longest run of two or more as `(start, length)`; `(0, 0)` if there is
/// none. This is the run `inet_ntop` prints as `::`.
const ZERO_RUN: [(u8, u8); 256] = {
    let mut t = [(0u8, 0u8); 256];
    let mut m = 0;
    while m < 256 {
        let (mut best_base, mut best_len, mut run) = (0, 0, 0);
        let mut i = 0;
        while i < 8 {
            if m >> i & 1 == 1 {
                run += 1;
                // Strictly longer only: ties keep the first run.
                if run > best_len {
                    best_len = run;
                    best_base = i + 1 - run;
                }
            } else {
                run = 0;
            }
            i += 1;
        }
        if best_len >= 2 {
            t[m] = (best_base as u8, best_len as u8);
        }
        m += 1;
    }
    t
};

/// An IPv6 address as Zeek logs it: IPv4-mapped ones dotted, the others
/// as `inet_ntop` prints them.
pub(crate) fn ipv6(a: Ipv6Addr) -> AddrText {
    let mut t = AddrText {
        bytes: [0; ADDR_TEXT_CAP],
        len: 0,
    };
    t.len = write_ipv6(&mut t.bytes, a);
    t
}

/// Writes [`ipv6`]'s text at the start of `out` (all of which may be
/// overwritten) and returns its length. Writing into the caller's buffer
/// saves a copy, and the copy's wide loads of text just stored in
/// narrower pieces, which the CPU cannot forward from its store buffer.
pub(crate) fn write_ipv6(out: &mut [u8; ADDR_TEXT_CAP], a: Ipv6Addr) -> usize {
    let w = a.segments();
    let o = a.octets();
    let mut zeros = 0usize;
    for (i, &x) in w.iter().enumerate() {
        zeros |= usize::from(x == 0) << i;
    }
    let (base, len) = ZERO_RUN[zeros];
    let (base, len) = (usize::from(base), usize::from(len));
    if base == 0 && (len == 6 || (len == 5 && w[5] == 0xffff)) {
        // `::a.b.c.d` and `::ffff:a.b.c.d`; the latter is IPv4-mapped and
        // printed as plain IPv4 (Zeek's rule, not inet_ntop's).
        if len == 5 {
            return put_quad(out, 0, [o[12], o[13], o[14], o[15]]);
        }
        out[..2].copy_from_slice(b"::");
        return put_quad(out, 2, [o[12], o[13], o[14], o[15]]);
    }
    // Every word is written as `hex:`; the `::` comes from one more colon
    // after the words before the run (two when there are none), and the
    // colon after the last word is taken back unless the run ends the
    // address.
    let mut n = 0;
    if len != 0 && base == 0 {
        out[0] = b':';
        n = 1;
    }
    let (head, tail) = if len == 0 { (8, 8) } else { (base, base + len) };
    for &x in &w[..head] {
        n = put_hex16_colon(out, n, x);
    }
    if len != 0 {
        out[n] = b':';
        n += 1;
    }
    for &x in &w[tail..] {
        n = put_hex16_colon(out, n, x);
    }
    if tail < 8 || len == 0 {
        n -= 1;
    }
    n
}

/// Two lowercase hex digits of every byte value, as a little-endian
/// `u16` (the first digit in the low byte).
const HEX_PAIRS: [u16; 256] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = u16::from_le_bytes([HEX[i >> 4], HEX[i & 0xf]]);
        i += 1;
    }
    t
};

/// Writes `w` in lowercase hex without leading zeros and a `:` at
/// `out[n..]` with one 8-byte store, and returns the new end.
#[inline(always)]
fn put_hex16_colon(out: &mut [u8], n: usize, w: u16) -> usize {
    let [hi, lo] = w.to_be_bytes();
    let digits =
        u64::from(HEX_PAIRS[usize::from(hi)]) | u64::from(HEX_PAIRS[usize::from(lo)]) << 16;
    // Leading zero digits to drop: 0..=3 (`| 1` keeps the last one of 0).
    let skip = ((w | 1).leading_zeros() / 4) as usize;
    let text = (digits >> (8 * skip)) | u64::from(b':') << (8 * (4 - skip));
    if let Some(t) = out.get_mut(n..n + 8) {
        t.copy_from_slice(&text.to_le_bytes());
    }
    n + 5 - skip
}

#[cfg(test)]
mod tests {
    use super::*;

    /// glibc's `inet_ntop` loop, written the plain way (one byte pushed at
    /// a time): the reference the table-driven text must match.
    fn reference_ipv6(a: Ipv6Addr) -> String {
        if let Some(v4) = a.to_ipv4_mapped() {
            return v4.to_string();
        }
        let words = a.segments();
        let (mut best_base, mut best_len) = (usize::MAX, 0usize);
        let (mut cur_base, mut cur_len) = (usize::MAX, 0usize);
        for (i, w) in words.iter().enumerate() {
            if *w == 0 {
                if cur_base == usize::MAX {
                    cur_base = i;
                    cur_len = 1;
                } else {
                    cur_len += 1;
                }
            } else if cur_base != usize::MAX {
                if best_base == usize::MAX || cur_len > best_len {
                    best_base = cur_base;
                    best_len = cur_len;
                }
                cur_base = usize::MAX;
            }
        }
        if cur_base != usize::MAX && (best_base == usize::MAX || cur_len > best_len) {
            best_base = cur_base;
            best_len = cur_len;
        }
        if best_base != usize::MAX && best_len < 2 {
            best_base = usize::MAX;
        }
        let mut out = String::new();
        let mut i = 0;
        while i < 8 {
            if best_base != usize::MAX && i >= best_base && i < best_base + best_len {
                if i == best_base {
                    out.push(':');
                }
                i += 1;
                continue;
            }
            if i != 0 {
                out.push(':');
            }
            if i == 6 && best_base == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff))
            {
                let o = a.octets();
                out.push_str(&Ipv4Addr::new(o[12], o[13], o[14], o[15]).to_string());
                return out;
            }
            out.push_str(&format!("{:x}", words[i]));
            i += 1;
        }
        if best_base != usize::MAX && best_base + best_len == 8 {
            out.push(':');
        }
        out
    }

    fn text(a: Ipv6Addr) -> String {
        String::from_utf8(ipv6(a).as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn ipv6_forms() {
        for (a, want) in [
            ("::", "::"),
            ("::1", "::1"),
            ("1::", "1::"),
            ("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"),
            ("1:0:0:2:3:0:0:4", "1::2:3:0:0:4"),
            ("1:0:0:2:0:0:0:4", "1:0:0:2::4"),
            ("::1.2.3.4", "::1.2.3.4"),
            ("::0.0.1.2", "::102"),
            ("::ffff:10.1.2.3", "10.1.2.3"),
            ("::ffff:0:10.1.2.3", "::ffff:0:a01:203"),
            ("0:0:0:0:1:ffff:1.2.3.4", "::1:ffff:102:304"),
            (
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            ),
            ("2001:db8::1", "2001:db8::1"),
            ("fe80::216:cbff:fe9a:4cb9", "fe80::216:cbff:fe9a:4cb9"),
            (
                "2001:470:1f11:81f:c999:d94:aa7c:2e3e",
                "2001:470:1f11:81f:c999:d94:aa7c:2e3e",
            ),
            ("0:1:0:0:0:0:0:0", "0:1::"),
            ("1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0"),
            ("f:f0:f00:f000::", "f:f0:f00:f000::"),
        ] {
            let ip: Ipv6Addr = a.parse().unwrap();
            assert_eq!(text(ip), want, "{a}");
            assert_eq!(text(ip), reference_ipv6(ip), "{a}");
        }
    }

    #[test]
    fn ipv4_is_the_dotted_quad() {
        for x in (0u32..=u32::MAX).step_by(65_537).chain([0, u32::MAX]) {
            let a = Ipv4Addr::from(x);
            let mut t = [0u8; IPV4_TEXT_CAP];
            let n = write_ipv4(&mut t, a);
            assert_eq!(&t[..n], a.to_string().as_bytes());
            assert_eq!(addr(IpAddr::V4(a)).as_bytes(), a.to_string().as_bytes());
        }
    }

    proptest::proptest! {
        #[test]
        fn ipv6_matches_the_reference(x: u128, zeros: u8, v4ish in 0u8..4) {
            // Zero out words by a mask so runs of every length and place
            // occur; sometimes force the IPv4-compatible/mapped prefixes.
            let mut w = Ipv6Addr::from(x).segments();
            for (i, s) in w.iter_mut().enumerate() {
                if zeros >> i & 1 == 1 {
                    *s = 0;
                }
            }
            match v4ish {
                1 => w[..6].fill(0),
                2 => {
                    w[..5].fill(0);
                    w[5] = 0xffff;
                }
                _ => {}
            }
            let a = Ipv6Addr::from(w);
            proptest::prop_assert_eq!(text(a), reference_ipv6(a));
        }
    }
}
