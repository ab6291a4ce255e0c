//! conn_long.log at the tracker level: the acceptance scenarios of the
//! long-connection issue (shared/spec/long-connections.md), fed as frames
//! through the [`PacketAnalyzer`].
//!
//! Every run collects all events in order. Interim rows render as one line
//! each, e.g.
//! `c0 at=600.000000 thr=600.000000 S1 ShADa dur=590.001000 pkts=61/60 bytes=5900/0 ip=8344/2404 dpkts=61/60 dbytes=5900/0 idle=9.999000`
//! where `c0` names the connection by its eventual conn.log row (rows
//! sorted by `ts`), `at` is `report_ts` and `dur` is `last − ts`, both in
//! seconds from the scenario's start (nine decimals when not a whole
//! microsecond), `dpkts`/`dbytes` are the deltas, and ` SLOW` marks the
//! long-and-slow notice. Expected values are worked out by hand from the
//! scenario, never taken from the tracker's output.
//!
//! Besides the exact rows, [`Outcome::check`] asserts on every run: each
//! reported uid has exactly one conn.log row, written after its reports,
//! with the same `ts`, uid, endpoints and protocol; `report_ts = ts +
//! threshold`; `idle = report_ts − last` with `last < report_ts`;
//! thresholds strictly increase per uid (so no row twice); deltas are the
//! differences from the previous row; the notice is raised at most once.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use connwatch_tracegen::packet::{self, Ip, IpPair, Link, Tcp};
use connwatch_tracegen::{hours, mins, ticks, Nanos, Scenario, DEFAULT_START};
use connwatch_wire::{Duration, Frame, LinkType, Timestamp};

use crate::{
    Cidr, ConnEvent, ConnRecord, InterimReport, LongConfig, PacketAnalyzer, SlowCriteria,
    TrackerConfig, Uid,
};

use super::dsl::*;

// ------------------------------------------------------------- collector

/// Feeds frames, keeping every event (interim and finished) in order.
struct LongSim {
    an: PacketAnalyzer,
    events: Vec<ConnEvent>,
}

impl LongSim {
    fn new(cfg: TrackerConfig) -> LongSim {
        LongSim {
            an: PacketAnalyzer::new(cfg),
            events: Vec::new(),
        }
    }

    fn feed(&mut self, ts: Nanos, data: &[u8]) {
        self.an.handle_frame(&Frame {
            ts: Timestamp(ts),
            link: LinkType::ETHERNET,
            data,
            wire_len: data.len() as u32,
            interface: 0,
        });
        self.events.extend(self.an.tracker().drain_events());
    }

    /// Ends the input; asserts the flush adds no interim row (spec item 8).
    fn finish(mut self) -> Outcome {
        self.an.finish();
        let tail: Vec<ConnEvent> = self.an.tracker().drain_events().collect();
        let extra: Vec<String> = tail
            .iter()
            .filter_map(|e| match e {
                ConnEvent::Interim { report, .. } => Some(format!("{report:?}")),
                ConnEvent::Finished(_) => None,
            })
            .collect();
        assert!(
            extra.is_empty(),
            "interim rows at the end of the trace: {extra:#?}"
        );
        self.events.extend(tail);
        Outcome::new(self.events)
    }
}

fn run_long(cfg: TrackerConfig, s: &Scenario) -> Outcome {
    let mut sim = LongSim::new(cfg);
    for p in s.packets() {
        sim.feed(p.ts, &p.data);
    }
    sim.finish()
}

/// Test config with the given long-connection settings.
fn cfg_long(long: Option<LongConfig>) -> TrackerConfig {
    TrackerConfig { long, ..cfg() }
}

/// A long config with these thresholds (seconds), default otherwise.
fn thresholds(secs_list: &[i64], repeat_last: bool) -> LongConfig {
    LongConfig {
        durations: secs_list.iter().map(|&s| Duration::from_secs(s)).collect(),
        repeat_last,
        ..LongConfig::default()
    }
}

fn cidr(s: &str) -> Cidr {
    s.parse().unwrap()
}

/// Seconds with six decimals (nine when not a whole microsecond).
fn secs_str(ns: i64) -> String {
    assert!(ns >= 0, "negative time {ns}");
    if ns % 1000 == 0 {
        format!("{}.{:06}", ns / 1_000_000_000, ns % 1_000_000_000 / 1000)
    } else {
        format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
    }
}

/// Every event of a run, in order.
struct Outcome {
    events: Vec<ConnEvent>,
    labels: HashMap<Uid, String>,
}

impl Outcome {
    fn new(events: Vec<ConnEvent>) -> Outcome {
        let mut fin: Vec<&ConnRecord> = events
            .iter()
            .filter_map(|e| match e {
                ConnEvent::Finished(r) => Some(r),
                ConnEvent::Interim { .. } => None,
            })
            .collect();
        fin.sort_by_key(|r| r.ts);
        let mut labels = HashMap::new();
        for (i, r) in fin.iter().enumerate() {
            let old = labels.insert(r.uid, format!("c{i}"));
            assert!(old.is_none(), "uid {:?} has two conn.log rows", r.uid);
        }
        let o = Outcome { events, labels };
        o.check();
        o
    }

    fn finished(&self) -> Vec<&ConnRecord> {
        let mut v: Vec<&ConnRecord> = self
            .events
            .iter()
            .filter_map(|e| match e {
                ConnEvent::Finished(r) => Some(r),
                ConnEvent::Interim { .. } => None,
            })
            .collect();
        v.sort_by_key(|r| r.ts);
        v
    }

