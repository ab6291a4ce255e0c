//! The scenario DSL: sequence numbers stay consistent across every TCP
//! operation, output is time-sorted and stable, and a written pcap reads back.

mod common;

use std::collections::HashMap;

use common::{decode, read_pcap, Decoded, L4};
use connwatch_tracegen::packet::tcp_flags::{ACK, FIN, PSH, RST, SYN};
use connwatch_tracegen::time::{mins, ms, secs, ticks, us};
use connwatch_tracegen::{Scenario, Side, DEFAULT_START};

/// A TCP segment's fields, decoded.
#[derive(Debug, Clone)]
struct Seg {
    ts: i64,
    from_orig: bool,
    seq: u32,
    ack: u32,
    flags: u8,
    len: u32,
}

/// The TCP segments of the flow whose originator port is `oport`.
fn segments(s: &Scenario, oport: u16) -> Vec<Seg> {
    s.packets()
        .iter()
        .filter_map(|p| {
            let d: Decoded = decode(&p.data).expect("valid frame");
            match d.l4 {
                L4::Tcp {
                    sport,
                    dport,
                    seq,
                    ack,
                    flags,
                    payload,
                    ..
                } if sport == oport || dport == oport => Some(Seg {
                    ts: p.ts,
                    from_orig: sport == oport,
                    seq,
                    ack,
                    flags,
                    len: payload.len() as u32,
                }),
                _ => None,
            }
        })
        .collect()
}

/// Replays `segs` with a model of lossless TCP and checks that every sequence
/// and acknowledgement number agrees with what each side sent before.
/// Returns the payload bytes each side sent.
fn check_sequence(segs: &[Seg], isn: [u32; 2]) -> [u64; 2] {
    let mut next = [isn[0].wrapping_add(1), isn[1].wrapping_add(1)];
    let mut bytes = [0u64; 2];
    for s in segs {
        let (me, peer) = if s.from_orig { (0, 1) } else { (1, 0) };
        if s.flags & RST != 0 && s.seq == 0 && s.flags & ACK != 0 && bytes[me] == 0 {
            // A refusal answers a SYN with sequence 0.
            assert_eq!(s.ack, next[peer], "{s:?}");
            continue;
        }
        let want_seq = if s.flags & SYN != 0 {
            isn[me]
        } else {
            next[me]
        };
        if s.seq == next[me].wrapping_sub(1) && s.len == 0 && s.flags == ACK {
            // keep-alive
        } else {
            assert_eq!(s.seq, want_seq, "seq of {s:?}");
        }
        if s.flags & ACK != 0 {
            assert_eq!(s.ack, next[peer], "ack of {s:?}");
        }
        let mut end = s.seq.wrapping_add(s.len);
        if s.flags & (SYN | FIN) != 0 {
            end = end.wrapping_add(1);
        }
        if s.seq != next[me].wrapping_sub(1) || s.len != 0 || s.flags != ACK {
            next[me] = end;
        }
        bytes[me] += u64::from(s.len);
    }
    bytes
}

#[test]
fn long_conversation_is_consistent() {
    let s = Scenario::new(DEFAULT_START);
    let mut c = s.tcp("10.0.0.1:40000", "192.0.2.5:443").rtt(ms(20));
    c.handshake(0);
    for t in ticks(secs(10), secs(10), mins(45)) {
        c.send_orig(t, 100).send_resp(t + ms(30), 3000);
    }
    c.keepalive(Side::Orig, mins(45) - secs(1));
    c.close_fin(mins(45));
    let segs = segments(&s, 40000);
    let bytes = check_sequence(&segs, [c.isn(Side::Orig), c.isn(Side::Resp)]);
    assert_eq!(bytes, [269 * 100, 269 * 3000]);
    assert_eq!(
        bytes,
        [c.payload_bytes(Side::Orig), c.payload_bytes(Side::Resp)]
    );
    // 3000 bytes are 3 segments (MSS 1460), the last with PSH.
    assert_eq!(segs.len(), 3 + 269 * (2 + 4) + 1 + 3);
    assert_eq!(segs[0].flags, SYN);
    assert_eq!(segs[1].flags, SYN | ACK);
    let last = &segs[segs.len() - 1];
    assert_eq!(
        (last.flags, last.ts),
        (ACK, DEFAULT_START + mins(45) + ms(20))
    );
    let data: Vec<_> = segs
        .iter()
        .filter(|g| !g.from_orig && g.len > 0)
        .take(3)
        .collect();
    assert_eq!(
        data.iter().map(|g| g.len).collect::<Vec<_>>(),
        [1460, 1460, 80]
    );
    assert_eq!(
        data.iter().map(|g| g.flags).collect::<Vec<_>>(),
        [ACK, ACK, PSH | ACK]
    );
    // Final sequence numbers count data, SYN and FIN.
    assert_eq!(
        c.next_seq(Side::Orig),
        c.isn(Side::Orig).wrapping_add(2 + 269 * 100)
    );
}

