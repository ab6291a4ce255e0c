//! The run loop: source → packet analyzer → tracker → sinks.
//!
//! One worker, run to completion per frame: the frame is dissected and fed
//! to the tracker in the same call stack, and finished records go straight
//! to the sinks. No channel is crossed per packet. Finished connections go
//! to conn.log; long-connection reports to conn_long.log and the notices
//! they raise to notice.log.

use std::io::IsTerminal;
use std::time::Instant;

use anyhow::{Context, Result};
use connwatch_track::{
    ConnEvent, ConnRecord, InterimReport, LocalNets, LongConfig, PacketAnalyzer, PortSet,
    TrackerConfig,
};

use crate::config::{Input, LongSettings, SensorConfig};
use crate::sinks::{ConnLogSink, ConnLongLogSink, NoticeLogSink, RecordSink};
use crate::sources::{CaptureFile, PacketSource};

/// Connections flushed per step at the end of the input. Their records
/// wait in the tracker's event list until written (360 bytes each), and
/// that list keeps its largest size: 4096 a step added 1.5 MB to the
/// peak, 256 add 92 KB.
pub(crate) const FLUSH_PART: usize = 256;

/// What a run did, for the summary line.
#[derive(Debug, Default)]
pub struct Summary {
    /// Frames read.
    pub packets: u64,
    /// Connections written to conn.log.
    pub connections: u64,
    /// Rows written to conn_long.log.
    pub long_rows: u64,
    /// Notices written to notice.log.
    pub notices: u64,
    /// Anomalies (weirds) counted.
    pub weirds: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Peak of concurrently tracked connections.
    pub peak_open: u64,
    /// Tracker memory (table, connections, timers), bytes, when the most
    /// connections were open.
    pub tracker_bytes: usize,
    /// Weird names and counts.
    pub weird_names: Vec<(&'static str, u64)>,
    /// The input broke off (truncated file): the reason.
    pub input_error: Option<String>,
    /// Connections evicted by `track.max_connections`.
    pub evicted: u64,
    /// Connections not tracked because the table was full.
    pub untracked: u64,
    /// Live capture: packets the kernel saw and dropped (ring full).
    pub kernel: Option<(u64, u64)>,
    /// Flow export, per collector.
    pub export: Vec<crate::sinks::ExportReport>,
    /// Flow collection: what came in.
    #[cfg(target_os = "linux")]
    pub flows: Option<crate::collect::FlowReport>,
}

/// Peak resident memory of this process so far (`VmHWM` in
/// `/proc/self/status`), in bytes; `None` where there is no procfs.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Builds the tracker's configuration from the sensor's.
pub fn tracker_config(cfg: &SensorConfig) -> TrackerConfig {
    let t = &cfg.track;
    let mut local = if cfg.site.private_address_space_is_local {
        LocalNets::zeek_default()
    } else {
        LocalNets::empty()
    };
    local.extend(cfg.site.local_nets.iter().copied());
    let seed = t.uid_seed.unwrap_or_else(random_seed);
    TrackerConfig {
        tcp_inactivity_timeout: t.tcp_inactivity_timeout,
        udp_inactivity_timeout: t.udp_inactivity_timeout,
        icmp_inactivity_timeout: t.icmp_inactivity_timeout,
        unknown_ip_inactivity_timeout: t.unknown_ip_inactivity_timeout,
        tcp_attempt_delay: t.tcp_attempt_delay,
        tcp_close_delay: t.tcp_close_delay,
        tcp_connection_linger: t.tcp_connection_linger,
        tcp_session_timer: t.tcp_session_timer,
        tcp_syn_timeout: t.tcp_syn_timeout,
        frag_timeout: t.frag_timeout,
        max_connections: t.max_connections,
        capture_ignore: LocalNets::new(cfg.capture_ignore.clone()),
        export: cfg
            .export
            .as_ref()
            .map(|e| connwatch_track::ExportTimeouts {
                active: e.active,
                inactive: e.inactive,
            }),
        ignore_checksums: cfg.ignore_checksums,
        tcp_server_ports: cfg.likely_server_ports.tcp.clone(),
        udp_server_ports: cfg.likely_server_ports.udp.clone(),
        local_nets: local,
        uid_seed: seed,
        max_tunnel_depth: t.max_tunnel_depth as usize,
        max_tunnel_changes: t.max_tunnel_changes.min(255) as u8,
        // The DNS analyzer (and its session timer) exists when Zeek would
        // have loaded base/protocols/dns.
        dns_udp_ports: if cfg.zeek.loads("base/protocols/dns") {
            PortSet::from_ports(connwatch_track::config::DNS_UDP_PORTS)
        } else {
            PortSet::new()
        },
        dns_tcp_ports: if cfg.zeek.loads("base/protocols/dns") {
            PortSet::from_ports(&[53])
        } else {
            PortSet::new()
        },
        ntp_udp_ports: if cfg.zeek.loads("base/protocols/ntp") {
            PortSet::from_ports(&[123])
        } else {
            PortSet::new()
        },
        long: long_config(&cfg.long),
        // A detector runs when Zeek would have loaded its protocol script
        // (all of base/ in a full run, only the listed ones with -b).
        detect: connwatch_track::Detector::ALL
            .iter()
            .filter(|d| cfg.zeek.loads(d.script()))
            .fold(connwatch_track::Detectors::NONE, |s, d| s.with(*d)),
        ..TrackerConfig::default()
    }
}

/// `[long]` → the tracker's schedule; `None` when `long.enabled` is off.
fn long_config(l: &LongSettings) -> Option<LongConfig> {
    l.enabled.then(|| LongConfig {
        durations: l.durations.clone(),
        repeat_last: l.repeat_last,
        ignore: l.ignore.clone(),
        ignore_pairs: l.ignore_pairs.to_vec(),
        ignore_ports: l.ignore_ports.clone(),
        special_cases: l
            .special_cases
            .iter()
            .map(|(c, list)| (*c, list.clone()))
            .collect(),
        slow: l.slow.clone(),
    })
}

/// Every output of a run.
pub(crate) struct Sinks {
    conn: ConnLogSink,
    conn_long: Option<ConnLongLogSink>,
    notice: Option<NoticeLogSink>,
    export: Option<crate::sinks::NetflowExporterSink>,
    /// What the exporter sent, once finished.
    pub(crate) export_reports: Vec<crate::sinks::ExportReport>,
}

impl Sinks {
    pub(crate) fn new(cfg: &SensorConfig) -> Result<Self> {
        let dir = &cfg.log_dir;
        let l = &cfg.long;
        let export = match &cfg.export {
            Some(e) => Some(
                crate::sinks::NetflowExporterSink::new(e)
                    .context("cannot open the UDP socket for flow export")?,
            ),
            None => None,
        };
        Ok(Sinks {
            export,
            export_reports: Vec::new(),
            conn: if matches!(cfg.input, Input::Flows(_)) {
                ConnLogSink::for_flows(dir, cfg.log_format)
            } else {
                ConnLogSink::new(dir, cfg.log_format)
            },
            conn_long: l
                .enabled
                .then(|| ConnLongLogSink::new(dir, cfg.log_format, l.extra_columns)),
            notice: (l.enabled && (l.notice || l.slow.is_some()))
                .then(|| NoticeLogSink::new(dir, cfg.log_format, l.notice, l.slow.clone())),
        })
    }

