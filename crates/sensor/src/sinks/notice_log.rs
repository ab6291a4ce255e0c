//! notice.log: the notices raised by long-connection reports, in Zeek 8's
//! default notice.log columns ([`NOTICE_FIELDS`]).
//!
//! * `LongConnection::found`, for every conn_long.log row (unless
//!   `long.notice = false`), worded as the zeek-long-connections package
//!   words it: `msg` is `ORIG -> RESP:PORT/PROTO remained alive for longer
//!   than XmYs` and `sub` the age in seconds with two decimals. The age is
//!   the report's (`report_ts − ts`, i.e. the threshold), where the package
//!   printed the last-packet duration at the moment its poll ran.
//! * `LongConnection::slow_exfil`, once per connection, at the report the
//!   tracker flags as long and slow (`InterimReport::slow`); `msg` says who,
//!   to where, how long, how many bytes each way and why (each criterion
//!   with its configured bound), `sub` the exact numbers.
//!
//! Both are filled as Zeek's `NOTICE($conn=c, …)` fills them: `ts` is the
//! notice's network time (`report_ts`), `uid`/`id` the connection's,
//! `src`/`dst`/`p` from `id`, `proto` from `p`, `actions` =
//! `Notice::ACTION_LOG`, `suppress_for` = the default 1 hr, the rest unset.
//!
//! [`NOTICE_FIELDS`]: super::zeek_fields::NOTICE_FIELDS

use std::path::Path;

use connwatch_track::{ConnRecord, InterimReport, Proto, SlowCriteria, Uid};
use connwatch_wire::{Duration, Timestamp};

use super::format;
use super::zeek_fields::NOTICE_LOG;
use super::zeek_log::{LogFormat, ZeekLogWriter};
use super::SinkError;

/// `Notice::Type` of the per-row notice (the package's).
pub const NOTE_FOUND: &str = "LongConnection::found";
/// `Notice::Type` of the long-and-slow notice.
pub const NOTE_SLOW_EXFIL: &str = "LongConnection::slow_exfil";
/// `Notice::default_suppression_interval` (1 hr).
const SUPPRESS_FOR_SECS: f64 = 3600.0;

/// Writes `<dir>/notice.log`; the file appears with the first notice.
pub struct NoticeLogSink {
    log: ZeekLogWriter,
    found: bool,
    slow: Option<SlowCriteria>,
}

impl NoticeLogSink {
    /// The underlying writer (flush, rotate).
    pub fn log(&mut self) -> &mut ZeekLogWriter {
        &mut self.log
    }

    /// A notice.log sink writing into `dir`. `found` enables the per-row
    /// notice; `slow` (the configured criteria) the long-and-slow one.
    pub fn new(dir: &Path, format: LogFormat, found: bool, slow: Option<SlowCriteria>) -> Self {
        Self::from_writer(ZeekLogWriter::new(dir, NOTICE_LOG, format), found, slow)
    }

    /// Wraps a prepared writer (schema [`NOTICE_LOG`]).
    pub fn from_writer(log: ZeekLogWriter, found: bool, slow: Option<SlowCriteria>) -> Self {
        NoticeLogSink { log, found, slow }
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        self.log.path()
    }

    /// Writes the notices one long-connection report raises; returns how
    /// many (0, 1 or 2).
    pub fn write_interim(
        &mut self,
        rec: &ConnRecord,
        report: &InterimReport,
    ) -> Result<u64, SinkError> {
        let mut n = 0;
        let age = report.report_ts - rec.ts;
        if self.found {
            let msg = found_msg(rec, age);
            let sub = format!("{:.2}", age.as_secs_f64());
            self.write(rec, report.report_ts, NOTE_FOUND, &msg, &sub)?;
            n += 1;
        }
        if report.slow {
            if let Some(criteria) = self.slow.clone() {
                let (msg, sub) = slow_msg(rec, age, &criteria);
                self.write(rec, report.report_ts, NOTE_SLOW_EXFIL, &msg, &sub)?;
                n += 1;
            }
        }
        Ok(n)
    }

