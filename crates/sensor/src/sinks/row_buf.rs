//! `RowBuf`: a reusable fixed-size buffer for building one TSV row with
//! few instructions per cell.
//!
//! A row is written through a [`Cursor`] (a local: the write position
//! stays in a register) into a fixed array far longer than any row it is
//! used for. Every write has a size known at compile time and first checks
//! that it fits, so the copy needs no call and no further bounds check;
//! numbers are written two digits at a time. Numbers, addresses and uids
//! are written straight into the row ([`Cursor::window`]) rather than
//! built in a local array and copied: such a copy loads, in wide pieces,
//! bytes just stored in narrow ones, which the CPU cannot forward from its
//! store buffer and waits for instead. Should a row ever not fit,
//! the cursor says so and the caller renders that row the general way, so
//! no input can make it panic or cut a row short. The finished row is
//! appended to the log buffer in one copy.
//!
//! The output is byte for byte what [`super::format`] prints: the tests
//! compare the two.

use core::net::IpAddr;

use connwatch_track::Uid;
use connwatch_wire::Timestamp;

use super::{addr_text, format};

/// Row capacity: about twice the longest conn.log row (two IPv6
/// addresses, six tunnel parents, 20-digit counters: about 600 bytes).
pub(crate) const ROW_CAP: usize = 1280;

