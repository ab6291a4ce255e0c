//! Connections stitched from flow records (tracker/flows.rs): directions
//! joined, orientation, active-timeout records extending one connection,
//! the end of a connection, port reuse, sampling and conn_long reports.

use core::net::IpAddr;

use connwatch_wire::netflow::{CollectedFlow, EndReason, FlowSide};
use connwatch_wire::{Duration, Timestamp};

use super::dsl::cfg;
use crate::{ConnEvent, ConnRecord, ConnState, ConnTracker, Proto, TrackerConfig};

const T0: i64 = 1_700_000_000_000_000_000;
const MS: i64 = 1_000_000;
const SEC: i64 = 1_000 * MS;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn side(start_ms: i64, end_ms: i64, packets: u64, octets: u64, flags: u8) -> FlowSide {
    FlowSide {
        packets,
        octets,
        start: Timestamp(T0 + start_ms * MS),
        end: Timestamp(T0 + end_ms * MS),
        tcp_flags: flags,
        tos: 0,
        icmp_type_code: 0,
    }
}

#[allow(clippy::too_many_arguments)]
fn rec(
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    proto: u8,
    s: FlowSide,
    reason: Option<EndReason>,
) -> CollectedFlow {
    CollectedFlow {
        src: ip(src),
        dst: ip(dst),
        src_port: sport,
        dst_port: dport,
        protocol: proto,
        vlan: None,
        flow_id: None,
        reason,
        forward: s,
        reverse: None,
        sampling: 1,
        biflow_direction: None,
    }
}