    /// Sends what the exporter still holds (once; later calls do nothing).
    pub(crate) fn finish_export(&mut self) -> Vec<crate::sinks::ExportReport> {
        let reports = self.export.as_mut().map(|e| e.finish()).unwrap_or_default();
        if !reports.is_empty() {
            self.export_reports = reports.clone();
        }
        reports
    }

    /// Exports one flow record (if export is on).
    pub(crate) fn write_flow(&mut self, flow: &connwatch_wire::netflow::FlowRecord) {
        if let Some(export) = self.export.as_mut() {
            export.write_flow(flow);
        }
    }

    /// Writes one event to the logs it belongs in, counting it.
    pub(crate) fn write_event(&mut self, ev: &ConnEvent, summary: &mut Summary) -> Result<()> {
        match ev {
            ConnEvent::Finished(rec) => {
                self.conn.write_conn(rec)?;
                summary.connections += 1;
            }
            ConnEvent::Interim { record, report } => self.write_interim(record, report, summary)?,
        }
        Ok(())
    }

    /// A long connection's report: conn_long.log and notice.log. Out of
    /// line: one row in thousands is one, and the conn.log row's path
    /// (every connection) compiles better without these writers in it.
    #[inline(never)]
    fn write_interim(
        &mut self,
        record: &ConnRecord,
        report: &InterimReport,
        summary: &mut Summary,
    ) -> Result<()> {
        if let Some(long) = self.conn_long.as_mut() {
            long.write_interim(record, report)?;
            summary.long_rows += 1;
        }
        if let Some(notice) = self.notice.as_mut() {
            summary.notices += notice.write_interim(record, report)?;
        }
        Ok(())
    }

