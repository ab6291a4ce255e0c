//! `connwatch-tracegen`: writes big deterministic pcaps for benchmarks and
//! tests (bulk mix, one-packet flows, one long connection among background
//! flows). A handwritten argument parser keeps the crate dependency-free.

use std::collections::HashMap;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

use connwatch_tracegen::bulk::{self, BulkConfig, LongConfig, Mix, Summary};
use connwatch_tracegen::pcap::{self, PcapWriter, Precision};
use connwatch_tracegen::time::{parse_duration, secs, Nanos};

const USAGE: &str = "\
usage:
  connwatch-tracegen bulk --out FILE [--connections N] [--seed S] [--duration D]
                          [--mix TCP,UDP,SCAN] [--ipv6-percent P] [--long-per-mille L]
  connwatch-tracegen scan --out FILE --flows N [--seed S] [--duration D] [--ipv6-percent P]
  connwatch-tracegen long --out FILE --duration D --interval I [--background-flows N]
                          [--payload BYTES] [--ipv6] [--seed S]
common options: [--start UNIX_SECONDS] [--nanos] (nanosecond pcap)
                [--snaplen BYTES] (store frames cut to BYTES, wire lengths kept)
FILE may be '-' (stdout); the summary goes to stderr.

bulk: N connections (default 2000000), mix 45,35,20 % TCP/UDP/one-packet, 20% IPv6,
      starting at 10000 per second (default duration N/10000 s), interleaved.
scan: N one-packet flows (SYN or UDP probe) at 10000 per second by default.
long: one TCP connection exchanging data every I for D, plus N one-packet flows
      spread evenly over D. Durations: 90, 1.5s, 250ms, 10m, 2h, 3d.";

/// Parsed `--name value` options and `--flag` switches.
struct Args {
    values: HashMap<String, String>,
    flags: Vec<String>,
}

/// Options that take no value.
const SWITCHES: [&str; 2] = ["nanos", "ipv6"];

impl Args {
    fn parse(raw: &[String], allowed: &[&str]) -> Result<Args, String> {
        let mut values = HashMap::new();
        let mut flags = Vec::new();
        let mut it = raw.iter();
        while let Some(arg) = it.next() {
            let name = arg
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {arg:?}"))?;
            let (name, inline) = match name.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (name, None),
            };
            if !allowed.contains(&name) && !SWITCHES.contains(&name) {
                return Err(format!("unknown option --{name}"));
            }
            if SWITCHES.contains(&name) {
                flags.push(name.to_string());
                continue;
            }
            let value = match inline {
                Some(v) => v,
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("--{name} needs a value"))?,
            };
            values.insert(name.to_string(), value);
        }
        Ok(Args { values, flags })
    }

    fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    fn text(&self, name: &str) -> Result<&str, String> {
        self.values
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| format!("--{name} is required"))
    }

    fn num(&self, name: &str, default: Option<u64>) -> Result<u64, String> {
        match (self.values.get(name), default) {
            (Some(v), _) => v
                .replace('_', "")
                .parse()
                .map_err(|_| format!("--{name}: not a number: {v:?}")),
            (None, Some(d)) => Ok(d),
            (None, None) => Err(format!("--{name} is required")),
        }
    }

    fn duration(&self, name: &str) -> Result<Option<Nanos>, String> {
        self.values
            .get(name)
            .map(|v| parse_duration(v).map_err(|e| format!("--{name}: {e}")))
            .transpose()
    }

    fn start(&self) -> Result<Nanos, String> {
        let s = self.num(
            "start",
            Some((connwatch_tracegen::DEFAULT_START / secs(1)) as u64),
        )?;
        i64::try_from(s)
            .ok()
            .and_then(|s| s.checked_mul(secs(1)))
            .ok_or_else(|| "--start: out of range".to_string())
    }

    fn precision(&self) -> Precision {
        if self.flag("nanos") {
            Precision::Nano
        } else {
            Precision::Micro
        }
    }
}

fn parse_mix(text: &str) -> Result<Mix, String> {
    let parts: Vec<u32> = text
        .split(',')
        .map(|p| p.trim().parse::<u32>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("--mix: want TCP,UDP,SCAN percentages, got {text:?}"))?;
    match parts[..] {
        [tcp, udp, scan] if tcp + udp + scan > 0 => Ok(Mix { tcp, udp, scan }),
        _ => Err(format!(
            "--mix: want three shares, not all zero, got {text:?}"
        )),
    }
}

