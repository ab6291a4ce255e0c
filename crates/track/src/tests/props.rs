//! Property tests: random packet sequences among 3 hosts × 2 ports (TCP with
//! random flags, sequence and acknowledgement numbers; UDP; ICMP echoes)
//! with random time gaps, some longer than every timeout, fed through the
//! analyzer with checksums ignored.
//!
//! Properties:
//! * every uid that was ever live is finished exactly once, never live
//!   again afterwards, and the number of finished records equals the
//!   number of connections the tracker created;
//! * between consecutive observations of one uid (live records after each
//!   packet, then the final record) packet and IP-byte counters and
//!   `missed_bytes` never go down, `ts` never changes, and the history only
//!   grows by appending — except Zeek's `H` → `^h` rewrite. A flip swaps the
//!   sides, so counters are compared across the swap, and a flip must leave
//!   a `^` in the history.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use connwatch_tracegen::packet::{self, Echo, Ip, IpPair, Link, Tcp};
use connwatch_wire::{Frame, LinkType, Timestamp};
use proptest::prelude::*;
use proptest::test_runner::Config;

use crate::record::History;
use crate::{ConnEvent, ConnRecord, PacketAnalyzer, Uid};

use super::dsl::*;

const HOSTS: [Ipv4Addr; 3] = [
    Ipv4Addr::new(10, 0, 0, 1),
    Ipv4Addr::new(10, 0, 0, 2),
    Ipv4Addr::new(8, 8, 8, 8),
];
/// A likely server port (TCP and UDP) and an ephemeral one.
const PORTS: [u16; 2] = [53, 40000];
/// Per-host sequence bases; one close to the wrap.
const SEQ_BASE: [u32; 3] = [1000, 0xffff_f000, 0x8000_0000];

/// Time gaps: back to back, short, and around every timeout (attempt and
/// close delay 5 s, UDP/ICMP 60 s, TCP 300 s).
const GAPS: [i64; 12] = [
    0,
    1_000,
    1_000_000,
    100_000_000,
    1_000_000_000,
    5_000_000_000,
    5_000_001_000,
    59_999_999_000,
    60_000_000_000,
    61_000_000_000,
    300_000_000_000,
    301_000_000_000,
];

#[derive(Debug, Clone)]
enum Kind {
    Tcp {
        flags: u8,
        seq_off: u32,
        ack_off: u32,
        random_seq: Option<u32>,
        window: u16,
    },
    Udp,
    Icmp {
        reply: bool,
        ident: u16,
    },
}

#[derive(Debug, Clone)]
struct Pkt {
    src: usize,
    dst_step: usize,
    sport: usize,
    dport: usize,
    len: usize,
    gap: usize,
    kind: Kind,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        6 => (
            prop_oneof![
                3 => prop::sample::select(vec![
                    SYN,
                    SYN | ACK,
                    ACK,
                    ACK | PSH,
                    FIN | ACK,
                    RST,
                    RST | ACK,
                ]),
                1 => 0u8..64,
            ],
            prop_oneof![0u32..4000, Just(0u32), Just(1u32)],
            0u32..4000,
            prop::option::weighted(0.1, any::<u32>()),
            prop_oneof![Just(0u16), Just(65_535u16)],
        )
            .prop_map(|(flags, seq_off, ack_off, random_seq, window)| Kind::Tcp {
                flags,
                seq_off,
                ack_off,
                random_seq,
                window,
            }),
        2 => Just(Kind::Udp),
        1 => (any::<bool>(), 0u16..3).prop_map(|(reply, ident)| Kind::Icmp { reply, ident }),
    ]
}

fn pkt() -> impl Strategy<Value = Pkt> {
    (
        0usize..3,
        1usize..3,
        0usize..2,
        0usize..2,
        prop_oneof![Just(0usize), 1usize..200],
        prop_oneof![4 => 0usize..5, 1 => 5usize..GAPS.len()],
        kind(),
    )
        .prop_map(|(src, dst_step, sport, dport, len, gap, kind)| Pkt {
            src,
            dst_step,
            sport,
            dport,
            len,
            gap,
            kind,
        })
}

