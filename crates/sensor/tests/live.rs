//! Live capture end to end: two network namespaces joined by a veth pair,
//! connwatch capturing on one end, real traffic from the kernel's TCP, UDP
//! and ICMP stacks (`tests/live/traffic.py`), and the logs checked row by
//! row against what the client says it sent and received.
//!
//! These tests need root (namespaces, AF_PACKET) and `ip` from iproute2, so
//! they are `#[ignore]`d in a plain `cargo test`; `.ci/run` runs them as
//! root with `cargo test -p connwatch --test live -- --ignored
//! --test-threads=1`. Every test removes its namespaces when it ends, even
//! when it fails (the `Netns` guard's `Drop`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const CLIENT_IP: &str = "10.231.0.1";
const SERVER_IP: &str = "10.231.0.2";

// ------------------------------------------------------------ namespaces

/// Two namespaces, `<tag>a` (the sensor and the client) and `<tag>b` (the
/// server), joined by a veth pair; removed on drop.
struct Netns {
    a: String,
    b: String,
    veth_a: String,
}

fn sh(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Netns {
    fn new(tag: &str) -> Netns {
        let id = std::process::id() % 100_000;
        let ns = Netns {
            a: format!("cw{id}{tag}a"),
            b: format!("cw{id}{tag}b"),
            veth_a: format!("cw{id}{tag}a"),
        };
        let veth_b = format!("cw{id}{tag}b");
        // Leftovers of an earlier, killed run.
        let _ = Command::new("ip").args(["netns", "del", &ns.a]).output();
        let _ = Command::new("ip").args(["netns", "del", &ns.b]).output();
        sh(&["ip", "netns", "add", &ns.a]);
        sh(&["ip", "netns", "add", &ns.b]);
        sh(&[
            "ip", "link", "add", &ns.veth_a, "netns", &ns.a, "type", "veth", "peer", "name",
            &veth_b, "netns", &ns.b,
        ]);
        for (n, dev, ip) in [(&ns.a, &ns.veth_a, CLIENT_IP), (&ns.b, &veth_b, SERVER_IP)] {
            // No IPv6: its router and neighbour solicitations would add rows
            // nobody sent.
            sh(&[
                "ip",
                "netns",
                "exec",
                n,
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.disable_ipv6=1",
            ]);
            sh(&[
                "ip",
                "netns",
                "exec",
                n,
                "sysctl",
                "-qw",
                "net.ipv6.conf.default.disable_ipv6=1",
            ]);
            sh(&[
                "ip",
                "-n",
                n,
                "addr",
                "add",
                &format!("{ip}/24"),
                "dev",
                dev,
            ]);
            sh(&["ip", "-n", n, "link", "set", dev, "up"]);
            sh(&["ip", "-n", n, "link", "set", "lo", "up"]);
        }
        // ARP resolved up front, so the first connection is not delayed.
        sh(&["ip", "netns", "exec", &ns.a, "python3", "-c", &format!(
            "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'', ('{SERVER_IP}', 9))"
        )]);
        ns
    }

    fn exec(&self, ns: &str, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).args(args);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting a namespace kills nothing, but its veth goes with it.
        let _ = Command::new("ip").args(["netns", "del", &self.a]).output();
        let _ = Command::new("ip").args(["netns", "del", &self.b]).output();
    }
}

// -------------------------------------------------------------- processes