#[test]
fn every_tcp_operation_keeps_sequences_consistent() {
    let s = Scenario::new(DEFAULT_START);
    // Sequence numbers wrap around 2^32 during this conversation.
    let mut c = s
        .tcp("[2001:db8::1]:50000", "[2001:db8::2]:80")
        .isns(u32::MAX - 10, 5)
        .vlan(7);
    c.syn(0)
        .syn(secs(1))
        .syn_ack(secs(1) + ms(1))
        .ack(Side::Orig, secs(1) + ms(2));
    c.send_bytes(Side::Orig, secs(2), b"GET / HTTP/1.0\r\n\r\n");
    c.data(Side::Resp, secs(3), 5000).ack(Side::Orig, secs(4));
    c.send(Side::Resp, secs(5), 0);
    c.fin(Side::Resp, secs(6)).ack(Side::Orig, secs(6) + ms(1));
    c.data(Side::Orig, secs(7), 10).rst(Side::Orig, secs(8));
    let segs = segments(&s, 50000);
    let bytes = check_sequence(&segs, [u32::MAX - 10, 5]);
    assert_eq!(bytes, [18 + 10, 5000]);
    // Both SYNs carry the same ISN (a retransmission).
    assert_eq!((segs[0].seq, segs[1].seq), (u32::MAX - 10, u32::MAX - 10));
    for p in s.packets() {
        let d = decode(&p.data).unwrap();
        assert_eq!(d.vlan, Some(7));
        assert!(d.src.is_ipv6());
    }
}

#[test]
fn reject_and_probe_and_midstream() {
    let s = Scenario::new(DEFAULT_START);
    let mut rej = s.tcp("10.0.0.1:1111", "10.0.0.2:23").isns(1000, 0);
    rej.reject(0);
    s.syn_probe(ms(1), "10.0.0.1:2222", "10.0.0.3:22");
    // Picked up mid-stream: no handshake, sequence numbers still agree.
    let mut mid = s.tcp("10.0.0.1:3333", "10.0.0.2:80").isns(77, 99);
    mid.send_orig(ms(2), 10)
        .send_resp(ms(3), 20)
        .close_fin_from(Side::Resp, ms(4));
    let r = segments(&s, 1111);
    assert_eq!(r.len(), 2);
    assert_eq!((r[1].flags, r[1].seq, r[1].ack), (RST | ACK, 0, 1001));
    let p = segments(&s, 2222);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].flags, SYN);
    let m = segments(&s, 3333);
    assert_eq!(check_sequence(&m, [77, 99]), [10, 20]);
    assert_eq!(m[4].flags, FIN | ACK);
    assert!(!m[4].from_orig);
}

#[test]
fn udp_icmp_background_and_ordering() {
    let s = Scenario::new(DEFAULT_START);
    s.background(0, secs(1), 5);
    let mut u = s.udp("10.0.0.2:5353", "10.0.0.9:53").rtt(ms(4));
    u.request_reply(ms(500), 40, 120);
    s.ping("2001:db8::1", "2001:db8::2", 9).echo(secs(2), 1, 56);
    s.udp_probe(secs(1), "10.0.0.5:1", "10.0.0.6:2", 0);
    // Equal timestamps keep insertion order.
    s.udp_probe(secs(10), "10.0.0.5:10", "10.0.0.6:2", 0);
    s.udp_probe(secs(10), "10.0.0.5:11", "10.0.0.6:2", 0);
    let pk = s.packets();
    assert_eq!(pk.len(), 5 + 2 + 2 + 3);
    assert!(pk.windows(2).all(|w| w[0].ts <= w[1].ts));
    let decoded: Vec<Decoded> = pk.iter().map(|p| decode(&p.data).unwrap()).collect();
    let sports: Vec<u16> = decoded
        .iter()
        .filter_map(|d| match d.l4 {
            L4::Udp { sport, .. } => Some(sport),
            _ => None,
        })
        .collect();
    let n = sports.len();
    assert_eq!(&sports[n - 2..], [10, 11]);
    // Background flows have distinct 5-tuples.
    let mut seen = HashMap::new();
    for d in &decoded {
        if let L4::Udp {
            sport, dport: 9, ..
        } = d.l4
        {
            *seen.entry((d.src, sport)).or_insert(0) += 1;
        }
    }
    assert_eq!(seen.len(), 5);
    // Request and reply sizes and timing.
    let dns: Vec<_> = pk
        .iter()
        .zip(&decoded)
        .filter(|(_, d)| matches!(d.l4, L4::Udp { dport: 53, .. } | L4::Udp { sport: 53, .. }))
        .collect();
    assert_eq!(dns.len(), 2);
    assert_eq!(dns[1].0.ts - dns[0].0.ts, ms(4));
    assert!(matches!(&dns[1].1.l4, L4::Udp { payload, .. } if payload.len() == 120));
    let icmp: Vec<_> = decoded.iter().filter(|d| d.proto == 58).collect();
    assert_eq!(icmp.len(), 2);
}

#[test]
fn write_pcap_reads_back_and_is_deterministic() {
    let make = || {
        let s = Scenario::new(DEFAULT_START + us(7));
        let mut c = s.tcp("10.1.0.1:40000", "10.2.0.1:443");
        c.handshake(0).send_orig(ms(5), 300).close_fin(ms(10));
        s.ping("10.1.0.1", "10.2.0.1", 1).echo(ms(1), 1, 8);
        s
    };
    let dir = std::env::temp_dir().join(format!("tracegen-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (dir.join("a.pcap"), dir.join("b.pcap"));
    make().write_pcap(&a).unwrap();
    make().write_pcap(&b).unwrap();
    let bytes_a = std::fs::read(&a).unwrap();
    assert_eq!(bytes_a, std::fs::read(&b).unwrap());
    let (_, recs) = read_pcap(&a);
    let pk = make().packets();
    assert_eq!(recs.len(), pk.len());
    for (r, p) in recs.iter().zip(&pk) {
        assert_eq!(r.data, p.data);
        assert_eq!(r.ts, p.ts / 1000 * 1000);
    }
    assert_eq!(pk[0].ts, DEFAULT_START + us(7));
    std::fs::remove_dir_all(&dir).unwrap();
}