    fn write(
        &mut self,
        rec: &ConnRecord,
        ts: Timestamp,
        note: &str,
        msg: &[u8],
        sub: &str,
    ) -> Result<(), SinkError> {
        let mut uid_buf = [0u8; Uid::MAX_LEN];
        let mut row = self.log.begin_row()?;
        row.timestamp(ts)
            .plain_string(rec.uid.render(&mut uid_buf).as_bytes())
            .addr(rec.orig_h)
            .port(rec.orig_p)
            .addr(rec.resp_h)
            .port(rec.resp_p)
            .unset() // fuid
            .unset() // file_mime_type
            .unset() // file_desc
            .enumeration(rec.proto.as_str())
            .enumeration(note)
            .string(msg)
            .string(sub.as_bytes())
            .addr(rec.orig_h)
            .addr(rec.resp_h)
            .port(rec.resp_p)
            .unset() // n
            .unset() // peer_descr
            .enum_set(["Notice::ACTION_LOG"])
            .string_set(core::iter::empty())
            .interval(SUPPRESS_FOR_SECS)
            .unset() // remote_location.country_code
            .unset() // remote_location.region
            .unset() // remote_location.city
            .unset() // remote_location.latitude
            .unset(); // remote_location.longitude
        row.end()
    }

    /// End of input: `#close` (TSV) and close the file, if one was opened.
    pub fn finish(&mut self) -> Result<(), SinkError> {
        self.log.finish()
    }
}

/// `ORIG -> RESP:PORT/PROTO`, addresses as Zeek prints them.
fn endpoints(rec: &ConnRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    format::push_addr(&mut out, rec.orig_h);
    out.extend_from_slice(b" -> ");
    format::push_addr(&mut out, rec.resp_h);
    // Zeek's port rendering: `443/tcp`, `8/icmp`, `0/unknown`.
    let proto = match rec.proto {
        Proto::Tcp => "tcp",
        Proto::Udp => "udp",
        Proto::Icmp => "icmp",
        Proto::Unknown => "unknown",
    };
    out.extend_from_slice(format!(":{}/{proto}", rec.resp_p).as_bytes());
    out
}

/// The package's message, with `duration_to_mins_secs` (whole minutes and
/// seconds, truncated).
fn found_msg(rec: &ConnRecord, age: Duration) -> Vec<u8> {
    let mut msg = endpoints(rec);
    let secs = age.as_nanos().max(0) / 1_000_000_000;
    msg.extend_from_slice(
        format!(
            " remained alive for longer than {}m{}s",
            secs / 60,
            secs % 60
        )
        .as_bytes(),
    );
    msg
}

/// `26h00m`, `72h00m`, `0h10m30s`: hours and minutes, seconds when not 0.
fn hours_mins(d: Duration) -> String {
    let secs = d.as_nanos().max(0) / 1_000_000_000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if s == 0 {
        format!("{h}h{m:02}m")
    } else {
        format!("{h}h{m:02}m{s:02}s")
    }
}

/// Bytes in binary units: `512 B`, `1 KiB`, `2.1 MiB`.
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    let text = format!("{v:.1}");
    let text = text.strip_suffix(".0").unwrap_or(&text);
    format!("{text} {}", UNITS[unit])
}

/// Average throughput (both directions) and producer-consumer ratio, as
/// the criteria define them.
fn rate_and_pcr(rec: &ConnRecord, age: Duration) -> (f64, f64) {
    let total = rec.orig_bytes as f64 + rec.resp_bytes as f64;
    let secs = age.as_secs_f64();
    let avg = if secs > 0.0 { total / secs } else { 0.0 };
    let pcr = if total > 0.0 {
        (rec.orig_bytes as f64 - rec.resp_bytes as f64) / total
    } else {
        0.0
    };
    (avg, pcr)
}

