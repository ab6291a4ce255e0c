//! Duration strings: `30sec`, `10mins`, `1.5h`, `500ms`, …
//!
//! One parser for every duration in the config (timeouts now, long-
//! connection thresholds later). Values are exact: decimal digits are
//! scaled in integers, never through `f64`.

use connwatch_wire::Duration;

/// Units in nanoseconds, by every accepted spelling (Zeek's interval units
/// and the usual short forms).
const UNITS: &[(&str, u128)] = &[
    ("usec", 1_000),
    ("usecs", 1_000),
    ("us", 1_000),
    ("msec", 1_000_000),
    ("msecs", 1_000_000),
    ("ms", 1_000_000),
    ("sec", 1_000_000_000),
    ("secs", 1_000_000_000),
    ("s", 1_000_000_000),
    ("min", 60_000_000_000),
    ("mins", 60_000_000_000),
    ("m", 60_000_000_000),
    ("hr", 3_600_000_000_000),
    ("hrs", 3_600_000_000_000),
    ("h", 3_600_000_000_000),
    ("day", 86_400_000_000_000),
    ("days", 86_400_000_000_000),
    ("d", 86_400_000_000_000),
];

/// Parses a non-negative duration: a decimal number, optional spaces, and
/// a unit (`usec`/`us`, `msec`/`ms`, `sec`/`s`, `min`/`m`, `hr`/`h`,
/// `day`/`d`, Zeek plurals too). Digits beyond nanosecond precision are
/// dropped.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let num_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(num_end);
    let unit = unit.trim_start();
    if num.is_empty() {
        return Err(format!(
            "invalid duration `{s}`: expected a number and a unit, e.g. 30sec, 10min, 1hr"
        ));
    }
    if unit.is_empty() {
        return Err(format!(
            "invalid duration `{s}`: missing unit (usec, msec, sec, min, hr, day or us, ms, s, m, h, d)"
        ));
    }
    let Some(&(_, unit_ns)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(format!(
            "invalid duration `{s}`: unknown unit `{unit}` (usec, msec, sec, min, hr, day or us, ms, s, m, h, d)"
        ));
    };
    let (int_digits, frac_digits) = num.split_once('.').unwrap_or((num, ""));
    if (int_digits.is_empty() && frac_digits.is_empty()) || frac_digits.contains('.') {
        return Err(format!("invalid duration `{s}`: bad number `{num}`"));
    }
    let too_large = || format!("invalid duration `{s}`: too large");
    let mut nanos: u128 = 0;
    for d in int_digits.bytes() {
        nanos = nanos
            .checked_mul(10)
            .and_then(|n| n.checked_add(u128::from(d - b'0')))
            .ok_or_else(too_large)?;
        if nanos > i64::MAX as u128 {
            return Err(too_large());
        }
    }
    nanos = nanos.checked_mul(unit_ns).ok_or_else(too_large)?;
    // Fraction: at most 18 digits matter below a day's nanoseconds.
    let mut frac: u128 = 0;
    let mut scale: u128 = 1;
    for d in frac_digits.bytes().take(18) {
        frac = frac * 10 + u128::from(d - b'0');
        scale *= 10;
    }
    nanos += frac * unit_ns / scale;
    i64::try_from(nanos).map(Duration).map_err(|_| too_large())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(s: &str) -> i64 {
        parse_duration(s).unwrap().as_nanos()
    }

    #[test]
    fn zeek_spellings() {
        assert_eq!(ns("30sec"), 30_000_000_000);
        assert_eq!(ns("30secs"), 30_000_000_000);
        assert_eq!(ns("10min"), 600_000_000_000);
        assert_eq!(ns("30mins"), 1_800_000_000_000);
        assert_eq!(ns("1hr"), 3_600_000_000_000);
        assert_eq!(ns("12hrs"), 43_200_000_000_000);
        assert_eq!(ns("1day"), 86_400_000_000_000);
        assert_eq!(ns("3days"), 259_200_000_000_000);
        assert_eq!(ns("250usec"), 250_000);
        assert_eq!(ns("250msec"), 250_000_000);
        assert_eq!(ns("5 min"), 300_000_000_000);
    }

    #[test]
    fn short_spellings_and_decimals() {
        assert_eq!(ns("30s"), 30_000_000_000);
        assert_eq!(ns("10m"), 600_000_000_000);
        assert_eq!(ns("1h"), 3_600_000_000_000);
        assert_eq!(ns("3d"), 259_200_000_000_000);
        assert_eq!(ns("500ms"), 500_000_000);
        assert_eq!(ns("7us"), 7_000);
        assert_eq!(ns("1.5min"), 90_000_000_000);
        assert_eq!(ns("0.1s"), 100_000_000);
        assert_eq!(ns(".5s"), 500_000_000);
        assert_eq!(ns("2.s"), 2_000_000_000);
        assert_eq!(ns("0s"), 0);
        assert_eq!(ns(" 6s "), 6_000_000_000);
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "s",
            "10",
            "10 minutes",
            "-5s",
            "1.2.3s",
            ".s",
            "5S",
            "1e3s",
            "abc",
            "99999999999999999999d",
            "200000days",
        ] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.contains("invalid duration"), "{bad}: {err}");
        }
        assert!(parse_duration("10").unwrap_err().contains("missing unit"));
        assert!(parse_duration("10 minutes")
            .unwrap_err()
            .contains("unknown unit `minutes`"));
    }
}
