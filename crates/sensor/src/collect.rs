//! The flow collector: `connwatch --flows udp://HOST:PORT` (or
//! `--flows file:EXPORT.pcap`).
//!
//! ```text
//!  UDP sockets ─ allow-list ─ FlowDecoder (templates per exporter/domain)
//!     (or the UDP payloads of a capture file)    │ CollectedFlow
//!                                                ▼
//!              ConnTracker::handle_flow (stitching, timers, long reports)
//!                                                │ ConnEvent
//!                                                ▼
//!                          conn.log, conn_long.log, notice.log
//! ```
//!
//! One thread does everything: a collector's load is records, not
//! packets (200,000 records/s is some 7,000 datagrams/s), and one tracker
//! sees every record, so both directions of a connection always meet.
//!
//! Network time is the newest record's end time. While no datagram comes,
//! it moves on with the wall clock from there (as live capture does), so
//! idle connections end and long-connection thresholds pass; reading a
//! file, it moves only with the records. SIGINT/SIGTERM stop a socket
//! collector: every open connection is flushed to conn.log and the logs
//! are closed. SIGHUP rotates the logs. With `run.user` (`-u`), the
//! process switches to that user once the sockets are bound.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration as StdDuration, Instant};

use anyhow::{anyhow, Context, Result};
use connwatch_track::{ConnTracker, FlowStitching, LocalNets};
use connwatch_wire::netflow::{CollectedFlow, DecodeStats, DecoderLimits, FlowDecoder};
use connwatch_wire::{link, Network, Timestamp};

use crate::config::{FlowSource, SensorConfig};
use crate::live::signals;
use crate::pipeline::{tracker_config, Sinks, Summary, FLUSH_PART};
use crate::sources::{CaptureFile, PacketSource};

/// Rows reach the files at least this often.
const FLUSH_EVERY: StdDuration = StdDuration::from_secs(1);
/// Largest UDP payload.
const MAX_DATAGRAM: usize = 65_535;

/// What the collector counted, for the summary.
#[derive(Debug, Default, Clone, Copy)]
pub struct FlowReport {
    /// Datagrams received (allowed or not).
    pub datagrams: u64,
    /// Datagrams from exporters not on `flows.exporters`, dropped.
    pub refused: u64,
    /// Frames of a capture file that were not whole UDP datagrams.
    pub not_udp: u64,
    /// The decoder's counters.
    pub decode: DecodeStats,
    /// The stitching counters.
    pub stitch: connwatch_track::FlowStats,
}

/// Decoder, tracker and the clock: everything but the I/O.
pub struct Collector {
    decoder: FlowDecoder,
    tracker: ConnTracker,
    allow: Option<LocalNets>,
    flows: Vec<CollectedFlow>,
    report: FlowReport,
    /// Newest record end seen, and when (wall clock) it was seen.
    now: Option<(Timestamp, Instant)>,
}

impl Collector {
    /// A collector with the run's settings.
    pub fn new(cfg: &SensorConfig) -> Collector {
        let mut tc = tracker_config(cfg);
        tc.flows = FlowStitching {
            idle_timeout: cfg.flows.idle_timeout,
            end_delay: cfg.flows.end_delay,
        };
        Collector {
            decoder: FlowDecoder::new(DecoderLimits {
                max_scopes: cfg.flows.max_exporters,
                ..DecoderLimits::default()
            }),
            tracker: ConnTracker::new(tc),
            allow: (!cfg.flows.exporters.is_empty())
                .then(|| LocalNets::new(cfg.flows.exporters.clone())),
            flows: Vec::with_capacity(64),
            report: FlowReport::default(),
            now: None,
        }
    }

    /// The tracker (its events are drained by the caller).
    pub fn tracker(&mut self) -> &mut ConnTracker {
        &mut self.tracker
    }

    /// Counters so far.
    pub fn report(&self) -> FlowReport {
        FlowReport {
            decode: *self.decoder.stats(),
            stitch: self.tracker.flow_stats(),
            ..self.report
        }
    }

