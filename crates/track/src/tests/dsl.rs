//! A small DSL for tracker tests: build frames with `connwatch_tracegen`,
//! feed them through a [`PacketAnalyzer`] and render each resulting
//! [`ConnRecord`] as one line that can be compared exactly.
//!
//! A row renders as
//! `10.0.0.1:40000 > 10.0.0.2:5000 tcp SF ShADadFf dur=0.004000 bytes=100/0 pkts=5/4 ip=364/204 missed=0 local=T/T`
//! (history `-` when empty, `dur=-` when Zeek would leave `duration` unset;
//! `bytes` are the raw tracker values, which the sink hides when `dur=-`).

use std::net::SocketAddr;

use connwatch_tracegen::packet::{self, tcp_flags, Ip, IpPair, Link, Tcp};
use connwatch_tracegen::{Nanos, Packet, Scenario, DEFAULT_START};
use connwatch_wire::{Frame, LinkType, Timestamp};

use crate::{ConnEvent, ConnRecord, PacketAnalyzer, TrackerConfig};

pub(crate) use connwatch_tracegen::time::{ms, secs, us};
pub(crate) use connwatch_tracegen::Side::{Orig, Resp};

/// TCP flag bits, short.
pub(crate) const SYN: u8 = tcp_flags::SYN;
pub(crate) const FIN: u8 = tcp_flags::FIN;
pub(crate) const RST: u8 = tcp_flags::RST;
pub(crate) const ACK: u8 = tcp_flags::ACK;
pub(crate) const PSH: u8 = tcp_flags::PSH;

/// A client and servers on unlisted ports (no port heuristic applies).
pub(crate) const CLIENT: &str = "10.0.0.1:40000";
pub(crate) const SERVER: &str = "10.0.0.2:5000";

/// The test configuration: Zeek defaults, fixed uid seed, checksums checked.
pub(crate) fn cfg() -> TrackerConfig {
    TrackerConfig {
        uid_seed: 1,
        ..Default::default()
    }
}

/// Like [`cfg`] but with checksums ignored (`zeek -C`).
pub(crate) fn cfg_c() -> TrackerConfig {
    TrackerConfig {
        ignore_checksums: true,
        ..cfg()
    }
}

/// A scenario starting at tracegen's default start time.
pub(crate) fn scenario() -> Scenario {
    Scenario::new(DEFAULT_START)
}

/// Feeds frames one by one; collects finished records.
pub(crate) struct Sim {
    pub(crate) an: PacketAnalyzer,
    pub(crate) rows: Vec<ConnRecord>,
}

impl Sim {
    pub(crate) fn new(cfg: TrackerConfig) -> Sim {
        Sim {
            an: PacketAnalyzer::new(cfg),
            rows: Vec::new(),
        }
    }

    /// One Ethernet frame at absolute time `ts` (nanoseconds).
    pub(crate) fn feed(&mut self, ts: Nanos, data: &[u8]) {
        self.an.handle_frame(&Frame {
            ts: Timestamp(ts),
            link: LinkType::ETHERNET,
            data,
            wire_len: data.len() as u32,
            interface: 0,
        });
        self.collect();
    }

    pub(crate) fn collect(&mut self) {
        for ev in self.an.tracker().drain_events() {
            if let ConnEvent::Finished(r) = ev {
                self.rows.push(r);
            }
        }
    }

    /// Records of the live connections.
    pub(crate) fn live(&self) -> Vec<ConnRecord> {
        self.an.tracker_ref().live().collect()
    }

    /// Ends the input; returns every record, sorted by `ts` (stable, so
    /// equal start times keep their removal order).
    pub(crate) fn finish(mut self) -> Vec<ConnRecord> {
        self.an.finish();
        self.collect();
        let mut rows = self.rows;
        rows.sort_by_key(|r| r.ts);
        rows
    }
}

/// Runs frames (in the given order) through a fresh analyzer.
pub(crate) fn run_packets(cfg: TrackerConfig, packets: &[Packet]) -> Vec<ConnRecord> {
    let mut sim = Sim::new(cfg);
    for p in packets {
        sim.feed(p.ts, &p.data);
    }
    sim.finish()
}

/// Runs a scenario with [`cfg`].
pub(crate) fn run(s: &Scenario) -> Vec<ConnRecord> {
    run_packets(cfg(), &s.packets())
}

/// Renders a record as one comparable line (see the module docs).
pub(crate) fn show(r: &ConnRecord) -> String {
    let b = |v: Option<bool>| match v {
        Some(true) => "T",
        Some(false) => "F",
        None => "-",
    };
    let hist = if r.history.is_empty() {
        "-"
    } else {
        r.history.as_str()
    };
    let dur = r
        .duration_secs()
        .map_or_else(|| "-".to_string(), |d| format!("{d:.6}"));
    format!(
        "{} > {} {} {} {} dur={} bytes={}/{} pkts={}/{} ip={}/{} missed={} local={}/{}",
        SocketAddr::new(r.orig_h, r.orig_p),
        SocketAddr::new(r.resp_h, r.resp_p),
        r.proto.as_str(),
        r.conn_state.as_str(),
        hist,
        dur,
        r.orig_bytes,
        r.resp_bytes,
        r.orig_pkts,
        r.resp_pkts,
        r.orig_ip_bytes,
        r.resp_ip_bytes,
        r.missed_bytes,
        b(r.local_orig),
        b(r.local_resp),
    )
}

/// Asserts the rendered rows equal `want`, in `ts` order.
#[track_caller]
pub(crate) fn assert_rows(rows: &[ConnRecord], want: &[&str]) {
    let got: Vec<String> = rows.iter().map(show).collect();
    let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    assert!(
        got == want,
        "\n got rows:\n  {}\nwant rows:\n  {}\n",
        got.join("\n  "),
        want.join("\n  ")
    );
}