    fn writers(&mut self) -> impl Iterator<Item = &mut crate::sinks::ZeekLogWriter> {
        std::iter::once(self.conn.log())
            .chain(self.conn_long.as_mut().map(|s| s.log()))
            .chain(self.notice.as_mut().map(|s| s.log()))
    }

    /// Writes buffered rows to the files and sends held flow records.
    pub(crate) fn flush(&mut self) -> Result<()> {
        if let Some(e) = self.export.as_mut() {
            e.flush();
        }
        for w in self.writers() {
            w.flush()?;
        }
        Ok(())
    }

    /// Rotates every open log (see `ZeekLogWriter::rotate`); returns the
    /// rotated files' names.
    pub(crate) fn rotate(&mut self) -> Result<Vec<std::path::PathBuf>> {
        let mut done = Vec::new();
        for w in self.writers() {
            done.extend(w.rotate()?);
        }
        Ok(done)
    }

    pub(crate) fn finish(&mut self) -> Result<()> {
        self.finish_export();
        // Try every file, report the first failure.
        let conn = self.conn.finish();
        let long = self.conn_long.as_mut().map_or(Ok(()), |s| s.finish());
        let notice = self.notice.as_mut().map_or(Ok(()), |s| s.finish());
        conn?;
        long?;
        notice?;
        Ok(())
    }
}

/// A per-run seed (uids must differ between runs, as Zeek's do).
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    h.finish()
}

/// Reads the configured input to its end (a file) or until SIGINT/SIGTERM
/// (live interfaces) and writes the logs.
pub fn run(cfg: &SensorConfig) -> Result<Summary> {
    match &cfg.input {
        #[cfg(target_os = "linux")]
        Input::Live(ifaces) => crate::live::run(cfg, ifaces),
        #[cfg(not(target_os = "linux"))]
        Input::Live(_) => anyhow::bail!("live capture (-i) needs Linux (AF_PACKET)"),
        #[cfg(target_os = "linux")]
        Input::Flows(sources) => crate::collect::run(cfg, sources),
        #[cfg(not(target_os = "linux"))]
        Input::Flows(_) => anyhow::bail!("flow collection (--flows) needs Linux"),
        _ => run_file(cfg),
    }
}

fn run_file(cfg: &SensorConfig) -> Result<Summary> {
    let started = Instant::now();
    let mut source = match &cfg.input {
        Input::File(p) => CaptureFile::open(p),
        Input::Stdin | Input::Live(_) | Input::Flows(_) => {
            CaptureFile::from_reader(Box::new(std::io::stdin()), "-")
        }
    }
    .map_err(|e| anyhow::anyhow!("{}: {e}", input_name(cfg)))?;

    std::fs::create_dir_all(&cfg.log_dir)
        .with_context(|| format!("cannot create log directory {}", cfg.log_dir.display()))?;
    let mut sinks = Sinks::new(cfg)?;
    let mut analyzer = PacketAnalyzer::new(tracker_config(cfg));
    let mut summary = Summary::default();
    let progress = std::io::stderr().is_terminal();
    let mut next_progress = started.elapsed().as_secs() + 2;

    loop {
        let frame = match source.next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                // Keep what was read: the connections so far are logged.
                summary.input_error = Some(format!("{}: {e}", input_name(cfg)));
                break;
            }
        };
        analyzer.handle_frame(&frame);
        summary.packets += 1;
        let t = analyzer.tracker_ref();
        if !t.events().is_empty() || !t.flows().is_empty() {
            drain(&mut analyzer, &mut sinks, &mut summary)?;
        }
        if progress && summary.packets & 0xffff == 0 {
            let s = started.elapsed().as_secs();
            if s >= next_progress {
                next_progress = s + 2;
                eprint!(
                    "\r{} packets, {} connections open, {} written",
                    summary.packets,
                    analyzer.tracker_ref().stats().open,
                    summary.connections
                );
            }
        }
    }
    if progress && summary.packets > 0xffff {
        eprintln!();
    }
    summary.tracker_bytes = analyzer.tracker_ref().stats().peak_bytes;
    // Flush in parts, writing as we go: a full table's records are never
    // all in memory at once.
    while !analyzer.finish_some(FLUSH_PART) {
        drain(&mut analyzer, &mut sinks, &mut summary)?;
    }
    drain(&mut analyzer, &mut sinks, &mut summary)?;
    sinks.finish()?;
    summary.export = std::mem::take(&mut sinks.export_reports);
    summary.weirds = analyzer.anomaly_total();
    summary.weird_names = analyzer.anomalies().collect();
    let st = analyzer.tracker_ref().stats();
    summary.peak_open = st.peak_open;
    summary.evicted = st.evicted;
    summary.untracked = st.untracked;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

