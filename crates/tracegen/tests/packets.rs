//! Frame builders and the pcap writer, checked against an independent decoder
//! and against packets made by scapy (the shared synthetic traces).

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use common::{decode, read_pcap, read_pcap_bytes, shared_trace, L4};
use connwatch_tracegen::packet::{self, tcp_flags, Echo, Ip, IpPair, Link, Tcp};
use connwatch_tracegen::pcap::{PcapWriter, Precision};

fn v4() -> IpPair {
    IpPair::V4(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(192, 0, 2, 5))
}

fn v6() -> IpPair {
    IpPair::V6(
        "2001:db8::1".parse().unwrap(),
        "2001:db8:ffff::2".parse().unwrap(),
    )
}

#[test]
fn every_builder_has_valid_lengths_and_checksums() {
    let mut buf = Vec::new();
    let payload: Vec<u8> = (0..=255u8).cycle().take(1501).collect();
    let links = [
        Link::default(),
        Link {
            vlan: Some(100),
            ..Link::default()
        },
    ];
    for link in links {
        for addrs in [v4(), v6()] {
            for len in [0, 1, 2, 3, 7, 8, 9, 63, 64, 65, 1400, 1401] {
                let ip = Ip {
                    ident: 0xfffe,
                    ttl: 3,
                    tos: 0x10,
                    ..Ip::new(addrs)
                };
                let body = &payload[..len];
                for options in [
                    &[][..],
                    &[2, 4, 5, 0xb4][..],
                    &[1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 3][..],
                ] {
                    let tcp = Tcp {
                        src_port: 40000,
                        dst_port: 443,
                        seq: 0xfffffff0,
                        ack: 7,
                        flags: tcp_flags::PSH | tcp_flags::ACK,
                        window: 512,
                        options,
                    };
                    packet::tcp(&mut buf, &link, &ip, &tcp, body);
                    let d = decode(&buf).unwrap_or_else(|e| panic!("tcp {addrs:?} len {len}: {e}"));
                    assert_eq!(d.vlan, link.vlan);
                    assert_eq!(d.ttl, 3);
                    assert_eq!(d.tos, 0x10);
                    let L4::Tcp {
                        seq,
                        ack,
                        options: opts,
                        payload: p,
                        ..
                    } = d.l4
                    else {
                        panic!("not tcp")
                    };
                    assert_eq!((seq, ack), (0xfffffff0, 7));
                    assert_eq!(opts.len() % 4, 0);
                    assert_eq!(&opts[..options.len()], options);
                    assert_eq!(p, body);
                }
                packet::udp(&mut buf, &link, &ip, 5353, 53, body);
                let d = decode(&buf).unwrap_or_else(|e| panic!("udp {addrs:?} len {len}: {e}"));
                assert!(
                    matches!(d.l4, L4::Udp { sport: 5353, dport: 53, ref payload } if payload == body)
                );
                for reply in [false, true] {
                    let echo = Echo {
                        reply,
                        ident: 77,
                        seq: 3,
                    };
                    packet::icmp_echo(&mut buf, &link, &ip, &echo, body);
                    let d =
                        decode(&buf).unwrap_or_else(|e| panic!("icmp {addrs:?} len {len}: {e}"));
                    let want = match (addrs.is_v6(), reply) {
                        (false, false) => 8,
                        (false, true) => 0,
                        (true, false) => 128,
                        (true, true) => 129,
                    };
                    assert!(
                        matches!(d.l4, L4::Icmp { kind, rest: [0, 77, 0, 3], .. } if kind == want)
                    );
                }
            }
        }
    }
}

#[test]
fn udp_checksum_zero_is_sent_as_ffff() {
    // Search for a payload whose checksum computes to zero: it must be sent
    // as 0xffff (RFC 768), which still verifies.
    let mut buf = Vec::new();
    let ip = Ip::new(v4());
    let mut found = false;
    for x in 0..=u16::MAX {
        let body = x.to_be_bytes();
        packet::udp(&mut buf, &Link::default(), &ip, 1, 2, &body);
        let l4 = buf.len() - 10;
        if buf[l4 + 6..l4 + 8] == [0xff, 0xff] {
            decode(&buf).expect("valid");
            found = true;
            break;
        }
    }
    assert!(found, "no payload hit a zero checksum");
}

