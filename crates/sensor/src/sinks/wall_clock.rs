//! Local wall-clock time for the `#open`/`#close` header lines.
//!
//! Zeek stamps these with the process's local time (strftime
//! `%Y-%m-%d-%H-%M-%S`), so we ask the C library (`localtime_r`, which
//! honours `TZ` and `/etc/localtime`) instead of re-implementing time zones.

use std::time::{SystemTime, UNIX_EPOCH};

extern "C" {
    // POSIX; not exported by the `libc` crate.
    fn tzset();
}

/// A broken-down civil time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallTime {
    /// Year, e.g. 2026.
    pub year: i32,
    /// Month 1..=12.
    pub month: u8,
    /// Day of month 1..=31.
    pub day: u8,
    /// Hour 0..=23.
    pub hour: u8,
    /// Minute 0..=59.
    pub minute: u8,
    /// Second 0..=60.
    pub second: u8,
}

impl WallTime {
    /// The current time in the local time zone.
    pub fn now_local() -> WallTime {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Self::local_from_unix(secs)
    }

    /// `secs` since the epoch in the local time zone (UTC if the C library
    /// cannot convert it).
    pub fn local_from_unix(secs: i64) -> WallTime {
        let t = secs as libc::time_t;
        // SAFETY: `tzset` only reads the environment; `localtime_r` writes
        // into the `tm` we own and returns null on failure, which we check.
        // An all-zero `tm` is a valid value of that plain C struct.
        unsafe {
            tzset();
            let mut tm: libc::tm = std::mem::zeroed();
            if libc::localtime_r(&t, &mut tm).is_null() {
                return Self::utc_from_unix(secs);
            }
            WallTime {
                year: tm.tm_year + 1900,
                month: (tm.tm_mon + 1) as u8,
                day: tm.tm_mday as u8,
                hour: tm.tm_hour as u8,
                minute: tm.tm_min as u8,
                second: tm.tm_sec as u8,
            }
        }
    }

    /// `secs` since the epoch in UTC (proleptic Gregorian calendar).
    pub fn utc_from_unix(secs: i64) -> WallTime {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        WallTime {
            year,
            month,
            day,
            hour: (rem / 3600) as u8,
            minute: (rem % 3600 / 60) as u8,
            second: (rem % 60) as u8,
        }
    }

    /// Appends `YYYY-MM-DD-HH-MM-SS`.
    pub fn push_zeek(&self, out: &mut Vec<u8>) {
        let y = self.year.clamp(0, 9999) as u32;
        push_digits(out, y, 4);
        for v in [self.month, self.day, self.hour, self.minute, self.second] {
            out.push(b'-');
            push_digits(out, u32::from(v), 2);
        }
    }
}

fn push_digits(out: &mut Vec<u8>, v: u32, width: u32) {
    for i in (0..width).rev() {
        out.push(b'0' + (v / 10u32.pow(i) % 10) as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: WallTime) -> String {
        let mut v = Vec::new();
        t.push_zeek(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn utc_conversion() {
        assert_eq!(text(WallTime::utc_from_unix(0)), "1970-01-01-00-00-00");
        assert_eq!(
            text(WallTime::utc_from_unix(1_300_475_167)),
            "2011-03-18-19-06-07"
        );
        assert_eq!(
            text(WallTime::utc_from_unix(951_782_400)),
            "2000-02-29-00-00-00"
        );
    }

    #[test]
    fn local_time_honours_tz() {
        // The conformance runs use TZ=UTC; a fixed-offset zone checks that
        // TZ is read at all. Set both within this one test to avoid races
        // with other tests reading TZ (none do).
        // Other tests use a fixed clock, so nothing else reads TZ meanwhile.
        std::env::set_var("TZ", "UTC");
        assert_eq!(
            WallTime::local_from_unix(1_300_475_167),
            WallTime::utc_from_unix(1_300_475_167)
        );
        std::env::set_var("TZ", "XST-3");
        assert_eq!(
            text(WallTime::local_from_unix(1_300_475_167)),
            "2011-03-18-22-06-07"
        );
        std::env::set_var("TZ", "UTC");
    }
}
