//! Number and address formatting exactly as Zeek prints them, appended
//! straight into a byte buffer (no allocation, no `core::fmt` on the hot
//! path).
//!
//! * [`push_fixed6`]: `time`/`interval` in TSV, like C++
//!   `std::to_chars(fixed, 6)`: correctly rounded from the exact binary value,
//!   ties to even (spec §1.2).
//! * [`push_json_double`]: `time`/`interval` in JSON (spec §1.4): the
//!   shortest round-trip digits laid out by rapidjson's `Prettify` rules
//!   (`3.0`, `0.5`, `9.5367431640625e-7`). The digits are the shortest
//!   *and closest* ones (what Rust's `{:e}` prints), not rapidjson's Grisu2
//!   digits: Zeek 8.2.2 printed `0.21148395538330078` (spec Appendix A,
//!   row 3) where Grisu2 yields `0.21148395538330079`.
//! * [`push_addr`]: dotted quad / glibc `inet_ntop` for IPv6, with Zeek's
//!   rule that IPv4-mapped IPv6 addresses *are* IPv4 addresses.

use core::net::IpAddr;

/// Appends an unsigned integer in decimal.
#[inline]
pub fn push_u64(out: &mut Vec<u8>, v: u64) {
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b.format(v).as_bytes());
}

/// Appends a capture timestamp with six decimals: exactly what
/// [`push_fixed6`] prints for Zeek's double `sec + usec / 1e6`, computed
/// from the integers. Below 2^33 seconds the double is within half a
/// microsecond of the true value, so rounding it to six decimals gives the
/// microseconds back; larger or negative times take the general path.
#[inline]
pub fn push_ts(out: &mut Vec<u8>, ts: connwatch_wire::Timestamp) {
    let secs = ts.secs();
    if (0..1 << 33).contains(&secs) {
        push_u64(out, secs as u64);
        let mut digits = [b'.', b'0', b'0', b'0', b'0', b'0', b'0'];
        let mut f = (ts.subsec_nanos() / 1000) as u32;
        for d in digits[1..].iter_mut().rev() {
            *d = b'0' + (f % 10) as u8;
            f /= 10;
        }
        out.extend_from_slice(&digits);
    } else {
        push_fixed6(out, ts.as_zeek_secs());
    }
}

/// Appends `x` with exactly six decimals, correctly rounded (ties to even),
/// with a leading `-` when the sign bit is set (`-0.000000` for `-0.0`, as
/// `std::to_chars` prints it).
pub fn push_fixed6(out: &mut Vec<u8>, x: f64) {
    if !x.is_finite() {
        // std::to_chars spelling; Zeek never logs such times.
        out.extend_from_slice(if x.is_nan() {
            b"nan"
        } else if x > 0.0 {
            b"inf"
        } else {
            b"-inf"
        });
        return;
    }
    // Fast path: below 2^40 / 1e6 the product x * 1e6 is off by less than
    // 1e-3, so unless it lies near a tie its rounding is the exact one.
    if x.is_sign_positive() && x < 1_099_511.0 {
        let s = x * 1e6;
        let r = s.round();
        if (s - r).abs() < 0.499 {
            let q = r as u64;
            push_u64(out, q / 1_000_000);
            let mut digits = [b'.', b'0', b'0', b'0', b'0', b'0', b'0'];
            let mut f = (q % 1_000_000) as u32;
            for d in digits[1..].iter_mut().rev() {
                *d = b'0' + (f % 10) as u8;
                f /= 10;
            }
            out.extend_from_slice(&digits);
            return;
        }
    }
    if x.is_sign_negative() {
        out.push(b'-');
    }
    let bits = x.abs().to_bits();
    let biased = (bits >> 52) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    // value = mant * 2^exp exactly.
    let (mant, exp) = if biased == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), biased - 1075)
    };
    // Scaled value q = round(value * 1e6); mant * 1e6 < 2^73 fits in u128.
    let scaled = u128::from(mant) * 1_000_000;
    let q: u128 = if exp >= 0 {
        if exp > 127 - 73 {
            // Above ~1.8e22 the u128 would overflow; fall back to core::fmt,
            // which is also exact. Never reached by real timestamps.
            push_fixed6_slow(out, x.abs());
            return;
        }
        scaled << exp
    } else {
        let shift = (-exp) as u32;
        if shift >= 128 {
            0 // value * 1e6 < 2^73 / 2^128: far below one half
        } else {
            let q = scaled >> shift;
            let rem = scaled & ((1u128 << shift) - 1);
            let half = 1u128 << (shift - 1);
            if rem > half || (rem == half && q & 1 == 1) {
                q + 1
            } else {
                q
            }
        }
    };
    // u128 division is a slow library call; real times fit in u64.
    let (int_part, frac_part) = match u64::try_from(q) {
        Ok(q) => (u128::from(q / 1_000_000), (q % 1_000_000) as u32),
        Err(_) => (q / 1_000_000, (q % 1_000_000) as u32),
    };
    match u64::try_from(int_part) {
        Ok(i) => push_u64(out, i),
        Err(_) => {
            let mut b = itoa::Buffer::new();
            out.extend_from_slice(b.format(int_part).as_bytes());
        }
    }
    out.push(b'.');
    let mut digits = [b'0'; 6];
    let mut f = frac_part;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (f % 10) as u8;
        f /= 10;
    }
    out.extend_from_slice(&digits);
}

