//! `PacketAnalyzer`: one frame in, through link layer, IP, fragment
//! reassembly, transport and tunnels, into the tracker.
//!
//! This is Zeek's packet-analysis chain for what conn.log needs: IP-in-IP
//! and GRE tunnels get a synthetic parent keyed by their address pair (a
//! uid that is never a conn.log row); UDP tunnels (VXLAN, Geneve, Teredo,
//! AYIYA, GTPv1-U, GRE-in-UDP) are chosen by the outer connection's
//! responder port, and the outer UDP connection becomes the inner
//! connections' parent. Malformed input is counted by its weird name and
//! dropped; nothing here panics on input.

use connwatch_wire::ip::DecodeOptions;
use connwatch_wire::{
    checksum, ip, link, transport, tunnel, Anomaly, Frame, Inner, IpPacket, LinkType, Network,
    TcpFlags, Timestamp,
};
use hashbrown::HashMap;

use crate::config::TrackerConfig;
use crate::defrag::{Defragmenter, FragResult};
use crate::key::addr_bytes;
use crate::record::Service;
use crate::tracker::{ConnRef, ConnTracker, Encap, PacketIn, L4};
use crate::uid::Uid;

/// Tunnel kinds, for the encapsulation fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum TunnelKind {
    Ip = 1,
    Gre = 2,
    Vxlan = 3,
    Geneve = 4,
    Teredo = 5,
    Ayiya = 6,
    Gtpv1 = 7,
    GreUdp = 8,
}

/// Counters of the packet layer.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnalyzerStats {
    /// Frames handed in.
    pub frames: u64,
    /// Frames that carried no IP (ARP, LLDP, ...).
    pub non_ip: u64,
    /// Packets (incl. tunnelled ones) that reached the tracker.
    pub tracked_packets: u64,
    /// Frames dropped by the capture filter (`capture_ignore`).
    pub filtered: u64,
    /// Captured bytes handed in.
    pub bytes: u64,
}

/// Most IP tunnels remembered at once.
const MAX_IP_TUNNELS: usize = 65_536;

/// The encapsulation of a frame that is not in a tunnel. A static rather
/// than an `Encap::default()` per frame, which zeroed its 80 bytes on the
/// stack for every packet.
static NO_ENCAP: Encap = Encap {
    depth: 0,
    uids: [Uid { hi: 0, lo: 0 }; 4],
    fingerprint: 0,
};

/// The packet layer in front of the tracker.
pub struct PacketAnalyzer {
    tracker: ConnTracker,
    defrag: Defragmenter,
    frag_buf: Vec<u8>,
    ip_tunnels: HashMap<([u8; 16], [u8; 16]), (Uid, Timestamp)>,
    anomalies: Vec<u64>,
    stats: AnalyzerStats,
    opts: DecodeOptions,
    /// Bytes of the current frame the capture did not keep.
    missing: u32,
}

impl PacketAnalyzer {
    /// An analyzer feeding a new tracker.
    pub fn new(cfg: TrackerConfig) -> Self {
        let opts = DecodeOptions {
            ignore_checksums: cfg.ignore_checksums,
        };
        PacketAnalyzer {
            tracker: ConnTracker::new(cfg),
            defrag: Defragmenter::new(),
            frag_buf: Vec::new(),
            ip_tunnels: HashMap::new(),
            anomalies: vec![0; Anomaly::ALL.len()],
            stats: AnalyzerStats::default(),
            opts,
            missing: 0,
        }
    }

    /// The tracker (for events and stats).
    pub fn tracker(&mut self) -> &mut ConnTracker {
        &mut self.tracker
    }

    /// The tracker, read-only.
    pub fn tracker_ref(&self) -> &ConnTracker {
        &self.tracker
    }

    /// Counters.
    pub fn stats(&self) -> AnalyzerStats {
        self.stats
    }

    /// Anomalies seen, by Zeek weird name, with their counts (non-zero only).
    pub fn anomalies(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        Anomaly::ALL
            .iter()
            .zip(&self.anomalies)
            .filter(|(_, n)| **n > 0)
            .map(|(a, n)| (a.name(), *n))
    }

    /// Total anomalies.
    pub fn anomaly_total(&self) -> u64 {
        self.anomalies.iter().sum()
    }

    fn weird(&mut self, a: Anomaly) {
        if let Some(n) = self.anomalies.get_mut(a.index()) {
            *n += 1;
        }
    }

    /// Ends the input: every connection is flushed.
    pub fn finish(&mut self) {
        self.tracker.finish();
    }

