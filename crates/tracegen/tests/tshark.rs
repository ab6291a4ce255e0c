//! Cross-check with Wireshark's dissectors: tshark must report no bad
//! checksum and no malformed packet in generated traces, and must catch the
//! ones we break on purpose (so the filter is known to work: in tshark's
//! `*.checksum.status` 0 is Bad, 1 Good, 2 Unverified). Ignored by default
//! (needs `tshark`: `apt-get install -y tshark`); run with
//! `cargo test -p connwatch-tracegen --test tshark -- --ignored`.

use std::path::Path;
use std::process::Command;

use connwatch_tracegen::bulk::{bulk, long, BulkConfig, LongConfig};
use connwatch_tracegen::pcap::{PcapWriter, Precision};
use connwatch_tracegen::time::{mins, ms, secs, ticks};
use connwatch_tracegen::{Scenario, Side, DEFAULT_START};

const FILTER: &str = "tcp.checksum.status==\"Bad\" || udp.checksum.status==\"Bad\" \
     || ip.checksum.status==\"Bad\" || icmp.checksum.status==\"Bad\" \
     || icmpv6.checksum.status==\"Bad\" || _ws.expert.group==\"Checksum\" || _ws.malformed";

/// Runs tshark with checksum validation on; returns what the filter matched.
fn tshark_complaints(path: &Path) -> String {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args([
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
        ])
        .args(["-o", "ip.check_checksum:TRUE", "-Y", FILTER])
        .output()
        .expect("tshark runs (apt-get install -y tshark)");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn scenario() -> Scenario {
    let s = Scenario::new(DEFAULT_START);
    let mut c = s.tcp("10.0.0.1:40000", "192.0.2.5:443").rtt(ms(20));
    c.handshake(0);
    for t in ticks(secs(10), secs(10), mins(5)) {
        c.send_orig(t, 100).send_resp(t + ms(30), 4000);
    }
    c.keepalive(Side::Orig, mins(5) - secs(1))
        .close_fin(mins(5));
    let mut v = s.tcp("[2001:db8::1]:50000", "[2001:db8::2]:8443").vlan(100);
    v.handshake(secs(1))
        .send_orig(secs(2), 10)
        .rst(Side::Resp, secs(3));
    s.tcp("10.0.0.1:1111", "10.0.0.2:23").reject(secs(4));
    s.syn_probe(secs(5), "10.0.0.1:2222", "10.0.0.3:22");
    s.udp("10.0.0.2:40001", "10.0.0.9:9999")
        .request_reply(secs(6), 40, 120);
    s.ping("10.0.0.1", "10.0.0.2", 7).echo(secs(7), 1, 56);
    s.ping("2001:db8::1", "2001:db8::2", 8)
        .vlan(5)
        .echo(secs(8), 1, 56);
    s.background(0, secs(1), 300);
    s
}

/// A UDP datagram with a flipped payload byte, a TCP segment with a flipped
/// byte, an IPv4 header with a changed TTL (only the IP checksum breaks).
fn broken() -> Scenario {
    let ok = Scenario::new(DEFAULT_START);
    ok.udp("10.0.0.1:40000", "10.0.0.2:9999")
        .send(Side::Orig, 0, 20);
    ok.tcp("10.0.0.1:40000", "10.0.0.2:80").send_orig(0, 20);
    let frames = ok.packets();
    let bad = Scenario::new(DEFAULT_START);
    let mut udp = frames[0].data.clone();
    let n = udp.len();
    udp[n - 1] ^= 0x5a;
    bad.frame(0, &udp);
    let mut tcp = frames[1].data.clone();
    let n = tcp.len();
    tcp[n - 1] ^= 0x5a;
    bad.frame(1, &tcp);
    let mut ip = frames[2].data.clone();
    ip[14 + 8] = 1; // TTL
    bad.frame(2, &ip);
    bad
}

#[test]
#[ignore = "needs tshark"]
fn tshark_finds_no_bad_checksums_or_malformed_packets() {
    let dir = std::env::temp_dir().join(format!("tracegen-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let sc = dir.join("scenario.pcap");
    scenario().write_pcap(&sc).unwrap();

    let bk = dir.join("bulk.pcap");
    let mut w = PcapWriter::create(&bk, Precision::Micro).unwrap();
    bulk(&BulkConfig::new(20_000, 1), &mut w).unwrap();
    w.finish().unwrap();

    let lg = dir.join("long.pcap");
    let mut w = PcapWriter::create(&lg, Precision::Nano).unwrap();
    let cfg = LongConfig {
        background_flows: 5_000,
        ipv6: true,
        ..LongConfig::new(mins(30), secs(10))
    };
    long(&cfg, &mut w).unwrap();
    w.finish().unwrap();

    // Negative control: three broken frames must be reported, one line each.
    let bad = dir.join("bad.pcap");
    broken().write_pcap(&bad).unwrap();
    let complaints = tshark_complaints(&bad);
    assert_eq!(
        complaints.lines().count(),
        3,
        "control not caught:\n{complaints}"
    );

    for f in [&sc, &bk, &lg] {
        let complaints = tshark_complaints(f);
        assert!(complaints.is_empty(), "{}:\n{complaints}", f.display());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