/// A child killed on drop (a failing test leaves no process behind).
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Proc {
    fn stdin(&mut self) -> Option<ChildStdin> {
        self.0.stdin.take()
    }

    fn stdout(&mut self) -> BufReader<ChildStdout> {
        BufReader::new(self.0.stdout.take().expect("piped stdout"))
    }

    fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(self.0.id() as libc::pid_t, sig) };
        assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// Waits for the exit; returns stderr.
    fn wait(mut self, limit: Duration) -> (i32, String) {
        let start = Instant::now();
        loop {
            if let Some(st) = self.0.try_wait().expect("wait") {
                let mut err = String::new();
                if let Some(mut e) = self.0.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                return (st.code().unwrap_or(-1), err);
            }
            assert!(start.elapsed() < limit, "process did not exit in {limit:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn traffic_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/live/traffic.py")
}

/// Starts `traffic.py MODE SERVER_IP ARGS...` in namespace `netns`, with
/// stdin and stdout piped.
fn traffic(ns: &Netns, netns: &str, mode: &str, args: &[&str]) -> Proc {
    let script = traffic_script();
    let mut argv = vec!["python3", script.to_str().unwrap(), mode, SERVER_IP];
    argv.extend_from_slice(args);
    Proc(
        ns.exec(netns, &argv)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start traffic.py {mode}: {e}")),
    )
}

/// Starts connwatch on the sensor side and waits until it captures.
fn start_sensor(ns: &Netns, logdir: &Path, extra: &[&str]) -> Proc {
    let bin = env!("CARGO_BIN_EXE_connwatch");
    let mut args = vec![bin, "-i", &ns.veth_a, "--logdir", logdir.to_str().unwrap()];
    args.extend_from_slice(extra);
    let mut child = ns
        .exec(&ns.a, &args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start connwatch");
    // The first stderr line says it is capturing; keep the rest for later.
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(
        line.contains("capturing on"),
        "connwatch did not start: {line}"
    );
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = err.read_to_string(&mut rest);
        let _ = tx.send(rest);
    });
    STDERR.with(|s| *s.borrow_mut() = Some(rx));
    Proc(child)
}

thread_local! {
    static STDERR: std::cell::RefCell<Option<std::sync::mpsc::Receiver<String>>> =
        const { std::cell::RefCell::new(None) };
}

/// Stops the sensor with SIGTERM; returns its stderr after the start line.
fn stop_sensor(sensor: Proc) -> String {
    sensor.signal(libc::SIGTERM);
    let (code, _) = sensor.wait(Duration::from_secs(20));
    let err = STDERR.with(|s| {
        s.borrow_mut()
            .take()
            .and_then(|rx| rx.recv_timeout(Duration::from_secs(5)).ok())
            .unwrap_or_default()
    });
    assert_eq!(code, 0, "connwatch failed: {err}");
    err
}

fn start_server(ns: &Netns) -> Proc {
    let mut p = traffic(ns, &ns.b, "server", &[]);
    let mut line = String::new();
    p.stdout().read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    p
}

/// `n` short TCP connections from the client side, spread over `secs`
/// seconds; the client's JSON lines on stdout.
fn churn(ns: &Netns, n: u32, secs: &str) -> std::process::Output {
    let script = traffic_script();
    let out = ns
        .exec(
            &ns.a,
            &[
                "python3",
                script.to_str().unwrap(),
                "churn",
                SERVER_IP,
                &n.to_string(),
                secs,
            ],
        )
        .output()
        .expect("run the churn client");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

// ------------------------------------------------------------------- logs

/// A Zeek TSV log: rows as column → value.
fn read_log(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert!(
        text.lines().last().is_some_and(|l| l.starts_with("#close")),
        "{} is not closed",
        path.display()
    );
    let fields: Vec<String> = text
        .lines()
        .find_map(|l| l.strip_prefix("#fields\t"))
        .expect("#fields")
        .split('\t')
        .map(String::from)
        .collect();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            fields
                .iter()
                .cloned()
                .zip(l.split('\t').map(String::from))
                .collect()
        })
        .collect()
}

fn num(row: &BTreeMap<String, String>, k: &str) -> u64 {
    row[k]
        .parse()
        .unwrap_or_else(|_| panic!("{k} = {}", row[k]))
}