fn frame(p: &Pkt) -> Vec<u8> {
    let dst = (p.src + p.dst_step) % 3;
    let ip = Ip::new(IpPair::V4(HOSTS[p.src], HOSTS[dst]));
    let link = Link::default();
    let payload = packet::filler(p.len);
    let mut buf = Vec::new();
    match p.kind {
        Kind::Tcp {
            flags,
            seq_off,
            ack_off,
            random_seq,
            window,
        } => {
            let seq = random_seq.unwrap_or(SEQ_BASE[p.src].wrapping_add(seq_off));
            let tcp = Tcp {
                src_port: PORTS[p.sport],
                dst_port: PORTS[p.dport],
                seq,
                ack: SEQ_BASE[dst].wrapping_add(ack_off),
                flags,
                window,
                options: &[],
            };
            packet::tcp(&mut buf, &link, &ip, &tcp, payload);
        }
        Kind::Udp => packet::udp(
            &mut buf,
            &link,
            &ip,
            PORTS[p.sport],
            PORTS[p.dport],
            payload,
        ),
        Kind::Icmp { reply, ident } => {
            let echo = Echo {
                reply,
                ident,
                seq: 1,
            };
            packet::icmp_echo(&mut buf, &link, &ip, &echo, payload);
        }
    }
    buf
}

fn endpoint(r: &ConnRecord, orig: bool) -> (IpAddr, u16) {
    if orig {
        (r.orig_h, r.orig_p)
    } else {
        (r.resp_h, r.resp_p)
    }
}

/// Checks that `b` can follow `a` for one connection.
fn follows(a: &ConnRecord, b: &ConnRecord) -> Result<(), TestCaseError> {
    let ctx = || format!("\n  before: {}\n  after:  {}", show(a), show(b));
    prop_assert_eq!(a.uid, b.uid);
    prop_assert_eq!(a.ts, b.ts, "ts changed{}", ctx());
    prop_assert_eq!(a.proto, b.proto);
    prop_assert_eq!(a.ip_proto, b.ip_proto);
    prop_assert!(b.last >= a.last, "last went back{}", ctx());
    let same = endpoint(a, true) == endpoint(b, true) && endpoint(a, false) == endpoint(b, false);
    let swapped =
        endpoint(a, true) == endpoint(b, false) && endpoint(a, false) == endpoint(b, true);
    prop_assert!(same || swapped, "endpoints changed{}", ctx());
    let (ao, ar) = if same {
        (
            (a.orig_pkts, a.orig_ip_bytes),
            (a.resp_pkts, a.resp_ip_bytes),
        )
    } else {
        (
            (a.resp_pkts, a.resp_ip_bytes),
            (a.orig_pkts, a.orig_ip_bytes),
        )
    };
    prop_assert!(
        b.orig_pkts >= ao.0 && b.orig_ip_bytes >= ao.1,
        "orig counters went down{}",
        ctx()
    );
    prop_assert!(
        b.resp_pkts >= ar.0 && b.resp_ip_bytes >= ar.1,
        "resp counters went down{}",
        ctx()
    );
    prop_assert!(
        b.missed_bytes >= a.missed_bytes,
        "missed_bytes went down{}",
        ctx()
    );
    let (ha, hb) = (a.history.as_str(), b.history.as_str());
    let rewritten = ha == "H" && hb.starts_with("^h");
    prop_assert!(
        hb.starts_with(ha) || rewritten,
        "history did not grow by appending{}",
        ctx()
    );
    let carets = |h: &str| h.bytes().filter(|&c| c == b'^').count();
    if swapped && !same && ha.len() < History::CAPACITY {
        prop_assert!(carets(hb) > carets(ha), "flip without `^`{}", ctx());
    }
    Ok(())
}

