//! The run loop: source → packet analyzer → tracker → sinks.
//!
//! One worker, run to completion per frame: the frame is dissected and fed
//! to the tracker in the same call stack, and finished records go straight
//! to the sinks. No channel is crossed per packet.

use std::io::IsTerminal;
use std::time::Instant;

use anyhow::{Context, Result};
use connwatch_track::{ConnEvent, LocalNets, PacketAnalyzer, PortSet, TrackerConfig};

use crate::config::{Input, SensorConfig};
use crate::sinks::{ConnLogSink, RecordSink};
use crate::sources::{CaptureFile, PacketSource};

/// What a run did, for the summary line.
#[derive(Debug, Default)]
pub struct Summary {
    /// Frames read.
    pub packets: u64,
    /// Connections written to conn.log.
    pub connections: u64,
    /// Anomalies (weirds) counted.
    pub weirds: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Peak of concurrently tracked connections.
    pub peak_open: u64,
    /// Tracker memory (table, connections, timers) at the end, bytes.
    pub tracker_bytes: usize,
    /// Weird names and counts.
    pub weird_names: Vec<(&'static str, u64)>,
    /// The input broke off (truncated file): the reason.
    pub input_error: Option<String>,
}

/// Builds the tracker's configuration from the sensor's.
pub fn tracker_config(cfg: &SensorConfig) -> TrackerConfig {
    let t = &cfg.track;
    let mut local = if cfg.site.private_address_space_is_local {
        LocalNets::zeek_default()
    } else {
        LocalNets::empty()
    };
    local.extend(cfg.site.local_nets.iter().map(|c| connwatch_track::Cidr {
        addr: c.addr(),
        prefix: c.prefix(),
    }));
    let ports = |p: &crate::config::server_ports::PortSet| {
        let v: Vec<u16> = p.iter().collect();
        PortSet::from_ports(&v)
    };
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
        ignore_checksums: cfg.ignore_checksums,
        tcp_server_ports: ports(&cfg.likely_server_ports.tcp),
        udp_server_ports: ports(&cfg.likely_server_ports.udp),
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
        ..TrackerConfig::default()
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

/// Reads the configured input to its end and writes the logs.
pub fn run(cfg: &SensorConfig) -> Result<Summary> {
    let started = Instant::now();
    let mut source = match &cfg.input {
        Input::File(p) => CaptureFile::open(p),
        Input::Stdin => CaptureFile::from_reader(Box::new(std::io::stdin()), "-"),
    }
    .map_err(|e| anyhow::anyhow!("{}: {e}", input_name(cfg)))?;

    std::fs::create_dir_all(&cfg.log_dir)
        .with_context(|| format!("cannot create log directory {}", cfg.log_dir.display()))?;
    let mut sink = ConnLogSink::new(&cfg.log_dir, cfg.log_format);
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
        drain(&mut analyzer, &mut sink, &mut summary)?;
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
    summary.tracker_bytes = analyzer.tracker_ref().memory_bytes();
    analyzer.finish();
    drain(&mut analyzer, &mut sink, &mut summary)?;
    sink.finish()?;
    summary.weirds = analyzer.anomaly_total();
    summary.weird_names = analyzer.anomalies().collect();
    summary.peak_open = analyzer.tracker_ref().stats().peak_open;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

fn drain(
    analyzer: &mut PacketAnalyzer,
    sink: &mut ConnLogSink,
    summary: &mut Summary,
) -> Result<()> {
    for ev in analyzer.tracker().drain_events() {
        let ConnEvent::Finished(rec) = ev;
        sink.write_conn(&rec)?;
        summary.connections += 1;
    }
    Ok(())
}

fn input_name(cfg: &SensorConfig) -> String {
    match &cfg.input {
        Input::File(p) => p.display().to_string(),
        Input::Stdin => "-".to_string(),
    }
}