    /// Takes in one datagram from `from`.
    pub fn datagram(&mut self, from: SocketAddr, data: &[u8]) {
        self.report.datagrams += 1;
        if let Some(allow) = &self.allow {
            if !allow.contains(from.ip()) {
                self.report.refused += 1;
                return;
            }
        }
        let flows = &mut self.flows;
        flows.clear();
        // Errors are counted by the decoder; the records before one stand.
        let _ = self.decoder.decode(from, data, &mut |f| flows.push(*f));
        for f in &self.flows {
            let end = f
                .reverse
                .map_or(f.forward.end, |r| r.end.max(f.forward.end));
            if self.now.is_none_or(|(t, _)| end > t) {
                self.now = Some((end, Instant::now()));
            }
            if let Some((t, _)) = self.now {
                self.tracker.advance(t);
            }
            self.tracker.handle_flow(f);
        }
    }

    /// Moves network time on with the wall clock while no record comes.
    pub fn tick(&mut self) {
        if let Some((t, at)) = self.now {
            let elapsed = at.elapsed().as_nanos().min(i64::MAX as u128) as i64;
            self.tracker.advance(Timestamp(t.0.saturating_add(elapsed)));
        }
    }
}

/// The UDP payload of a captured frame, with its source.
fn udp_payload<'a>(frame: &connwatch_wire::Frame<'a>) -> Option<(SocketAddr, &'a [u8])> {
    let l2 = link::decode(frame.link, frame.data).ok()?;
    if matches!(l2.network, Network::Other(_)) {
        return None;
    }
    let ip_bytes = frame.data.get(l2.offset..)?;
    let ip = connwatch_wire::ip::decode(ip_bytes, frame.wire_len.saturating_sub(l2.offset as u32))
        .ok()?;
    if ip.protocol != 17 || ip.fragment.is_some() {
        return None;
    }
    let udp = connwatch_wire::transport::udp::decode(ip.payload, ip.payload_len()).ok()?;
    let len = usize::from(udp.length)
        .saturating_sub(8)
        .min(udp.payload.len());
    Some((SocketAddr::new(ip.src, udp.src_port), &udp.payload[..len]))
}