/// `DIGIT_PAIRS[i]` is `i` (0..100) in two decimal digits.
const DIGIT_PAIRS: [[u8; 2]; 100] = {
    let mut t = [[0u8; 2]; 100];
    let mut i = 0;
    while i < 100 {
        t[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    t
};

/// `POW10[i]` is 10^i.
const POW10: [u64; 20] = {
    let mut t = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// `.` and `f` (< 10^6; taken modulo 10^6) in exactly six digits.
#[inline(always)]
fn put_frac6(out: &mut [u8; 7], f: u32) {
    let f = f % 1_000_000;
    out[0] = b'.';
    out[1..3].copy_from_slice(&DIGIT_PAIRS[(f / 10_000) as usize]);
    out[3..5].copy_from_slice(&DIGIT_PAIRS[(f / 100 % 100) as usize]);
    out[5..7].copy_from_slice(&DIGIT_PAIRS[(f % 100) as usize]);
}

/// The storage behind a [`Cursor`], kept by a sink and reused for every
/// row.
#[derive(Debug)]
pub(crate) struct RowBuf {
    buf: Box<[u8; ROW_CAP]>,
    /// For the cells rendered by the general functions in
    /// [`super::format`] / [`super::zeek_tsv`] (escaping, odd
    /// doubles); reused, so it allocates only while it first grows.
    scratch: Vec<u8>,
}

impl Default for RowBuf {
    fn default() -> Self {
        RowBuf {
            buf: Box::new([0; ROW_CAP]),
            scratch: Vec::new(),
        }
    }
}

impl RowBuf {
    /// Starts a row.
    #[inline]
    pub fn row(&mut self) -> Cursor<'_> {
        Cursor {
            b: &mut self.buf,
            n: 0,
            fits: true,
            scratch: &mut self.scratch,
        }
    }
}

/// A row being written.
pub(crate) struct Cursor<'a> {
    b: &'a mut [u8; ROW_CAP],
    n: usize,
    fits: bool,
    scratch: &'a mut Vec<u8>,
}

impl<'a> Cursor<'a> {
    /// The row, or `None` if it did not fit.
    #[inline]
    pub fn finish(self) -> Option<&'a [u8]> {
        if self.fits {
            self.b.get(..self.n)
        } else {
            None
        }
    }

    /// Copies all `K` bytes of `a` to the cursor and advances by `len`
    /// (`<= K`); what lies beyond is overwritten by the next cell. Marks
    /// the row as not fitting instead of writing past the end.
    #[inline(always)]
    fn put<const K: usize>(&mut self, a: &[u8; K], len: usize) {
        if let Some(out) = self.b.get_mut(self.n..self.n + K) {
            out.copy_from_slice(a);
            self.n += len.min(K);
        } else {
            self.fits = false;
        }
    }

    /// Lends `f` the next `K` bytes of the row to write into; `f` returns
    /// how many of them it wrote (the rest is overwritten by the next
    /// cell). Marks the row as not fitting instead of writing past the end.
    #[inline(always)]
    fn window<const K: usize>(&mut self, f: impl FnOnce(&mut [u8; K]) -> usize) {
        if let Some(out) = self.next::<K>() {
            let n = f(out).min(K);
            self.n += n;
        }
    }

    /// The next `K` bytes of the row, or `None` (and the row marked as
    /// not fitting) if they would run past its end.
    #[inline(always)]
    fn next<const K: usize>(&mut self) -> Option<&mut [u8; K]> {
        let Cursor { b, n, fits, .. } = self;
        let out = b.get_mut(*n..*n + K).and_then(|o| o.first_chunk_mut::<K>());
        if out.is_none() {
            *fits = false;
        }
        out
    }

    /// Appends one byte.
    #[inline(always)]
    pub fn byte(&mut self, b: u8) {
        self.put(&[b], 1);
    }

    /// Appends a fixed-size array.
    #[inline(always)]
    pub fn array<const K: usize>(&mut self, a: &[u8; K]) {
        self.put(a, K);
    }

    /// Appends bytes of any length (a copy of that length).
    #[inline]
    pub fn bytes(&mut self, s: &[u8]) {
        if let Some(out) = self.b.get_mut(self.n..self.n + s.len()) {
            out.copy_from_slice(s);
            self.n += s.len();
        } else {
            self.fits = false;
        }
    }

    /// Appends up to 32 bytes with at most two fixed-size copies (no
    /// `memcpy` call, no staging buffer); longer ones with
    /// [`bytes`](Self::bytes).
    #[inline(always)]
    pub fn short(&mut self, s: &[u8]) {
        let n = s.len();
        if n > 32 {
            return self.bytes(s);
        }
        let Some(out) = self.next::<32>() else {
            return;
        };
        // Two copies of a power-of-two size, overlapping when the length
        // lies between: the first from the start, the second ending at
        // the end.
        match n {
            16..=32 => {
                out[..16].copy_from_slice(&s[..16]);
                out[n - 16..n].copy_from_slice(&s[n - 16..]);
            }
            8..=15 => {
                out[..8].copy_from_slice(&s[..8]);
                out[n - 8..n].copy_from_slice(&s[n - 8..]);
            }
            4..=7 => {
                out[..4].copy_from_slice(&s[..4]);
                out[n - 4..n].copy_from_slice(&s[n - 4..]);
            }
            1..=3 => {
                out[0] = s[0];
                out[n / 2] = s[n / 2];
                out[n - 1] = s[n - 1];
            }
            _ => {}
        }
        self.n += n;
    }

    /// Appends a decimal number (what `itoa` prints).
    #[inline(always)]
    pub fn u64(&mut self, v: u64) {
        if v < 10 {
            self.byte(b'0' + v as u8);
        } else {
            self.u64_multi::<false>(0, v);
        }
    }

    /// Appends `sep` and then a decimal number: a cell and the separator
    /// before it in one copy.
    #[inline(always)]
    pub fn sep_u64(&mut self, sep: u8, v: u64) {
        if v < 10 {
            self.put(&[sep, b'0' + v as u8], 2);
        } else {
            self.u64_multi::<true>(sep, v);
        }
    }

    /// Digits of `v` (>= 10), after `sep` if `SEP`, written in place
    /// (u64 has at most 20 digits, plus `sep`).
    #[inline]
    fn u64_multi<const SEP: bool>(&mut self, sep: u8, v: u64) {
        let Some(out) = self.next::<21>() else {
            return;
        };
        let s = usize::from(SEP);
        if SEP {
            out[0] = sep;
        }
        // Most numbers in a row (ports, packets, small byte counts) have
        // two to four digits: fixed places, no digit count.
        let len = if v < 100 {
            out[s..s + 2].copy_from_slice(&DIGIT_PAIRS[(v % 100) as usize]);
            s + 2
        } else if v < 1_000 {
            out[s] = b'0' + (v / 100 % 10) as u8;
            out[s + 1..s + 3].copy_from_slice(&DIGIT_PAIRS[(v % 100) as usize]);
            s + 3
        } else if v < 10_000 {
            out[s..s + 2].copy_from_slice(&DIGIT_PAIRS[(v / 100 % 100) as usize]);
            out[s + 2..s + 4].copy_from_slice(&DIGIT_PAIRS[(v % 100) as usize]);
            s + 4
        } else {
            Self::digits_from_end(out, v, s)
        };
        self.n += len;
    }

    /// Writes `v` (>= 10,000) after `s` bytes of `out`, from its last digit
    /// back; returns the end.
    #[inline(never)]
    fn digits_from_end(out: &mut [u8; 21], mut v: u64, s: usize) -> usize {
        // Digits: the bit length gives the count or one more (1233/4096
        // is just over log10(2)); one comparison settles it.
        let bits = 64 - (v | 1).leading_zeros();
        let guess = ((bits * 1233) >> 12) as usize;
        let digits = guess + usize::from(v >= POW10[guess.min(19)]);
        let len = (s + digits).min(21);
        let mut i = len;
        // Four digits per step: the two pairs of one step do not depend on
        // each other, and the loop runs half as often. (The `i` checks
        // only keep the indexing provably in bounds.)
        while v >= 10_000 && i >= 4 {
            let r = (v % 10_000) as u32;
            v /= 10_000;
            i -= 4;
            out[i..i + 2].copy_from_slice(&DIGIT_PAIRS[(r / 100) as usize]);
            out[i + 2..i + 4].copy_from_slice(&DIGIT_PAIRS[(r % 100) as usize]);
        }
        if v >= 100 && i >= 2 {
            i -= 2;
            out[i..i + 2].copy_from_slice(&DIGIT_PAIRS[(v % 100) as usize]);
            v /= 100;
        }
        if v >= 10 && i >= 2 {
            out[i - 2..i].copy_from_slice(&DIGIT_PAIRS[v as usize]);
        } else if i >= 1 {
            out[i - 1] = b'0' + (v % 10) as u8;
        }
        len
    }

    /// Appends `.` and `f` (< 10^6) in exactly six digits.
    #[inline]
    fn frac6(&mut self, f: u32) {
        self.window::<7>(|out| {
            put_frac6(out, f);
            7
        });
    }

    /// A capture timestamp, as [`format::push_ts`] prints it.
    #[inline]
    pub fn timestamp(&mut self, ts: Timestamp) {
        let secs = ts.secs();
        if (1_000_000_000..1 << 33).contains(&secs) {
            // Every time from 2001 to 2242: ten digits and six decimals
            // at fixed places, no digit count. (From 2^33 s on, the
            // double Zeek prints no longer holds every microsecond: the
            // general path below.)
            let (secs, us) = (secs as u64, (ts.subsec_nanos() / 1000) as u32);
            self.window::<17>(|out| {
                let (hi, lo) = (secs / 100_000_000, secs % 100_000_000);
                let (a, b) = (lo / 10_000, lo % 10_000);
                out[0..2].copy_from_slice(&DIGIT_PAIRS[(hi % 100) as usize]);
                out[2..4].copy_from_slice(&DIGIT_PAIRS[(a / 100) as usize]);
                out[4..6].copy_from_slice(&DIGIT_PAIRS[(a % 100) as usize]);
                out[6..8].copy_from_slice(&DIGIT_PAIRS[(b / 100) as usize]);
                out[8..10].copy_from_slice(&DIGIT_PAIRS[(b % 100) as usize]);
                if let Some(frac) = out.last_chunk_mut::<7>() {
                    put_frac6(frac, us);
                }
                17
            });
        } else if (0..1 << 33).contains(&secs) {
            self.u64(secs as u64);
            self.frac6((ts.subsec_nanos() / 1000) as u32);
        } else {
            self.general(|out| format::push_ts(out, ts));
        }
    }

    /// A `time`/`interval` double, as [`format::push_fixed6`] prints it.
    #[inline]
    pub fn fixed6(&mut self, x: f64) {
        // push_fixed6's fast path, to the letter; everything else goes
        // through it.
        if x.is_sign_positive() && x < 1_099_511.0 {
            let s = x * 1e6;
            let r = s.round();
            if (s - r).abs() < 0.499 {
                let q = r as u64;
                self.u64(q / 1_000_000);
                self.frac6((q % 1_000_000) as u32);
                return;
            }
        }
        self.general(|out| format::push_fixed6(out, x));
    }

    /// An address, as [`format::push_addr`] prints it: one fixed-size
    /// copy of its text (see [`addr_text`]).
    #[inline]
    pub fn addr(&mut self, a: IpAddr) {
        match a {
            IpAddr::V4(v4) => self.window(|out| addr_text::write_ipv4(out, v4)),
            IpAddr::V6(v6) => self.window(|out| addr_text::write_ipv6(out, v6)),
        }
    }

    /// A uid.
    #[inline]
    pub fn uid(&mut self, uid: Uid) {
        self.window(|out| uid.write_ascii(out));
    }

    /// Appends what `f` writes (the general, `Vec`-based encoders).
    #[inline]
    pub fn general(&mut self, f: impl FnOnce(&mut Vec<u8>)) {
        let mut scratch = core::mem::take(self.scratch);
        scratch.clear();
        f(&mut scratch);
        self.bytes(&scratch);
        *self.scratch = scratch;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    fn text(f: impl FnOnce(&mut Cursor<'_>)) -> String {
        let mut buf = RowBuf::default();
        let mut r = buf.row();
        r.byte(b'<');
        f(&mut r);
        r.byte(b'>');
        String::from_utf8(r.finish().unwrap().to_vec()).unwrap()
    }

    fn via_format(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = b"<".to_vec();
        f(&mut v);
        v.push(b'>');
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn numbers_at_every_length() {
        let mut v = 1u64;
        for _ in 0..20 {
            for x in [v - 1, v, v + 1, v.saturating_mul(10) - 1] {
                assert_eq!(text(|r| r.u64(x)), format!("<{x}>"));
                assert_eq!(text(|r| r.sep_u64(b'\t', x)), format!("<\t{x}>"));
            }
            v = v.saturating_mul(10);
        }
        assert_eq!(text(|r| r.u64(u64::MAX)), format!("<{}>", u64::MAX));
    }

    #[test]
    fn addresses() {
        for a in [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.100.9",
            "1.22.133.4",
            "::ffff:1.2.3.4",
            "2001:db8::1",
            "::",
        ] {
            let ip: IpAddr = a.parse().unwrap();
            assert_eq!(
                text(|r| r.addr(ip)),
                via_format(|v| format::push_addr(v, ip)),
                "{a}"
            );
        }
    }

    #[test]
    fn doubles_and_timestamps_edge_cases() {
        for x in [
            0.0,
            -0.0,
            1e-7,
            0.0000005,
            0.0078125,
            0.9999995,
            1.0000005,
            1_099_510.999_999_9,
            1_099_511.0,
            1e22,
            f64::NAN,
            f64::INFINITY,
            -1.5,
        ] {
            assert_eq!(
                text(|r| r.fixed6(x)),
                via_format(|v| format::push_fixed6(v, x)),
                "{x}"
            );
        }
        for ns in [
            0i64,
            1_000,
            999_999_999,
            1 << 33,
            -1,
            i64::MAX,
            i64::MIN,
            1_000_000_000,
            1_700_000_010,
            (1 << 33) - 1,
            9_999_999_999,
            10_000_000_000,
        ] {
            let ts = Timestamp(ns.saturating_mul(1));
            let ts2 = Timestamp(ns.saturating_mul(1_000_000_000));
            for t in [ts, ts2] {
                assert_eq!(
                    text(|r| r.timestamp(t)),
                    via_format(|v| format::push_ts(v, t))
                );
            }
            // Ten-digit seconds with every kind of fraction (the fixed
            // path), and the values around it.
            for sub in [0, 1, 999, 1_000, 123_456_789, 999_999_999] {
                let t = Timestamp(ns.saturating_mul(1_000_000_000).saturating_add(sub));
                assert_eq!(
                    text(|r| r.timestamp(t)),
                    via_format(|v| format::push_ts(v, t))
                );
            }
        }
    }

    #[test]
    fn short_copies_every_length() {
        let src: Vec<u8> = (b'a'..=b'z').chain(b'A'..=b'Z').collect();
        for n in 0..=src.len() {
            let s = &src[..n];
            let want = format!("<{}>", String::from_utf8(s.to_vec()).unwrap());
            assert_eq!(text(|r| r.short(s)), want, "{n}");
        }
    }

    #[test]
    fn a_row_too_long_is_refused_not_cut() {
        let mut buf = RowBuf::default();
        let mut r = buf.row();
        for _ in 0..ROW_CAP / 32 - 1 {
            r.u64(u64::MAX);
            r.short(b"0123456789");
            r.array(b"-\t");
        }
        assert_eq!(r.finish().map(<[u8]>::len), Some((ROW_CAP / 32 - 1) * 32));
        let mut r = buf.row();
        for _ in 0..ROW_CAP / 32 + 1 {
            r.u64(u64::MAX);
            r.bytes(b"0123456789");
            r.array(b"-\t");
        }
        assert_eq!(r.finish(), None);
        // The buffer is reusable afterwards.
        let mut r = buf.row();
        r.short(b"ok");
        r.short(&[b'x'; 40]);
        assert_eq!(r.finish().map(<[u8]>::len), Some(42));
    }

    proptest::proptest! {
        #[test]
        fn numbers_match_itoa(x: u64, shift in 0u32..64) {
            let x = x >> shift;
            proptest::prop_assert_eq!(text(|r| r.u64(x)), format!("<{x}>"));
            proptest::prop_assert_eq!(text(|r| r.sep_u64(b',', x)), format!("<,{x}>"));
        }

        #[test]
        fn doubles_match_push_fixed6(bits: u64, secs in 0u64..2_000_000, micros in 0u64..1_000_000) {
            let x = f64::from_bits(bits);
            proptest::prop_assert_eq!(
                text(|r| r.fixed6(x)),
                via_format(|v| format::push_fixed6(v, x))
            );
            // Durations as the difference of two epoch doubles.
            let a = 1_700_000_000.0 + micros as f64 / 1e6;
            let b = a + secs as f64 + (micros % 7) as f64 / 1e6;
            let d = b - a;
            proptest::prop_assert_eq!(
                text(|r| r.fixed6(d)),
                via_format(|v| format::push_fixed6(v, d))
            );
        }

        #[test]
        fn timestamps_match_push_ts(ns: i64) {
            let ts = Timestamp(ns);
            proptest::prop_assert_eq!(
                text(|r| r.timestamp(ts)),
                via_format(|v| format::push_ts(v, ts))
            );
        }

        #[test]
        fn ipv4_matches_push_addr(a: u32) {
            let ip = IpAddr::V4(Ipv4Addr::from(a));
            proptest::prop_assert_eq!(
                text(|r| r.addr(ip)),
                via_format(|v| format::push_addr(v, ip))
            );
        }
    }
}
