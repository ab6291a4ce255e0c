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

    /// Prints the local rendering of a fixed instant; run by
    /// `local_time_honours_tz` in a child process with `TZ` set, so no test
    /// here changes the environment of the shared test process.
    #[test]
    #[ignore = "helper run by local_time_honours_tz"]
    fn tz_probe() {
        println!("PROBE:{}", text(WallTime::local_from_unix(1_300_475_167)));
    }

    #[test]
    fn local_time_honours_tz() {
        let probe = |tz: &str| -> Option<String> {
            let exe = std::env::current_exe().ok()?;
            let out = std::process::Command::new(exe)
                .args([
                    "--ignored",
                    "--exact",
                    "--nocapture",
                    "sinks::wall_clock::tests::tz_probe",
                ])
                .env("TZ", tz)
                .output()
                .ok()?;
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            let line = stdout.lines().find_map(|l| l.strip_prefix("PROBE:"))?;
            Some(line.to_string())
        };
        // The conformance runs use TZ=UTC; a fixed-offset zone shows TZ is
        // read at all.
        assert_eq!(probe("UTC").as_deref(), Some("2011-03-18-19-06-07"));
        assert_eq!(probe("XST-3").as_deref(), Some("2011-03-18-22-06-07"));
    }
}