/// Feeds the records in order (network time = newest record end), then
/// ends the input; returns conn.log rows and conn_long reports.
fn run(cfg: TrackerConfig, recs: &[CollectedFlow]) -> (Vec<ConnRecord>, Vec<(ConnRecord, i64)>) {
    let mut t = ConnTracker::new(cfg);
    let mut now = Timestamp(i64::MIN);
    let mut events = Vec::new();
    for r in recs {
        let end = r
            .reverse
            .map_or(r.forward.end, |x| x.end.max(r.forward.end));
        now = now.max(end);
        t.advance(now);
        t.handle_flow(r);
        events.extend(t.drain_events());
    }
    t.finish();
    events.extend(t.drain_events());
    let mut rows = Vec::new();
    let mut long = Vec::new();
    for e in events {
        match e {
            ConnEvent::Finished(r) => rows.push(r),
            ConnEvent::Interim { record, report } => {
                long.push((record, report.threshold.as_nanos() / SEC))
            }
        }
    }
    (rows, long)
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const FIN: u8 = 0x01;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;

#[test]
fn two_directions_become_one_connection() {
    let (rows, _) = run(
        cfg(),
        &[
            rec(
                "10.0.0.1",
                40000,
                "10.0.0.2",
                80,
                6,
                side(0, 60, 5, 250, SYN | ACK | PSH | FIN),
                None,
            ),
            rec(
                "10.0.0.2",
                80,
                "10.0.0.1",
                40000,
                6,
                side(1, 60, 3, 620, SYN | ACK | PSH | FIN),
                None,
            ),
        ],
    );
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!((r.orig_h, r.orig_p, r.resp_p), (ip("10.0.0.1"), 40000, 80));
    assert_eq!(
        (r.orig_pkts, r.orig_ip_bytes, r.resp_pkts, r.resp_ip_bytes),
        (5, 250, 3, 620)
    );
    // Payload estimated from the smallest headers: 250 - 5·40, 620 - 3·40.
    assert_eq!((r.orig_bytes, r.resp_bytes), (50, 500));
    assert_eq!(r.conn_state, ConnState::SF);
    assert_eq!(r.history.as_bytes(), b"ShAaFf");
    assert_eq!(r.ts, Timestamp(T0));
    assert_eq!(r.last, Timestamp(T0 + 60 * MS));
    assert_eq!(r.sampling, 1);
    assert_eq!(r.missed_bytes, 0);
}

#[test]
fn the_direction_that_started_first_is_the_originator() {
    // The server's record arrives first, but the client's started 1 ms
    // earlier.
    let (rows, _) = run(
        cfg(),
        &[
            rec(
                "10.0.0.2",
                80,
                "10.0.0.1",
                40000,
                6,
                side(1, 60, 3, 620, SYN | ACK | FIN),
                None,
            ),
            rec(
                "10.0.0.1",
                40000,
                "10.0.0.2",
                80,
                6,
                side(0, 60, 5, 250, SYN | ACK | FIN),
                None,
            ),
        ],
    );
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!((r.orig_h, r.orig_p), (ip("10.0.0.1"), 40000));
    assert_eq!((r.orig_pkts, r.resp_pkts), (5, 3));
    assert_eq!(r.ts, Timestamp(T0));
}

#[test]
fn on_a_tie_the_likely_server_port_is_the_responder() {
    for proto in [6u8, 17] {
        let (rows, _) = run(
            cfg(),
            &[
                rec(
                    "10.0.0.2",
                    53,
                    "10.0.0.1",
                    40000,
                    proto,
                    side(0, 5, 1, 90, SYN | ACK),
                    None,
                ),
                rec(
                    "10.0.0.1",
                    40000,
                    "10.0.0.2",
                    53,
                    proto,
                    side(0, 5, 1, 60, SYN | ACK),
                    None,
                ),
            ],
        );
        assert_eq!(rows.len(), 1, "{proto}");
        assert_eq!((rows[0].orig_p, rows[0].resp_p), (40000, 53), "{proto}");
        assert_eq!(
            (rows[0].orig_ip_bytes, rows[0].resp_ip_bytes),
            (60, 90),
            "{proto}"
        );
    }
}

#[test]
fn a_lone_syn_ack_record_is_the_responders() {
    let (rows, _) = run(
        cfg(),
        &[rec(
            "10.0.0.2",
            80,
            "10.0.0.1",
            6705,
            6,
            side(0, 0, 1, 48, SYN | ACK),
            None,
        )],
    );
    assert_eq!((rows[0].orig_p, rows[0].resp_p), (6705, 80));
    assert_eq!((rows[0].orig_pkts, rows[0].resp_pkts), (0, 1));
    // A bare SYN stays the originator's, whatever the ports.
    let (rows, _) = run(
        cfg(),
        &[rec(
            "10.0.0.2",
            80,
            "10.0.0.1",
            6705,
            6,
            side(0, 0, 1, 60, SYN),
            None,
        )],
    );
    assert_eq!((rows[0].orig_p, rows[0].conn_state), (80, ConnState::S0));
}

#[test]
fn icmp_echo_request_and_reply_pair_up() {
    let mut req = rec(
        "10.0.0.1",
        0,
        "10.0.0.2",
        0x0800,
        1,
        side(0, 1000, 2, 168, 0),
        None,
    );
    req.forward.icmp_type_code = 0x0800;
    let mut rep = rec(
        "10.0.0.2",
        0,
        "10.0.0.1",
        0,
        1,
        side(0, 1000, 2, 168, 0),
        None,
    );
    rep.forward.icmp_type_code = 0;
    // The reply's record first, same times: the request's sender is still
    // the originator.
    let (rows, _) = run(cfg(), &[rep, req]);
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.proto, Proto::Icmp);
    assert_eq!((r.orig_h, r.orig_p, r.resp_p), (ip("10.0.0.1"), 8, 0));
    assert_eq!((r.orig_pkts, r.resp_pkts), (2, 2));
}