/// What the client reported, one JSON object per flow.
fn flows(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

// ------------------------------------------------------------- scenario

/// The checked essentials of one run, comparable between worker counts.
type Essentials = BTreeSet<String>;

fn scenario(workers: &str, tag: &str) -> Essentials {
    let ns = Netns::new(tag);
    let logdir = common::temp_dir("live", tag);
    let sensor = start_sensor(
        &ns,
        &logdir,
        &[
            "--workers",
            workers,
            "--user",
            "nobody",
            "--set",
            "long.durations=[\"1s\", \"2s\", \"3s\"]",
            "--set",
            "long.slow.enabled=false",
            "--set",
            "log.stats_interval=1s",
            "--set",
            "metrics.listen=127.0.0.1:9911",
        ],
    );
    let pid = sensor.0.id();
    let server = start_server(&ns);
    let mut client = traffic(&ns, &ns.a, "client", &[]);
    let hold = client.stdin();
    let mut lines = Vec::new();
    for line in client.stdout().lines() {
        let line = line.unwrap();
        if line == "waiting" {
            break;
        }
        lines.push(line);
    }
    // While it runs, the silent connection's first thresholds have fired
    // on the wall clock and reached the file (flushed every second), not
    // only at the stop.
    let silent = flows(&lines)
        .into_iter()
        .find(|f| f["open"] == Value::Bool(true))
        .expect("the open connection")["sport"]
        .to_string();
    let so_far = std::fs::read_to_string(logdir.join("conn_long.log")).unwrap_or_default();
    let early = so_far
        .lines()
        .filter(|l| l.contains(&format!("\t{silent}\t{SERVER_IP}\t8081\t")))
        .count();
    assert!(
        early >= 2,
        "only {early} rows for port {silent} before the stop:\n{so_far}"
    );
    // Privileges dropped, metrics served.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap_or("");
    assert!(
        uid_line.split_whitespace().skip(1).all(|u| u == "65534"),
        "still privileged: {uid_line}"
    );
    let metrics = ns
        .exec(&ns.a, &[
            "python3",
            "-c",
            "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:9911/metrics').read().decode())",
        ])
        .output()
        .unwrap();
    let metrics = String::from_utf8_lossy(&metrics.stdout).to_string();
    let packets: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("connwatch_packets_total "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no packet counter in /metrics: {metrics}"));
    assert!(packets > 20, "{metrics}");
    // Stop the sensor while the last connection is still open, then let
    // the client go.
    let err = stop_sensor(sensor);
    drop(hold);
    drop(client);
    drop(server);
    assert!(err.contains(" 0 dropped"), "kernel drops: {err}");

    let flows = flows(&lines);
    let conn = read_log(&logdir.join("conn.log"));
    let long = read_log(&logdir.join("conn_long.log"));
    let mut essentials = Essentials::new();
    let mut used = vec![false; conn.len()];
    let mut find = |pred: &dyn Fn(&BTreeMap<String, String>) -> bool, what: &str| -> usize {
        let hits: Vec<usize> = (0..conn.len()).filter(|&i| pred(&conn[i])).collect();
        assert_eq!(
            hits.len(),
            1,
            "{what}: {} rows match in {conn:#?}",
            hits.len()
        );
        assert!(!used[hits[0]], "{what}: row used twice");
        used[hits[0]] = true;
        hits[0]
    };
    for f in &flows {
        let kind = f["kind"].as_str().unwrap();
        let sent = f["sent"].as_u64().unwrap();
        let received = f["received"].as_u64().unwrap();
        match kind {
            "tcp" | "long" => {
                let sport = f["sport"].as_u64().unwrap().to_string();
                let dport = f["dport"].as_u64().unwrap().to_string();
                let i = find(
                    &|r| r["proto"] == "tcp" && r["id.orig_p"] == sport && r["id.resp_p"] == dport,
                    &format!("tcp {sport}"),
                );
                let r = &conn[i];
                assert_eq!(r["id.orig_h"], CLIENT_IP);
                assert_eq!(r["id.resp_h"], SERVER_IP);
                assert_eq!(num(r, "orig_bytes"), sent, "{r:?}");
                assert_eq!(num(r, "resp_bytes"), received, "{r:?}");
                assert_eq!(num(r, "missed_bytes"), 0, "{r:?}");
                let open = f.get("open").and_then(Value::as_bool).unwrap_or(false);
                let (state, history) = if open {
                    // Flushed at shutdown while established.
                    ("S1", "ShAD")
                } else {
                    ("SF", "ShAD")
                };
                assert_eq!(r["conn_state"], state, "{r:?}");
                assert!(r["history"].starts_with(history), "{r:?}");
                if !open {
                    for c in ['S', 'h', 'F', 'f'] {
                        assert!(r["history"].contains(c), "{r:?}");
                    }
                }
                let reports: Vec<&str> = long
                    .iter()
                    .filter(|l| l["uid"] == r["uid"])
                    .map(|l| l["threshold"].as_str())
                    .collect();
                if kind == "long" {
                    assert_eq!(reports, ["1.000000", "2.000000", "3.000000"], "{long:#?}");
                    for l in long.iter().filter(|l| l["uid"] == r["uid"]) {
                        let at: f64 = l["report_ts"].parse().unwrap();
                        let ts: f64 = l["ts"].parse().unwrap();
                        let thr: f64 = l["threshold"].parse().unwrap();
                        assert!((at - ts - thr).abs() < 1e-5, "{l:?}");
                    }
                    if open {
                        // Silent after its first segment: the 2 s and 3 s
                        // reports came from the wall clock alone.
                        let idle: Vec<f64> = long
                            .iter()
                            .filter(|l| l["uid"] == r["uid"])
                            .map(|l| l["idle"].parse().unwrap())
                            .collect();
                        assert!(idle[2] > 2.5, "{idle:?}");
                    }
                } else {
                    assert!(reports.is_empty(), "{reports:?}");
                }
                essentials.insert(format!(
                    "{kind} {dport} {sent}/{received} {} {}",
                    r["conn_state"],
                    reports.join(",")
                ));
            }
            "udp" => {
                let sport = f["sport"].as_u64().unwrap().to_string();
                let i = find(&|r| r["proto"] == "udp" && r["id.orig_p"] == sport, "udp");
                let r = &conn[i];
                assert_eq!(
                    (num(r, "orig_bytes"), num(r, "resp_bytes")),
                    (sent, received)
                );
                assert_eq!((num(r, "orig_pkts"), num(r, "resp_pkts")), (3, 3));
                assert_eq!(
                    (r["conn_state"].as_str(), r["history"].as_str()),
                    ("SF", "Dd")
                );
                essentials.insert(format!("udp {sent}/{received} SF"));
            }
            "icmp" => {
                let i = find(&|r| r["proto"] == "icmp", "icmp");
                let r = &conn[i];
                assert_eq!(
                    (r["id.orig_p"].as_str(), r["id.resp_p"].as_str()),
                    ("8", "0")
                );
                assert_eq!((num(r, "orig_pkts"), num(r, "resp_pkts")), (sent, received));
                assert_eq!(
                    (num(r, "orig_bytes"), num(r, "resp_bytes")),
                    (2 * 56, 2 * 56)
                );
                essentials.insert(format!("icmp {sent}/{received} {}", r["conn_state"]));
            }
            other => panic!("unknown flow kind {other}"),
        }
    }
    let extra: Vec<_> = (0..conn.len())
        .filter(|&i| !used[i])
        .map(|i| &conn[i])
        .collect();
    assert!(extra.is_empty(), "rows nobody sent: {extra:#?}");
    assert_eq!(flows.len(), 8, "{lines:?}");
    // Besides the two long TCP connections, only the UDP and ICMP flows,
    // which stay tracked until their inactivity timeout, may be reported:
    // at most once per threshold, in order. (How many of their thresholds
    // pass before the stop depends on timing.)
    let udp_icmp: BTreeSet<&str> = conn
        .iter()
        .filter(|r| r["proto"] != "tcp")
        .map(|r| r["uid"].as_str())
        .collect();
    for uid in &udp_icmp {
        let thr: Vec<&str> = long
            .iter()
            .filter(|l| l["uid"] == *uid)
            .map(|l| l["threshold"].as_str())
            .collect();
        assert_eq!(
            thr,
            ["1.000000", "2.000000", "3.000000"][..thr.len()],
            "{long:#?}"
        );
    }
    let tcp_reports = long
        .iter()
        .filter(|l| !udp_icmp.contains(l["uid"].as_str()))
        .count();
    assert_eq!(tcp_reports, 6, "{long:#?}");
    // stats.log: lines with the packets counted and nothing dropped.
    let stats = read_log(&logdir.join("stats.log"));
    let total: u64 = stats.iter().map(|r| num(r, "pkts_proc")).sum();
    assert!(total >= packets, "stats.log counted {total} < {packets}");
    assert!(stats.iter().all(|r| num(r, "pkts_dropped") == 0));
    let _ = std::fs::remove_dir_all(&logdir);
    essentials
}

#[test]
#[ignore = "needs root and iproute2; run by .ci/run"]
fn one_and_two_workers_log_what_was_sent() {
    let one = scenario("1", "w1");
    let two = scenario("2", "w2");
    assert_eq!(one, two);
    assert_eq!(one.len(), 8, "{one:#?}");
}

#[test]
#[ignore = "needs root and iproute2; run by .ci/run"]
fn rotation_loses_and_repeats_no_row() {
    let ns = Netns::new("rot");
    let logdir = common::temp_dir("live", "rot");
    let sensor = start_sensor(
        &ns,
        &logdir,
        &[
            "--workers",
            "2",
            "--set",
            "log.rotate_interval=1s",
            "--set",
            "long.enabled=false",
            // Rows appear 100 ms after each close, so they are written
            // while the rotations happen, not all at the stop.
            "--set",
            "track.tcp_close_delay=100ms",
        ],
    );
    let server = start_server(&ns);
    let mut churn = traffic(&ns, &ns.a, "churn", &["300", "4"]);
    let out = churn.stdout();
    // SIGHUP every 250 ms while the connections come and go, besides the
    // rotation every second.
    let hups = std::thread::scope(|s| {
        let reader = s.spawn(move || out.lines().map(Result::unwrap).collect::<Vec<_>>());
        let mut hups = 0;
        while !reader.is_finished() {
            std::thread::sleep(Duration::from_millis(250));
            sensor.signal(libc::SIGHUP);
            hups += 1;
        }
        (reader.join().unwrap(), hups)
    });
    let (lines, hups) = hups;
    assert!(hups >= 8, "{hups} SIGHUPs");
    // Connections closed in the last seconds are still in their close
    // delay: SIGTERM flushes them.
    let _ = stop_sensor(sensor);
    drop(server);
    let sent = flows(&lines);
    assert_eq!(sent.len(), 300);

    let mut files: Vec<PathBuf> = std::fs::read_dir(&logdir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            n == "conn.log" || (n.starts_with("conn.") && n.ends_with(".log"))
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 5,
        "only {} conn logs: {files:?}",
        files.len()
    );
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if name != "conn.log" {
            // conn.YYYY-MM-DD-HH-MM-SS.log, or with -N when taken.
            let stamp = &name["conn.".len()..name.len() - ".log".len()];
            assert!(stamp.len() >= 19 && stamp.as_bytes()[4] == b'-', "{name}");
        }
        for r in read_log(f) {
            assert_eq!(r["proto"], "tcp");
            // Every connection whole: no packet lost on the way.
            assert_eq!(
                (r["conn_state"].as_str(), num(&r, "resp_bytes")),
                ("SF", 50),
                "{r:?}"
            );
            *seen.entry(r["id.orig_p"].clone()).or_default() += 1;
        }
    }
    for f in &sent {
        let sport = f["sport"].as_u64().unwrap().to_string();
        assert_eq!(seen.remove(&sport), Some(1), "connection from port {sport}");
    }
    assert!(seen.is_empty(), "rows nobody sent: {seen:?}");
    let _ = std::fs::remove_dir_all(&logdir);
}

#[test]
#[ignore = "needs root and iproute2; run by .ci/run"]
fn capture_ignore_drops_a_host_before_tracking() {
    let ns = Netns::new("ign");
    let logdir = common::temp_dir("live", "ign");
    let sensor = start_sensor(
        &ns,
        &logdir,
        &[
            "--workers",
            "1",
            "--set",
            &format!("capture.ignore=[\"{SERVER_IP}\"]"),
        ],
    );
    let server = start_server(&ns);
    churn(&ns, 3, "0.3");
    let err = stop_sensor(sensor);
    drop(server);
    assert!(!logdir.join("conn.log").exists(), "{err}");
    let _ = std::fs::remove_dir_all(&logdir);
}

#[test]
#[ignore = "needs root and iproute2; run by .ci/run"]
fn two_interfaces_one_of_them_loopback() {
    // `-i veth -i lo`: each worker reads both; loopback's packets, which
    // the kernel shows twice (out and in), are counted once.
    let ns = Netns::new("two");
    let logdir = common::temp_dir("live", "two");
    let sensor = start_sensor(&ns, &logdir, &["-i", "lo", "--workers", "2"]);
    let server = start_server(&ns);
    let churn = churn(&ns, 3, "0.3");
    let local = ns
        .exec(&ns.a, &[
            "python3",
            "-c",
            "import socket, threading\n\
             s = socket.socket(); s.bind(('127.0.0.1', 9000)); s.listen()\n\
             def serve():\n    c, _ = s.accept(); n = 0\n    while n < 500: n += len(c.recv(4096))\n    c.sendall(b'x' * 700); c.close()\n\
             threading.Thread(target=serve).start()\n\
             c = socket.create_connection(('127.0.0.1', 9000)); c.sendall(b'y' * 500)\n\
             n = 0\n\
             while True:\n    d = c.recv(4096)\n    if not d: break\n    n += len(d)\n\
             c.close(); print(c.getsockname()[1] if False else n)",
        ])
        .output()
        .unwrap();
    assert!(
        local.status.success(),
        "{}",
        String::from_utf8_lossy(&local.stderr)
    );
    let _ = stop_sensor(sensor);
    drop(server);
    let conn = read_log(&logdir.join("conn.log"));
    let lo: Vec<_> = conn.iter().filter(|r| r["id.resp_p"] == "9000").collect();
    assert_eq!(lo.len(), 1, "{conn:#?}");
    assert_eq!(
        (num(lo[0], "orig_bytes"), num(lo[0], "resp_bytes")),
        (500, 700)
    );
    assert_eq!(lo[0]["conn_state"], "SF");
    // Not doubled: a handshake, data each way and FINs are ~5 packets a side.
    assert!(num(lo[0], "orig_pkts") <= 6, "{:?}", lo[0]);
    let sent: Vec<String> = flows(
        &String::from_utf8_lossy(&churn.stdout)
            .lines()
            .map(String::from)
            .collect::<Vec<_>>(),
    )
    .iter()
    .map(|f| f["sport"].to_string())
    .collect();
    let veth: Vec<&String> = conn
        .iter()
        .filter(|r| r["id.resp_p"] == "8080")
        .map(|r| &r["id.orig_p"])
        .collect();
    assert_eq!(veth.len(), 3, "sent from {sent:?}, logged {veth:?}");
    let _ = std::fs::remove_dir_all(&logdir);
}