fn drain(analyzer: &mut PacketAnalyzer, sinks: &mut Sinks, summary: &mut Summary) -> Result<()> {
    for flow in analyzer.tracker().drain_flows() {
        sinks.write_flow(&flow);
    }
    // Write each event where it lies in the tracker's queue: moving a
    // `ConnEvent` out of the drain copies the whole record (hundreds of
    // bytes) only to read it once. Dropping the drain empties the queue,
    // on an error too.
    let events = analyzer.tracker().drain_events();
    for ev in events.as_slice() {
        sinks.write_event(ev, summary)?;
    }
    Ok(())
}

fn input_name(cfg: &SensorConfig) -> String {
    match &cfg.input {
        Input::File(p) => p.display().to_string(),
        Input::Stdin => "-".to_string(),
        Input::Live(ifaces) => ifaces.join(","),
        Input::Flows(_) => "flows".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw::RawConfig;
    use clap::Parser;

    fn config(sets: &[&str]) -> SensorConfig {
        let mut args = vec!["connwatch", "-r", "t.pcap"];
        for s in sets {
            args.extend(["--set", s]);
        }
        let cli = crate::cli::Cli::try_parse_from(args).unwrap();
        let raw: RawConfig = crate::config::validate::raw_from(None, None, &cli.set).unwrap();
        crate::config::validate::validate(&cli, raw).unwrap()
    }

    #[test]
    fn long_defaults_are_the_trackers() {
        let t = tracker_config(&config(&[]));
        assert_eq!(t.long, Some(LongConfig::default()));
        assert_eq!(tracker_config(&config(&["long.enabled=false"])).long, None);
    }

    #[test]
    fn long_settings_reach_the_tracker() {
        let t = tracker_config(&config(&[
            "long.durations=[\"1h\"]",
            "long.repeat_last=true",
            "long.ignore=[\"10.8.1.2/16\"]",
            "long.ignore_pairs=[[\"10.0.0.0/8\", \"192.0.2.1\"]]",
            "long.ignore_ports=[\"1194/udp\"]",
            "long.special_cases={\"192.168.0.0/16\"=[]}",
            "long.slow.enabled=false",
        ]))
        .long
        .unwrap();
        let cidr = |s: &str| s.parse::<connwatch_track::Cidr>().unwrap();
        assert_eq!(t.durations, vec![connwatch_wire::Duration::from_secs(3600)]);
        assert!(t.repeat_last);
        assert_eq!(t.ignore, vec![cidr("10.8.0.0/16")]);
        assert_eq!(
            t.ignore_pairs,
            vec![(cidr("10.0.0.0/8"), cidr("192.0.2.1/32"))]
        );
        assert_eq!(t.ignore_ports, vec![(1194, connwatch_track::Proto::Udp)]);
        assert_eq!(t.special_cases, vec![(cidr("192.168.0.0/16"), vec![])]);
        assert_eq!(t.slow, None);
    }

    #[test]
    fn loaded_scripts_choose_the_service_detectors() {
        use connwatch_track::{Detector, Detectors};
        assert_eq!(tracker_config(&config(&[])).detect, Detectors::ALL);
        let bare = tracker_config(&config(&[
            "zeek.bare=true",
            "zeek.scripts=[\"base/protocols/conn\", \"base/protocols/http\", \"base/protocols/dce-rpc\"]",
        ]));
        let want = Detectors::NONE.with(Detector::Http).with(Detector::DceRpc);
        assert_eq!(bare.detect, want);
        let conn_only = tracker_config(&config(&[
            "zeek.bare=true",
            "zeek.scripts=[\"base/protocols/conn\"]",
        ]));
        assert!(!conn_only.detect.any());
    }

    #[test]
    fn sinks_follow_the_switches() {
        let s = Sinks::new(&config(&[])).unwrap();
        assert!(s.conn_long.is_some() && s.notice.is_some());
        let s = Sinks::new(&config(&["long.notice=false"])).unwrap();
        assert!(s.notice.is_some()); // the slow notice is still on
        let s = Sinks::new(&config(&["long.notice=false", "long.slow.enabled=false"])).unwrap();
        assert!(s.conn_long.is_some() && s.notice.is_none());
        let s = Sinks::new(&config(&["long.enabled=false"])).unwrap();
        assert!(s.conn_long.is_none() && s.notice.is_none());
    }
}