fn drain(
    an: &mut PacketAnalyzer,
    finished: &mut HashMap<Uid, ConnRecord>,
) -> Result<(), TestCaseError> {
    for ev in an.tracker().drain_events() {
        let ConnEvent::Finished(r) = ev else {
            continue;
        };
        let uid = r.uid;
        prop_assert!(
            finished.insert(uid, r).is_none(),
            "uid {} finished twice",
            uid
        );
    }
    Ok(())
}

fn check(pkts: &[Pkt]) -> Result<(), TestCaseError> {
    let mut an = PacketAnalyzer::new(cfg_c());
    let mut seen: HashMap<Uid, Vec<ConnRecord>> = HashMap::new();
    let mut finished: HashMap<Uid, ConnRecord> = HashMap::new();
    let mut ts = DEFAULT_START_NS;
    for p in pkts {
        ts += GAPS[p.gap];
        let data = frame(p);
        an.handle_frame(&Frame {
            ts: Timestamp(ts),
            link: LinkType::ETHERNET,
            data: &data,
            wire_len: data.len() as u32,
            interface: 0,
        });
        drain(&mut an, &mut finished)?;
        let mut live_now = Vec::new();
        for r in an.tracker_ref().live() {
            prop_assert!(
                !finished.contains_key(&r.uid),
                "finished uid {} is live again",
                r.uid
            );
            prop_assert!(!live_now.contains(&r.uid), "uid {} live twice", r.uid);
            live_now.push(r.uid);
            seen.entry(r.uid).or_default().push(r);
        }
    }
    an.finish();
    drain(&mut an, &mut finished)?;
    prop_assert_eq!(
        an.tracker_ref().live().count(),
        0,
        "live connections after finish"
    );
    prop_assert_eq!(
        finished.len() as u64,
        an.tracker_ref().stats().connections,
        "records vs connections created"
    );
    for (uid, obs) in &seen {
        let Some(last) = finished.get(uid) else {
            return Err(TestCaseError::fail(format!(
                "uid {uid} was live but never finished: {}",
                show(obs.last().unwrap())
            )));
        };
        for w in obs.windows(2) {
            follows(&w[0], &w[1])?;
        }
        follows(obs.last().unwrap(), last)?;
    }
    Ok(())
}

const DEFAULT_START_NS: i64 = connwatch_tracegen::DEFAULT_START;

proptest! {
    #![proptest_config(Config {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64),
        failure_persistence: None,
        ..Config::default()
    })]

    #[test]
    fn uids_finish_once_and_counters_only_grow(pkts in prop::collection::vec(pkt(), 1..=60)) {
        check(&pkts)?;
    }
}

/// The property checker itself must catch a broken sequence.
#[test]
fn follows_rejects_shrinking_counters_and_rewritten_history() {
    let s = scenario();
    s.tcp(CLIENT, SERVER).handshake(0).send_orig(ms(10), 100);
    let mut sim = Sim::new(cfg());
    let mut snaps = Vec::new();
    for p in s.packets() {
        sim.feed(p.ts, &p.data);
        snaps.extend(sim.live());
    }
    let (a, b) = (&snaps[0], snaps.last().unwrap());
    assert!(follows(a, b).is_ok());
    assert!(follows(b, a).is_err(), "counters going down must fail");
    let mut c = b.clone();
    c.history.set(b"SD");
    assert!(follows(b, &c).is_err(), "history not a prefix must fail");
    let mut d = b.clone();
    core::mem::swap(&mut d.orig_h, &mut d.resp_h);
    core::mem::swap(&mut d.orig_p, &mut d.resp_p);
    core::mem::swap(&mut d.orig_pkts, &mut d.resp_pkts);
    core::mem::swap(&mut d.orig_ip_bytes, &mut d.resp_ip_bytes);
    assert!(follows(b, &d).is_err(), "flip without `^` must fail");
}