/// Opens the output (a file, or stdout for `-`) and runs `generate` on it.
fn with_output(
    a: &Args,
    generate: impl FnOnce(&mut PcapWriter<Box<dyn Write>>) -> io::Result<Summary>,
) -> Result<Summary, String> {
    let path = a.text("out")?;
    let snaplen = u32::try_from(a.num("snaplen", Some(u64::from(pcap::SNAPLEN)))?)
        .map_err(|_| "--snaplen: too large".to_string())?;
    let sink: Box<dyn Write> = if path == "-" {
        Box::new(BufWriter::with_capacity(1 << 20, io::stdout().lock()))
    } else {
        let file = std::fs::File::create(path).map_err(|e| format!("{path}: {e}"))?;
        Box::new(BufWriter::with_capacity(1 << 20, file))
    };
    let mut pcap = PcapWriter::with_snaplen(sink, a.precision(), snaplen)
        .map_err(|e| format!("{path}: {e}"))?;
    let summary = generate(&mut pcap).map_err(|e| format!("{path}: {e}"))?;
    pcap.finish().map_err(|e| format!("{path}: {e}"))?;
    Ok(summary)
}

fn run(argv: &[String]) -> Result<(String, Summary), String> {
    let (cmd, rest) = argv.split_first().ok_or("missing subcommand")?;
    let common = ["out", "seed", "start", "snaplen"];
    let with =
        |extra: &[&'static str]| -> Vec<&str> { common.iter().chain(extra).copied().collect() };
    match cmd.as_str() {
        "bulk" => {
            let a = Args::parse(
                rest,
                &with(&[
                    "connections",
                    "duration",
                    "mix",
                    "ipv6-percent",
                    "long-per-mille",
                ]),
            )?;
            let mut cfg = BulkConfig::new(
                a.num("connections", Some(2_000_000))?,
                a.num("seed", Some(1))?,
            );
            cfg.start = a.start()?;
            if let Some(d) = a.duration("duration")? {
                cfg.duration = d;
            }
            if let Some(m) = a.values.get("mix") {
                cfg.mix = parse_mix(m)?;
            }
            cfg.ipv6_percent = a.num("ipv6-percent", Some(20))?.min(100) as u32;
            cfg.long_per_mille = a.num("long-per-mille", Some(5))?.min(900) as u32;
            let s = with_output(&a, |w| bulk::bulk(&cfg, w))?;
            Ok((a.text("out")?.to_string(), s))
        }
        "scan" => {
            let a = Args::parse(rest, &with(&["flows", "duration", "ipv6-percent"]))?;
            let mut cfg = BulkConfig::new(a.num("flows", None)?, a.num("seed", Some(1))?);
            cfg.start = a.start()?;
            cfg.mix = Mix::SCANS;
            if let Some(d) = a.duration("duration")? {
                cfg.duration = d;
            }
            cfg.ipv6_percent = a.num("ipv6-percent", Some(20))?.min(100) as u32;
            let s = with_output(&a, |w| bulk::bulk(&cfg, w))?;
            Ok((a.text("out")?.to_string(), s))
        }
        "long" => {
            let a = Args::parse(
                rest,
                &with(&["duration", "interval", "background-flows", "payload"]),
            )?;
            let duration = a.duration("duration")?.ok_or("--duration is required")?;
            let interval = a.duration("interval")?.ok_or("--interval is required")?;
            if interval <= 0 || duration <= 0 {
                return Err("--duration and --interval must be positive".into());
            }
            let mut cfg = LongConfig::new(duration, interval);
            cfg.start = a.start()?;
            cfg.seed = a.num("seed", Some(1))?;
            cfg.background_flows = a.num("background-flows", Some(0))?;
            cfg.payload = a.num("payload", Some(100))?.min(1400) as usize;
            cfg.ipv6 = a.flag("ipv6");
            let s = with_output(&a, |w| bulk::long(&cfg, w))?;
            Ok((a.text("out")?.to_string(), s))
        }
        "-h" | "--help" | "help" => Err(String::new()),
        other => Err(format!("unknown subcommand {other:?}")),
    }
}

fn report(out: &str, s: &Summary, elapsed: f64) {
    let span = (s.last_ts - s.first_ts) as f64 / 1e9;
    eprintln!(
        "{out}: {} packets, {} connections, {} frame bytes, {} file bytes, {span:.1} s of traffic",
        s.packets,
        s.connections(),
        s.frame_bytes,
        s.file_bytes
    );
    eprintln!(
        "  tcp: {} FIN-closed, {} reset, {} refused, {} long; udp: {}; one-packet: {} SYN, {} UDP",
        s.tcp_fin, s.tcp_rst, s.tcp_rej, s.tcp_long, s.udp, s.scan_syn, s.scan_udp
    );
    eprintln!(
        "  ipv4 {} / ipv6 {} connections; peak open connections {} (first to last packet)",
        s.ipv4, s.ipv6, s.peak_open
    );
    eprintln!(
        "  written in {elapsed:.2} s ({:.0} packets/s, {:.0} MB/s)",
        s.packets as f64 / elapsed.max(1e-9),
        s.file_bytes as f64 / 1e6 / elapsed.max(1e-9)
    );
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let t0 = Instant::now();
    match run(&argv) {
        Ok((out, summary)) => {
            report(&out, &summary, t0.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("connwatch-tracegen: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