/// Runs the scenario and checks its rows.
#[track_caller]
pub(crate) fn expect(s: &Scenario, want: &[&str]) {
    assert_rows(&run(s), want);
}

/// `(history, conn_state)` of each row, in `ts` order.
pub(crate) fn hist_states(rows: &[ConnRecord]) -> Vec<(String, &'static str)> {
    rows.iter()
        .map(|r| (r.history.as_str().to_string(), r.conn_state.as_str()))
        .collect()
}

fn sock(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ip_hdr(src: SocketAddr, dst: SocketAddr) -> Ip {
    Ip::new(IpPair::new(src.ip(), dst.ip()).expect("same family"))
}

/// One hand-made TCP segment from `from` to `to` at offset `t`: explicit
/// flags, sequence and acknowledgement numbers, `len` filler bytes.
#[allow(clippy::too_many_arguments)]
pub(crate) fn seg(
    s: &Scenario,
    t: Nanos,
    from: &str,
    to: &str,
    flags: u8,
    seq: u32,
    ack: u32,
    len: usize,
) {
    seg_win(s, t, from, to, flags, seq, ack, len, 64_240);
}

/// [`seg`] with an explicit receive window.
#[allow(clippy::too_many_arguments)]
pub(crate) fn seg_win(
    s: &Scenario,
    t: Nanos,
    from: &str,
    to: &str,
    flags: u8,
    seq: u32,
    ack: u32,
    len: usize,
    window: u16,
) {
    let (src, dst) = (sock(from), sock(to));
    let mut buf = Vec::new();
    packet::tcp(
        &mut buf,
        &Link::default(),
        &ip_hdr(src, dst),
        &Tcp {
            src_port: src.port(),
            dst_port: dst.port(),
            seq,
            ack,
            flags,
            window,
            options: &[],
        },
        packet::filler(len),
    );
    s.frame(t, &buf);
}

/// One UDP datagram with `payload` from `from` to `to` at offset `t`.
pub(crate) fn udp(s: &Scenario, t: Nanos, from: &str, to: &str, payload: &[u8]) {
    let (src, dst) = (sock(from), sock(to));
    let mut buf = Vec::new();
    packet::udp(
        &mut buf,
        &Link::default(),
        &ip_hdr(src, dst),
        src.port(),
        dst.port(),
        payload,
    );
    s.frame(t, &buf);
}

/// An IP packet of protocol `proto` carrying `body` verbatim.
pub(crate) fn ip_raw(s: &Scenario, t: Nanos, from: &str, to: &str, proto: u8, body: &[u8]) {
    let (src, dst): (std::net::IpAddr, std::net::IpAddr) =
        (from.parse().unwrap(), to.parse().unwrap());
    let mut buf = Vec::new();
    packet::ip_raw(
        &mut buf,
        &Link::default(),
        &Ip::new(IpPair::new(src, dst).unwrap()),
        proto,
        body,
    );
    s.frame(t, &buf);
}

/// An ICMPv4 message (type, code, 4 more header bytes, data) with a correct
/// checksum.
pub(crate) fn icmp4(s: &Scenario, t: Nanos, from: &str, to: &str, kind: u8, code: u8, data: &[u8]) {
    let mut body = vec![kind, code, 0, 0, 0, 0, 0, 0];
    body.extend_from_slice(data);
    let sum = connwatch_tracegen::checksum::checksum(&body);
    body[2..4].copy_from_slice(&sum.to_be_bytes());
    ip_raw(s, t, from, to, 1, &body);
}

/// Offset of the transport checksum in an untagged Ethernet/IPv4/IPv6 frame.
fn l4_checksum_offset(frame: &[u8]) -> usize {
    let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
    let (ip, proto, l4) = match ethertype {
        0x0800 => (14, frame[14 + 9], 14 + usize::from(frame[14] & 0x0f) * 4),
        0x86dd => (14, frame[14 + 6], 14 + 40),
        other => panic!("unexpected ethertype {other:#06x}"),
    };
    let _ = ip;
    l4 + match proto {
        6 => 16,
        17 => 6,
        1 | 58 => 2,
        p => panic!("no checksum to corrupt for protocol {p}"),
    }
}

/// The scenario's frames with the transport checksum of every frame at
/// offset `t` broken.
pub(crate) fn with_bad_checksum(s: &Scenario, at: &[Nanos]) -> Vec<Packet> {
    let start = s.start();
    let mut packets = s.packets();
    let mut hit = 0;
    for p in &mut packets {
        if at.contains(&(p.ts - start)) {
            let off = l4_checksum_offset(&p.data);
            p.data[off] ^= 0x5a;
            hit += 1;
        }
    }
    assert!(hit >= at.len(), "no frame at one of the times {at:?}");
    packets
}

/// The scenario's frames without those at the given offsets (not captured).
pub(crate) fn without(s: &Scenario, at: &[Nanos]) -> Vec<Packet> {
    let start = s.start();
    let before = s.len();
    let packets: Vec<Packet> = s
        .packets()
        .into_iter()
        .filter(|p| !at.contains(&(p.ts - start)))
        .collect();
    assert_eq!(
        before - packets.len(),
        at.len(),
        "drop exactly one frame per time"
    );
    packets
}

/// `orig > resp proto history` of each row, in `ts` order: for tests about
/// orientation only.
pub(crate) fn oriented(rows: &[ConnRecord]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            format!(
                "{} > {} {} {}",
                SocketAddr::new(r.orig_h, r.orig_p),
                SocketAddr::new(r.resp_h, r.resp_p),
                r.proto.as_str(),
                if r.history.is_empty() {
                    "-"
                } else {
                    r.history.as_str()
                }
            )
        })
        .collect()
}
