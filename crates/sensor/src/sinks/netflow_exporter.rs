//! The NetFlow/IPFIX exporter: flow records from the tracker
//! (`ConnTracker::drain_flows`) encoded as NetFlow v5, v9 or IPFIX datagrams
//! ([`connwatch_wire::netflow::FlowEncoder`]) and sent over UDP to each
//! collector.
//!
//! The tracker cuts every connection into records by the active and
//! inactive timeouts and hands over one record per interval with both
//! directions (originator → responder, and the reverse). Unidirectional
//! export (what routers send, and the only kind v5 and v9 know) turns that
//! into one record per direction that had packets; IPFIX with
//! `export.biflow` sends it as one RFC 5103 biflow record.
//!
//! Export time is network time (the trace's clock when reading a file), so
//! collectors file the flows when they happened. One UDP socket serves
//! every collector; each collector has its own encoder (sequence numbers,
//! template refresh). A send that fails is counted, never fatal: a
//! collector that is down must not stop the sensor.

use std::net::{SocketAddr, UdpSocket};

use connwatch_wire::netflow::{FlowEncoder, FlowRecord, Version};
use connwatch_wire::Timestamp;

use super::udp_batch::UdpBatch;
use crate::config::{Collector, ExportSettings};

/// One destination.
struct Target {
    url: String,
    version: Version,
    encoder: FlowEncoder,
    out: UdpBatch,
}

/// What the exporter did, per collector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportReport {
    /// The collector's URL.
    pub url: String,
    /// Data records sent.
    pub records: u64,
    /// Datagrams sent.
    pub datagrams: u64,
    /// IPv6 records a v5 collector could not be sent.
    pub skipped_ipv6: u64,
    /// Datagrams the socket refused.
    pub send_errors: u64,
}

/// Sends flow records to the configured collectors.
pub struct NetflowExporterSink {
    socket: UdpSocket,
    targets: Vec<Target>,
    biflow: bool,
    now: Timestamp,
}

impl NetflowExporterSink {
    /// Opens the UDP socket (IPv6 if any collector needs it).
    pub fn new(cfg: &ExportSettings) -> std::io::Result<Self> {
        let any_v6 = cfg.collectors.iter().any(|c| c.addr.is_ipv6());
        let socket = if any_v6 {
            UdpSocket::bind("[::]:0")?
        } else {
            UdpSocket::bind("0.0.0.0:0")?
        };
        let max_age = connwatch_wire::Duration(cfg.active.0.saturating_add(cfg.inactive.0));
        let targets = cfg
            .collectors
            .iter()
            .map(|c: &Collector| Target {
                url: c.url.clone(),
                out: UdpBatch::new(map_addr(c.addr, any_v6)),
                version: c.version,
                encoder: FlowEncoder::new(
                    c.version,
                    cfg.biflow,
                    cfg.datagram_limit(c),
                    cfg.observation_domain,
                    max_age,
                )
                .with_template_refresh(cfg.template_refresh, cfg.template_refresh_datagrams),
            })
            .collect::<Vec<_>>();
        Ok(NetflowExporterSink {
            socket,
            targets,
            biflow: cfg.biflow,
            now: Timestamp::ZERO,
        })
    }

    /// Exports one record (both directions of an interval).
    pub fn write_flow(&mut self, rec: &FlowRecord) {
        let end = rec
            .reverse
            .map_or(rec.forward.end, |r| r.end.max(rec.forward.end));
        self.now = self.now.max(end);
        let now = self.now;
        let socket = &self.socket;
        for t in &mut self.targets {
            let out = &mut t.out;
            let mut send = |d: &[u8]| out.push(socket, d);
            if self.biflow && t.version == Version::Ipfix {
                t.encoder.push(rec, now, &mut send);
            } else {
                t.encoder.push_direction(rec, false, now, &mut send);
                t.encoder.push_direction(rec, true, now, &mut send);
            }
        }
    }

    /// Sends the records held so far (a live sensor does this every second,
    /// so a quiet link's flows still leave promptly).
    pub fn flush(&mut self) {
        let now = self.now;
        let socket = &self.socket;
        for t in &mut self.targets {
            let out = &mut t.out;
            t.encoder.flush(now, &mut |d: &[u8]| out.push(socket, d));
            out.flush(socket);
        }
    }

    /// Sends everything buffered; returns what was sent to each collector.
    pub fn finish(&mut self) -> Vec<ExportReport> {
        let now = self.now;
        let socket = &self.socket;
        self.targets
            .iter_mut()
            .map(|t| {
                let out = &mut t.out;
                t.encoder.flush(now, &mut |d: &[u8]| out.push(socket, d));
                out.flush(socket);
                let st = t.encoder.stats();
                ExportReport {
                    url: t.url.clone(),
                    records: st.records,
                    datagrams: st.datagrams,
                    skipped_ipv6: st.skipped_ipv6,
                    send_errors: out.errors,
                }
            })
            .collect()
    }
}

/// An IPv4 collector address as seen from an IPv6 socket.
fn map_addr(a: SocketAddr, v6_socket: bool) -> SocketAddr {
    match (a, v6_socket) {
        (SocketAddr::V4(v4), true) => SocketAddr::new(v4.ip().to_ipv6_mapped().into(), v4.port()),
        _ => a,
    }
}
