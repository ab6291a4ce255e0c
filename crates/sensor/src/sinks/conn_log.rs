//! conn.log: maps a [`ConnRecord`] onto the conn.log columns (spec §2.1).
//!
//! [`write_conn_cells`] is separate from the sink so conn_long.log, which
//! logs the same `Conn::Info` columns, can reuse it. TSV rows, by far the
//! most common output, take a fast path (`write_conn_tsv`) that encodes
//! the row straight into a `RowBuf`; it prints exactly what the cell
//! writer prints (tested row by row on every conformance log).

use std::path::Path;

use connwatch_track::{ConnRecord, Uid};

use super::row_buf::{Cursor, RowBuf};
use super::zeek_fields::{CONN_FLOW_LOG, CONN_LOG};
use super::zeek_log::{LogFormat, Row, ZeekLogWriter};
use super::zeek_tsv as tsv;
use super::{RecordSink, SinkError};

/// Appends the 22 conn.log cells of `rec` to `row`.
pub fn write_conn_cells(row: &mut Row<'_>, rec: &ConnRecord) {
    let mut uid_buf = [0u8; Uid::MAX_LEN];
    row.timestamp(rec.ts)
        .plain_string(rec.uid.render(&mut uid_buf).as_bytes())
        .addr(rec.orig_h)
        .port(rec.orig_p)
        .addr(rec.resp_h)
        .port(rec.resp_p)
        .enumeration(rec.proto.as_str());

    // `service` is a string column holding the names joined with `,`.
    if rec.service.is_empty() {
        row.unset();
    } else {
        let mut buf = [0u8; 64];
        let n = service_text(rec, &mut buf);
        row.string(&buf[..n]);
    }

    // duration, orig_bytes and resp_bytes share one condition: duration > 0.
    match rec.duration_secs() {
        Some(d) => {
            row.interval(d).count(rec.orig_bytes).count(rec.resp_bytes);
        }
        None => {
            row.unset().unset().unset();
        }
    }

    row.plain_string(rec.conn_state.as_str().as_bytes())
        .opt_bool(rec.local_orig)
        .opt_bool(rec.local_resp)
        .count(rec.missed_bytes);
    if rec.history.is_empty() {
        row.unset();
    } else {
        row.plain_string(rec.history.as_bytes());
    }
    row.count(rec.orig_pkts)
        .count(rec.orig_ip_bytes)
        .count(rec.resp_pkts)
        .count(rec.resp_ip_bytes);

    let parents = rec.tunnel_parents.as_slice();
    if parents.is_empty() {
        row.unset();
    } else {
        let mut bufs = [[0u8; Uid::MAX_LEN]; 8];
        let mut lens = [0usize; 8];
        for ((uid, buf), len) in parents.iter().zip(bufs.iter_mut()).zip(lens.iter_mut()) {
            *len = uid.render(buf).len();
        }
        let n = parents.len().min(bufs.len());
        row.string_set(bufs[..n].iter().zip(&lens[..n]).map(|(b, l)| &b[..*l]));
    }
    row.count(u64::from(rec.ip_proto));
}

/// The `service` cell's text: names joined with `,` (at most 64 bytes).
fn service_text(rec: &ConnRecord, buf: &mut [u8; 64]) -> usize {
    let mut n = 0;
    for (i, s) in rec.service.iter().enumerate() {
        let name = s.as_str().as_bytes();
        if i > 0 && n < buf.len() {
            buf[n] = b',';
            n += 1;
        }
        let take = name.len().min(buf.len() - n);
        buf[n..n + take].copy_from_slice(&name[..take]);
        n += take;
    }
    n
}

