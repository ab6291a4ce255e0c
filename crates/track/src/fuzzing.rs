//! Fuzz harness for the whole packet path, shared by the `pipeline` fuzz
//! target and the corpus replay test (`tests/fuzz_corpus.rs`).
//!
//! Nothing here is used on the packet path. [`fuzz_pipeline`] cuts one
//! input into several frames and feeds them, with advancing network time,
//! through a [`PacketAnalyzer`], so state that lives across packets
//! (connections, timers, tunnels, fragments) is exercised, then checks
//! invariants of the conn.log records and long-connection reports that come
//! out.
//!
//! # Input format
//!
//! ```text
//! byte 0     flags: bits 0-2 link type (LINKS[0..7], 7 = a per-frame
//!            byte picks one of MIXED_LINKS), then FLAG_* bits
//! then, repeated until the input ends:
//!   len      u16 big-endian; the low 15 bits are the frame length, the top
//!            bit says a `cut` byte follows the time code
//!   tcode    network time step before this frame (see `time_step`)
//!   [cut]    only with the top bit: the capture kept `len` of
//!            `len + 1 + 64 * cut` bytes on the wire (snaplen cut)
//!   [link]   only in mixed mode: index into MIXED_LINKS (mod 16)
//!   data     `len` bytes (fewer if the input ends first)
//! ```
//!
//! [`encode_frame`] writes one frame record in that format, for seeds.

use std::collections::{HashMap, HashSet};

use connwatch_wire::{Duration, Frame, LinkType, Timestamp};

use crate::{ConnEvent, ConnRecord, InterimReport, LocalNets, PacketAnalyzer, TrackerConfig, Uid};

/// Link types of the fixed modes (low 3 bits of the first byte, 0..=6).
pub const LINKS: [LinkType; 7] = [
    LinkType::ETHERNET,
    LinkType::RAW,
    LinkType::NULL,
    LinkType::LINUX_SLL,
    LinkType::IEEE802_11_RADIOTAP,
    LinkType::LINUX_SLL2,
    LinkType::LOOP,
];

/// Mode 7: each frame starts with a byte choosing its link type (mod 16).
pub const MODE_MIXED: u8 = 7;

/// Link types of mixed mode: every one `link::decode` knows, and an
/// unknown one.
pub const MIXED_LINKS: [u32; 16] = [
    0, 1, 9, 12, 50, 101, 105, 108, 113, 127, 228, 229, 239, 276, 65000, 1,
];

/// Verify checksums (the default mode ignores them, as `-C` does, because
/// random packets almost never have good ones).
pub const FLAG_CHECKSUMS: u8 = 0x08;
/// Run the input twice and require identical events (determinism).
pub const FLAG_TWICE: u8 = 0x10;
/// Tight limits: little fragment memory, few connections.
pub const FLAG_TIGHT: u8 = 0x20;
/// Short timeouts and long-connection thresholds, so timers fire within
/// small time steps.
pub const FLAG_SHORT_TIMEOUTS: u8 = 0x40;
/// No local networks (`local_orig`/`local_resp` unset).
pub const FLAG_NO_LOCAL_NETS: u8 = 0x80;

/// Network time of the first frame (2011-03-14).
pub const START: Timestamp = Timestamp::from_secs_nanos(1_300_000_000, 0);

/// The time step a time code stands for, in nanoseconds.
///
/// `0..=63`: about `c` ms (with sub-microsecond parts); `64..=127`:
/// `(c-64) * 250` ms; `128..=191`: `(c-128) * 10` s; `192..=247`:
/// `(c-192) * 10` min; `248..=254`: `c-247` days; `255`: 1.5 s backwards.
pub fn time_step(c: u8) -> i64 {
    const MS: i64 = 1_000_000;
    const S: i64 = 1_000_000_000;
    let c64 = i64::from(c);
    match c {
        0..=63 => c64 * 1_000_123,
        64..=127 => (c64 - 64) * 250 * MS,
        128..=191 => (c64 - 128) * 10 * S,
        192..=247 => (c64 - 192) * 600 * S,
        248..=254 => (c64 - 247) * 86_400 * S,
        255 => -1_500 * MS,
    }
}

/// The largest time code whose step is at most `ns` (never the backwards
/// one), for writing seeds from real captures.
pub fn time_code(ns: i64) -> u8 {
    (0..=254u8)
        .filter(|&c| time_step(c) <= ns)
        .max_by_key(|&c| time_step(c))
        .unwrap_or(0)
}