/// Exact fallback for huge magnitudes: `core::fmt` into a stack buffer.
#[cold]
fn push_fixed6_slow(out: &mut Vec<u8>, x: f64) {
    use std::io::Write as _;
    // f64::MAX has 309 integer digits.
    let mut buf = [0u8; 330];
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    if write!(cursor, "{x:.6}").is_ok() {
        let n = cursor.position() as usize;
        out.extend_from_slice(&buf[..n]);
    }
}

/// Appends `x` as a JSON number the way Zeek writes `time`/`interval`:
/// integral values keep `.0`, plain decimals while the decimal exponent is
/// in [-6, 21), otherwise `d.ddde-N` / `de21` without a `+`. Non-finite
/// values become `null`, as Zeek's JSON writer does.
pub fn push_json_double(out: &mut Vec<u8>, x: f64) {
    use std::io::Write as _;
    if !x.is_finite() {
        out.extend_from_slice(b"null");
        return;
    }
    if x == 0.0 {
        if x.is_sign_negative() {
            out.push(b'-');
        }
        out.extend_from_slice(b"0.0");
        return;
    }
    if x < 0.0 {
        out.push(b'-');
    }
    // `{:e}` prints the shortest round-trip digits: `2.1148395538330078e-1`.
    let mut buf = [0u8; 32];
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    if write!(cursor, "{:e}", x.abs()).is_err() {
        return; // cannot happen: at most 24 bytes
    }
    let n = cursor.position() as usize;
    let text = &buf[..n];
    let e_pos = text.iter().position(|&b| b == b'e').unwrap_or(text.len());
    let mut digits = [0u8; 17];
    let mut len = 0;
    for &b in &text[..e_pos] {
        if b.is_ascii_digit() && len < digits.len() {
            digits[len] = b;
            len += 1;
        }
    }
    let exp = parse_exp(&text[(e_pos + 1).min(text.len())..]);
    // digits × 10^k with the point after the last digit.
    prettify(out, &digits[..len], exp - (len as i32 - 1));
}

fn parse_exp(s: &[u8]) -> i32 {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let v = digits
        .iter()
        .fold(0i32, |acc, d| acc * 10 + i32::from(d.wrapping_sub(b'0')));
    if neg {
        -v
    } else {
        v
    }
}

/// rapidjson's `Prettify`: `digits` × 10^`k` laid out as text.
fn prettify(out: &mut Vec<u8>, digits: &[u8], k: i32) {
    let length = digits.len() as i32;
    let kk = length + k; // 10^(kk-1) <= v < 10^kk
    if k >= 0 && kk <= 21 {
        // 1234e7 -> 12340000000.0
        out.extend_from_slice(digits);
        out.extend(core::iter::repeat_n(b'0', k as usize));
        out.extend_from_slice(b".0");
    } else if 0 < kk && kk <= 21 {
        // 1234e-2 -> 12.34
        let (int, frac) = digits.split_at(kk as usize);
        out.extend_from_slice(int);
        out.push(b'.');
        out.extend_from_slice(frac);
    } else if -6 < kk && kk <= 0 {
        // 1234e-6 -> 0.001234
        out.extend_from_slice(b"0.");
        out.extend(core::iter::repeat_n(b'0', (-kk) as usize));
        out.extend_from_slice(digits);
    } else {
        // 1e30, 1234e30 -> 1.234e33
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        let e = kk - 1;
        if e < 0 {
            out.push(b'-');
        }
        push_u64(out, u64::from(e.unsigned_abs()));
    }
}