/// Message and sub-message of the long-and-slow notice.
fn slow_msg(rec: &ConnRecord, age: Duration, c: &SlowCriteria) -> (Vec<u8>, String) {
    let (avg, pcr) = rate_and_pcr(rec, age);
    let age_text = hours_mins(age);
    let mut msg = endpoints(rec);
    msg.extend_from_slice(
        format!(
            " open {age_text}: {} out, {} in; age {age_text} >= {}, \
             avg {avg:.2} B/s <= {} B/s, pcr {pcr:.2} >= {:.2}, {} >= {} sent",
            human_bytes(rec.orig_bytes),
            human_bytes(rec.resp_bytes),
            hours_mins(c.min_age),
            c.max_bytes_per_sec,
            c.min_pcr,
            human_bytes(rec.orig_bytes),
            human_bytes(c.min_orig_bytes),
        )
        .as_bytes(),
    );
    let sub = format!(
        "age={:.2}s orig_bytes={} resp_bytes={} avg_bytes_per_sec={avg:.2} pcr={pcr:.4}",
        age.as_secs_f64(),
        rec.orig_bytes,
        rec.resp_bytes,
    );
    (msg, sub)
}

#[cfg(test)]
mod tests {
    use super::super::conn_long_log::tests::long_record;
    use super::super::test_support::TempDir;
    use super::super::wall_clock::WallTime;
    use super::*;

    fn fixed_clock() -> WallTime {
        WallTime::utc_from_unix(1_300_475_167)
    }

    fn criteria() -> SlowCriteria {
        SlowCriteria {
            min_age: Duration::from_secs(24 * 3600),
            max_bytes_per_sec: 256.0,
            min_pcr: 0.5,
            min_orig_bytes: 1024,
        }
    }

    fn render(found: bool, slow: Option<SlowCriteria>, format: LogFormat) -> (String, u64) {
        let dir = TempDir::new();
        let w = ZeekLogWriter::new(dir.path(), NOTICE_LOG, format).with_clock(fixed_clock);
        let mut sink = NoticeLogSink::from_writer(w, found, slow);
        let (rec, report) = long_record();
        let n = sink.write_interim(&rec, &report).unwrap();
        sink.finish().unwrap();
        (std::fs::read_to_string(sink.path()).unwrap_or_default(), n)
    }

    #[test]
    fn header_is_zeek_8s() {
        let (text, n) = render(true, Some(criteria()), LogFormat::Tsv);
        assert_eq!(n, 2);
        let header: Vec<&str> = text.lines().take(8).collect();
        assert_eq!(
            header,
            [
                "#separator \\x09",
                "#set_separator\t,",
                "#empty_field\t(empty)",
                "#unset_field\t-",
                "#path\tnotice",
                "#open\t2011-03-18-19-06-07",
                "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tfuid\t\
                 file_mime_type\tfile_desc\tproto\tnote\tmsg\tsub\tsrc\tdst\tp\tn\t\
                 peer_descr\tactions\temail_dest\tsuppress_for\t\
                 remote_location.country_code\tremote_location.region\t\
                 remote_location.city\tremote_location.latitude\t\
                 remote_location.longitude",
                "#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring\t\
                 enum\tenum\tstring\tstring\taddr\taddr\tport\tcount\tstring\tset[enum]\t\
                 set[string]\tinterval\tstring\tstring\tstring\tdouble\tdouble",
            ]
        );
        assert!(text.ends_with("#close\t2011-03-18-19-06-07\n"));
    }