    fn interim(&self) -> Vec<(&ConnRecord, &InterimReport)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                ConnEvent::Interim { record, report } => Some((record, report)),
                ConnEvent::Finished(_) => None,
            })
            .collect()
    }

    fn label(&self, uid: Uid) -> &str {
        self.labels
            .get(&uid)
            .map(String::as_str)
            .unwrap_or("<no conn.log row>")
    }

    /// The conn_long rows, in the order they were reported.
    fn rows(&self) -> Vec<String> {
        self.interim()
            .iter()
            .map(|(r, rep)| {
                let hist = if r.history.is_empty() {
                    "-"
                } else {
                    r.history.as_str()
                };
                format!(
                    "{} at={} thr={} {} {} dur={} pkts={}/{} bytes={}/{} ip={}/{} dpkts={}/{} dbytes={}/{} idle={}{}",
                    self.label(r.uid),
                    secs_str(rep.report_ts.0 - DEFAULT_START),
                    secs_str(rep.threshold.as_nanos()),
                    r.conn_state.as_str(),
                    hist,
                    secs_str((r.last - r.ts).as_nanos()),
                    r.orig_pkts,
                    r.resp_pkts,
                    r.orig_bytes,
                    r.resp_bytes,
                    r.orig_ip_bytes,
                    r.resp_ip_bytes,
                    rep.orig_pkts_delta,
                    rep.resp_pkts_delta,
                    rep.orig_bytes_delta,
                    rep.resp_bytes_delta,
                    secs_str(rep.idle.as_nanos()),
                    if rep.slow { " SLOW" } else { "" },
                )
            })
            .collect()
    }

    /// The conn.log rows, sorted by `ts`, as `label` + [`show`].
    fn conn_rows(&self) -> Vec<String> {
        self.finished()
            .iter()
            .map(|r| format!("{} {}", self.label(r.uid), show(r)))
            .collect()
    }

    /// `(label, threshold in seconds)` of each row, in order.
    fn schedule(&self) -> Vec<(String, i64)> {
        self.interim()
            .iter()
            .map(|(r, rep)| {
                (
                    self.label(r.uid).to_string(),
                    rep.threshold.as_nanos() / 1_000_000_000,
                )
            })
            .collect()
    }

    /// The invariants every run must satisfy (see the module docs).
    fn check(&self) {
        let mut fin_pos: HashMap<Uid, (usize, &ConnRecord)> = HashMap::new();
        for (i, e) in self.events.iter().enumerate() {
            if let ConnEvent::Finished(r) = e {
                fin_pos.insert(r.uid, (i, r));
            }
        }
        let mut prev: HashMap<Uid, (&ConnRecord, &InterimReport)> = HashMap::new();
        for (i, e) in self.events.iter().enumerate() {
            let ConnEvent::Interim {
                record: r,
                report: rep,
            } = e
            else {
                continue;
            };
            let ctx = format!("interim row {i} {rep:?} of {r:?}");
            let (fi, f) = fin_pos
                .get(&r.uid)
                .unwrap_or_else(|| panic!("{ctx}: its uid has no conn.log row"));
            assert!(*fi > i, "{ctx}: reported after its conn.log row");
            // Same connection as the conn.log row.
            assert_eq!(
                (r.ts, r.uid, r.orig_h, r.orig_p, r.resp_h, r.resp_p, r.proto, r.ip_proto),
                (f.ts, f.uid, f.orig_h, f.orig_p, f.resp_h, f.resp_p, f.proto, f.ip_proto),
                "{ctx}"
            );
            assert_eq!(
                (r.vlan, r.inner_vlan, r.local_orig, r.local_resp),
                (f.vlan, f.inner_vlan, f.local_orig, f.local_resp),
                "{ctx}"
            );
            // As of the instant start + threshold.
            assert_eq!(rep.report_ts, r.ts + rep.threshold, "{ctx}");
            assert!(
                r.last < rep.report_ts,
                "{ctx}: a packet at/after report_ts counted"
            );
            assert_eq!(rep.idle, rep.report_ts - r.last, "{ctx}");
            assert!(
                r.orig_pkts <= f.orig_pkts && r.resp_pkts <= f.resp_pkts,
                "{ctx}: more packets than at the end"
            );
            // Deltas, order, once-only notice.
            let (po, pr, pob, prb) = match prev.get(&r.uid) {
                Some((pr_rec, pr_rep)) => {
                    assert!(
                        pr_rep.threshold < rep.threshold,
                        "{ctx}: threshold not after the previous row's {:?}",
                        pr_rep.threshold
                    );
                    assert!(!(pr_rep.slow && rep.slow), "{ctx}: notice raised twice");
                    (
                        pr_rec.orig_pkts,
                        pr_rec.resp_pkts,
                        pr_rec.orig_bytes,
                        pr_rec.resp_bytes,
                    )
                }
                None => (0, 0, 0, 0),
            };
            assert_eq!(
                (
                    rep.orig_pkts_delta,
                    rep.resp_pkts_delta,
                    rep.orig_bytes_delta,
                    rep.resp_bytes_delta
                ),
                (
                    r.orig_pkts - po,
                    r.resp_pkts - pr,
                    r.orig_bytes - pob,
                    r.resp_bytes - prb
                ),
                "{ctx}: deltas"
            );
            prev.insert(r.uid, (r, rep));
        }
        let slow_per_uid = self.interim().iter().filter(|(_, rep)| rep.slow).fold(
            HashMap::<Uid, usize>::new(),
            |mut m, (r, _)| {
                *m.entry(r.uid).or_default() += 1;
                m
            },
        );
        assert!(slow_per_uid.values().all(|&n| n == 1), "{slow_per_uid:?}");
    }
}

#[track_caller]
fn assert_lines(got: &[String], want: &[&str]) {
    let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    assert!(
        got == want.as_slice(),
        "\n got:\n  {}\nwant:\n  {}\n",
        got.join("\n  "),
        want.join("\n  ")
    );
}

// ------------------------------------------------------------- traffic

/// A TCP conversation starting at `o`: handshake (RTT 2 ms), then every
/// 10 s from `o + 10 s` 100 B from the originator (ACK 1 ms later) and 100
/// B from the responder 30 ms later (ACK 1 ms after that), FIN at `end`.
fn chatty(s: &Scenario, orig: &str, resp: &str, o: Nanos, end: Nanos) {
    let mut c = s.tcp(orig, resp);
    c.handshake(o);
    for t in ticks(o + secs(10), secs(10), end) {
        c.send_orig(t, 100).send_resp(t + ms(30), 100);
    }
    c.close_fin(end);
}

// Scenario 1: at 10 min, 59 exchanges (10 s … 590 s) are before the
// instant; the one stamped exactly at 600 s comes after the report. Orig:
// SYN (44 B) + ACK (40) + 59 × (data 140 + ACK 40); resp: SYN-ACK (44) +
// 59 × (ACK 40 + data 140). The last packet before 600 s is the
// originator's ACK at 590.031 s.
const CHATTY_10MIN: &str = "c0 at=600.000000 thr=600.000000 S1 ShADad dur=590.031000 pkts=120/119 bytes=5900/5900 ip=10704/10664 dpkts=120/119 dbytes=5900/5900 idle=9.969000";
const CHATTY_30MIN: &str = "c0 at=1800.000000 thr=1800.000000 S1 ShADad dur=1790.031000 pkts=360/359 bytes=17900/17900 ip=32304/32264 dpkts=240/240 dbytes=12000/12000 idle=9.969000";
// 269 exchanges, then FIN, FIN, ACK at 2700 s + 0/1/2 ms.
const CHATTY_CONN: &str = "c0 10.0.0.1:40000 > 10.0.0.2:5000 tcp SF ShADadFf dur=2700.001000 bytes=26900/26900 pkts=542/540 ip=48584/48504 missed=0 local=T/T";

