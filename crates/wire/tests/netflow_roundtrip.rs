//! Our NetFlow v5 / v9 / IPFIX encoder against an independent decoder,
//! `netflow_parser`: every datagram parses without error, every record
//! field decodes to the value we encoded, and re-serializing the parsed
//! packet gives back our exact bytes (so no field was misread in length or
//! type).

use core::net::IpAddr;

use connwatch_wire::netflow::{EndReason, FlowEncoder, FlowRecord, FlowSide, Version};
use connwatch_wire::{Duration, Timestamp};
use netflow_parser::variable_versions::field_value::{DataNumber, DurationValue, FieldValue};
use netflow_parser::{NetflowPacket, NetflowParser};

/// A deterministic mix of records: IPv4 and IPv6, TCP/UDP/ICMP, every end
/// reason, counters large and small.
fn records(n: u64, biflow: bool) -> Vec<FlowRecord> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|i| {
            let v6 = i % 3 == 0;
            let (src, dst): (IpAddr, IpAddr) = if v6 {
                (
                    IpAddr::from(core::net::Ipv6Addr::from(
                        (u128::from(next()) << 64) | u128::from(next()),
                    )),
                    IpAddr::from(core::net::Ipv6Addr::from(u128::from(next()))),
                )
            } else {
                (
                    IpAddr::from((next() as u32).to_be_bytes()),
                    IpAddr::from((next() as u32).to_be_bytes()),
                )
            };
            let protocol = [6u8, 17, if v6 { 58 } else { 1 }][(i % 3) as usize];
            let start = Timestamp::from_secs_nanos(
                1_700_000_000 + (next() % 1000) as i64,
                (next() % 1_000_000_000) as i64,
            );
            let side = |r: u64| FlowSide {
                packets: 1 + r % 5000,
                octets: 40 + (r >> 8) % (1 << 40),
                start,
                end: Timestamp(start.0 + ((r >> 3) % 60_000_000_000) as i64),
                tcp_flags: if protocol == 6 {
                    (r >> 20) as u8 & 0x3f
                } else {
                    0
                },
                tos: (r >> 30) as u8,
                icmp_type_code: if matches!(protocol, 1 | 58) {
                    0x0800
                } else {
                    0
                },
            };
            let reason = [
                EndReason::Idle,
                EndReason::Active,
                EndReason::EndOfFlow,
                EndReason::Forced,
                EndReason::LackOfResources,
            ][(i % 5) as usize];
            FlowRecord {
                src,
                dst,
                src_port: if matches!(protocol, 1 | 58) {
                    0
                } else {
                    next() as u16
                },
                dst_port: if matches!(protocol, 1 | 58) {
                    0x0800
                } else {
                    next() as u16
                },
                protocol,
                vlan: (i % 2 == 0).then_some((next() % 4095) as u16),
                flow_id: next(),
                reason,
                forward: side(next()),
                reverse: biflow.then(|| side(next())),
            }
        })
        .collect()
}

fn encode(version: Version, biflow: bool, recs: &[FlowRecord]) -> (Vec<Vec<u8>>, Timestamp) {
    let mut enc = FlowEncoder::new(version, biflow, 1464, 42, Duration::from_secs(3600))
        .with_template_refresh(Duration::from_secs(60), 5);
    let mut out = Vec::new();
    let now = Timestamp::from_secs_nanos(1_700_001_100, 250_000_000);
    for r in recs {
        enc.push(r, now, &mut |d| out.push(d.to_vec()));
    }
    enc.flush(now, &mut |d| out.push(d.to_vec()));
    (out, enc.boot().expect("boot time set"))
}

fn num(v: &FieldValue) -> u128 {
    match v {
        FieldValue::DataNumber(d) => match d {
            DataNumber::U8(x) => u128::from(*x),
            DataNumber::U16(x) => u128::from(*x),
            DataNumber::U24(x) | DataNumber::U32(x) => u128::from(*x),
            DataNumber::U64(x) => u128::from(*x),
            DataNumber::U128(x) => *x,
            other => panic!("unexpected number {other:?}"),
        },
        FieldValue::Duration(DurationValue::Millis { value, .. }) => u128::from(*value),
        FieldValue::Ip4Addr(a) => u128::from(u32::from(*a)),
        FieldValue::Ip6Addr(a) => u128::from(*a),
        other => panic!("unexpected value {other:?}"),
    }
}