/// Collects from the configured sources until their end (files) or
/// SIGINT/SIGTERM (sockets), then flushes every connection.
pub fn run(cfg: &SensorConfig, sources: &[FlowSource]) -> Result<Summary> {
    let started = Instant::now();
    let mut files = Vec::new();
    let mut sockets = Vec::new();
    for s in sources {
        match s {
            FlowSource::File(p) => {
                files.push(CaptureFile::open(p).map_err(|e| anyhow!("{}: {e}", p.display()))?)
            }
            FlowSource::Udp(addr) => sockets.push(bind(*addr, cfg.flows.recv_buffer)?),
        }
    }
    std::fs::create_dir_all(&cfg.log_dir)
        .with_context(|| format!("cannot create log directory {}", cfg.log_dir.display()))?;
    // Sockets are bound (a port below 1024 needs root): drop privileges
    // (`run.user`, `-u`) before anything reads a datagram.
    if let Some(user) = &cfg.live.user {
        crate::live::privileges::drop_to(user, &cfg.log_dir).map_err(|e| anyhow!(e))?;
    }
    let mut sinks = Sinks::new(cfg)?;
    let mut c = Collector::new(cfg);
    let mut summary = Summary::default();

    for mut file in files {
        loop {
            match file.next_frame() {
                Ok(Some(frame)) => match udp_payload(&frame) {
                    Some((from, data)) => c.datagram(from, data),
                    None => c.report.not_udp += 1,
                },
                Ok(None) => break,
                Err(e) => {
                    summary.input_error = Some(format!("{}: {e}", file.name()));
                    break;
                }
            }
            drain(&mut c, &mut sinks, &mut summary)?;
        }
    }

    if !sockets.is_empty() {
        signals::install_handlers().context("cannot install signal handlers")?;
        let names: Vec<String> = sockets
            .iter()
            .filter_map(|s| s.local_addr().ok())
            .map(|a| format!("udp://{a}"))
            .collect();
        eprintln!("connwatch: collecting flows on {}", names.join(", "));
        let rotate_every = cfg.live.rotate_interval.map(|d| d.as_secs_f64());
        collect_sockets(&sockets, rotate_every, &mut c, &mut sinks, &mut summary)?;
    }

    summary.tracker_bytes = c.tracker.stats().peak_bytes;
    while !c.tracker.finish_some(FLUSH_PART) {
        drain(&mut c, &mut sinks, &mut summary)?;
    }
    drain(&mut c, &mut sinks, &mut summary)?;
    sinks.finish()?;
    let st = c.tracker.stats();
    summary.peak_open = st.peak_open;
    summary.evicted = st.evicted;
    summary.untracked = st.untracked;
    let report = c.report();
    summary.packets = report.stitch.records;
    summary.flows = Some(report);
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// The socket loop: poll, read every waiting datagram, tick the clock,
/// flush and rotate on time.
fn collect_sockets(
    sockets: &[UdpSocket],
    rotate_every: Option<f64>,
    c: &mut Collector,
    sinks: &mut Sinks,
    summary: &mut Summary,
) -> Result<()> {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut fds: Vec<libc::pollfd> = sockets
        .iter()
        .map(|s| libc::pollfd {
            fd: s.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let mut next_flush = Instant::now() + FLUSH_EVERY;
    // Rotation at multiples of the interval since the epoch, as for live
    // capture.
    let next_rotation =
        |now: f64| rotate_every.map_or(f64::INFINITY, |iv| ((now / iv).floor() + 1.0) * iv);
    let mut next_rotate = next_rotation(unix_secs());
    while !signals::stop_requested() {
        // SAFETY: `fds` is a valid array of pollfd for the call.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 100) };
        if n > 0 {
            for s in sockets {
                // Read what is waiting, a bounded number at a time so one
                // busy exporter cannot starve the clock.
                for _ in 0..1024 {
                    match s.recv_from(&mut buf) {
                        Ok((len, from)) => {
                            c.datagram(normalize(from), &buf[..len]);
                            drain(c, sinks, summary)?;
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => break,
                        Err(e) => return Err(anyhow!("receiving flows: {e}")),
                    }
                }
            }
        }
        c.tick();
        drain(c, sinks, summary)?;
        let now = unix_secs();
        if signals::take_rotate_request() || now >= next_rotate {
            sinks.rotate()?;
            next_rotate = next_rotation(now);
        }
        if Instant::now() >= next_flush {
            sinks.flush()?;
            next_flush = Instant::now() + FLUSH_EVERY;
        }
    }
    Ok(())
}

fn unix_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// IPv4-mapped IPv6 sources (a dual-stack socket) as plain IPv4, so the
/// allow-list and template scopes see one address per exporter.
fn normalize(a: SocketAddr) -> SocketAddr {
    match a.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), a.port()),
            None => a,
        },
        IpAddr::V4(_) => a,
    }
}

/// A non-blocking UDP socket with a large receive buffer.
fn bind(addr: SocketAddr, recv_buffer: usize) -> Result<UdpSocket> {
    let s = UdpSocket::bind(addr).with_context(|| format!("cannot listen on udp://{addr}"))?;
    s.set_nonblocking(true)?;
    let size = recv_buffer.min(i32::MAX as usize) as libc::c_int;
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: setsockopt with a valid fd and an int-sized option value.
        let r = unsafe {
            libc::setsockopt(
                s.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&size as *const libc::c_int).cast(),
                core::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        // SO_RCVBUFFORCE needs CAP_NET_ADMIN; SO_RCVBUF is capped by
        // net.core.rmem_max.
        if r == 0 {
            break;
        }
    }
    Ok(s)
}

fn drain(c: &mut Collector, sinks: &mut Sinks, summary: &mut Summary) -> Result<()> {
    for ev in c.tracker.drain_events() {
        sinks.write_event(&ev, summary)?;
    }
    Ok(())
}
