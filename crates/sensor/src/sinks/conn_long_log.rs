//! conn_long.log: one row per long-connection report
//! (shared/spec/long-connections.md, Behaviour 6).
//!
//! The conn.log columns come first, written by the same
//! [`write_conn_cells`] as conn.log, so readers of the zeek-long-connections
//! package's output (zeek-cut, RITA's open-connection import) read it
//! unchanged. With `long.extra_columns` on (the default) seven columns
//! follow: `report_ts`, `threshold`, `idle` and the byte and packet deltas
//! since the connection's previous row.

use std::path::Path;

use connwatch_track::{ConnRecord, InterimReport};

use super::conn_log::write_conn_cells;
use super::zeek_fields::{LogSchema, CONN_LONG_EXTRA_LOG, CONN_LONG_LOG};
use super::zeek_log::{LogFormat, ZeekLogWriter};
use super::SinkError;

/// The schema written: conn.log's columns, plus the extras when asked.
pub fn schema(extra_columns: bool) -> LogSchema {
    if extra_columns {
        CONN_LONG_EXTRA_LOG
    } else {
        CONN_LONG_LOG
    }
}

/// Writes `<dir>/conn_long.log`; the file appears with the first row.
pub struct ConnLongLogSink {
    log: ZeekLogWriter,
    extra_columns: bool,
}

impl ConnLongLogSink {
    /// The underlying writer (flush, rotate).
    pub fn log(&mut self) -> &mut ZeekLogWriter {
        &mut self.log
    }

    /// A conn_long.log sink writing into `dir`.
    pub fn new(dir: &Path, format: LogFormat, extra_columns: bool) -> Self {
        ConnLongLogSink {
            log: ZeekLogWriter::new(dir, schema(extra_columns), format),
            extra_columns,
        }
    }

    /// Wraps a prepared writer, which must use [`schema`]`(extra_columns)`.
    pub fn from_writer(log: ZeekLogWriter, extra_columns: bool) -> Self {
        ConnLongLogSink { log, extra_columns }
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        self.log.path()
    }

    /// Writes one report: the connection as of `report.report_ts`.
    pub fn write_interim(
        &mut self,
        rec: &ConnRecord,
        report: &InterimReport,
    ) -> Result<(), SinkError> {
        let mut row = self.log.begin_row()?;
        write_conn_cells(&mut row, rec);
        if self.extra_columns {
            row.timestamp(report.report_ts)
                .interval(report.threshold.as_secs_f64())
                .interval(report.idle.as_secs_f64())
                .count(report.orig_bytes_delta)
                .count(report.resp_bytes_delta)
                .count(report.orig_pkts_delta)
                .count(report.resp_pkts_delta);
        }
        row.end()
    }