// ------------------------------------------------------------ scenario 1

#[test]
fn connection_crossing_10_and_30_min_gets_two_rows_then_its_conn_row() {
    let s = scenario();
    chatty(&s, CLIENT, SERVER, 0, mins(45));
    let out = run_long(cfg(), &s);
    assert_lines(&out.rows(), &[CHATTY_10MIN, CHATTY_30MIN]);
    assert_lines(&out.conn_rows(), &[CHATTY_CONN]);
}

#[test]
fn busy_long_background_flow_gets_its_own_rows_and_changes_nothing() {
    // A second 5-tuple, 1 datagram of 32 B per second from 0.5 s to
    // 2699.5 s: it lives 45 min too, so it crosses 10 and 30 min itself
    // (at 600.5 s and 1800.5 s from the trace start: 600 and 1800
    // datagrams before those instants, the last 1 s earlier).
    let s = scenario();
    chatty(&s, CLIENT, SERVER, 0, mins(45));
    let mut bg = s.udp("10.0.0.3:41000", "10.0.0.4:6000");
    for t in ticks(ms(500), secs(1), mins(45)) {
        bg.send(Orig, t, 32);
    }
    let out = run_long(cfg(), &s);
    assert_lines(
        &out.rows(),
        &[
            CHATTY_10MIN,
            "c1 at=600.500000 thr=600.000000 S0 D dur=599.000000 pkts=600/0 bytes=19200/0 ip=36000/0 dpkts=600/0 dbytes=19200/0 idle=1.000000",
            CHATTY_30MIN,
            "c1 at=1800.500000 thr=1800.000000 S0 D dur=1799.000000 pkts=1800/0 bytes=57600/0 ip=108000/0 dpkts=1200/0 dbytes=38400/0 idle=1.000000",
        ],
    );
    assert_lines(
        &out.conn_rows(),
        &[
            CHATTY_CONN,
            "c1 10.0.0.3:41000 > 10.0.0.4:6000 udp S0 D dur=2699.000000 bytes=86400/0 pkts=2700/0 ip=162000/0 missed=0 local=T/T",
        ],
    );
}

#[test]
fn busy_background_of_short_flows_gets_no_rows() {
    // 2700 one-packet UDP flows, one per second from 0.5 s: each lives its
    // 60 s inactivity timeout, far below 10 min, so none is reported; they
    // move the clock between the long connection's packets.
    let s = scenario();
    chatty(&s, CLIENT, SERVER, 0, mins(45));
    s.background(ms(500), secs(1), 2700);
    let out = run_long(cfg(), &s);
    assert_lines(&out.rows(), &[CHATTY_10MIN, CHATTY_30MIN]);
    let conns = out.conn_rows();
    assert_eq!(conns.len(), 2701);
    assert_eq!(conns[0], CHATTY_CONN);
}

#[test]
fn no_long_config_means_no_interim_rows() {
    let s = scenario();
    chatty(&s, CLIENT, SERVER, 0, mins(45));
    s.background(ms(500), secs(1), 2700);
    let out = run_long(cfg_long(None), &s);
    assert!(out.rows().is_empty(), "{:#?}", out.rows());
    assert_eq!(out.conn_rows()[0], CHATTY_CONN);
    assert_eq!(out.conn_rows().len(), 2701);
}

// ------------------------------------------------------------ scenario 2

#[test]
fn ignored_vpn_subnet_on_either_side_is_never_reported_nor_noticed() {
    // Slow criteria that every connection meets, so a watched connection
    // raises the notice at its first row: the ignored ones must not.
    let long = LongConfig {
        ignore: vec![cidr("10.8.0.0/16")],
        slow: Some(SlowCriteria {
            min_age: Duration::ZERO,
            max_bytes_per_sec: 1e12,
            min_pcr: -1.0,
            min_orig_bytes: 0,
        }),
        ..LongConfig::default()
    };
    let s = scenario();
    chatty(&s, CLIENT, SERVER, 0, mins(45));
    chatty(&s, "10.8.0.5:40001", SERVER, ms(100), mins(45) + ms(100));
    chatty(&s, CLIENT_2, "10.8.0.1:5000", ms(200), mins(45) + ms(200));
    let out = run_long(cfg_long(Some(long)), &s);
    assert_lines(
        &out.rows(),
        &[&format!("{CHATTY_10MIN} SLOW"), CHATTY_30MIN],
    );
    assert_lines(
        &out.conn_rows(),
        &[
            CHATTY_CONN,
            "c1 10.8.0.5:40001 > 10.0.0.2:5000 tcp SF ShADadFf dur=2700.001000 bytes=26900/26900 pkts=542/540 ip=48584/48504 missed=0 local=T/T",
            "c2 10.0.0.1:40002 > 10.8.0.1:5000 tcp SF ShADadFf dur=2700.001000 bytes=26900/26900 pkts=542/540 ip=48584/48504 missed=0 local=T/T",
        ],
    );
}

const CLIENT_2: &str = "10.0.0.1:40002";

// ------------------------------------------------------------ scenario 3

/// A UDP flow: request (40 B) / reply (120 B, 2 ms later) every 10 s at
/// 0 … 50 s, silent past its 60 s timeout (removed at 110.002 s), back at
/// 200 … 350 s as a new connection.
fn udp_returning(s: &Scenario) {
    let mut f = s.udp("10.0.0.1:41000", "10.0.0.2:6000");
    for t in ticks(0, secs(10), secs(60)) {
        f.request_reply(t, 40, 120);
    }
    for t in ticks(secs(200), secs(10), secs(360)) {
        f.request_reply(t, 40, 120);
    }
}

