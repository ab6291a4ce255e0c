//! The streaming generators: deterministic per seed, valid frames,
//! non-decreasing time, consistent TCP sequences, one 5-tuple per connection,
//! and the mix the configuration asks for.

mod common;

use std::collections::HashSet;

use common::{decode, flow_key, read_pcap_bytes, TcpChecker, L4};
use connwatch_tracegen::bulk::{bulk, long, BulkConfig, LongConfig, Mix, Summary};
use connwatch_tracegen::pcap::{PcapWriter, Precision};
use connwatch_tracegen::time::{hours, mins, ms, secs, us};

fn generate(cfg: &BulkConfig) -> (Vec<u8>, Summary) {
    let mut w = PcapWriter::new(Vec::new(), Precision::Nano).unwrap();
    let s = bulk(cfg, &mut w).unwrap();
    (w.finish().unwrap(), s)
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let cfg = BulkConfig::new(5_000, 1);
    let (a, sa) = generate(&cfg);
    let (b, sb) = generate(&cfg);
    assert_eq!(sa, sb);
    assert!(a == b, "same seed gave different bytes");
    let (c, _) = generate(&BulkConfig { seed: 2, ..cfg });
    assert!(a != c, "seeds 1 and 2 gave the same bytes");
}

#[test]
fn bulk_trace_is_valid_and_matches_its_summary() {
    let cfg = BulkConfig::new(20_000, 7);
    let (bytes, s) = generate(&cfg);
    let (_, recs) = read_pcap_bytes(&bytes);
    assert_eq!(recs.len() as u64, s.packets);
    assert_eq!(bytes.len() as u64, s.file_bytes);
    assert_eq!(
        recs.iter().map(|r| r.data.len() as u64).sum::<u64>(),
        s.frame_bytes
    );
    assert_eq!(
        (recs[0].ts, recs[recs.len() - 1].ts),
        (s.first_ts, s.last_ts)
    );
    assert!(
        recs.windows(2).all(|w| w[0].ts <= w[1].ts),
        "time went backwards"
    );

    let mut tcp = TcpChecker::default();
    let mut flows = HashSet::new();
    let mut v6 = HashSet::new();
    for (i, r) in recs.iter().enumerate() {
        let d = decode(&r.data).unwrap_or_else(|e| panic!("packet {i}: {e}"));
        tcp.packet(&d).unwrap_or_else(|e| panic!("packet {i}: {e}"));
        let key = flow_key(&d);
        if d.src.is_ipv6() {
            v6.insert(key);
        }
        flows.insert(key);
        // Frame sizes stay within Ethernet and the advertised ranges.
        assert!(r.data.len() <= 1514, "frame of {} bytes", r.data.len());
        if let L4::Tcp { payload, .. } = &d.l4 {
            assert!(payload.len() <= 1346);
        }
    }
    // Every connection has its own 5-tuple, so a tracker sees exactly as many.
    assert_eq!(flows.len() as u64, s.connections());
    assert_eq!(s.connections(), cfg.connections);
    assert_eq!(v6.len() as u64, s.ipv6);
    assert_eq!(s.ipv4 + s.ipv6, cfg.connections);

    // The mix is roughly what was asked for (45/35/20, 20% IPv6).
    let pct = |n: u64| n * 100 / cfg.connections;
    let tcp_all = s.tcp_fin + s.tcp_rst + s.tcp_rej + s.tcp_long;
    assert!((42..=48).contains(&pct(tcp_all)), "tcp {}", pct(tcp_all));
    assert!((32..=38).contains(&pct(s.udp)), "udp {}", pct(s.udp));
    assert!((17..=23).contains(&pct(s.scan_syn + s.scan_udp)));
    assert!((17..=23).contains(&pct(s.ipv6)));
    assert!(s.tcp_rst > 0 && s.tcp_rej > 0 && s.tcp_long > 0);
    // Connections overlap: many are open at once.
    assert!(s.peak_open > 500, "peak open {}", s.peak_open);
}

#[test]
fn scan_mix_is_one_packet_per_flow() {
    let cfg = BulkConfig {
        mix: Mix::SCANS,
        ..BulkConfig::new(10_000, 3)
    };
    let (bytes, s) = generate(&cfg);
    let (_, recs) = read_pcap_bytes(&bytes);
    assert_eq!(s.packets, 10_000);
    assert_eq!(s.scan_syn + s.scan_udp, 10_000);
    let flows: HashSet<_> = recs
        .iter()
        .map(|r| flow_key(&decode(&r.data).unwrap()))
        .collect();
    assert_eq!(flows.len(), 10_000);
}

#[test]
fn long_connection_among_background_flows() {
    let cfg = LongConfig {
        background_flows: 2_000,
        ..LongConfig::new(hours(2), secs(10))
    };
    let mut w = PcapWriter::new(Vec::new(), Precision::Micro).unwrap();
    let s = long(&cfg, &mut w).unwrap();
    let bytes = w.finish().unwrap();
    let (_, recs) = read_pcap_bytes(&bytes);
    // Handshake, 719 exchanges of 3 packets (at 10 s .. 7190 s), FIN close.
    assert_eq!(s.packets, 3 + 719 * 3 + 3 + 2_000);
    assert_eq!(recs.len() as u64, s.packets);
    assert!(recs.windows(2).all(|w| w[0].ts <= w[1].ts));
    assert_eq!(s.first_ts, cfg.start);
    assert_eq!(s.last_ts, cfg.start + hours(2) + ms(20));
    let mut tcp = TcpChecker::default();
    let mut flows = HashSet::new();
    for r in &recs {
        let d = decode(&r.data).unwrap();
        tcp.packet(&d).unwrap();
        flows.insert(flow_key(&d));
    }
    assert_eq!(flows.len(), 2_001);
    assert_eq!(s.connections(), 2_001);
}

#[test]
fn long_connection_time_never_goes_back() {
    for (duration, interval) in [
        (1, 1),
        (ms(1), secs(10)),
        (secs(10) + ms(1), secs(10)),
        (ms(30), us(3)),
        (mins(1), ms(7)),
    ] {
        let cfg = LongConfig {
            background_flows: 50,
            ..LongConfig::new(duration, interval)
        };
        let mut w = PcapWriter::new(Vec::new(), Precision::Nano).unwrap();
        let s = long(&cfg, &mut w).unwrap();
        let (_, recs) = read_pcap_bytes(&w.finish().unwrap());
        assert!(
            recs.windows(2).all(|w| w[0].ts <= w[1].ts),
            "{duration} / {interval}"
        );
        assert!(
            s.last_ts <= cfg.start + duration * 3 / 2 + 10,
            "{duration} / {interval}"
        );
        let mut tcp = TcpChecker::default();
        for r in &recs {
            tcp.packet(&decode(&r.data).unwrap()).unwrap();
        }
    }
}