#[test]
fn active_timeout_records_extend_one_connection_and_feed_conn_long() {
    // A 2-hour connection cut every 60 s, both directions.
    let mut recs = Vec::new();
    for i in 0..120 {
        let (a, b) = (i * 60_000, i * 60_000 + 59_000);
        let last = i == 119;
        let reason = Some(if last {
            EndReason::EndOfFlow
        } else {
            EndReason::Active
        });
        let f = if last { ACK | FIN } else { ACK | PSH } | if i == 0 { SYN } else { 0 };
        recs.push(rec(
            "10.0.0.1",
            40000,
            "10.0.0.2",
            22,
            6,
            side(a, b, 10, 600, f),
            reason,
        ));
        recs.push(rec(
            "10.0.0.2",
            22,
            "10.0.0.1",
            40000,
            6,
            side(a + 1, b, 10, 1000, f),
            reason,
        ));
    }
    let (rows, long) = run(cfg(), &recs);
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!((r.orig_pkts, r.resp_pkts), (1200, 1200));
    assert_eq!(r.conn_state, ConnState::SF);
    assert_eq!(r.last, Timestamp(T0 + 7_199_000 * MS));
    // 10 min, 30 min and 1 h passed while the connection was open; each
    // row counts the records that had arrived by then (network time is the
    // newest record's end).
    let got: Vec<(i64, u64)> = long.iter().map(|(r, th)| (*th, r.orig_pkts)).collect();
    assert_eq!(got, vec![(600, 100), (1800, 300), (3600, 600)]);
    assert!(long.iter().all(|(rec, _)| rec.uid == r.uid));
}

#[test]
fn an_ended_connection_waits_for_the_reverse_record_then_ends() {
    let c = cfg();
    let delay = c.flows.end_delay.as_nanos() / MS;
    let (rows, _) = run(
        c,
        &[
            rec(
                "10.0.0.1",
                53001,
                "10.0.0.9",
                53,
                17,
                side(0, 0, 1, 60, 0),
                Some(EndReason::Idle),
            ),
            // Another connection moves the clock, less than the delay.
            rec(
                "10.0.0.3",
                1,
                "10.0.0.4",
                2,
                17,
                side(0, delay - 1, 1, 60, 0),
                Some(EndReason::Active),
            ),
            rec(
                "10.0.0.9",
                53,
                "10.0.0.1",
                53001,
                17,
                side(0, 1, 1, 90, 0),
                Some(EndReason::Idle),
            ),
            // Past the delay: this one comes too late and starts anew.
            rec(
                "10.0.0.3",
                1,
                "10.0.0.4",
                2,
                17,
                side(delay, 3 * delay, 1, 60, 0),
                Some(EndReason::Active),
            ),
        ],
    );
    let dns: Vec<&ConnRecord> = rows.iter().filter(|r| r.resp_p == 53).collect();
    assert_eq!(dns.len(), 1);
    assert_eq!((dns[0].orig_pkts, dns[0].resp_pkts), (1, 1));
    assert_eq!(dns[0].conn_state, ConnState::SF);
}

#[test]
fn a_direction_that_starts_again_after_its_end_is_a_new_connection() {
    let (rows, _) = run(
        cfg(),
        &[
            rec(
                "10.0.0.1",
                40000,
                "10.0.0.2",
                80,
                6,
                side(0, 10, 3, 120, SYN | ACK | FIN),
                None,
            ),
            rec(
                "10.0.0.2",
                80,
                "10.0.0.1",
                40000,
                6,
                side(0, 10, 2, 80, SYN | ACK | FIN),
                None,
            ),
            // Port reuse 2 s later (v5: no reason; FIN ended both sides).
            rec(
                "10.0.0.1",
                40000,
                "10.0.0.2",
                80,
                6,
                side(2000, 2010, 1, 40, SYN),
                None,
            ),
        ],
    );
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].conn_state, ConnState::SF);
    assert_eq!(rows[1].conn_state, ConnState::S0);
    assert_ne!(rows[0].uid, rows[1].uid);
}

#[test]
fn without_records_for_the_idle_timeout_a_connection_ends() {
    let mut c = cfg();
    c.flows.idle_timeout = Duration::from_secs(120);
    let (rows, _) = run(
        c,
        &[
            rec(
                "10.0.0.1",
                40000,
                "10.0.0.2",
                80,
                6,
                side(0, 1000, 3, 120, SYN | ACK),
                Some(EndReason::Active),
            ),
            // Another connection 5 minutes later moves the clock past it.
            rec(
                "10.0.0.3",
                1,
                "10.0.0.4",
                2,
                17,
                side(300_000, 300_000, 1, 60, 0),
                None,
            ),
            rec(
                "10.0.0.1",
                40000,
                "10.0.0.2",
                80,
                6,
                side(301_000, 302_000, 3, 120, ACK),
                Some(EndReason::Active),
            ),
        ],
    );
    let web: Vec<&ConnRecord> = rows.iter().filter(|r| r.resp_p == 80).collect();
    assert_eq!(web.len(), 2);
    assert_eq!(web[0].last, Timestamp(T0 + 1000 * MS));
}