/// The 22 conn.log cells of `rec` as one TSV line without its newline:
/// byte for byte what [`write_conn_cells`] writes through a TSV [`Row`].
pub(crate) fn write_conn_tsv(row: &mut Cursor<'_>, rec: &ConnRecord) {
    const T: u8 = tsv::SEPARATOR;
    row.timestamp(rec.ts);
    row.byte(T);
    row.uid(rec.uid);
    row.byte(T);
    row.addr(rec.orig_h);
    row.sep_u64(T, u64::from(rec.orig_p));
    row.byte(T);
    row.addr(rec.resp_h);
    row.sep_u64(T, u64::from(rec.resp_p));
    // proto (an enum: plain identifiers) and an unset service, the usual
    // case, in one copy each.
    match rec.proto {
        connwatch_track::Proto::Tcp => row.array(b"\ttcp"),
        connwatch_track::Proto::Udp => row.array(b"\tudp"),
        connwatch_track::Proto::Icmp => row.array(b"\ticmp"),
        connwatch_track::Proto::Unknown => row.array(b"\tunknown_transport"),
    }
    if rec.service.is_empty() {
        row.array(b"\t-\t");
    } else {
        // Service names are analyzer identifiers that TSV never escapes
        // (checked for every service in the tests), so the joined text is
        // copied as is.
        row.byte(T);
        for (i, s) in rec.service.iter().enumerate() {
            if i > 0 {
                row.byte(b',');
            }
            row.short(s.as_str().as_bytes());
        }
        row.byte(T);
    }
    match rec.duration_secs() {
        Some(d) => {
            row.fixed6(d);
            row.sep_u64(T, rec.orig_bytes);
            row.sep_u64(T, rec.resp_bytes);
        }
        None => row.array(b"-\t-\t-"),
    }
    row.byte(T);
    row.short(rec.conn_state.as_str().as_bytes());
    let flag = |b: Option<bool>| match b {
        Some(true) => b'T',
        Some(false) => b'F',
        None => b'-',
    };
    row.array(&[T, flag(rec.local_orig), T, flag(rec.local_resp), T]);
    row.u64(rec.missed_bytes);
    row.byte(T);
    let history = rec.history.as_bytes();
    if history.is_empty() {
        row.byte(b'-');
    } else if history.len() > 1 {
        // `plain_string`: letters that need no escaping.
        row.short(history);
    } else {
        row.general(|out| tsv::push_string(out, history, false));
    }
    row.sep_u64(T, rec.orig_pkts);
    row.sep_u64(T, rec.orig_ip_bytes);
    row.sep_u64(T, rec.resp_pkts);
    row.sep_u64(T, rec.resp_ip_bytes);
    row.byte(T);
    let parents = rec.tunnel_parents.as_slice();
    if parents.is_empty() {
        row.byte(b'-');
    } else {
        row.general(|out| {
            let mut bufs = [[0u8; Uid::MAX_LEN]; 8];
            let mut lens = [0usize; 8];
            for ((uid, buf), len) in parents.iter().zip(bufs.iter_mut()).zip(lens.iter_mut()) {
                *len = uid.write_ascii(buf);
            }
            let n = parents.len().min(bufs.len());
            tsv::push_string_set(out, bufs[..n].iter().zip(&lens[..n]).map(|(b, l)| &b[..*l]));
        });
    }
    row.sep_u64(T, u64::from(rec.ip_proto));
}

/// Writes `<dir>/conn.log`.
pub struct ConnLogSink {
    log: ZeekLogWriter,
    row: RowBuf,
    /// The flow collector's extra `sampling` column.
    sampling: bool,
}

impl ConnLogSink {
    /// The underlying writer (flush, rotate).
    pub fn log(&mut self) -> &mut ZeekLogWriter {
        &mut self.log
    }

    /// A conn.log sink writing into `dir`; the file appears with the first
    /// record.
    pub fn new(dir: &Path, format: LogFormat) -> Self {
        ConnLogSink {
            log: ZeekLogWriter::new(dir, CONN_LOG, format),
            row: RowBuf::default(),
            sampling: false,
        }
    }

    /// The flow collector's conn.log: Zeek's columns and `sampling`.
    pub fn for_flows(dir: &Path, format: LogFormat) -> Self {
        ConnLogSink {
            log: ZeekLogWriter::new(dir, CONN_FLOW_LOG, format),
            row: RowBuf::default(),
            sampling: true,
        }
    }

    /// Wraps a prepared writer (e.g. one with a fixed clock, or `/dev/null`).
    pub fn from_writer(log: ZeekLogWriter) -> Self {
        ConnLogSink {
            log,
            row: RowBuf::default(),
            sampling: false,
        }
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        self.log.path()
    }
}