/// Appends one frame record to `out` (see the module docs). `link` is only
/// written in mixed mode; `wire_len` beyond `data.len()` is rounded up to
/// what the format can say.
pub fn encode_frame(
    out: &mut Vec<u8>,
    mixed_link: Option<u8>,
    tcode: u8,
    data: &[u8],
    wire_len: u32,
) {
    let len = data.len().min(0x7fff);
    let missing = wire_len.saturating_sub(len as u32);
    let cut = (missing > 0).then(|| ((missing - 1).div_ceil(64)).min(255) as u8);
    let hi = (len >> 8) as u8 | if cut.is_some() { 0x80 } else { 0 };
    out.extend_from_slice(&[hi, len as u8, tcode]);
    out.extend(cut);
    out.extend(mixed_link);
    out.extend_from_slice(&data[..len]);
}

/// The configuration the flags ask for.
pub fn config(flags: u8) -> TrackerConfig {
    let mut cfg = TrackerConfig {
        ignore_checksums: flags & FLAG_CHECKSUMS == 0,
        // Flow export is always on: its records must add up (below).
        export: Some(crate::ExportTimeouts::default()),
        ..TrackerConfig::default()
    };
    if flags & FLAG_TIGHT != 0 {
        cfg.max_fragment_bytes = 4096;
        cfg.max_connections = 16;
    }
    if flags & FLAG_SHORT_TIMEOUTS != 0 {
        let s = Duration::from_secs;
        cfg.tcp_inactivity_timeout = s(7);
        cfg.udp_inactivity_timeout = s(3);
        cfg.icmp_inactivity_timeout = s(2);
        cfg.unknown_ip_inactivity_timeout = s(2);
        cfg.frag_timeout = s(4);
        cfg.ip_tunnel_timeout = s(30);
        cfg.interactive_inactivity_timeout = s(20);
        cfg.dns_session_timeout = s(2);
        cfg.export = Some(crate::ExportTimeouts {
            active: s(5),
            inactive: s(2),
        });
        if let Some(long) = cfg.long.as_mut() {
            long.durations = vec![s(2), s(5), s(15)];
            long.repeat_last = true;
            if let Some(slow) = long.slow.as_mut() {
                slow.min_age = s(5);
                slow.min_orig_bytes = 16;
            }
        }
    }
    if flags & FLAG_NO_LOCAL_NETS != 0 {
        cfg.local_nets = LocalNets::empty();
    }
    cfg
}

/// Runs `data` through a packet analyzer and checks the records; must never
/// panic.
pub fn fuzz_pipeline(data: &[u8]) {
    let Some((&flags, _)) = data.split_first() else {
        return;
    };
    let first = run(data);
    if flags & FLAG_TWICE != 0 {
        let second = run(data);
        assert!(first == second, "the same input gave different events");
    }
}

/// One run: every frame, `finish`, then the invariants. Returns the events
/// in the order they came.
fn run(data: &[u8]) -> Vec<ConnEvent> {
    let (&flags, mut rest) = data.split_first().expect("non-empty input");
    let mode = flags & 7;
    let mut analyzer = PacketAnalyzer::new(config(flags));
    let mut events = Checker::default();
    let mut ts = START;

    while rest.len() >= 3 {
        let len = usize::from(u16::from_be_bytes([rest[0] & 0x7f, rest[1]]));
        let has_cut = rest[0] & 0x80 != 0;
        let step = time_step(rest[2]);
        rest = &rest[3..];
        let cut = if has_cut {
            let Some((&c, r)) = rest.split_first() else {
                break;
            };
            rest = r;
            Some(c)
        } else {
            None
        };
        let link = if mode == MODE_MIXED {
            let Some((&l, r)) = rest.split_first() else {
                break;
            };
            rest = r;
            LinkType(MIXED_LINKS[usize::from(l & 15)])
        } else {
            LINKS[usize::from(mode)]
        };
        let (frame, r) = rest.split_at(len.min(rest.len()));
        rest = r;
        let caplen = frame.len() as u32;
        let wire_len = match cut {
            Some(c) => caplen + 1 + 64 * u32::from(c),
            None => caplen,
        };

        ts = Timestamp(ts.0.saturating_add(step));
        events.time(ts, step < 0);
        analyzer.handle_frame(&Frame {
            ts,
            link,
            data: frame,
            wire_len,
            interface: 0,
        });
        // Events leave as the sensor takes them: after each frame (flow
        // records first: a connection's last one precedes its row).
        for f in analyzer.tracker().drain_flows() {
            events.flow(&f);
        }
        for ev in analyzer.tracker().drain_events() {
            events.event(ev);
        }
    }

    analyzer.finish();
    for f in analyzer.tracker().drain_flows() {
        events.flow(&f);
    }
    for ev in analyzer.tracker().drain_events() {
        events.event(ev);
    }
    assert_eq!(analyzer.stats().frames, events.frames, "frames counted");
    events.finish(&mut analyzer);
    events.all
}

