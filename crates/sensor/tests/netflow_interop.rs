//! Flow export against real collectors and decoders:
//!
//! - nfcapd/nfdump (Debian's `nfdump`): connwatch exports conformance
//!   traces to nfcapd on 127.0.0.1 as NetFlow v5, v9 and IPFIX (and IPFIX
//!   biflows); nfdump's flows must carry, per direction, exactly the
//!   packets and IP bytes of connwatch's own conn.log (IPv4 only for v5),
//!   with as many flows as connwatch says it sent and no sequence errors.
//! - tshark: the IPFIX stream, captured to a pcap, decodes without a
//!   malformed packet or an expert warning, every record present.
//!
//! Both need the tools, so they are `#[ignore]`d in a plain `cargo test`;
//! `.ci/run` installs nfdump and tshark and runs them with `--ignored`.

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TRACES: &[&str] = &[
    "wikipedia-mixed",
    "ftp-ipv6",
    "vlan-mpls-mixed",
    "erspan2-icmp",
];

fn trace(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/zeek")
        .join(name);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("trace.")
        })
        .expect("trace file")
}

/// Runs connwatch; returns stderr.
fn connwatch(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_connwatch"))
        .args(args)
        .output()
        .expect("run connwatch");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "connwatch failed: {err}");
    err
}

/// Records connwatch says it exported.
fn exported(stderr: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("connwatch: exported "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no export line in {stderr}"))
}

/// Per direction (src, dst, class): packets and IP bytes.
type Directions = BTreeMap<(IpAddr, IpAddr, String), (u64, u64)>;

fn class(proto: &str) -> String {
    match proto.to_ascii_lowercase().as_str() {
        "tcp" | "6" => "tcp",
        "udp" | "17" => "udp",
        _ => "other",
    }
    .to_string()
}

/// conn.log's view: every row's two directions.
fn from_conn_log(path: &Path, v4_only: bool) -> Directions {
    let text = std::fs::read_to_string(path).unwrap();
    let fields: Vec<&str> = text
        .lines()
        .find_map(|l| l.strip_prefix("#fields\t"))
        .unwrap()
        .split('\t')
        .collect();
    let col = |name: &str| fields.iter().position(|f| *f == name).unwrap();
    let mut d = Directions::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let v: Vec<&str> = line.split('\t').collect();
        let o: IpAddr = v[col("id.orig_h")].parse().unwrap();
        let r: IpAddr = v[col("id.resp_h")].parse().unwrap();
        if v4_only && o.is_ipv6() {
            continue;
        }
        let c = class(v[col("proto")]);
        let n = |k: &str| v[col(k)].parse::<u64>().unwrap_or(0);
        for (s, t, p, b) in [
            (o, r, n("orig_pkts"), n("orig_ip_bytes")),
            (r, o, n("resp_pkts"), n("resp_ip_bytes")),
        ] {
            if p > 0 {
                let e = d.entry((s, t, c.clone())).or_default();
                e.0 += p;
                e.1 += b;
            }
        }
    }
    d
}

struct Nfcapd {
    child: Child,
}