impl RecordSink for ConnLogSink {
    fn write_conn(&mut self, rec: &ConnRecord) -> Result<(), SinkError> {
        if self.log.format() == LogFormat::Tsv {
            let mut row = self.row.row();
            write_conn_tsv(&mut row, rec);
            if self.sampling {
                row.sep_u64(tsv::SEPARATOR, u64::from(rec.sampling));
            }
            if let Some(cells) = row.finish() {
                return self.log.push_tsv_row(cells);
            }
            // Longer than any real row can be: the general way below.
        }
        let mut row = self.log.begin_row()?;
        write_conn_cells(&mut row, rec);
        if self.sampling {
            row.count(u64::from(rec.sampling));
        }
        row.end()
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.log.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::row_buf::RowBuf;
    use super::super::test_support::TempDir;
    use super::super::wall_clock::WallTime;
    use super::*;
    use connwatch_track::{ConnState, History, Proto, Service, ServiceList, TunnelParents};
    use connwatch_wire::Timestamp;

    const CONFORMANCE: &str = "../../../shared/conformance/zeek";

    fn conformance_log(case: &str) -> Option<String> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(CONFORMANCE)
            .join(case)
            .join("conn.log");
        std::fs::read_to_string(p).ok()
    }

    fn uid(s: &str) -> Uid {
        // Inverse of Uid::render: `C`, then the 32-bit word and the 64-bit
        // word, each base62 least-significant digit first. The split point
        // is found by trying every cut that round-trips.
        const A: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let digits: Vec<u64> = s.as_bytes()[1..]
            .iter()
            .map(|c| A.iter().position(|a| a == c).unwrap() as u64)
            .collect();
        let val = |d: &[u64]| {
            d.iter()
                .rev()
                .fold(0u128, |acc, x| acc * 62 + u128::from(*x))
        };
        for cut in 1..digits.len() {
            let (h, l) = digits.split_at(cut);
            let (hv, lv) = (val(h), val(l));
            if hv <= u128::from(u32::MAX) && lv <= u128::from(u64::MAX) {
                let u = Uid {
                    hi: hv as u32,
                    lo: lv as u64,
                };
                if u.to_string() == s {
                    return u;
                }
            }
        }
        panic!("cannot build uid {s}");
    }

    fn record() -> ConnRecord {
        ConnRecord {
            ts: Timestamp::from_secs_micros(1_300_475_167, 96_535),
            last: Timestamp::from_secs_micros(1_300_475_167, 96_535),
            uid: uid("CHhAvVGS1DHFjwGM9"),
            orig_h: "141.142.220.202".parse().unwrap(),
            orig_p: 5353,
            resp_h: "224.0.0.251".parse().unwrap(),
            resp_p: 5353,
            proto: Proto::Udp,
            service: ServiceList::default(),
            orig_bytes: 0,
            resp_bytes: 0,
            conn_state: ConnState::S0,
            local_orig: Some(false),
            local_resp: Some(true),
            missed_bytes: 0,
            history: History::default(),
            orig_pkts: 1,
            orig_ip_bytes: 73,
            resp_pkts: 0,
            resp_ip_bytes: 0,
            tunnel_parents: TunnelParents::default(),
            ip_proto: 17,
            vlan: None,
            inner_vlan: None,
            sampling: 0,
        }
    }

    fn fixed_clock() -> WallTime {
        WallTime::utc_from_unix(1_300_475_167)
    }

    fn render(recs: &[ConnRecord], format: LogFormat) -> String {
        let dir = TempDir::new();
        let w = ZeekLogWriter::new(dir.path(), CONN_LOG, format).with_clock(fixed_clock);
        let mut sink = ConnLogSink::from_writer(w);
        for r in recs {
            sink.write_conn(r).unwrap();
        }
        sink.finish().unwrap();
        std::fs::read_to_string(sink.path()).unwrap_or_default()
    }