/// Checks events as they come, then the whole run.
#[derive(Default)]
struct Checker {
    /// Every event, in order.
    all: Vec<ConnEvent>,
    /// Uids of finished connections.
    finished: HashSet<Uid>,
    /// Per uid with long reports: last threshold, packets (both
    /// directions) at that report, whether the slow notice was raised.
    long: HashMap<Uid, (Duration, u64, bool)>,
    /// Per flow id: packets and bytes exported so far (both directions).
    flows: HashMap<u64, (u64, u64)>,
    frames: u64,
    /// Network time of the current frame, and the range of all frames.
    now: Timestamp,
    min_ts: Timestamp,
    max_ts: Timestamp,
    /// Network time never went backwards.
    went_back: bool,
}

impl Checker {
    fn time(&mut self, ts: Timestamp, backwards: bool) {
        if self.frames == 0 {
            (self.min_ts, self.max_ts) = (ts, ts);
        }
        self.frames += 1;
        self.went_back |= backwards;
        self.now = ts;
        self.min_ts = self.min_ts.min(ts);
        self.max_ts = self.max_ts.max(ts);
    }

    fn event(&mut self, ev: ConnEvent) {
        match &ev {
            ConnEvent::Finished(rec) => self.finished_record(rec),
            ConnEvent::Interim { record, report } => self.interim(record, report),
        }
        self.all.push(ev);
    }

    fn flow(&mut self, f: &connwatch_wire::netflow::FlowRecord) {
        let rev = f.reverse.unwrap_or(f.forward);
        assert!(
            f.forward.packets + rev.packets > 0,
            "an empty flow record: {f:?}"
        );
        let e = self.flows.entry(f.flow_id).or_default();
        e.0 += f.forward.packets + rev.packets;
        e.1 += f.forward.octets + rev.octets;
    }

    fn finished_record(&mut self, rec: &ConnRecord) {
        let uid = rec.uid;
        assert!(self.finished.insert(uid), "uid {uid} finished twice");
        // The flow records of a connection add up to its totals.
        let id = uid.lo ^ (u64::from(uid.hi) << 32);
        let (pkts, bytes) = self.flows.remove(&id).unwrap_or_default();
        assert_eq!(
            (pkts, bytes),
            (
                rec.orig_pkts + rec.resp_pkts,
                rec.orig_ip_bytes + rec.resp_ip_bytes
            ),
            "{uid}: flow records do not add up"
        );
        check_record(rec, self.min_ts, self.max_ts, !self.went_back);
        if !self.went_back {
            assert!(
                rec.last <= self.now,
                "{uid} ends at {:?}, after network time {:?}",
                rec.last,
                self.now
            );
        }
        if let Some(&(_, pkts, _)) = self.long.get(&uid) {
            assert!(
                rec.orig_pkts + rec.resp_pkts >= pkts,
                "{uid}: {} packets at the end, {pkts} at a long report",
                rec.orig_pkts + rec.resp_pkts
            );
        }
    }

    fn interim(&mut self, rec: &ConnRecord, report: &InterimReport) {
        let uid = rec.uid;
        assert!(
            !self.finished.contains(&uid),
            "{uid}: long report after its conn.log record"
        );
        check_record(rec, self.min_ts, self.max_ts, !self.went_back);
        assert!(
            report.threshold > Duration::ZERO,
            "{uid}: threshold {report:?}"
        );
        assert_eq!(
            report.report_ts,
            rec.ts.saturating_add(report.threshold),
            "{uid}: report time is not start + threshold"
        );
        if !self.went_back {
            assert!(
                report.report_ts.truncate_to_micros() <= self.now.truncate_to_micros(),
                "{uid}: report at {:?} before network time got there ({:?})",
                report.report_ts,
                self.now
            );
            assert!(
                report.idle >= Duration::ZERO,
                "{uid}: negative idle time {report:?}"
            );
        }
        let pkts = rec.orig_pkts + rec.resp_pkts;
        match self.long.get_mut(&uid) {
            None => {
                // The first report's deltas are the whole counts.
                assert_eq!(
                    (
                        report.orig_pkts_delta,
                        report.resp_pkts_delta,
                        report.orig_bytes_delta,
                        report.resp_bytes_delta
                    ),
                    (rec.orig_pkts, rec.resp_pkts, rec.orig_bytes, rec.resp_bytes),
                    "{uid}: first long report's deltas are not its counts"
                );
                self.long.insert(uid, (report.threshold, pkts, report.slow));
            }
            Some((threshold, prev_pkts, slow)) => {
                assert!(
                    report.threshold > *threshold,
                    "{uid}: threshold {:?} after {threshold:?}",
                    report.threshold
                );
                assert!(pkts >= *prev_pkts, "{uid}: packet count went down");
                assert!(!(report.slow && *slow), "{uid}: slow notice twice");
                (*threshold, *prev_pkts, *slow) = (report.threshold, pkts, *slow || report.slow);
            }
        }
    }