#[test]
fn sampled_counters_are_scaled_and_the_row_says_so() {
    let mut r = rec(
        "10.0.0.1",
        40000,
        "10.0.0.2",
        443,
        6,
        side(0, 10, 2, 100, SYN | ACK),
        None,
    );
    r.sampling = 100;
    let (rows, _) = run(cfg(), &[r]);
    assert_eq!((rows[0].orig_pkts, rows[0].orig_ip_bytes), (200, 10_000));
    assert_eq!(rows[0].sampling, 100);
}

#[test]
fn biflow_records_carry_both_directions() {
    let mut r = rec(
        "10.0.0.2",
        443,
        "10.0.0.1",
        40000,
        6,
        side(0, 50, 3, 880, SYN | ACK | FIN),
        Some(EndReason::EndOfFlow),
    );
    r.reverse = Some(side(0, 50, 5, 420, SYN | ACK | FIN));
    // softflowd's biflows put the lower address first, whoever started:
    // the tie goes to the port heuristic.
    let (rows, _) = run(cfg(), &[r]);
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(
        (r.orig_h, r.orig_p, r.orig_pkts, r.resp_pkts),
        (ip("10.0.0.1"), 40000, 5, 3)
    );
}

#[test]
fn tcp_states_from_flags() {
    let st = |o: u8, r: Option<u8>| {
        let mut recs = vec![rec(
            "10.0.0.1",
            40000,
            "10.0.0.2",
            80,
            6,
            side(0, 10, 1, 40, o),
            Some(EndReason::Idle),
        )];
        if let Some(r) = r {
            recs.push(rec(
                "10.0.0.2",
                80,
                "10.0.0.1",
                40000,
                6,
                side(1, 10, 1, 40, r),
                Some(EndReason::Idle),
            ));
        }
        run(cfg(), &recs).0[0].conn_state
    };
    assert_eq!(st(SYN, None), ConnState::S0);
    // One packet a side: its flags exactly, as Zeek's letters.
    let hist = |o: u8, r: u8| {
        let recs = [
            rec(
                "10.0.0.1",
                40000,
                "10.0.0.2",
                80,
                6,
                side(0, 10, 1, 40, o),
                Some(EndReason::Idle),
            ),
            rec(
                "10.0.0.2",
                80,
                "10.0.0.1",
                40000,
                6,
                side(1, 10, 1, 40, r),
                Some(EndReason::Idle),
            ),
        ];
        run(cfg(), &recs).0[0].history.as_bytes().to_vec()
    };
    assert_eq!(hist(SYN, RST | ACK), b"Sr");
    assert_eq!(hist(SYN, SYN | ACK), b"Sh");
    assert_eq!(hist(ACK, FIN | ACK), b"Af");
    assert_eq!(st(SYN, Some(RST | ACK)), ConnState::REJ);
    assert_eq!(st(SYN | ACK, Some(SYN | ACK)), ConnState::S1);
    assert_eq!(st(SYN | ACK | FIN, Some(SYN | ACK)), ConnState::S2);
    assert_eq!(st(SYN | ACK, Some(SYN | ACK | FIN)), ConnState::S3);
    assert_eq!(st(SYN | ACK | RST, Some(SYN | ACK)), ConnState::RSTO);
    assert_eq!(st(SYN | ACK, Some(SYN | ACK | RST)), ConnState::RSTR);
    assert_eq!(st(SYN | FIN, None), ConnState::SH);
    assert_eq!(st(SYN | RST, None), ConnState::RSTOS0);
    assert_eq!(st(ACK | PSH, Some(ACK)), ConnState::OTH);
}