/// Rows of [`udp_returning`] with thresholds 30 s, 1 min, 2 min: the first
/// connection crosses 30 s and 1 min (not 2 min: removed at 110.002 s),
/// the second (from 200 s) 30 s, 1 min and 2 min. Datagrams: 68 and 148
/// IP bytes; the exchange stamped exactly at a threshold comes after it.
fn udp_returning_rows(second: &str) -> Vec<String> {
    vec![
        "c0 at=30.000000 thr=30.000000 SF Dd dur=20.002000 pkts=3/3 bytes=120/360 ip=204/444 dpkts=3/3 dbytes=120/360 idle=9.998000".into(),
        "c0 at=60.000000 thr=60.000000 SF Dd dur=50.002000 pkts=6/6 bytes=240/720 ip=408/888 dpkts=3/3 dbytes=120/360 idle=9.998000".into(),
        format!("{second} at=230.000000 thr=30.000000 SF Dd dur=20.002000 pkts=3/3 bytes=120/360 ip=204/444 dpkts=3/3 dbytes=120/360 idle=9.998000"),
        format!("{second} at=260.000000 thr=60.000000 SF Dd dur=50.002000 pkts=6/6 bytes=240/720 ip=408/888 dpkts=3/3 dbytes=120/360 idle=9.998000"),
        format!("{second} at=320.000000 thr=120.000000 SF Dd dur=110.002000 pkts=12/12 bytes=480/1440 ip=816/1776 dpkts=6/6 dbytes=240/720 idle=9.998000"),
    ]
}

const UDP_FIRST: &str = "10.0.0.1:41000 > 10.0.0.2:6000 udp SF Dd dur=50.002000 bytes=240/720 pkts=6/6 ip=408/888 missed=0 local=T/T";
const UDP_SECOND: &str = "10.0.0.1:41000 > 10.0.0.2:6000 udp SF Dd dur=150.002000 bytes=640/1920 pkts=16/16 ip=1088/2368 missed=0 local=T/T";