    #[test]
    fn rows() {
        let (text, _) = render(true, Some(criteria()), LogFormat::Tsv);
        let uid = long_record().0.uid.to_string();
        let rows: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            rows,
            [
                format!(
                    "1700086400.250000\t{uid}\t10.0.0.5\t49152\t203.0.113.9\t443\t-\t-\t-\t\
                     tcp\tLongConnection::found\t10.0.0.5 -> 203.0.113.9:443/tcp remained \
                     alive for longer than 1440m0s\t86400.00\t10.0.0.5\t203.0.113.9\t443\t-\t\
                     -\tNotice::ACTION_LOG\t(empty)\t3600.000000\t-\t-\t-\t-\t-"
                ),
                format!(
                    "1700086400.250000\t{uid}\t10.0.0.5\t49152\t203.0.113.9\t443\t-\t-\t-\t\
                     tcp\tLongConnection::slow_exfil\t10.0.0.5 -> 203.0.113.9:443/tcp open \
                     24h00m: 2.1 MiB out, 40 KiB in; age 24h00m >= 24h00m, avg 25.96 B/s <= \
                     256 B/s, pcr 0.96 >= 0.50, 2.1 MiB >= 1 KiB sent\tage=86400.00s \
                     orig_bytes=2202009 resp_bytes=40960 avg_bytes_per_sec=25.96 \
                     pcr=0.9635\t10.0.0.5\t203.0.113.9\t443\t-\t-\tNotice::ACTION_LOG\t\
                     (empty)\t3600.000000\t-\t-\t-\t-\t-"
                ),
            ]
        );
    }

    #[test]
    fn switches() {
        // Only the slow notice.
        let (text, n) = render(false, Some(criteria()), LogFormat::Tsv);
        assert_eq!(n, 1);
        assert!(text.contains("LongConnection::slow_exfil") && !text.contains("::found"));
        // Slow criteria off: only `found`.
        let (text, n) = render(true, None, LogFormat::Tsv);
        assert_eq!(n, 1);
        assert!(!text.contains("slow_exfil") && text.contains("LongConnection::found"));
        // Both off: no file.
        let (text, n) = render(false, None, LogFormat::Tsv);
        assert_eq!((text.as_str(), n), ("", 0));
    }

    #[test]
    fn json_row() {
        let (text, _) = render(true, None, LogFormat::Json);
        let uid = long_record().0.uid.to_string();
        assert_eq!(
            text,
            format!(
                "{{\"ts\":1700086400.25,\"uid\":\"{uid}\",\"id.orig_h\":\"10.0.0.5\",\
                 \"id.orig_p\":49152,\"id.resp_h\":\"203.0.113.9\",\"id.resp_p\":443,\
                 \"proto\":\"tcp\",\"note\":\"LongConnection::found\",\"msg\":\"10.0.0.5 -> \
                 203.0.113.9:443/tcp remained alive for longer than 1440m0s\",\
                 \"sub\":\"86400.00\",\"src\":\"10.0.0.5\",\"dst\":\"203.0.113.9\",\
                 \"p\":443,\"actions\":[\"Notice::ACTION_LOG\"],\"email_dest\":[],\
                 \"suppress_for\":3600.0}}\n"
            )
        );
    }

    #[test]
    fn message_pieces() {
        let (mut rec, _) = long_record();
        rec.orig_h = "2001:db8::1".parse().unwrap();
        rec.resp_h = "::ffff:192.0.2.7".parse().unwrap();
        rec.proto = Proto::Udp;
        rec.resp_p = 1194;
        let msg = found_msg(&rec, Duration::from_millis(625_262));
        assert_eq!(
            String::from_utf8(msg).unwrap(),
            "2001:db8::1 -> 192.0.2.7:1194/udp remained alive for longer than 10m25s"
        );
        assert_eq!(hours_mins(Duration::from_secs(93_600)), "26h00m");
        assert_eq!(hours_mins(Duration::from_secs(630)), "0h10m30s");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1024), "1 KiB");
        assert_eq!(human_bytes(2_202_009), "2.1 MiB");
        assert_eq!(human_bytes(3 << 30), "3 GiB");
    }
}