    /// Ends the input a part at a time (see [`ConnTracker::finish_some`]):
    /// true once every connection is flushed.
    pub fn finish_some(&mut self, max: usize) -> bool {
        self.tracker.finish_some(max)
    }

    /// Processes one captured frame whose checksums are known not to be
    /// filled in yet: a live capture of a packet this host sends with
    /// checksum offload (AF_PACKET's `TP_STATUS_CSUMNOTREADY`). Its
    /// checksums are not checked; every other frame's are, as configured.
    pub fn handle_frame_checksum_not_ready(&mut self, frame: &Frame<'_>) {
        let saved = self.opts.ignore_checksums;
        self.opts.ignore_checksums = true;
        self.handle_frame(frame);
        self.opts.ignore_checksums = saved;
    }

    /// Whether the capture filter drops this IP packet (outer addresses).
    fn filtered(&self, data: &[u8]) -> bool {
        let nets = &self.tracker.config().capture_ignore;
        if nets.is_empty() {
            return false;
        }
        let addrs = match data.first().map(|b| b >> 4) {
            Some(4) if data.len() >= 20 => {
                let a = |o: usize| {
                    core::net::IpAddr::from(
                        <[u8; 4]>::try_from(&data[o..o + 4]).unwrap_or_default(),
                    )
                };
                Some((a(12), a(16)))
            }
            Some(6) if data.len() >= 40 => {
                let a = |o: usize| {
                    core::net::IpAddr::from(
                        <[u8; 16]>::try_from(&data[o..o + 16]).unwrap_or_default(),
                    )
                };
                Some((a(8), a(24)))
            }
            _ => None,
        };
        addrs.is_some_and(|(s, d)| nets.contains(s) || nets.contains(d))
    }

    /// Processes one captured frame.
    // Forced into the frame loop (with `link::decode`, `advance` and
    // `ip::decode_with`): left to its own judgement LLVM kept each a call
    // of its own, whose register saves and arguments through memory cost
    // 1.5% of the benchmark's instructions; the profile-guided build
    // inlines the same four.
    #[inline(always)]
    pub fn handle_frame(&mut self, frame: &Frame<'_>) {
        self.stats.frames += 1;
        self.stats.bytes += frame.data.len() as u64;
        self.tracker.advance(frame.ts);
        let l2 = match link::decode(frame.link, frame.data) {
            Ok(l) => l,
            Err(a) => return self.weird(a),
        };
        if let Network::Other(_) = l2.network {
            self.stats.non_ip += 1;
            return;
        }
        let Some(data) = frame.data.get(l2.offset..) else {
            return self.weird(Anomaly::TruncatedHeader);
        };
        if self.filtered(data) {
            self.stats.filtered += 1;
            return;
        }
        // A tunnelled packet's wire length is its captured length plus what
        // the capture cut off the frame (Zeek's build_inner_packet), so a
        // snaplen cut alone never drops an inner packet.
        let caplen = u32::try_from(frame.data.len()).unwrap_or(u32::MAX);
        self.missing = frame.wire_len.saturating_sub(caplen);
        let wire_len = frame.wire_len.saturating_sub(l2.offset as u32);
        self.ip(frame.ts, data, wire_len, &NO_ENCAP, l2.vlan, l2.inner_vlan);
    }

    // Inlined into `handle_frame`: as a call of its own it cost some 45
    // instructions a packet of register saving and argument passing around
    // `decode_with` and `transport`. Fragments go out of line.
    #[inline]
    fn ip(
        &mut self,
        ts: Timestamp,
        data: &[u8],
        wire_len: u32,
        encap: &Encap,
        vlan: Option<u16>,
        inner_vlan: Option<u16>,
    ) {
        // Borrowed where it was decoded: moving the packet out of the
        // `Result` copied all of it (some 20 instructions a packet).
        let decoded = ip::decode_with(data, wire_len, self.opts);
        let pkt = match &decoded {
            Ok(p) => p,
            Err(a) => return self.weird(*a),
        };
        if !pkt.header_checksum_ok && !self.opts.ignore_checksums {
            return self.weird(Anomaly::BadIpChecksum);
        }
        if pkt.fragment.is_some() {
            return self.fragment(ts, pkt, encap, vlan, inner_vlan);
        }
        self.transport(ts, pkt, encap, vlan, inner_vlan);
    }