    /// End of input: `#close` (TSV) and close the file, if one was opened.
    pub fn finish(&mut self) -> Result<(), SinkError> {
        self.log.finish()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::test_support::TempDir;
    use super::super::wall_clock::WallTime;
    use super::super::zeek_fields::CONN_LOG;
    use super::super::{ConnLogSink, RecordSink};
    use super::*;
    use connwatch_track::{ConnState, History, Proto, ServiceList, TunnelParents, Uid};
    use connwatch_wire::{Duration, Timestamp};

    fn fixed_clock() -> WallTime {
        WallTime::utc_from_unix(1_300_475_167)
    }

    /// A TCP connection open for 26 h, as of its 24 h report.
    pub(crate) fn long_record() -> (ConnRecord, InterimReport) {
        let start = Timestamp::from_secs_micros(1_700_000_000, 250_000);
        let mut history = History::default();
        history.set(b"ShAD");
        let rec = ConnRecord {
            ts: start,
            last: start + Duration::from_secs(86_390),
            uid: Uid {
                hi: 0x1234_5678,
                lo: 0x9abc_def0_1234_5678,
            },
            orig_h: "10.0.0.5".parse().unwrap(),
            orig_p: 49_152,
            resp_h: "203.0.113.9".parse().unwrap(),
            resp_p: 443,
            proto: Proto::Tcp,
            service: ServiceList::default(),
            orig_bytes: 2_202_009,
            resp_bytes: 40_960,
            conn_state: ConnState::S1,
            local_orig: Some(true),
            local_resp: Some(false),
            missed_bytes: 0,
            history,
            orig_pkts: 3000,
            orig_ip_bytes: 2_322_009,
            resp_pkts: 2000,
            resp_ip_bytes: 120_960,
            tunnel_parents: TunnelParents::default(),
            ip_proto: 6,
            vlan: None,
            inner_vlan: None,
            sampling: 0,
        };
        let report = InterimReport {
            report_ts: start + Duration::from_secs(86_400),
            threshold: Duration::from_secs(86_400),
            idle: Duration::from_secs(10),
            orig_bytes_delta: 1_000_000,
            resp_bytes_delta: 20_000,
            orig_pkts_delta: 1500,
            resp_pkts_delta: 900,
            slow: true,
        };
        (rec, report)
    }

    fn render(extra: bool, format: LogFormat) -> String {
        let dir = TempDir::new();
        let w = ZeekLogWriter::new(dir.path(), schema(extra), format).with_clock(fixed_clock);
        let mut sink = ConnLongLogSink::from_writer(w, extra);
        let (rec, report) = long_record();
        sink.write_interim(&rec, &report).unwrap();
        sink.finish().unwrap();
        assert!(sink.path().ends_with("conn_long.log"));
        std::fs::read_to_string(sink.path()).unwrap()
    }

    fn render_conn() -> String {
        let dir = TempDir::new();
        let w = ZeekLogWriter::new(dir.path(), CONN_LOG, LogFormat::Tsv).with_clock(fixed_clock);
        let mut sink = ConnLogSink::from_writer(w);
        sink.write_conn(&long_record().0).unwrap();
        sink.finish().unwrap();
        std::fs::read_to_string(sink.path()).unwrap()
    }

    fn header(log: &str, key: &str) -> String {
        log.lines()
            .find(|l| l.starts_with(key))
            .unwrap()
            .to_string()
    }

    fn rows(log: &str) -> Vec<String> {
        log.lines()
            .filter(|l| !l.starts_with('#'))
            .map(String::from)
            .collect()
    }

    const CONN_ROW: &str = "1700000000.250000\tCDlG0ohlubgEHmtZg7\t10.0.0.5\t49152\t\
        203.0.113.9\t443\ttcp\t-\t86390.000000\t2202009\t40960\tS1\tT\tF\t0\tShAD\t\
        3000\t2322009\t2000\t120960\t-\t6";

    #[test]
    fn without_extras_it_is_conn_log() {
        let long = render(false, LogFormat::Tsv);
        let conn = render_conn();
        assert_eq!(header(&long, "#path"), "#path\tconn_long");
        for key in [
            "#separator",
            "#set_separator",
            "#empty_field",
            "#unset_field",
            "#open",
            "#fields",
            "#types",
            "#close",
        ] {
            assert_eq!(header(&long, key), header(&conn, key), "{key}");
        }
        assert_eq!(rows(&long), rows(&conn));
        let uid = long_record().0.uid.to_string();
        assert_eq!(
            rows(&long),
            vec![CONN_ROW.replace("CDlG0ohlubgEHmtZg7", &uid)]
        );
    }

    #[test]
    fn with_extras() {
        let long = render(true, LogFormat::Tsv);
        let conn = render_conn();
        assert_eq!(
            header(&long, "#fields"),
            format!(
                "{}\treport_ts\tthreshold\tidle\torig_bytes_delta\tresp_bytes_delta\t\
                 orig_pkts_delta\tresp_pkts_delta",
                header(&conn, "#fields")
            )
        );
        assert_eq!(
            header(&long, "#types"),
            format!(
                "{}\ttime\tinterval\tinterval\tcount\tcount\tcount\tcount",
                header(&conn, "#types")
            )
        );
        let uid = long_record().0.uid.to_string();
        assert_eq!(
            rows(&long),
            vec![format!(
                "{}\t1700086400.250000\t86400.000000\t10.000000\t1000000\t20000\t1500\t900",
                CONN_ROW.replace("CDlG0ohlubgEHmtZg7", &uid)
            )]
        );
    }

    #[test]
    fn json_rows() {
        let text = render(true, LogFormat::Json);
        assert!(text.starts_with("{\"ts\":1700000000.25,\"uid\":"), "{text}");
        assert!(
            text.ends_with(
                ",\"ip_proto\":6,\"report_ts\":1700086400.25,\"threshold\":86400.0,\
                 \"idle\":10.0,\"orig_bytes_delta\":1000000,\"resp_bytes_delta\":20000,\
                 \"orig_pkts_delta\":1500,\"resp_pkts_delta\":900}\n"
            ),
            "{text}"
        );
        let plain = render(false, LogFormat::Json);
        assert!(plain.ends_with(",\"ip_proto\":6}\n"), "{plain}");
    }

    #[test]
    fn no_rows_no_file() {
        let dir = TempDir::new();
        let mut sink = ConnLongLogSink::new(dir.path(), LogFormat::Tsv, true);
        sink.finish().unwrap();
        assert!(!sink.path().exists());
        assert!(sink.path().ends_with("conn_long.log"));
    }
}