impl Nfcapd {
    fn start(port: u16, dir: &Path) -> Nfcapd {
        std::fs::create_dir_all(dir).unwrap();
        let child = Command::new("nfcapd")
            .args(["-b", "127.0.0.1", "-p", &port.to_string(), "-w"])
            .arg(dir)
            .args(["-t", "3600", "-B", "4194304"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nfcapd (apt-get install nfdump)");
        // Ready when its socket is bound.
        let start = Instant::now();
        while UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "nfcapd did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Nfcapd { child }
    }

    /// Stops it (SIGTERM closes the file); returns its log.
    fn stop(mut self) -> String {
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let out = std::mem::replace(&mut self.child, Command::new("true").spawn().unwrap())
            .wait_with_output()
            .unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }
}

impl Drop for Nfcapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// nfdump's view of the files: flows and per-direction totals.
fn from_nfdump(files: &[PathBuf]) -> (u64, Directions) {
    let mut d = Directions::new();
    let mut flows = 0;
    for f in files {
        let out = Command::new("nfdump")
            .arg("-r")
            .arg(f)
            .args([
                "-q",
                "-N",
                "-6",
                "-o",
                "fmt:%pr|%sa|%da|%ipkt|%ibyt|%opkt|%obyt",
            ])
            .output()
            .expect("nfdump");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let v: Vec<&str> = line.split('|').map(str::trim).collect();
            if v.len() < 7 {
                continue;
            }
            flows += 1;
            let (s, t): (IpAddr, IpAddr) = (v[1].parse().unwrap(), v[2].parse().unwrap());
            let c = class(v[0]);
            let n = |i: usize| v[i].parse::<u64>().unwrap_or(0);
            // Biflows: the reverse direction is nfdump's "out".
            for (a, b, p, by) in [(s, t, n(3), n(4)), (t, s, n(5), n(6))] {
                if p > 0 {
                    let e = d.entry((a, b, c.clone())).or_default();
                    e.0 += p;
                    e.1 += by;
                }
            }
        }
    }
    (flows, d)
}

#[test]
#[ignore = "needs nfcapd and nfdump (Debian nfdump); run by .ci/run"]
fn nfdump_sees_what_conn_log_says() {
    for name in TRACES {
        // Datagrams: 65000 bytes by default to a loopback collector, and
        // 1464 as to a remote one (more datagrams, templates resent).
        for (scheme, biflow, small) in [
            ("netflow5", false, false),
            ("netflow9", false, false),
            ("netflow9", false, true),
            ("ipfix", false, false),
            ("ipfix", false, true),
            ("ipfix", true, false),
        ] {
            let dir = common::temp_dir("nf", &format!("{name}-{scheme}-{biflow}-{small}"));
            let port = common::free_udp_port();
            let nfcapd = Nfcapd::start(port, &dir.join("nf"));
            let url = format!("{scheme}://127.0.0.1:{port}");
            let logdir = dir.join("logs");
            let mut args = vec![
                "-C",
                "-r",
                trace(name).to_str().unwrap().to_owned().leak(),
                "--logdir",
                logdir.to_str().unwrap().to_owned().leak(),
                "--export",
                url.clone().leak(),
                // Short timeouts: records are cut inside these short traces
                // too, and must still add up.
                "--set",
                "export.active_timeout=2s",
                "--set",
                "export.inactive_timeout=1s",
            ];
            if biflow {
                args.extend(["--set", "export.biflow=true"]);
            }
            if small {
                args.extend(["--set", "export.max_datagram=1464"]);
            }
            let err = connwatch(&args);
            let sent = exported(&err);
            std::thread::sleep(Duration::from_millis(300));
            let log = nfcapd.stop();
            let files = walk(&dir.join("nf"))
                .into_iter()
                .filter(|p| {
                    p.file_name()
                        .unwrap()
                        .to_string_lossy()
                        .starts_with("nfcapd.2")
                })
                .collect::<Vec<_>>();
            let (flows, got) = from_nfdump(&files);
            let want = from_conn_log(&logdir.join("conn.log"), scheme == "netflow5");
            let what = format!("{name} as {url} biflow={biflow} small datagrams={small}");
            // An IPv6-only trace gives v5 nothing to send (and says so).
            assert!(
                !want.is_empty()
                    || (scheme == "netflow5" && err.contains("IPv6 flow records skipped")),
                "{what}: nothing to compare"
            );
            assert_eq!(flows, sent, "{what}: flows in nfdump vs sent\n{log}");
            assert!(log.contains("Sequence Errors: 0"), "{what}: {log}");
            assert_eq!(got, want, "{what}: per-direction packets and bytes");
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

#[test]
#[ignore = "needs tshark; run by .ci/run"]
fn tshark_decodes_the_ipfix_stream_cleanly() {
    use connwatch_tracegen::packet::{self, Ip, IpPair, Link};
    use connwatch_tracegen::pcap::{PcapWriter, Precision};
    for biflow in [false, true] {
        let dir = common::temp_dir("nf", &format!("tshark-{biflow}"));
        // Our own collector: receive every datagram, then write them to a
        // pcap as IPv4/UDP packets.
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let port = sock.local_addr().unwrap().port();
        let url = format!("ipfix://127.0.0.1:{port}");
        let mut args = vec![
            "-C".to_string(),
            "-r".into(),
            trace("wikipedia-mixed").display().to_string(),
            "--logdir".into(),
            dir.join("logs").display().to_string(),
            "--export".into(),
            url,
            "--set".into(),
            "export.active_timeout=2s".into(),
        ];
        if biflow {
            args.extend(["--set".into(), "export.biflow=true".into()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let err = connwatch(&args);
        let sent = exported(&err);
        let mut datagrams = Vec::new();
        let mut buf = [0u8; 65536];
        while let Ok(n) = sock.recv(&mut buf) {
            datagrams.push(buf[..n].to_vec());
        }
        assert!(!datagrams.is_empty());
        let pcap = dir.join("export.pcap");
        let mut w = PcapWriter::create(&pcap, Precision::Micro).unwrap();
        let ip = Ip::new(
            IpPair::new("127.0.0.1".parse().unwrap(), "127.0.0.1".parse().unwrap()).unwrap(),
        );
        for (i, d) in datagrams.iter().enumerate() {
            let mut frame = Vec::new();
            packet::udp(&mut frame, &Link::default(), &ip, 40000, 4739, d);
            w.write_packet(1_700_000_000_000_000_000 + i as i64 * 1000, &frame)
                .unwrap();
        }
        w.finish().unwrap();
        let out = Command::new("tshark")
            .arg("-r")
            .arg(&pcap)
            .args(["-d", "udp.port==4739,cflow", "-V"])
            .output()
            .expect("tshark");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains("Malformed"), "malformed packet in:\n{text}");
        assert!(
            !text.contains("Expert Info (Warning") && !text.contains("Expert Info (Error"),
            "{text}"
        );
        // Every data record is there: one "Flow N" block each.
        let records = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Flow "))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .count() as u64;
        assert_eq!(records, sent, "records decoded by tshark");
        if biflow {
            assert!(text.contains("Reverse"), "no reverse fields decoded");
            assert!(text.contains("29305"), "no reverse PEN in the template");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