    /// An IP fragment: reassembled, and the whole packet goes on once
    /// complete.
    #[inline(never)]
    fn fragment(
        &mut self,
        ts: Timestamp,
        pkt: &IpPacket<'_>,
        encap: &Encap,
        vlan: Option<u16>,
        inner_vlan: Option<u16>,
    ) {
        let mut buf = core::mem::take(&mut self.frag_buf);
        let cfg = self.tracker.config();
        let (timeout, max) = (cfg.frag_timeout, cfg.max_fragment_bytes);
        if self.defrag.add(pkt, ts, timeout, max, &mut buf) == FragResult::Complete {
            let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
            match ip::decode_with(&buf, len, self.opts) {
                Ok(whole) if whole.fragment.is_none() => {
                    self.transport(ts, &whole, encap, vlan, inner_vlan)
                }
                Ok(_) => self.weird(Anomaly::TruncatedIp),
                Err(a) => self.weird(a),
            }
        }
        self.frag_buf = buf;
    }

    fn transport(
        &mut self,
        ts: Timestamp,
        pkt: &IpPacket<'_>,
        encap: &Encap,
        vlan: Option<u16>,
        inner_vlan: Option<u16>,
    ) {
        let ignore = self.opts.ignore_checksums;
        let l4 = match pkt.protocol {
            4 | 41 => {
                return self.ip_tunnel(ts, pkt, TunnelKind::Ip, Inner::Ipv4(pkt.payload), encap)
            }
            47 => {
                return match tunnel::gre(pkt.payload) {
                    Ok(inner) => self.ip_tunnel(ts, pkt, TunnelKind::Gre, inner, encap),
                    Err(a) => self.weird(a),
                }
            }
            6 => match transport::tcp::decode(pkt.payload, pkt.payload_len()) {
                Ok(t) => L4::Tcp(t),
                Err(a) => match broken_tcp(pkt) {
                    Some(l4) => {
                        self.weird(a);
                        l4
                    }
                    None => return self.weird(a),
                },
            },
            17 => match transport::udp::decode(pkt.payload, pkt.payload_len()) {
                Ok(u) => L4::Udp(u),
                Err(a) => return self.weird(a),
            },
            1 | 58 => match transport::icmp::decode(pkt.payload, pkt.protocol == 58) {
                Ok(m) => L4::Icmp(m),
                Err(a) => return self.weird(a),
            },
            59 => return,
            _ => L4::Other,
        };
        let checksum_ok = ignore
            || match l4 {
                L4::Udp(u) if vxlan_exempt(&u) => true,
                L4::Tcp(_) | L4::Udp(_) | L4::Icmp(_) => {
                    checksum::transport_ok(pkt).unwrap_or(true)
                }
                _ => true,
            };
        self.stats.tracked_packets += 1;
        let input = PacketIn {
            ts,
            ip: pkt,
            l4: &l4,
            checksum_ok,
            encap,
            vlan,
            inner_vlan,
        };
        let Some(conn) = self.tracker.handle(&input) else {
            return;
        };
        if let L4::Udp(u) = l4 {
            if conn.accepted {
                self.udp_tunnel(ts, &conn, u.payload, encap, vlan, inner_vlan);
                self.tracker
                    .udp_parsers(conn.index, conn.is_orig, u.payload);
            }
        }
    }

    fn ip_tunnel(
        &mut self,
        ts: Timestamp,
        outer: &IpPacket<'_>,
        kind: TunnelKind,
        inner: Inner<'_>,
        encap: &Encap,
    ) {
        let (a, b) = (addr_bytes(outer.src), addr_bytes(outer.dst));
        let pair = if a <= b { (a, b) } else { (b, a) };
        let timeout = self.tracker.config().ip_tunnel_timeout;
        let uid = match self.ip_tunnels.get_mut(&pair) {
            Some((uid, last)) if ts - *last < timeout => {
                *last = ts;
                *uid
            }
            _ => {
                if self.ip_tunnels.len() >= MAX_IP_TUNNELS {
                    self.ip_tunnels.clear();
                }
                let uid = self.tracker.next_uid();
                self.ip_tunnels.insert(pair, (uid, ts));
                uid
            }
        };
        let max_depth = self.tracker.config().max_tunnel_depth;
        let Some(inner_encap) = encap.push(uid, kind as u8, max_depth) else {
            return self.weird(Anomaly::ExceededTunnelMaxDepth);
        };
        self.inner(ts, inner, &inner_encap, None, None);
    }

