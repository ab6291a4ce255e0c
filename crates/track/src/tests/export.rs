//! Flow export at the tracker level: records cut by the active and
//! inactive timeouts, their reasons, and deltas that add up to conn.log's
//! totals (shared/spec/netflow-ipfix.md §4.4).

use connwatch_tracegen::{hours, ticks, Nanos};
use connwatch_wire::netflow::{EndReason, FlowRecord};
use connwatch_wire::{Duration, Frame, LinkType, Timestamp};

use super::dsl::*;
use crate::{ConnEvent, ConnRecord, ExportTimeouts, PacketAnalyzer, TrackerConfig};

fn cfg_export(active: i64, inactive: i64) -> TrackerConfig {
    TrackerConfig {
        export: Some(ExportTimeouts {
            active: Duration::from_secs(active),
            inactive: Duration::from_secs(inactive),
        }),
        ..cfg()
    }
}

/// Runs the packets; returns flow records and conn.log rows in order.
fn run_export(
    cfg: TrackerConfig,
    packets: &[connwatch_tracegen::Packet],
    end: Option<Nanos>,
) -> (Vec<FlowRecord>, Vec<ConnRecord>) {
    let mut an = PacketAnalyzer::new(cfg);
    let mut events = Vec::new();
    let mut flows = Vec::new();
    for p in packets {
        an.handle_frame(&Frame {
            ts: Timestamp(p.ts),
            link: LinkType::ETHERNET,
            data: &p.data,
            wire_len: p.data.len() as u32,
            interface: 0,
        });
        flows.extend(an.tracker().drain_flows());
        events.extend(an.tracker().drain_events());
    }
    if let Some(t) = end {
        an.tracker().advance(Timestamp(t));
        flows.extend(an.tracker().drain_flows());
        events.extend(an.tracker().drain_events());
    }
    an.finish();
    flows.extend(an.tracker().drain_flows());
    events.extend(an.tracker().drain_events());
    let rows = events
        .into_iter()
        .filter_map(|e| match e {
            ConnEvent::Finished(r) => Some(r),
            ConnEvent::Interim { .. } => None,
        })
        .collect();
    (flows, rows)
}

fn sums(flows: &[FlowRecord]) -> [u64; 4] {
    let mut s = [0; 4];
    for f in flows {
        let r = f.reverse.unwrap();
        s[0] += f.forward.packets;
        s[1] += r.packets;
        s[2] += f.forward.octets;
        s[3] += r.octets;
    }
    s
}

#[test]
fn a_two_hour_connection_with_a_60s_active_timeout_gives_120_records_a_direction() {
    let s = scenario();
    let mut c = s.tcp(CLIENT, SERVER);
    c.handshake(0);
    for t in ticks(secs(10), secs(10), hours(2) - secs(10)) {
        c.send_orig(t, 100);
        c.send_resp(t + ms(5), 40);
    }
    c.close_fin(hours(2) - secs(5));
    let (flows, rows) = run_export(cfg_export(60, 15), &s.packets(), None);
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    let fwd = flows.iter().filter(|f| f.forward.packets > 0).count();
    let rev = flows
        .iter()
        .filter(|f| f.reverse.unwrap().packets > 0)
        .count();
    assert_eq!((fwd, rev), (120, 120));
    assert_eq!(
        sums(&flows),
        [r.orig_pkts, r.resp_pkts, r.orig_ip_bytes, r.resp_ip_bytes]
    );
    let reasons: Vec<EndReason> = flows.iter().map(|f| f.reason).collect();
    assert!(reasons[..119].iter().all(|r| *r == EndReason::Active));
    assert_eq!(reasons[119], EndReason::EndOfFlow);
    // Records follow each other: each covers its own minute.
    for (k, f) in flows.iter().enumerate().take(119) {
        let from = r.ts.0 + 60_000_000_000 * k as i64;
        let to = from + 60_000_000_000;
        assert!(
            f.forward.start.0 >= from && f.forward.end.0 <= to,
            "record {k}: {f:?}"
        );
        assert_eq!(f.flow_id, flows[0].flow_id);
        assert_eq!((f.src_port, f.dst_port, f.protocol), (40000, 5000, 6));
    }
    // TCP flags: the first record has the SYN, the last the FIN.
    assert_ne!(flows[0].forward.tcp_flags & 0x02, 0);
    assert_ne!(flows[119].forward.tcp_flags & 0x01, 0);
}

#[test]
fn the_inactive_timeout_closes_a_record_and_the_next_packet_opens_one() {
    let s = scenario();
    for t in [0, secs(1), secs(2), secs(22), secs(23)] {
        udp(&s, t, "10.0.0.1:40000", "10.0.0.2:9999", b"0123456789");
    }
    udp(
        &s,
        secs(23) + ms(1),
        "10.0.0.2:9999",
        "10.0.0.1:40000",
        b"reply",
    );
    // Time runs on past the UDP inactivity timeout (1 min).
    let (flows, rows) = run_export(
        cfg_export(1800, 15),
        &s.packets(),
        Some(s.start() + secs(200)),
    );
    assert_eq!(rows.len(), 1);
    let got: Vec<(EndReason, u64, u64)> = flows
        .iter()
        .map(|f| (f.reason, f.forward.packets, f.reverse.unwrap().packets))
        .collect();
    assert_eq!(got, vec![(EndReason::Idle, 3, 0), (EndReason::Idle, 2, 1)]);
    let r = &rows[0];
    assert_eq!(
        sums(&flows),
        [r.orig_pkts, r.resp_pkts, r.orig_ip_bytes, r.resp_ip_bytes]
    );
    // The first record ended with its last packet, 15 s before its export.
    assert_eq!(
        flows[0].forward.end.0 - flows[0].forward.start.0,
        2_000_000_000
    );
}

#[test]
fn end_reasons_for_rst_shutdown_and_eviction() {
    let s = scenario();
    let mut a = s.tcp(CLIENT, SERVER);
    a.handshake(0);
    a.send_orig(secs(1), 10);
    a.rst(connwatch_tracegen::Side::Orig, secs(2));
    let mut b = s.tcp("10.0.0.3:40001", SERVER);
    b.handshake(secs(3));
    b.send_orig(secs(4), 10);
    let (flows, _) = run_export(cfg_export(1800, 15), &s.packets(), None);
    let reasons: Vec<(u16, EndReason)> = flows.iter().map(|f| (f.src_port, f.reason)).collect();
    assert_eq!(
        reasons,
        vec![(40000, EndReason::EndOfFlow), (40001, EndReason::Forced)]
    );

    // A table of 1: the second connection evicts the first.
    let (flows, _) = run_export(
        TrackerConfig {
            max_connections: 1,
            ..cfg_export(1800, 15)
        },
        &s.packets(),
        None,
    );
    assert_eq!(flows[0].reason, EndReason::LackOfResources);
}

#[test]
fn icmp_records_carry_type_and_code() {
    let s = scenario();
    icmp4(&s, 0, "10.0.0.1", "10.0.0.2", 8, 0, b"ping");
    icmp4(&s, ms(1), "10.0.0.2", "10.0.0.1", 0, 0, b"ping");
    let (flows, _) = run_export(cfg_export(1800, 15), &s.packets(), None);
    assert_eq!(flows.len(), 1);
    let f = &flows[0];
    assert_eq!((f.protocol, f.src_port, f.dst_port), (1, 0, 0x0800));
    assert_eq!(
        (f.forward.icmp_type_code, f.reverse.unwrap().icmp_type_code),
        (0x0800, 0)
    );
}