fn addr(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

fn ms(t: Timestamp) -> u128 {
    (t.0 / 1_000_000) as u128
}

/// The decoded fields of one record, by name: (Debug name of the field,
/// value as a number where it is one, Debug text otherwise).
type Decoded = Vec<(String, Result<u128, String>)>;

fn decoded<F: core::fmt::Debug>(pairs: &[(F, FieldValue)]) -> Decoded {
    pairs
        .iter()
        .map(|(f, v)| {
            let name = format!("{f:?}");
            let value = match v {
                FieldValue::DataNumber(_)
                | FieldValue::Duration(_)
                | FieldValue::Ip4Addr(_)
                | FieldValue::Ip6Addr(_) => Ok(num(v)),
                other => Err(format!("{other:?}")),
            };
            (name, value)
        })
        .collect()
}

/// A field by its IPFIX name, or the v9 name netflow_parser gives it.
fn get(d: &Decoded, name: &str) -> Result<u128, String> {
    let v9 = match name {
        "SourceIpv4address" => "Ipv4SrcAddr",
        "DestinationIpv4address" => "Ipv4DstAddr",
        "SourceIpv6address" => "Ipv6SrcAddr",
        "DestinationIpv6address" => "Ipv6DstAddr",
        "SourceTransportPort" => "L4SrcPort",
        "DestinationTransportPort" => "L4DstPort",
        "PacketDeltaCount" => "InPkts",
        "OctetDeltaCount" => "InBytes",
        "IpClassOfService" => "SrcTos",
        "VlanId" => "SrcVlan",
        "ProtocolIdentifier" => "Protocol",
        "IcmpTypeCodeIpv4" => "IcmpType",
        other => other,
    };
    d.iter()
        .find(|(n, _)| n.ends_with(&format!("({name})")) || n == name || n == v9)
        .unwrap_or_else(|| panic!("no field {name} in {d:?}"))
        .1
        .clone()
}

/// Checks a decoded v9/IPFIX record against what was encoded.
fn check_templated(d: &Decoded, r: &FlowRecord) {
    let v6 = r.is_ipv6();
    let (s, t) = if v6 {
        ("SourceIpv6address", "DestinationIpv6address")
    } else {
        ("SourceIpv4address", "DestinationIpv4address")
    };
    assert_eq!(get(d, s), Ok(addr(r.src)));
    assert_eq!(get(d, t), Ok(addr(r.dst)));
    assert_eq!(get(d, "SourceTransportPort"), Ok(u128::from(r.src_port)));
    assert_eq!(
        get(d, "DestinationTransportPort"),
        Ok(u128::from(r.dst_port))
    );
    assert_eq!(
        get(d, "PacketDeltaCount"),
        Ok(u128::from(r.forward.packets))
    );
    assert_eq!(get(d, "OctetDeltaCount"), Ok(u128::from(r.forward.octets)));
    assert_eq!(get(d, "FlowStartMilliseconds"), Ok(ms(r.forward.start)));
    assert_eq!(get(d, "FlowEndMilliseconds"), Ok(ms(r.forward.end)));
    assert_eq!(get(d, "IpClassOfService"), Ok(u128::from(r.forward.tos)));
    assert_eq!(get(d, "VlanId"), Ok(u128::from(r.vlan.unwrap_or(0))));
    assert_eq!(get(d, "FlowId"), Ok(u128::from(r.flow_id)));
    let icmp = if v6 {
        "IcmpTypeCodeIpv6"
    } else {
        "IcmpTypeCodeIpv4"
    };
    assert_eq!(get(d, icmp), Ok(u128::from(r.forward.icmp_type_code)));
    // Enumerations decode to names; their bytes are checked by the
    // re-serialization below.
    let reason = get(d, "FlowEndReason").unwrap_err();
    let want = match r.reason {
        EndReason::Idle => "Idle",
        EndReason::Active => "Active",
        EndReason::EndOfFlow => "EndOfFlow",
        EndReason::Forced => "Forced",
        EndReason::LackOfResources => "Lack",
    };
    assert!(reason.contains(want), "{reason} for {:?}", r.reason);
    assert!(get(d, "ProtocolIdentifier").is_err());
    if let Some(rev) = r.reverse {
        assert_eq!(
            get(d, "ReversePacketDeltaCount"),
            Ok(u128::from(rev.packets))
        );
        assert_eq!(get(d, "ReverseOctetDeltaCount"), Ok(u128::from(rev.octets)));
        assert_eq!(get(d, "ReverseFlowStartMilliseconds"), Ok(ms(rev.start)));
        assert_eq!(get(d, "ReverseFlowEndMilliseconds"), Ok(ms(rev.end)));
        assert_eq!(get(d, "ReverseIpClassOfService"), Ok(u128::from(rev.tos)));
        assert_eq!(get(d, "BiflowDirection"), Ok(1));
    }
}

#[test]
fn ipfix_and_v9_records_decode_field_for_field() {
    for (version, biflow) in [
        (Version::Ipfix, false),
        (Version::Ipfix, true),
        (Version::V9, false),
    ] {
        let recs = records(400, biflow);
        let (datagrams, _) = encode(version, biflow, &recs);
        let mut parser = NetflowParser::default();
        let mut got = Vec::new();
        for d in &datagrams {
            let res = parser.parse_bytes(d);
            assert!(res.error.is_none(), "{version:?}: {:?}", res.error);
            assert_eq!(res.packets.len(), 1);
            match &res.packets[0] {
                NetflowPacket::IPFix(p) => {
                    assert_eq!(
                        p.to_be_bytes().unwrap(),
                        *d,
                        "IPFIX re-serialization differs"
                    );
                    for set in &p.flowsets {
                        if let netflow_parser::variable_versions::ipfix::FlowSetBody::Data(data) =
                            &set.body
                        {
                            got.extend(data.fields.iter().map(|f| decoded(f)));
                        }
                    }
                }
                NetflowPacket::V9(p) => {
                    assert_eq!(p.to_be_bytes().unwrap(), *d, "v9 re-serialization differs");
                    for set in &p.flowsets {
                        if let netflow_parser::variable_versions::v9::FlowSetBody::Data(data) =
                            &set.body
                        {
                            got.extend(data.fields.iter().map(|f| decoded(f)));
                        }
                    }
                }
                other => panic!("{version:?} decoded as {other:?}"),
            }
        }
        assert_eq!(got.len(), recs.len(), "{version:?} biflow={biflow}");
        for (d, r) in got.iter().zip(&recs) {
            check_templated(d, r);
        }
    }
}

#[test]
fn v5_records_decode_field_for_field() {
    let recs: Vec<FlowRecord> = records(200, false)
        .into_iter()
        .filter(|r| !r.is_ipv6())
        .map(|mut r| {
            // v5 counters are 32-bit (bigger ones are split; see below).
            r.forward.octets %= 1 << 31;
            r
        })
        .collect();
    let (datagrams, boot) = encode(Version::V5, false, &recs);
    let mut parser = NetflowParser::default();
    let mut got = Vec::new();
    for d in &datagrams {
        let res = parser.parse_bytes(d);
        assert!(res.error.is_none(), "{:?}", res.error);
        let NetflowPacket::V5(p) = &res.packets[0] else {
            panic!("not v5");
        };
        assert_eq!(p.to_be_bytes(), *d, "v5 re-serialization differs");
        assert!(p.flowsets.len() <= 30);
        got.extend(p.flowsets.iter().cloned());
    }
    assert_eq!(got.len(), recs.len());
    for (g, r) in got.iter().zip(&recs) {
        assert_eq!(IpAddr::from(g.src_addr), r.src);
        assert_eq!(IpAddr::from(g.dst_addr), r.dst);
        assert_eq!((g.src_port, g.dst_port), (r.src_port, r.dst_port));
        assert_eq!(g.protocol_number, r.protocol);
        assert_eq!(u64::from(g.d_pkts), r.forward.packets);
        assert_eq!(u64::from(g.d_octets), r.forward.octets);
        assert_eq!((g.tcp_flags, g.tos), (r.forward.tcp_flags, r.forward.tos));
        let rel = |t: Timestamp| ((t.0 - boot.0) / 1_000_000) as u32;
        assert_eq!(
            (g.first, g.last),
            (rel(r.forward.start), rel(r.forward.end))
        );
    }
}

#[test]
fn v5_splits_counters_that_do_not_fit_32_bits() {
    let mut r = records(1, false)[0];
    r.src = IpAddr::from([10, 0, 0, 1]);
    r.dst = IpAddr::from([10, 0, 0, 2]);
    r.forward.octets = 10_000_000_000;
    r.forward.packets = 7_000_000;
    let (datagrams, _) = encode(Version::V5, false, &[r]);
    let mut parser = NetflowParser::default();
    let (mut pkts, mut octets, mut n) = (0u64, 0u64, 0);
    for d in &datagrams {
        let res = parser.parse_bytes(d);
        let NetflowPacket::V5(p) = &res.packets[0] else {
            panic!("not v5");
        };
        for f in &p.flowsets {
            pkts += u64::from(f.d_pkts);
            octets += u64::from(f.d_octets);
            n += 1;
        }
    }
    assert_eq!((pkts, octets), (7_000_000, 10_000_000_000));
    assert!(n >= 3, "{n} pieces");
}
