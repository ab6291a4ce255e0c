//! Network time: `Timestamp` and `Duration` as signed nanoseconds.
//!
//! Zeek keeps time as an `f64` of seconds built from a microsecond capture
//! clock (`sec + usec / 1e6`). We keep integers (exact, cheap to compare) and
//! convert with [`Timestamp::as_zeek_secs`] exactly the way Zeek does whenever
//! a value is rendered or a Zeek-compatible comparison needs the double.

use core::ops::{Add, Sub};

/// A point in network time, nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

/// A span of network time in nanoseconds (may be negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub i64);

impl Timestamp {
    /// The Unix epoch.
    pub const ZERO: Timestamp = Timestamp(0);

    /// From whole seconds and nanoseconds.
    pub const fn from_secs_nanos(secs: i64, nanos: i64) -> Self {
        Timestamp(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
    }

    /// From whole seconds and microseconds.
    pub const fn from_secs_micros(secs: i64, micros: i64) -> Self {
        Timestamp(
            secs.saturating_mul(1_000_000_000)
                .saturating_add(micros.saturating_mul(1000)),
        )
    }

    /// Whole seconds (floor).
    pub const fn secs(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }

    /// Sub-second part in nanoseconds (0..1e9).
    pub const fn subsec_nanos(self) -> i64 {
        self.0.rem_euclid(1_000_000_000)
    }

    /// This time truncated to whole microseconds, as libpcap and Zeek read it.
    pub const fn truncate_to_micros(self) -> Self {
        Timestamp(self.0 - self.0.rem_euclid(1000))
    }

    /// The `f64` Zeek would hold for this time: `sec + usec / 1e6`, with the
    /// sub-microsecond part dropped.
    #[inline]
    pub fn as_zeek_secs(self) -> f64 {
        if self.0 >= 0 {
            // The same values for the times that occur (after 1970) by
            // unsigned division, which needs no sign fix-ups: this runs
            // several times a packet.
            let ns = self.0 as u64;
            let secs = ns / 1_000_000_000;
            let usec = (ns - secs * 1_000_000_000) / 1000;
            return secs as f64 + usec as f64 / 1e6;
        }
        let usec = self.subsec_nanos() / 1000;
        self.secs() as f64 + usec as f64 / 1e6
    }

    /// Saturating addition of a duration.
    pub const fn saturating_add(self, d: Duration) -> Self {
        Timestamp(self.0.saturating_add(d.0))
    }
}

impl Duration {
    /// Zero length.
    pub const ZERO: Duration = Duration(0);

    /// From whole seconds.
    pub const fn from_secs(s: i64) -> Self {
        Duration(s.saturating_mul(1_000_000_000))
    }

    /// From milliseconds.
    pub const fn from_millis(ms: i64) -> Self {
        Duration(ms.saturating_mul(1_000_000))
    }

    /// From microseconds.
    pub const fn from_micros(us: i64) -> Self {
        Duration(us.saturating_mul(1000))
    }

    /// Nanoseconds.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// Seconds as `f64`.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, rhs: Duration) -> Timestamp {
        self.saturating_add(rhs)
    }
}

impl Sub<Timestamp> for Timestamp {
    type Output = Duration;
    fn sub(self, rhs: Timestamp) -> Duration {
        Duration(self.0.saturating_sub(rhs.0))
    }
}

impl Sub<Duration> for Timestamp {
    type Output = Timestamp;
    fn sub(self, rhs: Duration) -> Timestamp {
        Timestamp(self.0.saturating_sub(rhs.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeek_secs_matches_libpcap_double() {
        let t = Timestamp::from_secs_micros(1300475167, 96535);
        assert_eq!(t.as_zeek_secs(), 1300475167.0 + 96535.0 / 1e6);
        // Nanoseconds below a microsecond are dropped, as libpcap does.
        let t = Timestamp::from_secs_nanos(10, 1_999);
        assert_eq!(t.as_zeek_secs(), 10.000001);
    }

    #[test]
    fn zeek_secs_fast_path_agrees_with_the_general_split() {
        let general = |t: Timestamp| t.secs() as f64 + (t.subsec_nanos() / 1000) as f64 / 1e6;
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let edges = [0, 1, 999, 1000, 999_999_999, 1_000_000_000, i64::MAX];
        for i in 0..100_000 {
            // xorshift: values over the whole range, and near the epoch.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = match i % 3 {
                0 => (x >> 1) as i64,
                1 => (x % 4_000_000_000_000_000_000) as i64,
                _ => edges[i % edges.len()],
            };
            let t = Timestamp(v);
            assert_eq!(t.as_zeek_secs().to_bits(), general(t).to_bits(), "{v}");
        }
    }

    #[test]
    fn negative_times_split_correctly() {
        let t = Timestamp(-1);
        assert_eq!(t.secs(), -1);
        assert_eq!(t.subsec_nanos(), 999_999_999);
    }
}