    fn inner(
        &mut self,
        ts: Timestamp,
        inner: Inner<'_>,
        encap: &Encap,
        vlan: Option<u16>,
        inner_vlan: Option<u16>,
    ) {
        match inner {
            Inner::Ipv4(d) | Inner::Ipv6(d) => {
                let len = self.inner_wire_len(d);
                self.ip(ts, d, len, encap, vlan, inner_vlan);
            }
            Inner::Ethernet(d) => {
                let l2 = match link::decode(LinkType::ETHERNET, d) {
                    Ok(l) => l,
                    Err(a) => return self.weird(a),
                };
                if let Network::Other(_) = l2.network {
                    return;
                }
                let Some(rest) = d.get(l2.offset..) else {
                    return self.weird(Anomaly::TruncatedHeader);
                };
                let len = self.inner_wire_len(rest);
                self.ip(ts, rest, len, encap, vlan, inner_vlan);
            }
        }
    }

    fn inner_wire_len(&self, captured: &[u8]) -> u32 {
        u32::try_from(captured.len())
            .unwrap_or(u32::MAX)
            .saturating_add(self.missing)
    }

    fn udp_tunnel(
        &mut self,
        ts: Timestamp,
        conn: &ConnRef,
        payload: &[u8],
        encap: &Encap,
        vlan: Option<u16>,
        inner_vlan: Option<u16>,
    ) {
        let (kind, decoded) = match conn.resp_port {
            4789 => (TunnelKind::Vxlan, tunnel::vxlan(payload)),
            6081 => (TunnelKind::Geneve, tunnel::geneve(payload)),
            3544 => (TunnelKind::Teredo, tunnel::teredo(payload)),
            5072 => (TunnelKind::Ayiya, tunnel::ayiya(payload).map(|(_, i)| i)),
            2152 | 2123 => (TunnelKind::Gtpv1, tunnel::gtpv1(payload)),
            4754 => (TunnelKind::GreUdp, tunnel::gre(payload)),
            // Zeek also tries Teredo and AYIYA on any port (protocol
            // detection), gated by their cheap heuristics.
            _ if tunnel::teredo_detect(payload) => (TunnelKind::Teredo, tunnel::teredo(payload)),
            _ if tunnel::ayiya_detect(payload) => {
                (TunnelKind::Ayiya, tunnel::ayiya(payload).map(|(_, i)| i))
            }
            _ => return,
        };
        let inner = match decoded {
            Ok(i) => i,
            Err(a) => return self.weird(a),
        };
        let max_depth = self.tracker.config().max_tunnel_depth;
        let Some(inner_encap) = encap.push(conn.uid(), kind as u8, max_depth) else {
            if kind == TunnelKind::Vxlan {
                self.tracker.add_history_once(conn.index, b'X');
            }
            return self.weird(Anomaly::ExceededTunnelMaxDepth);
        };
        let service = match kind {
            TunnelKind::Vxlan => Some(Service::Vxlan),
            TunnelKind::Geneve => Some(Service::Geneve),
            TunnelKind::Ayiya => Some(Service::Ayiya),
            TunnelKind::Gtpv1 => Some(Service::Gtpv1),
            TunnelKind::Teredo => {
                // Teredo is confirmed once both directions were seen.
                self.tracker
                    .note_tunnel_direction(conn.index, conn.is_orig)
                    .then_some(Service::Teredo)
            }
            _ => None,
        };
        if let Some(s) = service {
            self.tracker.confirm_service(conn.index, s);
        }
        let vlans = if matches!(inner, Inner::Ethernet(_)) {
            (None, None)
        } else {
            (vlan, inner_vlan)
        };
        self.inner(ts, inner, &inner_encap, vlans.0, vlans.1);
    }
}

/// A TCP header Zeek still makes a connection for although it cannot use
/// the packet (data offset broken or beyond the capture).
fn broken_tcp(pkt: &IpPacket<'_>) -> Option<L4<'static>> {
    if pkt.payload_len() != 0 && pkt.payload_len() < 20 {
        return None;
    }
    let h = pkt.payload.get(..20)?;
    Some(L4::TcpBroken {
        src_port: u16::from_be_bytes([h[0], h[1]]),
        dst_port: u16::from_be_bytes([h[2], h[3]]),
        flags: TcpFlags(h[13]),
        seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
    })
}

/// UDP to the VXLAN port with a zero checksum and a VXLAN-looking payload
/// is exempt from checksum validation (Zeek's UDP analyzer).
fn vxlan_exempt(u: &connwatch_wire::UdpDatagram<'_>) -> bool {
    u.dst_port == 4789
        && u.checksum == 0
        && u.payload.len() > 8 + 14
        && u.payload.first().is_some_and(|b| b & 0x08 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_encap_is_the_default() {
        assert_eq!(NO_ENCAP, Encap::default());
    }
}