#[test]
fn udp_flow_returning_after_its_timeout_is_two_uids_with_their_own_rows() {
    // A background flow (ignored subnet, so never reported although it
    // lives 400 s) moves the clock every second.
    let long = LongConfig {
        ignore: vec![cidr("198.18.0.0/15")],
        ..thresholds(&[30, 60, 120], false)
    };
    let s = scenario();
    udp_returning(&s);
    let mut bg = s.udp("198.18.0.1:41000", "198.19.0.1:9");
    for t in ticks(ms(500), secs(1), secs(400)) {
        bg.send(Orig, t, 32);
    }
    let out = run_long(cfg_long(Some(long)), &s);
    let want = udp_returning_rows("c2");
    assert_lines(
        &out.rows(),
        &want.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let conns = out.conn_rows();
    assert_eq!(conns.len(), 3);
    assert_eq!(conns[0], format!("c0 {UDP_FIRST}"));
    assert_eq!(conns[2], format!("c2 {UDP_SECOND}"));
}

#[test]

fn udp_flow_returning_after_its_timeout_without_other_traffic() {
    // No other traffic: the clock jumps from 50.002 s to 200 s. The 1 min
    // report (at 60 s) is due before the inactivity removal (110.002 s), so
    // it is made; the 2 min one (120 s) is not, the connection being gone.
    let s = scenario();
    udp_returning(&s);
    let out = run_long(cfg_long(Some(thresholds(&[30, 60, 120], false))), &s);
    let want = udp_returning_rows("c1");
    assert_lines(
        &out.rows(),
        &want.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_lines(
        &out.conn_rows(),
        &[&format!("c0 {UDP_FIRST}"), &format!("c1 {UDP_SECOND}")],
    );
}

// ------------------------------------------------------------ scenario 4

/// Handshake at 0, then 100 B from the originator every 10 s (ACK 1 ms
/// later) from 10 s while below `end`; no close.
fn one_way(s: &Scenario, end: Nanos) {
    let mut c = s.tcp(CLIENT, SERVER);
    c.handshake(0);
    for t in ticks(secs(10), secs(10), end) {
        c.send_orig(t, 100);
    }
}

// 59 data segments before 600 s: orig SYN 44 + ACK 40 + 59 × 140, resp
// SYN-ACK 44 + 59 × 40; last packet the ACK at 590.001 s.
const ONE_WAY_10MIN: &str = "c0 at=600.000000 thr=600.000000 S1 ShADa dur=590.001000 pkts=61/60 bytes=5900/0 ip=8344/2404 dpkts=61/60 dbytes=5900/0 idle=9.999000";

#[test]
fn connection_open_at_trace_end_gets_no_extra_row() {
    let s = scenario();
    one_way(&s, mins(25));
    let out = run_long(cfg(), &s);
    assert_lines(&out.rows(), &[ONE_WAY_10MIN]);
    assert_lines(
        &out.conn_rows(),
        &["c0 10.0.0.1:40000 > 10.0.0.2:5000 tcp S1 ShADa dur=1490.001000 bytes=14900/0 pkts=151/150 ip=20944/6004 missed=0 local=T/T"],
    );
}

#[test]
fn connection_open_at_trace_end_in_repeat_mode_gets_no_extra_row() {
    // 30 s, 1 min, 2 min, then every 2 min: the trace ends at 310.001 s,
    // past 4 min and before 6 min.
    let s = scenario();
    one_way(&s, secs(311));
    let out = run_long(cfg_long(Some(thresholds(&[30, 60, 120], true))), &s);
    let c0 = |t| ("c0".to_string(), t);
    assert_eq!(out.schedule(), vec![c0(30), c0(60), c0(120), c0(240)]);
    assert_eq!(out.finished().len(), 1);
}

// ------------------------------------------------------------ scenario 5

/// Handshake at 0.123 s, 50 B from the originator every 7 s (7.123 …
/// 539.123 s, ACK 1 ms later), FIN at 540.123 s.
fn every_seven_seconds(s: &Scenario) {
    let o = ms(123);
    let mut c = s.tcp(CLIENT, SERVER);
    c.handshake(o);
    for t in ticks(o + secs(7), secs(7), o + secs(540)) {
        c.send_orig(t, 50);
    }
    c.close_fin(o + secs(540));
}

// At threshold T, n = ⌊T/7⌋ segments are before it (no T is a multiple of
// 7): pkts 2+n / 1+n, ip 84+90n / 44+40n, last packet the ACK at
// 7n + 0.001 s after the start.
const SEVEN: [&str; 6] = [
    "c0 at=30.123000 thr=30.000000 S1 ShADa dur=28.001000 pkts=6/5 bytes=200/0 ip=444/204 dpkts=6/5 dbytes=200/0 idle=1.999000",
    "c0 at=60.123000 thr=60.000000 S1 ShADa dur=56.001000 pkts=10/9 bytes=400/0 ip=804/364 dpkts=4/4 dbytes=200/0 idle=3.999000",
    "c0 at=120.123000 thr=120.000000 S1 ShADa dur=119.001000 pkts=19/18 bytes=850/0 ip=1614/724 dpkts=9/9 dbytes=450/0 idle=0.999000",
    "c0 at=240.123000 thr=240.000000 S1 ShADa dur=238.001000 pkts=36/35 bytes=1700/0 ip=3144/1404 dpkts=17/17 dbytes=850/0 idle=1.999000",
    "c0 at=360.123000 thr=360.000000 S1 ShADa dur=357.001000 pkts=53/52 bytes=2550/0 ip=4674/2084 dpkts=17/17 dbytes=850/0 idle=2.999000",
    "c0 at=480.123000 thr=480.000000 S1 ShADa dur=476.001000 pkts=70/69 bytes=3400/0 ip=6204/2764 dpkts=17/17 dbytes=850/0 idle=3.999000",
];

#[test]
fn repeat_last_reports_every_multiple_of_the_last_threshold_aligned_to_start() {
    let s = scenario();
    every_seven_seconds(&s);
    let out = run_long(cfg_long(Some(thresholds(&[30, 60, 120], true))), &s);
    assert_lines(&out.rows(), &SEVEN);
    // 77 segments, then FIN / FIN / ACK: no 10 min row.
    assert_lines(
        &out.conn_rows(),
        &["c0 10.0.0.1:40000 > 10.0.0.2:5000 tcp SF ShADaFf dur=540.001000 bytes=3850/0 pkts=81/79 ip=7094/3164 missed=0 local=T/T"],
    );
}

#[test]
fn without_repeat_last_reporting_stops_after_the_last_threshold() {
    let s = scenario();
    every_seven_seconds(&s);
    let out = run_long(cfg_long(Some(thresholds(&[30, 60, 120], false))), &s);
    assert_lines(&out.rows(), &SEVEN[..3]);
}

// ------------------------------------------------------------ scenario 7

/// A full handshake (0, 1 ms, 2 ms) and then silence, while one-packet
/// background flows (one per second from 0.5 s to 3899.5 s, dying after
/// 60 s, so never reported) move the clock.
fn silent_with_background(s: &Scenario) {
    s.tcp(CLIENT, SERVER).handshake(0);
    s.background(ms(500), secs(1), 3900);
}

fn silent_row(at: i64, dpkts: &str) -> String {
    format!(
        "c0 at={at}.000000 thr={at}.000000 S1 ShA dur=0.002000 pkts=2/1 bytes=0/0 ip=84/44 dpkts={dpkts} dbytes=0/0 idle={}.998000",
        at - 1
    )
}

#[test]
fn silent_open_connection_is_reported_with_its_idle_time() {
    let c = TrackerConfig {
        tcp_inactivity_timeout: Duration::from_secs(2 * 3600),
        ..cfg()
    };
    let s = scenario();
    silent_with_background(&s);
    let out = run_long(c, &s);
    let want = [
        silent_row(600, "2/1"),
        silent_row(1800, "0/0"),
        silent_row(3600, "0/0"),
    ];
    assert_lines(
        &out.rows(),
        &want.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let conns = out.conn_rows();
    assert_eq!(conns.len(), 3901);
    assert_eq!(
        conns[0],
        "c0 10.0.0.1:40000 > 10.0.0.2:5000 tcp S1 ShA dur=0.002000 bytes=0/0 pkts=2/1 ip=84/44 missed=0 local=T/T"
    );
}

#[test]
fn silent_connection_is_reported_only_until_its_inactivity_timeout() {
    // 20 min timeout: removed at 1200.002 s, so 10 min only.
    let c = TrackerConfig {
        tcp_inactivity_timeout: Duration::from_secs(20 * 60),
        ..cfg()
    };
    let s = scenario();
    silent_with_background(&s);
    let out = run_long(c, &s);
    assert_lines(&out.rows(), &[&silent_row(600, "2/1")]);
    // Default 5 min timeout: removed before 10 min, never reported.
    let out = run_long(cfg(), &s);
    assert!(out.rows().is_empty(), "{:#?}", out.rows());
    assert_eq!(out.finished().len(), 3901);
}

// ------------------------------------------------------------ scenario 8

#[test]
fn sparse_tcp_connection_jumping_over_thresholds_gets_one_row_each() {
    // Handshake at 0, 100 B at 5 s (ACK 5.001 s), 100 B at 150 s: the 150 s
    // packet moves the clock over 30 s, 1 min and 2 min at once; each row
    // shows the state before it.
    let s = scenario();
    let mut c = s.tcp(CLIENT, SERVER);
    c.handshake(0)
        .send_orig(secs(5), 100)
        .send_orig(secs(150), 100);
    let out = run_long(cfg_long(Some(thresholds(&[30, 60, 120], false))), &s);
    assert_lines(
        &out.rows(),
        &[
            "c0 at=30.000000 thr=30.000000 S1 ShADa dur=5.001000 pkts=3/2 bytes=100/0 ip=224/84 dpkts=3/2 dbytes=100/0 idle=24.999000",
            "c0 at=60.000000 thr=60.000000 S1 ShADa dur=5.001000 pkts=3/2 bytes=100/0 ip=224/84 dpkts=0/0 dbytes=0/0 idle=54.999000",
            "c0 at=120.000000 thr=120.000000 S1 ShADa dur=5.001000 pkts=3/2 bytes=100/0 ip=224/84 dpkts=0/0 dbytes=0/0 idle=114.999000",
        ],
    );
    assert_lines(
        &out.conn_rows(),
        &["c0 10.0.0.1:40000 > 10.0.0.2:5000 tcp S1 ShADa dur=150.001000 bytes=200/0 pkts=4/3 ip=364/124 missed=0 local=T/T"],
    );
}

#[test]

fn sparse_udp_flow_gets_the_rows_due_before_its_inactivity_removal() {
    // Datagrams at 0 and 5 s, then one at 150 s. Network time jumps from
    // 5 s to 150 s; in time order: 30 s row, 1 min row, removal at 65 s
    // (5 s + 60 s timeout), so the 150 s datagram starts a new connection.
    let s = scenario();
    let mut f = s.udp("10.0.0.1:41000", "10.0.0.2:6000");
    f.send(Orig, 0, 40)
        .send(Orig, secs(5), 40)
        .send(Orig, secs(150), 40);
    let out = run_long(cfg_long(Some(thresholds(&[30, 60, 120], false))), &s);
    assert_lines(
        &out.rows(),
        &[
            "c0 at=30.000000 thr=30.000000 S0 D dur=5.000000 pkts=2/0 bytes=80/0 ip=136/0 dpkts=2/0 dbytes=80/0 idle=25.000000",
            "c0 at=60.000000 thr=60.000000 S0 D dur=5.000000 pkts=2/0 bytes=80/0 ip=136/0 dpkts=0/0 dbytes=0/0 idle=55.000000",
        ],
    );
    assert_lines(
        &out.conn_rows(),
        &[
            "c0 10.0.0.1:41000 > 10.0.0.2:6000 udp S0 D dur=5.000000 bytes=80/0 pkts=2/0 ip=136/0 missed=0 local=T/T",
            "c1 10.0.0.1:41000 > 10.0.0.2:6000 udp S0 D dur=- bytes=40/0 pkts=1/0 ip=68/0 missed=0 local=T/T",
        ],
    );
}

// ------------------------------------------------------------ scenario 9

#[test]
fn reused_five_tuple_after_close_gets_its_own_schedule() {
    // A: handshake at 0, 100 B every 10 s (10 … 60 s), FIN at 70 s. B, same
    // 5-tuple, new ISNs: SYN at 70.010 s, 100 B every 10 s (80.01 …
    // 170.01 s), FIN at 175.01 s. Thresholds 30 s, 1 min, 2 min: A is
    // reported at 30 and 60 s (not at 120 s: it is gone), B at 100.01 and
    // 130.01 s (not 190.01 s: the trace ends first).
    let s = scenario();
    let mut a = s.tcp(CLIENT, SERVER).isns(1000, 9000);
    a.handshake(0);
    for t in ticks(secs(10), secs(10), secs(70)) {
        a.send_orig(t, 100);
    }
    a.close_fin(secs(70));
    let ob = secs(70) + ms(10);
    let mut b = s.tcp(CLIENT, SERVER).isns(500_000, 600_000);
    b.handshake(ob);
    for t in ticks(ob + secs(10), secs(10), ob + secs(105)) {
        b.send_orig(t, 100);
    }
    b.close_fin(ob + secs(105));
    let out = run_long(cfg_long(Some(thresholds(&[30, 60, 120], false))), &s);
    assert_lines(
        &out.rows(),
        &[
            "c0 at=30.000000 thr=30.000000 S1 ShADa dur=20.001000 pkts=4/3 bytes=200/0 ip=364/124 dpkts=4/3 dbytes=200/0 idle=9.999000",
            "c0 at=60.000000 thr=60.000000 S1 ShADa dur=50.001000 pkts=7/6 bytes=500/0 ip=784/244 dpkts=3/3 dbytes=300/0 idle=9.999000",
            "c1 at=100.010000 thr=30.000000 S1 ShADa dur=20.001000 pkts=4/3 bytes=200/0 ip=364/124 dpkts=4/3 dbytes=200/0 idle=9.999000",
            "c1 at=130.010000 thr=60.000000 S1 ShADa dur=50.001000 pkts=7/6 bytes=500/0 ip=784/244 dpkts=3/3 dbytes=300/0 idle=9.999000",
        ],
    );
    assert_lines(
        &out.conn_rows(),
        &[
            "c0 10.0.0.1:40000 > 10.0.0.2:5000 tcp SF ShADaFf dur=70.001000 bytes=600/0 pkts=10/8 ip=1004/324 missed=0 local=T/T",
            "c1 10.0.0.1:40000 > 10.0.0.2:5000 tcp SF ShADaFf dur=105.001000 bytes=1000/0 pkts=14/12 ip=1564/484 missed=0 local=T/T",
        ],
    );
}

// ----------------------------------------------------------- scenario 10

#[test]
fn only_the_slow_mostly_outbound_day_long_connection_raises_the_notice() {
    // Default thresholds and criteria (24 h, ≤ 256 B/s, pcr ≥ 0.5, ≥ 1024 B
    // sent). Three connections lasting 26 h, one exchange a minute (which
    // also keeps them within the 5 min TCP timeout), each failing at most
    // one criterion:
    // c0 slow: 100 B out per minute (1.7 B/s, pcr 1) — all hold;
    // c1 fast: 20,000 B out per minute (one segment; 333 B/s) — rate fails;
    // c2 inbound: 10 B out, 100 B in per minute (pcr −0.82) — pcr fails.
    // Rows at 10 min, 30 min, 1 h, 12 h, 24 h; the notice only on c0's 24 h
    // row (the first report at/after 24 h).
    let s = scenario();
    let end = hours(26);
    let (o0, o1, o2) = (0, ms(100), ms(200));
    let mut slow = s.tcp(CLIENT, SERVER);
    slow.handshake(o0);
    let mut fast = s.tcp("10.0.0.1:40001", SERVER).mss(60_000);
    fast.handshake(o1);
    let mut inbound = s.tcp("10.0.0.1:40002", SERVER);
    inbound.handshake(o2);
    for k in 1..1560 {
        let t = secs(60 * k);
        slow.send_orig(o0 + t, 100);
        fast.send_orig(o1 + t, 20_000);
        inbound
            .send_orig(o2 + t, 10)
            .send_resp(o2 + t + ms(30), 100);
    }
    slow.close_fin(o0 + end);
    fast.close_fin(o1 + end);
    inbound.close_fin(o2 + end);
    let out = run_long(cfg(), &s);

    // n(T) = T/60 − 1 exchanges before threshold T (the one at T comes
    // after); the last packet before T is the ACK 1 ms (c2: 31 ms) after
    // exchange n.
    let thr = [600i64, 1800, 3600, 43_200, 86_400];
    let mut want = Vec::new();
    let mut prev = [0i64; 3];
    for &t in &thr {
        let n = t / 60 - 1;
        for (c, off_ms) in [(0usize, 0i64), (1, 100), (2, 200)] {
            let d = n - prev[c];
            let first = prev[c] == 0;
            let (extra_o, extra_r) = if first { (2, 1) } else { (0, 0) };
            let at = secs_str(secs(t) + ms(off_ms));
            let row = match c {
                0 => format!(
                    "c0 at={at} thr={t}.000000 S1 ShADa dur={} pkts={}/{} bytes={}/0 ip={}/{} dpkts={}/{} dbytes={}/0 idle=59.999000{}",
                    secs_str(secs(60 * n) + ms(1)),
                    2 + n, 1 + n, 100 * n, 84 + 140 * n, 44 + 40 * n,
                    d + extra_o, d + extra_r, 100 * d,
                    if t == 86_400 { " SLOW" } else { "" },
                ),
                1 => format!(
                    "c1 at={at} thr={t}.000000 S1 ShADa dur={} pkts={}/{} bytes={}/0 ip={}/{} dpkts={}/{} dbytes={}/0 idle=59.999000",
                    secs_str(secs(60 * n) + ms(1)),
                    2 + n, 1 + n, 20_000 * n, 84 + 20_040 * n, 44 + 40 * n,
                    d + extra_o, d + extra_r, 20_000 * d,
                ),
                _ => format!(
                    "c2 at={at} thr={t}.000000 S1 ShADad dur={} pkts={}/{} bytes={}/{} ip={}/{} dpkts={}/{} dbytes={}/{} idle=59.969000",
                    secs_str(secs(60 * n) + ms(31)),
                    2 + 2 * n, 1 + 2 * n, 10 * n, 100 * n, 84 + 90 * n, 44 + 180 * n,
                    2 * d + extra_o, 2 * d + extra_r, 10 * d, 100 * d,
                ),
            };
            want.push(row);
            prev[c] = n;
        }
    }
    assert_lines(
        &out.rows(),
        &want.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let slow_rows: Vec<String> = out
        .interim()
        .iter()
        .filter(|(_, rep)| rep.slow)
        .map(|(r, rep)| {
            format!(
                "{} {}",
                out.label(r.uid),
                secs_str(rep.threshold.as_nanos())
            )
        })
        .collect();
    assert_eq!(slow_rows, vec!["c0 86400.000000".to_string()]);
    let states: Vec<_> = out
        .finished()
        .iter()
        .map(|r| r.conn_state.as_str())
        .collect();
    assert_eq!(states, vec!["SF", "SF", "SF"]);
}

// ----------------------------------------------------------- scenario 11

/// What [`many_flows`] measured.
struct Many {
    rows: Vec<String>,
    peak_open: u64,
    /// Largest `memory_bytes()` seen (sampled every 1000 probes).
    mem_max: usize,
    /// `memory_bytes()` at the end of the trace, before the flush.
    mem_end: usize,
    /// Connections evicted (`max_connections`).
    evicted: u64,
}

/// Feeds `probes` SYN-only flows (distinct 5-tuples, spread evenly over
/// 2 h) merged in time order with one 2-hour connection (handshake at 0,
/// 100 B every 10 s, FIN at 2 h), and checks the conn.log rows: one S0 row
/// per probe and the long connection's row. `cap` is `max_connections`
/// (0: none).
fn many_flows(probes: u64, long: Option<LongConfig>, cap: usize) -> Many {
    let s = scenario();
    let mut c = s.tcp(CLIENT, SERVER);
    c.handshake(0);
    for t in ticks(secs(10), secs(10), hours(2)) {
        c.send_orig(t, 100);
    }
    c.close_fin(hours(2));
    let long_pkts = s.packets();

    let mut sim = LongSim::new(TrackerConfig {
        max_connections: cap,
        ..cfg_long(long)
    });
    let mut kept = Vec::new();
    let mut probe_rows = 0u64;
    let mut drain = |sim: &mut LongSim, kept: &mut Vec<ConnEvent>| {
        for e in sim.events.drain(..) {
            match &e {
                ConnEvent::Finished(r) if r.resp_p == 5001 => {
                    assert_eq!(r.orig_pkts, 1);
                    probe_rows += 1;
                }
                _ => kept.push(e),
            }
        }
    };
    let dst = Ipv4Addr::new(10, 0, 0, 9);
    let spacing = hours(2) / probes as i64;
    let mut buf = Vec::with_capacity(128);
    let mut li = 0;
    let mut mem_max = 0;
    for i in 0..probes {
        let t = DEFAULT_START + spacing * i as i64 + us(250);
        while li < long_pkts.len() && long_pkts[li].ts <= t {
            sim.feed(long_pkts[li].ts, &long_pkts[li].data);
            li += 1;
        }
        let src = Ipv4Addr::from(0x0ac8_0000 + (i / 50_000) as u32);
        buf.clear();
        packet::tcp(
            &mut buf,
            &Link::default(),
            &Ip::new(IpPair::new(IpAddr::V4(src), IpAddr::V4(dst)).unwrap()),
            &Tcp {
                src_port: 10_000 + (i % 50_000) as u16,
                dst_port: 5001,
                seq: i as u32,
                ack: 0,
                flags: SYN,
                window: 64_240,
                options: &[],
            },
            &[],
        );
        sim.feed(t, &buf);
        drain(&mut sim, &mut kept);
        if i % 1000 == 0 {
            mem_max = mem_max.max(sim.an.tracker_ref().memory_bytes());
        }
    }
    for p in &long_pkts[li..] {
        sim.feed(p.ts, &p.data);
    }
    drain(&mut sim, &mut kept);
    let peak_open = sim.an.tracker_ref().stats().peak_open;
    let evicted = sim.an.tracker_ref().stats().evicted;
    assert_eq!(sim.an.tracker_ref().stats().untracked, 0);
    let mem_end = sim.an.tracker_ref().memory_bytes();
    sim.an.finish();
    let tail: Vec<ConnEvent> = sim.an.tracker().drain_events().collect();
    assert!(
        tail.iter().all(|e| matches!(e, ConnEvent::Finished(_))),
        "interim rows at the end of the trace"
    );
    sim.events.extend(tail);
    drain(&mut sim, &mut kept);
    assert_eq!(probe_rows, probes, "one S0 row per probe");
    let out = Outcome::new(kept);
    assert_lines(
        &out.conn_rows(),
        &["c0 10.0.0.1:40000 > 10.0.0.2:5000 tcp SF ShADaFf dur=7200.001000 bytes=71900/0 pkts=723/721 ip=100824/28844 missed=0 local=T/T"],
    );
    Many {
        rows: out.rows(),
        peak_open,
        mem_max,
        mem_end,
        evicted,
    }
}

/// The 2-hour connection's rows: 10 min, 30 min, 1 h (n = 59, 179, 359
/// segments before them).
const TWO_HOURS: [&str; 3] = [
    ONE_WAY_10MIN,
    "c0 at=1800.000000 thr=1800.000000 S1 ShADa dur=1790.001000 pkts=181/180 bytes=17900/0 ip=25144/7204 dpkts=120/120 dbytes=12000/0 idle=9.999000",
    "c0 at=3600.000000 thr=3600.000000 S1 ShADa dur=3590.001000 pkts=361/360 bytes=35900/0 ip=50344/14404 dpkts=180/180 dbytes=18000/0 idle=9.999000",
];

/// Memory bound. Open flows: arrival rate × ~5 s (a lone SYN is removed by
/// the attempt timer), about 700 at 1M flows in 2 h — a few hundred KB of
/// connections and table. The rest is the timer wheel: lazily cancelled
/// entries (24 B each) are swept once they exceed 3 × open + 65,536
/// (≈ 1.6 MB), and its 8192 coarse slots keep their capacity unless a
/// sweep finds one four times oversized, and never below 64 entries:
/// 8192 × 64 × 24 B = 12 MiB at most for slots with at most 64 entries
/// per 250 ms tick (here ~35 probes × 3 timers may need 128: the ceiling
/// depends on the arrival rate, not on the number of flows). 16 MiB is
/// that plus margin, and far below one connection per flow (1,000,000 ×
/// size_of::<Conn>() ≈ 200 MB, asserted ≥ 10× more).
const MEM_BOUND: usize = 16 << 20;

#[test]
fn million_one_packet_flows_and_a_two_hour_connection() {
    // ~11 s in a debug build on one core.
    let m = many_flows(1_000_000, Some(LongConfig::default()), 0);
    assert_lines(&m.rows, &TWO_HOURS);
    // ~700 open at once (139 new flows/s × 5 s); 2,000 leaves margin.
    assert!(m.peak_open < 2_000, "peak_open {}", m.peak_open);
    assert!(
        m.mem_max < MEM_BOUND && m.mem_end < MEM_BOUND,
        "memory_bytes max {} end {}",
        m.mem_max,
        m.mem_end
    );
    let all = 1_000_000 * core::mem::size_of::<crate::conn::Conn>();
    assert!(m.mem_max * 10 < all, "memory_bytes {} vs {all}", m.mem_max);
}

#[test]
fn hundred_thousand_one_packet_flows_cost_no_more_with_long_reporting() {
    // The smaller variant, also compared with long reporting off: the
    // watching adds one timer entry per open connection, so the peak of
    // open flows is the same and memory stays within 2× (and bounded).
    let on = many_flows(100_000, Some(LongConfig::default()), 0);
    let off = many_flows(100_000, None, 0);
    assert_lines(&on.rows, &TWO_HOURS);
    assert!(off.rows.is_empty(), "{:#?}", off.rows);
    assert_eq!(on.peak_open, off.peak_open);
    assert!(on.peak_open < 200, "peak_open {}", on.peak_open);
    assert!(on.mem_max < MEM_BOUND, "memory_bytes {}", on.mem_max);
    assert!(
        on.mem_max <= 2 * off.mem_max,
        "memory_bytes with long reporting {} vs without {}",
        on.mem_max,
        off.mem_max
    );
}

// ------------------------------------------------ max_connections (cap)

#[test]
fn a_full_table_evicts_probes_and_keeps_the_long_connection() {
    // ~70 probes would be open at once; the cap holds 20. Every probe still
    // gets its one S0 row (evicted ones when evicted), and the long
    // connection, which the responder answers, is never chosen: its rows
    // and its conn.log row are exactly those of the uncapped run.
    let m = many_flows(100_000, Some(LongConfig::default()), 20);
    assert_lines(&m.rows, &TWO_HOURS);
    assert!(m.peak_open <= 20, "peak_open {}", m.peak_open);
    assert!(m.evicted > 10_000, "evicted {}", m.evicted);
}

#[test]
fn connections_reported_as_long_are_never_evicted() {
    // Two connections reported at 10 min fill a table of 2: a probe after
    // that is not tracked (counted), and both keep one conn.log row each.
    let s = scenario();
    let mut a = s.tcp(CLIENT, SERVER);
    let mut b = s.tcp("10.0.0.3:40001", SERVER);
    a.handshake(0);
    b.handshake(ms(1));
    for t in ticks(secs(10), secs(10), mins(11)) {
        a.send_orig(t, 100);
        b.send_orig(t + ms(1), 100);
    }
    let probe_at = mins(12);
    udp(&s, probe_at, "10.0.0.9:40123", "10.0.0.2:9999", b"probe");
    let mut sim = LongSim::new(TrackerConfig {
        max_connections: 2,
        ..cfg_long(Some(thresholds(&[600], false)))
    });
    for p in s.packets() {
        sim.feed(p.ts, &p.data);
    }
    let st = sim.an.tracker_ref().stats();
    assert_eq!((st.evicted, st.untracked, st.open), (0, 1, 2));
    let out = sim.finish();
    assert_eq!(out.rows().len(), 2, "{:#?}", out.rows());
    let ports: Vec<u16> = out.finished().iter().map(|r| r.resp_p).collect();
    assert_eq!(ports, vec![5000, 5000]);
}

#[test]
fn before_its_first_report_a_connection_may_be_evicted() {
    // A table of 1: the second connection evicts the first, which is
    // written as it stood (one row each).
    let s = scenario();
    let mut a = s.tcp(CLIENT, SERVER);
    a.handshake(0);
    a.send_orig(secs(1), 10);
    udp(&s, secs(2), "10.0.0.9:40123", "10.0.0.2:9999", b"probe");
    let mut sim = LongSim::new(TrackerConfig {
        max_connections: 1,
        ..cfg_long(Some(thresholds(&[600], false)))
    });
    for p in s.packets() {
        sim.feed(p.ts, &p.data);
    }
    let st = sim.an.tracker_ref().stats();
    assert_eq!((st.evicted, st.untracked, st.open), (1, 0, 1));
    let out = sim.finish();
    let rows: Vec<(u16, &str)> = out
        .finished()
        .iter()
        .map(|r| (r.resp_p, r.conn_state.as_str()))
        .collect();
    assert_eq!(rows, vec![(5000, "S1"), (9999, "S0")]);
}

#[test]
fn a_connection_in_its_close_delay_is_not_reported() {
    // Closed by both sides at 9 s, removed 5 s later: the 10 s threshold
    // falls in between and the connection is no longer open, so no row.
    // A half-closed one (only the originator's FIN) is still open.
    let s = scenario();
    let mut closed = s.tcp(CLIENT, SERVER);
    closed.handshake(0);
    closed.send_orig(secs(1), 100);
    closed.close_fin(secs(9));
    let mut half = s.tcp("10.0.0.3:40001", SERVER);
    half.handshake(ms(1));
    half.send_orig(secs(1), 100);
    half.fin(connwatch_tracegen::Side::Orig, secs(9));
    half.send_resp(secs(12), 50);
    // Time moves past the closed one's removal (close delay) while the
    // trace goes on.
    udp(&s, secs(20), "10.0.0.9:40123", "10.0.0.2:9999", b"later");
    let mut sim = LongSim::new(cfg_long(Some(thresholds(&[10], false))));
    for p in s.packets() {
        sim.feed(p.ts, &p.data);
    }
    let out = sim.finish();
    let reported: Vec<u16> = out.interim().iter().map(|(r, _)| r.orig_p).collect();
    assert_eq!(reported, vec![40001]);
    assert_eq!(out.finished().len(), 3);
}