/// Rebuilds every packet of scapy-made traces from its decoded fields and
/// expects identical bytes: an independent check of headers and checksums.
#[test]
fn rebuilds_scapy_packets_byte_for_byte() {
    let names = [
        "syn-long-tcp.pcap",
        "syn-tcp-states.pcap",
        "syn-idle-gaps.pcap",
        "syn-v6-vlan-frag.pcap",
    ];
    let mut checked = 0;
    for name in names {
        let Some(path) = shared_trace(name) else {
            eprintln!("skipping {name}: shared traces not found");
            continue;
        };
        let (linktype, records) = read_pcap(&path);
        assert_eq!(linktype, 1);
        for r in records {
            let d = match decode(&r.data) {
                Ok(d) if !d.fragment => d,
                _ => continue, // fragments, ICMP errors quoting packets, ...
            };
            let mut link_bytes = [0u8; 12];
            link_bytes.copy_from_slice(&r.data[..12]);
            let link = Link {
                dst: link_bytes[..6].try_into().unwrap(),
                src: link_bytes[6..].try_into().unwrap(),
                vlan: d.vlan,
            };
            let ip = Ip {
                addrs: IpPair::new(d.src, d.dst).unwrap(),
                ttl: d.ttl,
                ident: d.ident,
                dont_fragment: d.dont_fragment,
                tos: d.tos,
            };
            let mut buf = Vec::new();
            match &d.l4 {
                L4::Tcp {
                    sport,
                    dport,
                    seq,
                    ack,
                    flags,
                    window,
                    options,
                    payload,
                } => {
                    let tcp = Tcp {
                        src_port: *sport,
                        dst_port: *dport,
                        seq: *seq,
                        ack: *ack,
                        flags: *flags,
                        window: *window,
                        options,
                    };
                    packet::tcp(&mut buf, &link, &ip, &tcp, payload);
                }
                L4::Udp {
                    sport,
                    dport,
                    payload,
                } => packet::udp(&mut buf, &link, &ip, *sport, *dport, payload),
                L4::Icmp {
                    kind: kind @ (0 | 8 | 128 | 129),
                    code: 0,
                    rest,
                    payload,
                } => {
                    let echo = Echo {
                        reply: matches!(kind, 0 | 129),
                        ident: u16::from_be_bytes([rest[0], rest[1]]),
                        seq: u16::from_be_bytes([rest[2], rest[3]]),
                    };
                    packet::icmp_echo(&mut buf, &link, &ip, &echo, payload);
                }
                _ => continue,
            }
            assert_eq!(buf, r.data, "{name}: packet at {} differs", r.ts);
            checked += 1;
        }
    }
    if shared_trace("syn-long-tcp.pcap").is_some() {
        assert!(checked > 100, "only {checked} packets compared");
    }
}

#[test]
fn pcap_writer_round_trips_both_precisions() {
    let ts = [
        1_700_000_000_123_456_789i64,
        1_700_000_000_123_456_789 + 1,
        0,
        4_000_000_000_999_999_999,
    ];
    for precision in [Precision::Micro, Precision::Nano] {
        let mut w = PcapWriter::new(Vec::new(), precision).unwrap();
        let mut buf = Vec::new();
        packet::udp(&mut buf, &Link::default(), &Ip::new(v6()), 1, 2, b"hi");
        for t in ts {
            w.write_packet(t, &buf).unwrap();
        }
        assert_eq!(w.packets(), 4);
        let size = w.bytes();
        let bytes = w.finish().unwrap();
        assert_eq!(bytes.len() as u64, size);
        let (linktype, recs) = read_pcap_bytes(&bytes);
        assert_eq!(linktype, 1);
        let got: Vec<i64> = recs.iter().map(|r| r.ts).collect();
        let want: Vec<i64> = match precision {
            Precision::Micro => ts.iter().map(|t| t / 1000 * 1000).collect(),
            Precision::Nano => ts.to_vec(),
        };
        assert_eq!(got, want);
        assert!(recs
            .iter()
            .all(|r| r.data == buf && r.orig_len as usize == buf.len()));
    }
    let mut w = PcapWriter::new(Vec::new(), Precision::Micro).unwrap();
    assert!(w.write_packet(-1, b"x").is_err(), "before 1970");
    assert!(w.write_packet(1 << 62, b"x").is_err(), "after 2106");
}

#[test]
fn ip_pair_rejects_mixed_families() {
    let a = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let b = IpAddr::V6(Ipv6Addr::LOCALHOST);
    assert!(IpPair::new(a, b).is_none());
    assert_eq!(IpPair::new(a, a).map(|p| p.reversed()), IpPair::new(a, a));
}