/// Appends an address the way Zeek logs it (see `sinks/addr_text.rs`):
/// dotted quad, glibc `inet_ntop` for IPv6, IPv4-mapped IPv6 as IPv4.
#[inline]
pub fn push_addr(out: &mut Vec<u8>, addr: IpAddr) {
    out.extend_from_slice(super::addr_text::addr(addr).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};

    fn fixed6(x: f64) -> String {
        let mut v = Vec::new();
        push_fixed6(&mut v, x);
        String::from_utf8(v).unwrap()
    }

    fn json(x: f64) -> String {
        let mut v = Vec::new();
        push_json_double(&mut v, x);
        String::from_utf8(v).unwrap()
    }

    fn addr(s: &str) -> String {
        let mut v = Vec::new();
        push_addr(&mut v, s.parse().unwrap());
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn fixed6_examples_from_spec() {
        assert_eq!(fixed6(1300475167.096535), "1300475167.096535");
        assert_eq!(fixed6(0.00001), "0.000010");
        assert_eq!(fixed6(300.00001), "300.000010");
        assert_eq!(fixed6(0.0), "0.000000");
        assert_eq!(fixed6(-0.0), "-0.000000");
        assert_eq!(fixed6(-1.5), "-1.500000");
        assert_eq!(fixed6(-1e-9), "-0.000000");
        assert_eq!(fixed6(1e300 * 10.0).len(), 302 + 7);
        assert_eq!(fixed6(1e22), "10000000000000000000000.000000");
    }

    #[test]
    fn fixed6_rounds_ties_to_even_on_the_exact_value() {
        // 1/128 = 0.0078125 exactly: a true tie, even digit kept.
        assert_eq!(fixed6(0.0078125), "0.007812");
        // 0.0234375 = 3/128: tie, rounds up to the even 0.023438.
        assert_eq!(fixed6(0.0234375), "0.023438");
        // 0.0000005 is slightly below 5e-7 in binary: rounds down.
        assert_eq!(fixed6(0.0000005), "0.000000");
        // 1.0000005 is slightly above in binary: rounds up.
        assert_eq!(fixed6(1.0000005), "1.000001");
        // Duration of two epoch doubles (spec §1.4 example): 1 µs apart.
        let a = 1300475167.0 + 96535.0 / 1e6;
        let b = 1300475167.0 + 96536.0 / 1e6;
        assert_eq!(fixed6(b - a), "0.000001");
        assert_eq!(fixed6(f64::MIN_POSITIVE), "0.000000");
        assert_eq!(fixed6(5e-324), "0.000000");
        assert_eq!(fixed6(0.9999995), format!("{:.6}", 0.9999995));
        assert_eq!(fixed6(0.99999949), "0.999999");
    }

    #[test]
    fn fixed6_agrees_with_core_fmt_everywhere() {
        // core::fmt's `{:.6}` is exact with ties to even; compare over a
        // wide, deterministic sample (splitmix64 bit patterns and
        // epoch-like values with microsecond parts).
        let mut s = 0x1234_5678_9abc_def0u64;
        let mut next = || {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        for _ in 0..200_000 {
            let r = next();
            let x = f64::from_bits(r);
            if x.is_finite() && x.abs() < 1e22 {
                assert_eq!(fixed6(x), format!("{x:.6}"), "bits {r:#x}");
            }
            let epoch = (r % 2_000_000_000) as f64 + ((r >> 40) % 1_000_000) as f64 / 1e6;
            assert_eq!(fixed6(epoch), format!("{epoch:.6}"));
            let d = epoch - ((r % 2_000_000_000) as f64 - 0.25);
            assert_eq!(fixed6(d), format!("{d:.6}"));
            let small = (r >> 11) as f64 / (1u64 << 53) as f64 * 10.0;
            assert_eq!(fixed6(small), format!("{small:.6}"));
        }
    }

    #[test]
    fn json_double_examples_from_spec() {
        assert_eq!(json(3.0), "3.0");
        assert_eq!(json(0.5), "0.5");
        assert_eq!(json(1300475167.0), "1300475167.0");
        assert_eq!(json(1300475167.096535), "1300475167.096535");
        // Capture times are built as `sec + usec / 1e6` (spec §1.2).
        let t = |sec: i64, usec: i64| sec as f64 + usec as f64 / 1e6;
        let start = t(1300475167, 96535);
        assert_eq!(json(t(1300475167, 308019) - start), "0.21148395538330078");
        assert_eq!(json(t(1300475167, 96536) - start), "9.5367431640625e-7");
        assert_eq!(json(5.00114107131958), "5.00114107131958");
    }

    #[test]
    fn json_double_layout_rules() {
        assert_eq!(json(1e-7), "1e-7");
        assert_eq!(json(1e-6), "0.000001");
        assert_eq!(json(1.5e-6), "0.0000015");
        assert_eq!(json(1e30), "1e30");
        assert_eq!(json(1.234e33), "1.234e33");
        assert_eq!(json(1e20), "100000000000000000000.0");
        assert_eq!(json(1e21), "1e21");
        assert_eq!(json(123e18), "123000000000000000000.0");
        assert_eq!(json(1.5e21), "1.5e21");
        assert_eq!(json(0.0), "0.0");
        assert_eq!(json(-0.0), "-0.0");
        assert_eq!(json(-2.5), "-2.5");
        assert_eq!(json(12.34), "12.34");
        assert_eq!(json(1e-100), "1e-100");
        assert_eq!(json(5e-324), "5e-324");
        assert_eq!(json(f64::MAX), "1.7976931348623157e308");
        assert_eq!(json(f64::NAN), "null");
        assert_eq!(json(f64::INFINITY), "null");
    }

    #[test]
    fn json_double_round_trips_with_shortest_digits() {
        let mut s = 0xdead_beef_u64;
        for _ in 0..100_000 {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            let x = f64::from_bits(z ^ (z >> 31));
            if !x.is_finite() {
                continue;
            }
            let text = json(x);
            let back: f64 = text.parse().unwrap();
            assert_eq!(back.to_bits(), x.to_bits(), "{text}");
            // Same digits as Rust's shortest form.
            let shortest = format!("{:e}", x.abs());
            let want: String = shortest.split('e').next().unwrap().replace('.', "");
            let got: String = text
                .trim_start_matches('-')
                .split('e')
                .next()
                .unwrap()
                .trim_end_matches(".0")
                .replace('.', "")
                .trim_start_matches('0')
                .trim_end_matches('0')
                .to_string();
            assert_eq!(got, want.trim_end_matches('0'), "{text} vs {shortest}");
        }
    }

    #[test]
    fn ipv4_and_ipv6_like_inet_ntop() {
        assert_eq!(addr("141.142.220.202"), "141.142.220.202");
        assert_eq!(addr("0.0.0.0"), "0.0.0.0");
        assert_eq!(
            addr("2001:470:1f11:81f:c999:d94:aa7c:2e3e"),
            "2001:470:1f11:81f:c999:d94:aa7c:2e3e"
        );
        assert_eq!(addr("fe80::216:cbff:fe9a:4cb9"), "fe80::216:cbff:fe9a:4cb9");
        assert_eq!(addr("ff02::fb"), "ff02::fb");
        assert_eq!(addr("::"), "::");
        assert_eq!(addr("::1"), "::1");
        assert_eq!(addr("1::"), "1::");
        // A single zero word is not compressed.
        assert_eq!(addr("1:0:2:3:4:5:6:7"), "1:0:2:3:4:5:6:7");
        // First of two equally long runs wins.
        assert_eq!(addr("1:0:0:2:3:0:0:4"), "1::2:3:0:0:4");
        assert_eq!(addr("1:0:0:2:0:0:0:4"), "1:0:0:2::4");
        // IPv4-compatible form, as glibc prints it.
        assert_eq!(addr("::1.2.3.4"), "::1.2.3.4");
        assert_eq!(addr("::0.0.1.2"), "::102");
        // IPv4-mapped addresses are IPv4 for Zeek.
        assert_eq!(addr("::ffff:10.1.2.3"), "10.1.2.3");
        assert_eq!(addr("2002:c000:22a::1"), "2002:c000:22a::1");
    }

    #[test]
    fn ipv4_matches_std_display() {
        for x in (0u32..=u32::MAX)
            .step_by(65_537)
            .chain([0, u32::MAX, 0x0a00_0001])
        {
            let a = Ipv4Addr::from(x);
            let mut v = Vec::new();
            push_addr(&mut v, IpAddr::V4(a));
            assert_eq!(String::from_utf8(v).unwrap(), a.to_string());
        }
    }

    #[test]
    fn ipv6_matches_std_display_for_plain_addresses() {
        let mut s = 7u64;
        for _ in 0..20_000 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            // Sprinkle zero words so compression is exercised.
            let mut w = [0u16; 8];
            for (i, x) in w.iter_mut().enumerate() {
                let r = (s >> (i * 8)) as u16;
                *x = if r & 3 == 0 { r } else { 0 };
            }
            w[0] |= 0x2000; // keep clear of the v4 special forms
            let a = Ipv6Addr::from(w);
            let mut v = Vec::new();
            push_addr(&mut v, IpAddr::V6(a));
            assert_eq!(String::from_utf8(v).unwrap(), a.to_string());
        }
    }
}
