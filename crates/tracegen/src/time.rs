//! Time as plain `i64` nanoseconds: unit helpers, a tick iterator and a
//! duration parser for the command line.
//!
//! Plain integers (not a newtype) keep scenario code short (`secs(10) + ms(1)`)
//! and make every computation exact, so traces are bit-identical everywhere.

/// Nanoseconds: a duration, an offset from a scenario's start, or (in
/// [`crate::pcap`]) an absolute time since the Unix epoch.
pub type Nanos = i64;

/// The start time of the shared synthetic traces: 2023-11-14T22:13:20Z.
pub const DEFAULT_START: Nanos = 1_700_000_000 * 1_000_000_000;

/// `n` microseconds.
pub const fn us(n: i64) -> Nanos {
    n * 1_000
}

/// `n` milliseconds.
pub const fn ms(n: i64) -> Nanos {
    n * 1_000_000
}

/// `n` seconds.
pub const fn secs(n: i64) -> Nanos {
    n * 1_000_000_000
}

/// `n` minutes.
pub const fn mins(n: i64) -> Nanos {
    secs(n * 60)
}

/// `n` hours.
pub const fn hours(n: i64) -> Nanos {
    mins(n * 60)
}

/// `n` days.
pub const fn days(n: i64) -> Nanos {
    hours(n * 24)
}

/// `first, first + period, first + 2 * period, ...` while below `end`.
///
/// A non-positive `period` yields `first` alone (if below `end`) rather than
/// looping forever.
pub fn ticks(first: Nanos, period: Nanos, end: Nanos) -> impl Iterator<Item = Nanos> {
    let mut next = Some(first);
    std::iter::from_fn(move || {
        let t = next.filter(|&t| t < end)?;
        next = if period > 0 {
            t.checked_add(period)
        } else {
            None
        };
        Some(t)
    })
}

/// Parses a duration such as `90` (seconds), `1.5s`, `250ms`, `10m`, `2h`,
/// `3d`, also `us`/`ns` and Zeek-style words (`min`, `mins`, `hr`, `hrs`,
/// `day`, `days`, `sec`). Exact: no floating point.
pub fn parse_duration(text: &str) -> Result<Nanos, String> {
    let s = text.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let unit_ns: i64 = match unit.trim() {
        "ns" => 1,
        "us" | "usec" => us(1),
        "ms" | "msec" => ms(1),
        "" | "s" | "sec" | "secs" => secs(1),
        "m" | "min" | "mins" => mins(1),
        "h" | "hr" | "hrs" => hours(1),
        "d" | "day" | "days" => days(1),
        other => return Err(format!("unknown unit {other:?} in duration {text:?}")),
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty() {
        return Err(format!("no number in duration {text:?}"));
    }
    let bad = || format!("bad number in duration {text:?}");
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let mut total = whole.checked_mul(unit_ns).ok_or_else(bad)?;
    // Each fractional digit is worth a tenth of the previous one; digits
    // finer than a nanosecond are dropped.
    let mut place = unit_ns;
    for c in frac.chars() {
        let d = c.to_digit(10).ok_or_else(bad)?;
        place /= 10;
        total = total.checked_add(i64::from(d) * place).ok_or_else(bad)?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_duration("90"), Ok(secs(90)));
        assert_eq!(parse_duration("1.5s"), Ok(ms(1500)));
        assert_eq!(parse_duration("250ms"), Ok(ms(250)));
        assert_eq!(parse_duration("10m"), Ok(mins(10)));
        assert_eq!(parse_duration("30mins"), Ok(mins(30)));
        assert_eq!(parse_duration("2h"), Ok(hours(2)));
        assert_eq!(parse_duration("3days"), Ok(days(3)));
        assert_eq!(parse_duration(".25s"), Ok(ms(250)));
        assert!(parse_duration("10 parsecs").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("1.x").is_err());
    }

    #[test]
    fn ticks_stop_before_end() {
        let v: Vec<_> = ticks(secs(10), secs(10), secs(40)).collect();
        assert_eq!(v, vec![secs(10), secs(20), secs(30)]);
        assert_eq!(ticks(0, 0, 5).count(), 1);
        assert_eq!(ticks(5, 1, 5).count(), 0);
    }
}
