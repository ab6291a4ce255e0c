//! stats.log: a live sensor's periodic health line, in Zeek's stats.log
//! columns ([`STATS_FIELDS`]): packets processed and dropped by the kernel,
//! connections open and created per protocol, memory, and connwatch's own
//! eviction counters.
//!
//! [`STATS_FIELDS`]: super::zeek_fields::STATS_FIELDS

use std::path::Path;

use super::zeek_fields::STATS_LOG;
use super::zeek_log::{LogFormat, ZeekLogWriter};
use super::SinkError;

/// One stats.log line. Counts named "since" are deltas over the interval.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsLine {
    /// Wall-clock time of the line (epoch seconds).
    pub ts: f64,
    /// Who reports (Zeek's peer name; here `connwatch`).
    pub peer: String,
    /// Resident memory, MiB.
    pub mem_mb: u64,
    /// Packets processed since the previous line.
    pub pkts_proc: u64,
    /// Bytes captured since the previous line.
    pub bytes_recv: u64,
    /// Packets the kernel dropped (ring full) since the previous line.
    pub pkts_dropped: u64,
    /// Packets the kernel saw on the link(s) since the previous line.
    pub pkts_link: u64,
    /// Packets dropped by `capture.ignore` since the previous line.
    pub pkts_filtered: u64,
    /// TCP, UDP, ICMP connections tracked now.
    pub active: [u64; 3],
    /// TCP, UDP, ICMP connections created since the previous line.
    pub created: [u64; 3],
    /// Connections evicted by `track.max_connections` since the previous
    /// line.
    pub evicted: u64,
    /// Connections not tracked because the table was full, since the
    /// previous line.
    pub untracked: u64,
    /// Weirds since the previous line.
    pub weirds: u64,
}

/// Writes `<dir>/stats.log`.
pub struct StatsLogSink {
    log: ZeekLogWriter,
}

impl StatsLogSink {
    /// A stats.log sink writing into `dir`.
    pub fn new(dir: &Path, format: LogFormat) -> Self {
        StatsLogSink {
            log: ZeekLogWriter::new(dir, STATS_LOG, format),
        }
    }

    /// Writes one line.
    pub fn write(&mut self, s: &StatsLine) -> Result<(), SinkError> {
        let mut row = self.log.begin_row()?;
        row.time(s.ts)
            .string(s.peer.as_bytes())
            .count(s.mem_mb)
            .count(s.pkts_proc)
            .count(s.bytes_recv)
            .count(s.pkts_dropped)
            .count(s.pkts_link)
            .count(s.pkts_filtered);
        for v in s.active.iter().chain(&s.created) {
            row.count(*v);
        }
        row.count(s.evicted).count(s.untracked).count(s.weirds);
        row.end()
    }

    /// The underlying writer (flush, rotate, finish).
    pub fn log(&mut self) -> &mut ZeekLogWriter {
        &mut self.log
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::test_support::TempDir;
    use crate::sinks::wall_clock::WallTime;

    #[test]
    fn a_line_in_zeek_stats_columns() {
        let dir = TempDir::new();
        let clock = || WallTime::utc_from_unix(0);
        let mut sink = StatsLogSink {
            log: ZeekLogWriter::new(dir.path(), STATS_LOG, LogFormat::Tsv).with_clock(clock),
        };
        sink.write(&StatsLine {
            ts: 1_700_000_000.5,
            peer: "connwatch".into(),
            mem_mb: 42,
            pkts_proc: 1000,
            bytes_recv: 123_456,
            pkts_dropped: 3,
            pkts_link: 1003,
            pkts_filtered: 7,
            active: [1, 2, 3],
            created: [4, 5, 6],
            evicted: 8,
            untracked: 9,
            weirds: 10,
        })
        .unwrap();
        sink.log().finish().unwrap();
        let text = std::fs::read_to_string(dir.path().join("stats.log")).unwrap();
        let fields = text.lines().find(|l| l.starts_with("#fields")).unwrap();
        assert_eq!(
            fields,
            "#fields\tts\tpeer\tmem\tpkts_proc\tbytes_recv\tpkts_dropped\tpkts_link\tpkts_filtered\t\
             active_tcp_conns\tactive_udp_conns\tactive_icmp_conns\ttcp_conns\tudp_conns\ticmp_conns\t\
             evicted_conns\tuntracked_conns\tweirds"
        );
        let row = text.lines().find(|l| !l.starts_with('#')).unwrap();
        assert_eq!(
            row,
            "1700000000.500000\tconnwatch\t42\t1000\t123456\t3\t1003\t7\t1\t2\t3\t4\t5\t6\t8\t9\t10"
        );
    }
}
