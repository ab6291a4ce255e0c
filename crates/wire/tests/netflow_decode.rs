//! The collector's decoder on real exporters' datagrams: softflowd and
//! pmacct exports (v5, v9, IPFIX, IPFIX biflow, IPFIX with sysUpTime
//! times), captured on loopback, against nfdump 1.7.1's decode of the same
//! datagrams (`testdata/netflow/*.nfdump.txt`), record for record.

use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use connwatch_wire::netflow::{CollectedFlow, DecoderLimits, FlowDecoder};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/netflow")
        .join(name)
}

/// The UDP payloads of a classic pcap (Ethernet, IPv4), with their sources.
fn datagrams(name: &str) -> Vec<(SocketAddr, Vec<u8>)> {
    let b = std::fs::read(data(name)).unwrap();
    assert_eq!(&b[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "little-endian µs pcap");
    let mut off = 24;
    let mut out = Vec::new();
    while off + 16 <= b.len() {
        let caplen = u32::from_le_bytes(b[off + 8..off + 12].try_into().unwrap()) as usize;
        let f = &b[off + 16..off + 16 + caplen];
        off += 16 + caplen;
        assert_eq!(&f[12..14], &[8, 0]);
        let ip = &f[14..];
        let ihl = usize::from(ip[0] & 15) * 4;
        assert_eq!(ip[9], 17);
        let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
        let udp = &ip[ihl..];
        let sport = u16::from_be_bytes([udp[0], udp[1]]);
        let ulen = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
        out.push((
            SocketAddr::new(IpAddr::V4(src), sport),
            udp[8..ulen].to_vec(),
        ));
    }
    out
}

/// How much of nfdump's line to compare.
#[derive(Clone, Copy)]
struct Quirks {
    /// nfdump ignores flowEndReason in v9 (it prints 0x00).
    no_reason: bool,
    /// nfdump mis-decodes sysUpTime times in IPFIX (it prints `?`).
    no_times: bool,
    /// Biflows: nfdump prints the reverse direction's TCP flags.
    biflow: bool,
    /// v5 lines have no end reason.
    v5: bool,
}

/// One record in the line format of regen_exports.sh.
fn line(f: &CollectedFlow, q: Quirks) -> String {
    let ms = |t: connwatch_wire::Timestamp| (t.0.div_euclid(1_000_000)).to_string();
    let (first, last) = if q.no_times {
        ("?".to_string(), "?".to_string())
    } else {
        (ms(f.forward.start), ms(f.forward.end))
    };
    let flags = match (q.biflow, f.reverse) {
        (true, Some(r)) => r.tcp_flags,
        _ => f.forward.tcp_flags,
    };
    let mut s = format!(
        "first_ms={first} last_ms={last} proto={} tcp_flags=0x{flags:02x}",
        f.protocol
    );
    if !matches!(f.protocol, 1 | 58) {
        s += &format!(" sport={} dport={}", f.src_port, f.dst_port);
    }
    s += &format!(
        " pkts={} bytes={} src={} dst={}",
        f.forward.packets, f.forward.octets, f.src, f.dst
    );
    if !q.v5 {
        let reason = if q.no_reason {
            0
        } else {
            f.reason.map_or(0, |r| r as u8)
        };
        s += &format!(" end_reason=0x{reason:02x}");
    }
    if let Some(r) = f.reverse {
        s += &format!(" rev_pkts={} rev_bytes={}", r.packets, r.octets);
    }
    s
}

fn decode_all(name: &str) -> (Vec<CollectedFlow>, FlowDecoder) {
    let mut dec = FlowDecoder::new(DecoderLimits::default());
    let mut flows = Vec::new();
    for (from, d) in datagrams(name) {
        dec.decode(from, &d, &mut |f| flows.push(*f))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    (flows, dec)
}

fn check(stem: &str, q: Quirks) -> Vec<CollectedFlow> {
    let (flows, dec) = decode_all(&format!("{stem}.pcap"));
    let mut got: Vec<String> = flows.iter().map(|f| line(f, q)).collect();
    got.sort();
    let want = std::fs::read_to_string(data(&format!("{stem}.nfdump.txt"))).unwrap();
    let mut want: Vec<&str> = want.lines().collect();
    want.sort();
    assert_eq!(got, want, "{stem}");
    let s = dec.stats();
    assert_eq!(
        s.malformed + s.unknown_template_sets + s.templates_refused,
        0,
        "{stem}: {s:?}"
    );
    flows
}

const PLAIN: Quirks = Quirks {
    no_reason: false,
    no_times: false,
    biflow: false,
    v5: false,
};
const V5: Quirks = Quirks { v5: true, ..PLAIN };

#[test]
fn softflowd_v5() {
    let flows = check("export-softflowd-v5", V5);
    assert_eq!(flows.len(), 38);
    assert!(flows.iter().all(|f| f.sampling == 1 && f.reason.is_none()));
}

#[test]
fn softflowd_v9() {
    let flows = check(
        "export-softflowd-v9",
        Quirks {
            no_reason: true,
            ..PLAIN
        },
    );
    assert_eq!(flows.len(), 44);
    // tshark shows the real reasons: idle (1) and end of flow (3).
    assert!(flows
        .iter()
        .all(|f| matches!(f.reason.map(|r| r as u8), Some(1 | 3))));
}

#[test]
fn softflowd_ipfix() {
    check("export-softflowd-ipfix", PLAIN);
}

#[test]
fn softflowd_ipfix_biflow() {
    let flows = check(
        "export-softflowd-ipfix-biflow",
        Quirks {
            biflow: true,
            ..PLAIN
        },
    );
    assert_eq!(flows.len(), 27);
    assert!(flows.iter().all(|f| f.reverse.is_some()));
}

#[test]
fn softflowd_ipfix_sysuptime_times_match_the_millisecond_export() {
    let uptime = check(
        "export-softflowd-ipfix-sysuptime",
        Quirks {
            no_times: true,
            ..PLAIN
        },
    );
    // The same trace exported with absolute ms times. softflowd -r counts
    // sysUpTime from the trace's first packet but states the wall clock as
    // systemInitTimeMilliseconds, so the two exports differ by one
    // constant; every start and end must be off by that much.
    let (milli, _) = decode_all("export-softflowd-ipfix.pcap");
    let key = |f: &CollectedFlow| (f.src, f.dst, f.src_port, f.dst_port, f.protocol);
    let mut offsets = std::collections::BTreeSet::new();
    for u in &uptime {
        let m = milli
            .iter()
            .find(|m| key(m) == key(u))
            .expect("same record");
        offsets.insert((u.forward.start.0 - m.forward.start.0) / 1_000_000);
        offsets.insert((u.forward.end.0 - m.forward.end.0) / 1_000_000);
    }
    assert_eq!(uptime.len(), milli.len());
    // (The two exports round sub-millisecond times apart: 1 ms of slack.)
    let spread = offsets.last().unwrap() - offsets.first().unwrap();
    assert!(spread <= 1, "{offsets:?}");
}

#[test]
fn pmacct_v5_v9_ipfix() {
    check("export-pmacct-v5", V5);
    check("export-pmacct-v9", PLAIN);
    check("export-pmacct-ipfix", PLAIN);
}