    /// After `finish`: every connection is gone and reported once.
    fn finish(&self, analyzer: &mut PacketAnalyzer) {
        let tracker = analyzer.tracker_ref();
        let stats = tracker.stats();
        assert_eq!(stats.open, 0, "connections left open after finish");
        assert_eq!(tracker.live().count(), 0, "live connections after finish");
        assert!(tracker.events().is_empty(), "events left after draining");
        assert!(
            tracker.flows().is_empty(),
            "flow records left after draining"
        );
        assert_eq!(
            self.finished.len() as u64,
            stats.connections,
            "one conn.log record per connection created"
        );
        assert!(stats.peak_open <= stats.connections, "peak above created");
        for uid in self.long.keys() {
            assert!(
                self.finished.contains(uid),
                "{uid}: long reports but no conn.log record"
            );
        }
    }
}

/// Invariants of one record (conn.log or long report).
fn check_record(rec: &ConnRecord, min_ts: Timestamp, max_ts: Timestamp, monotonic: bool) {
    let uid = rec.uid;
    let mut buf = [0u8; Uid::MAX_LEN];
    let text = uid.render(&mut buf);
    assert!(
        text.starts_with('C') && text.bytes().all(|b| b.is_ascii_alphanumeric()),
        "bad uid {text:?}"
    );
    // A connection may be its own tunnel parent: a tunnel (GTP, VXLAN...)
    // whose inner packet has the outer 5-tuple is looked up as the outer
    // connection (Zeek's key ignores encapsulation), which then records
    // the tunnel's uid, its own, as Zeek's conn.log would.
    // Times are frame times.
    for t in [rec.ts, rec.last] {
        assert!(
            min_ts <= t && t <= max_ts,
            "{uid}: time {t:?} outside the input's {min_ts:?}..={max_ts:?}"
        );
    }
    if monotonic {
        assert!(
            rec.ts <= rec.last,
            "{uid}: last {:?} before ts {:?}",
            rec.last,
            rec.ts
        );
    }
    if let Some(d) = rec.duration_secs() {
        assert!(d.is_finite() && d > 0.0, "{uid}: duration {d}");
    }
    // No bytes without packets.
    assert!(
        rec.orig_pkts > 0 || rec.orig_ip_bytes == 0,
        "{uid}: orig_ip_bytes {} without packets",
        rec.orig_ip_bytes
    );
    assert!(
        rec.resp_pkts > 0 || rec.resp_ip_bytes == 0,
        "{uid}: resp_ip_bytes {} without packets",
        rec.resp_ip_bytes
    );
    let h = rec.history.as_bytes();
    assert!(
        h.iter().all(|b| b.is_ascii_alphabetic() || *b == b'^'),
        "{uid}: history {:?}",
        rec.history.as_str()
    );
    let _ = rec.conn_state.as_str();
    let _ = rec.proto.as_str();
    for s in rec.service.iter() {
        let _ = s.as_str();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_codes_round_trip() {
        for c in 0..=254u8 {
            assert_eq!(time_step(time_code(time_step(c))), time_step(c));
        }
        assert_eq!(time_code(-5), 0);
        assert!(time_step(255) < 0);
    }

    #[test]
    fn runs_a_small_tcp_exchange_in_every_mode() {
        // Raw IPv4 TCP SYN 10.0.0.1:1234 -> 10.0.0.2:80 (checksums zero).
        let syn = [
            0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, //
            0x04, 0xd2, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x20, 0, 0, 0, 0, 0,
        ];
        for flags in [
            1u8,
            1 | FLAG_TWICE,
            1 | FLAG_SHORT_TIMEOUTS | FLAG_TIGHT,
            0xff,
        ] {
            let mut input = vec![flags];
            let link = (flags & 7 == MODE_MIXED).then_some(5); // raw IP
            for tcode in [0, 5, 200, 255, 250] {
                encode_frame(&mut input, link, tcode, &syn, 60);
            }
            fuzz_pipeline(&input);
            // Every prefix, too.
            for n in 0..input.len() {
                fuzz_pipeline(&input[..n]);
            }
        }
    }
}