    /// The btest canonicaliser: `ts` masked, `#open`/`#close` masked with a
    /// space after the key.
    fn canonical(log: &str) -> String {
        log.lines()
            .map(|l| {
                if l.starts_with("#open") {
                    "#open XXXX-XX-XX-XX-XX-XX".to_string()
                } else if l.starts_with("#close") {
                    "#close XXXX-XX-XX-XX-XX-XX".to_string()
                } else if l.starts_with('#') {
                    l.to_string()
                } else {
                    let (_, rest) = l.split_once('\t').unwrap();
                    format!("XXXXXXXXXX.XXXXXX\t{rest}")
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn header_of(log: &str) -> Vec<String> {
        canonical(log)
            .lines()
            .filter(|l| l.starts_with('#') && !l.starts_with("#close"))
            .map(String::from)
            .collect()
    }

    #[test]
    fn header_is_byte_identical_to_zeek() {
        let Some(zeek) = conformance_log("wikipedia-mixed") else {
            eprintln!("conformance data not found; skipped");
            return;
        };
        let ours = render(&[record()], LogFormat::Tsv);
        assert_eq!(header_of(&ours), header_of(&zeek));
        // Real (unmasked) form: a TAB after #open/#close.
        assert!(ours.contains("\n#open\t2011-03-18-19-06-07\n"));
        assert!(ours.ends_with("\n#close\t2011-03-18-19-06-07\n"));
    }

    fn rows_of(log: &str) -> Vec<String> {
        canonical(log)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(String::from)
            .collect()
    }

    #[test]
    fn single_packet_row_has_unset_duration() {
        // wikipedia-mixed: 141.142.220.202:5353 -> 224.0.0.251:5353, dns.
        let mut rec = record();
        rec.history.set(b"D");
        rec.service.add(Service::Dns);
        let ours = rows_of(&render(&[rec], LogFormat::Tsv));
        let expected = "XXXXXXXXXX.XXXXXX\tCHhAvVGS1DHFjwGM9\t141.142.220.202\t5353\t\
                        224.0.0.251\t5353\tudp\tdns\t-\t-\t-\tS0\tF\tT\t0\tD\t1\t73\t0\t0\t-\t17";
        assert_eq!(ours, vec![expected.to_string()]);
        if let Some(zeek) = conformance_log("wikipedia-mixed") {
            assert!(rows_of(&zeek).contains(&expected.to_string()));
        }
    }

    #[test]
    fn row_with_duration_matches_zeek() {
        // wikipedia-mixed: CmES5u32sYpV7JYN 141.142.220.118:43927 ->
        // 141.142.2.2:53 udp dns 0.000435 38 89 SF F F 0 Dd 1 66 1 117.
        let mut rec = record();
        rec.uid = uid("CmES5u32sYpV7JYN");
        rec.orig_h = "141.142.220.118".parse().unwrap();
        rec.orig_p = 43927;
        rec.resp_h = "141.142.2.2".parse().unwrap();
        rec.resp_p = 53;
        rec.ts = Timestamp::from_secs_micros(1_300_475_168, 853_899);
        rec.last = Timestamp::from_secs_micros(1_300_475_168, 854_334);
        rec.orig_bytes = 38;
        rec.resp_bytes = 89;
        rec.conn_state = ConnState::SF;
        rec.local_orig = Some(false);
        rec.local_resp = Some(false);
        rec.history.set(b"Dd");
        rec.orig_pkts = 1;
        rec.orig_ip_bytes = 66;
        rec.resp_pkts = 1;
        rec.resp_ip_bytes = 117;
        let ours = rows_of(&render(&[rec], LogFormat::Tsv));
        assert_eq!(
            ours[0],
            "XXXXXXXXXX.XXXXXX\tCmES5u32sYpV7JYN\t141.142.220.118\t43927\t141.142.2.2\t53\t\
             udp\t-\t0.000435\t38\t89\tSF\tF\tF\t0\tDd\t1\t66\t1\t117\t-\t17"
        );
    }

    /// Rebuilds a ConnRecord from one (ts-masked) Zeek row. Services our
    /// tracker cannot confirm yet are dropped; the returned row has them
    /// replaced by `-` so it states what we must print for that record.
    fn record_from_row(row: &str) -> (ConnRecord, String) {
        let c: Vec<&str> = row.split('\t').collect();
        assert_eq!(c.len(), 22, "{row}");
        let mut rec = record();
        rec.uid = uid(c[1]);
        rec.orig_h = c[2].parse().unwrap();
        rec.orig_p = c[3].parse().unwrap();
        rec.resp_h = c[4].parse().unwrap();
        rec.resp_p = c[5].parse().unwrap();
        rec.proto = match c[6] {
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            "icmp" => Proto::Icmp,
            "unknown_transport" => Proto::Unknown,
            other => panic!("proto {other}"),
        };
        let mut expected: Vec<String> = c.iter().map(|s| s.to_string()).collect();
        rec.service = ServiceList::default();
        if c[7] != "-" {
            let known: Option<Vec<Service>> = c[7]
                .split(',')
                .map(|s| match s {
                    "vxlan" => Some(Service::Vxlan),
                    "geneve" => Some(Service::Geneve),
                    "teredo" => Some(Service::Teredo),
                    "ayiya" => Some(Service::Ayiya),
                    "gtpv1" => Some(Service::Gtpv1),
                    "dns" => Some(Service::Dns),
                    "http" => Some(Service::Http),
                    "ssl" => Some(Service::Ssl),
                    "ssh" => Some(Service::Ssh),
                    "ftp" => Some(Service::Ftp),
                    "ftp-data" => Some(Service::FtpData),
                    "pop3" => Some(Service::Pop3),
                    "ntp" => Some(Service::Ntp),
                    "dhcp" => Some(Service::Dhcp),
                    "modbus" => Some(Service::Modbus),
                    "dce_rpc" => Some(Service::DceRpc),
                    _ => None,
                })
                .collect();
            match known {
                Some(list) => list.into_iter().for_each(|s| rec.service.add(s)),
                None => expected[7] = "-".into(),
            }
        }
        // ts is masked: any start works; the duration is rebuilt in µs the
        // way capture times are.
        rec.ts = Timestamp::from_secs_micros(1_000_000_000, 0);
        rec.last = rec.ts;
        if c[8] != "-" {
            let micros = (c[8].parse::<f64>().unwrap() * 1e6).round() as i64;
            rec.last = rec.ts + connwatch_wire::Duration::from_micros(micros);
            rec.orig_bytes = c[9].parse().unwrap();
            rec.resp_bytes = c[10].parse().unwrap();
        }
        rec.conn_state = match c[11] {
            "S0" => ConnState::S0,
            "S1" => ConnState::S1,
            "SF" => ConnState::SF,
            "REJ" => ConnState::REJ,
            "S2" => ConnState::S2,
            "S3" => ConnState::S3,
            "RSTO" => ConnState::RSTO,
            "RSTR" => ConnState::RSTR,
            "RSTOS0" => ConnState::RSTOS0,
            "RSTRH" => ConnState::RSTRH,
            "SH" => ConnState::SH,
            "SHR" => ConnState::SHR,
            "OTH" => ConnState::OTH,
            other => panic!("state {other}"),
        };
        rec.local_orig = (c[12] != "-").then(|| c[12] == "T");
        rec.local_resp = (c[13] != "-").then(|| c[13] == "T");
        rec.missed_bytes = c[14].parse().unwrap();
        rec.history = History::default();
        if c[15] != "-" {
            rec.history.set(c[15].as_bytes());
        }
        rec.orig_pkts = c[16].parse().unwrap();
        rec.orig_ip_bytes = c[17].parse().unwrap();
        rec.resp_pkts = c[18].parse().unwrap();
        rec.resp_ip_bytes = c[19].parse().unwrap();
        rec.tunnel_parents = TunnelParents::default();
        if c[20] != "-" {
            for p in c[20].split(',') {
                rec.tunnel_parents.add(uid(p));
            }
        }
        rec.ip_proto = c[21].parse().unwrap();
        (rec, expected.join("\t"))
    }

    #[test]
    fn every_conformance_row_renders_identically() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(CONFORMANCE);
        let Ok(cases) = std::fs::read_dir(&root) else {
            eprintln!("conformance data not found; skipped");
            return;
        };
        let mut checked = 0;
        let mut ipv6 = 0;
        let mut tunnelled = 0;
        let mut unset_duration = 0;
        for case in cases.flatten() {
            let Ok(zeek) = std::fs::read_to_string(case.path().join("conn.log")) else {
                continue;
            };
            // zeek-cut subsets have no header and fewer columns.
            if !zeek.starts_with("#separator") {
                continue;
            }
            let rows = rows_of(&zeek);
            let recs: Vec<(ConnRecord, String)> = rows.iter().map(|r| record_from_row(r)).collect();
            let records: Vec<ConnRecord> = recs.iter().map(|(r, _)| r.clone()).collect();
            let ours = render(&records, LogFormat::Tsv);
            assert_eq!(header_of(&ours), header_of(&zeek), "{:?}", case.path());
            for ((rec, expected), got) in recs.iter().zip(rows_of(&ours)) {
                assert_eq!(got, *expected, "{:?}", case.path());
                checked += 1;
                ipv6 += usize::from(rec.orig_h.is_ipv6());
                tunnelled += usize::from(!rec.tunnel_parents.is_empty());
                unset_duration += usize::from(rec.duration_secs().is_none());
            }
        }
        eprintln!(
            "{checked} rows ({ipv6} IPv6, {tunnelled} tunnelled, {unset_duration} unset duration)"
        );
        assert!(checked > 100 && ipv6 > 0 && tunnelled > 0 && unset_duration > 0);
    }

    #[test]
    fn json_row_matches_spec_shape() {
        let mut rec = record();
        rec.ts = Timestamp::from_secs_micros(1_300_475_167, 0);
        rec.last = Timestamp::from_secs_micros(1_300_475_170, 0);
        rec.history.set(b"D");
        rec.tunnel_parents.add(uid("CHhAvVGS1DHFjwGM9"));
        rec.service.add(Service::Vxlan);
        rec.local_orig = None;
        rec.local_resp = None;
        let text = render(&[rec.clone()], LogFormat::Json);
        assert_eq!(
            text,
            "{\"ts\":1300475167.0,\"uid\":\"CHhAvVGS1DHFjwGM9\",\"id.orig_h\":\"141.142.220.202\",\
             \"id.orig_p\":5353,\"id.resp_h\":\"224.0.0.251\",\"id.resp_p\":5353,\"proto\":\"udp\",\
             \"service\":\"vxlan\",\"duration\":3.0,\"orig_bytes\":0,\"resp_bytes\":0,\
             \"conn_state\":\"S0\",\"missed_bytes\":0,\"history\":\"D\",\"orig_pkts\":1,\
             \"orig_ip_bytes\":73,\"resp_pkts\":0,\"resp_ip_bytes\":0,\
             \"tunnel_parents\":[\"CHhAvVGS1DHFjwGM9\"],\"ip_proto\":17}\n"
        );
        // Single packet: no duration/bytes/history/service/tunnel keys.
        let mut rec = record();
        rec.proto = Proto::Icmp;
        let text = render(&[rec], LogFormat::Json);
        for key in [
            "duration",
            "orig_bytes\"",
            "history",
            "service",
            "tunnel_parents",
        ] {
            assert!(!text.contains(key), "{key} in {text}");
        }
        assert!(text.contains("\"local_orig\":false,\"local_resp\":true"));
    }

    /// The fast TSV row next to the general cell writer's row.
    fn both_ways(rec: &ConnRecord) -> (String, String) {
        let dir = TempDir::new();
        let mut w = ZeekLogWriter::new(dir.path(), CONN_LOG, LogFormat::Tsv);
        let mut row = w.begin_row().unwrap();
        write_conn_cells(&mut row, rec);
        row.end().unwrap();
        w.finish().unwrap();
        let general = std::fs::read_to_string(w.path()).unwrap();
        let general = general
            .lines()
            .find(|l| !l.starts_with('#'))
            .unwrap()
            .to_string();
        let mut buf = RowBuf::default();
        let mut cur = buf.row();
        write_conn_tsv(&mut cur, rec);
        let fast = String::from_utf8(cur.finish().unwrap().to_vec()).unwrap();
        (fast, general)
    }

    proptest::proptest! {
        #[test]
        fn fast_row_equals_cell_writer_row(
            v6 in proptest::bool::ANY,
            a: u128,
            b: u128,
            ports: (u16, u16),
            ts_us in 0i64..4_000_000_000_000_000,
            dur_us in 0i64..10_000_000_000,
            counts: [u64; 8],
            shifts in proptest::array::uniform8(0u32..64),
            flags in proptest::array::uniform3(0u8..3),
            hist_len in 0usize..31,
            parents in 0usize..7,
            services in 0usize..3,
            state in 0usize..13,
            proto in 0usize..4,
        ) {
            let mut rec = record();
            let ip = |x: u128| -> core::net::IpAddr {
                if v6 {
                    core::net::Ipv6Addr::from(x).into()
                } else {
                    core::net::Ipv4Addr::from(x as u32).into()
                }
            };
            rec.orig_h = ip(a);
            rec.resp_h = ip(b);
            (rec.orig_p, rec.resp_p) = ports;
            rec.ts = Timestamp(ts_us * 1000);
            rec.last = Timestamp((ts_us + dur_us) * 1000);
            let c: Vec<u64> = counts.iter().zip(shifts).map(|(c, s)| c >> s).collect();
            rec.orig_bytes = c[0];
            rec.resp_bytes = c[1];
            rec.missed_bytes = c[2];
            rec.orig_pkts = c[3];
            rec.orig_ip_bytes = c[4];
            rec.resp_pkts = c[5];
            rec.resp_ip_bytes = c[6];
            rec.ip_proto = c[7] as u8;
            let opt = |f: u8| [None, Some(false), Some(true)][usize::from(f)];
            rec.local_orig = opt(flags[0]);
            rec.local_resp = opt(flags[1]);
            rec.history = History::default();
            rec.history.set(&b"ShADadFfRrCcTtWwIiQq^GgXxShADad"[..hist_len]);
            for (i, x) in c.iter().enumerate().take(parents) {
                rec.tunnel_parents.add(Uid { hi: i as u32 * 977, lo: x ^ a as u64 });
            }
            for s in [Service::Vxlan, Service::Geneve][..services].iter() {
                rec.service.add(*s);
            }
            rec.conn_state = [
                ConnState::S0, ConnState::S1, ConnState::SF, ConnState::REJ, ConnState::S2,
                ConnState::S3, ConnState::RSTO, ConnState::RSTR, ConnState::RSTOS0,
                ConnState::RSTRH, ConnState::SH, ConnState::SHR, ConnState::OTH,
            ][state];
            rec.proto = [Proto::Tcp, Proto::Udp, Proto::Icmp, Proto::Unknown][proto];
            let (fast, general) = both_ways(&rec);
            proptest::prop_assert_eq!(fast, general);
        }
    }

    #[test]
    fn fast_row_edge_cases() {
        let mut rec = record();
        for (ts, last) in [
            (0, 0),
            (-5_000_000_000, 7),
            (i64::MAX, i64::MAX),
            (i64::MIN, 0),
        ] {
            rec.ts = Timestamp(ts);
            rec.last = Timestamp(last);
            rec.history = History::default();
            rec.history.set(b"-");
            let (fast, general) = both_ways(&rec);
            assert_eq!(fast, general);
        }
    }

    #[test]
    fn services_joined_with_comma() {
        let mut rec = record();
        rec.service.add(Service::Vxlan);
        rec.service.add(Service::Geneve);
        let text = render(&[rec], LogFormat::Tsv);
        assert!(text.contains("\tudp\tvxlan,geneve\t"), "{text}");
    }

    #[test]
    fn every_service_is_written_unescaped() {
        // The fast row copies service names as they are; the cell writer
        // escapes them like any string. They agree for every service,
        // alone and four at a time (the most a list holds).
        use Service::*;
        let all = [
            Vxlan, Geneve, Teredo, Ayiya, Gtpv1, Dns, Http, Ssl, Dtls, Ssh, Ftp, FtpData, Smtp,
            Pop3, Imap, Ntp, Dhcp, Snmp, Sip, Rdp, Smb, Krb, KrbTcp, Mysql, Quic, Irc, Modbus,
            DceRpc,
        ];
        for (i, s) in all.iter().enumerate() {
            let mut rec = record();
            rec.service.add(*s);
            let (fast, general) = both_ways(&rec);
            assert_eq!(fast, general, "{s:?}");
            for t in all.iter().cycle().skip(i + 1).take(3) {
                rec.service.add(*t);
            }
            let (fast, general) = both_ways(&rec);
            assert_eq!(fast, general, "{s:?}");
        }
    }
}
