//! Connections stitched from collected flow records (NetFlow v5/v9,
//! IPFIX): the two directions of a connection, and the successive
//! active-timeout records of a long one, become one connection in the same
//! table, with the same timers, conn.log rows and conn_long.log reports as
//! connections seen in packets.
//!
//! The rules (README "Flow collection" documents them for users):
//! - A record's direction joins the connection of its 5-tuple (ICMP: type
//!   and counterpart type, as for packets), whichever direction it is.
//! - Orientation: the direction whose first packet came first is the
//!   originator. On a tie (records have millisecond times, often equal on
//!   a LAN), Zeek's port heuristic decides: a likely server port on one
//!   side only is the responder; for ICMP, the side that sent the reply.
//!   A lone first record is oriented the same way: a TCP record without a
//!   bare SYN (flags are ORed over the record, so SYN|ACK may be either
//!   side's), or a UDP record, from a likely server port to another port
//!   is turned around; an ICMP reply's sender is the responder.
//! - A direction ends with a record whose flowEndReason is idle, end of
//!   flow, forced or lack of resources, or, when the exporter gives no
//!   reason (v5, pmacct), with TCP FIN or RST. Once every direction seen
//!   has ended, the connection is written after `flows.end_delay` (the
//!   reverse record may still come); a record of an ended direction that
//!   starts after the connection's last packet starts a new connection
//!   (port reuse). Active-timeout records extend the connection.
//! - Without records for `flows.idle_timeout` the connection ends.
//! - Counters are scaled by the sampling interval; the row says which.

use connwatch_wire::netflow::{CollectedFlow, EndReason, FlowSide};

use super::{icmp_counterpart, ConnRef, ConnTracker, TimerCtx, TimerKind};
use crate::config::{Timeout, TrackerConfig};
use crate::conn::{FlowState, ProtoState, ORIG, RESP};
use crate::key::FlowKey;
use crate::record::{ConnState, History, Proto};

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

/// Counters the flow path keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowStats {
    /// Flow records taken in.
    pub records: u64,
    /// Directions of records (a biflow record counts two).
    pub directions: u64,
    /// Directions that joined an existing connection.
    pub stitched: u64,
    /// Connections started again for a record past the end of the
    /// previous one (port reuse, or a record after an idle gap).
    pub restarted: u64,
    /// Records with zero packets in a direction (nothing to count).
    pub empty_directions: u64,
}

/// ICMP types that answer another (their sender is the responder).
fn icmp_is_reply(v6: bool, t: u8) -> bool {
    if v6 {
        matches!(t, 129 | 131 | 134 | 136 | 140 | 145)
    } else {
        matches!(t, 0 | 14 | 16 | 18 | 9)
    }
}

impl ConnTracker {
    /// Counters of the flow path.
    pub fn flow_stats(&self) -> FlowStats {
        self.flow_stats
    }

    /// Takes in one collected flow record (both directions of a biflow).
    /// Call [`advance`](Self::advance) with the record's end time first
    /// (network time follows the newest record).
    pub fn handle_flow(&mut self, f: &CollectedFlow) -> Option<ConnRef> {
        self.flow_stats.records += 1;
        let reason = f.reason;
        let mut last = self.flow_direction(f, false, &f.forward, reason);
        if let Some(rev) = &f.reverse {
            if let Some(r) = self.flow_direction(f, true, rev, reason) {
                last = Some(r);
            }
        }
        last
    }

    /// One direction of a record: from `f.src` (or from `f.dst` when
    /// `reverse`).
    fn flow_direction(
        &mut self,
        f: &CollectedFlow,
        reverse: bool,
        side: &FlowSide,
        reason: Option<EndReason>,
    ) -> Option<ConnRef> {
        if side.packets == 0 {
            self.flow_stats.empty_directions += 1;
            return None;
        }
        // Records are hostile input: never a start after the end.
        let side = &FlowSide {
            start: side.start.min(side.end),
            ..*side
        };
        self.flow_stats.directions += 1;
        let (src, dst, sport, dport) = if reverse {
            (f.dst, f.src, f.dst_port, f.src_port)
        } else {
            (f.src, f.dst, f.src_port, f.dst_port)
        };
        let v6 = src.is_ipv6();
        let proto = match f.protocol {
            6 => Proto::Tcp,
            17 => Proto::Udp,
            1 if !v6 => Proto::Icmp,
            58 if v6 => Proto::Icmp,
            _ => Proto::Unknown,
        };
        let (sport, dport, one_way) = match proto {
            Proto::Icmp => {
                let (t, code) = ((side.icmp_type_code >> 8) as u8, side.icmp_type_code as u8);
                match icmp_counterpart(v6, t) {
                    Some(c) => (u16::from(t), u16::from(c), false),
                    None => (u16::from(t), u16::from(code), true),
                }
            }
            Proto::Unknown => (0, 0, false),
            _ => (sport, dport, false),
        };
        let (key, src_is_a) = FlowKey::new(src, sport, dst, dport, f.protocol, one_way);
        let hash = self.hash(&key);
        let found = {
            let (conns, v6) = (&self.conns, &self.v6addrs);
            self.table.find(hash, |i| {
                conns[i as usize]
                    .as_ref()
                    .is_some_and(|c| c.key.matches(&key, hash, i, v6))
            })
        };
        let idle = self.cfg.flows.idle_timeout;
        let idx = match found {
            Some(idx) => {
                let conn = self.conns[idx as usize].as_ref()?;
                let is_orig = src_is_a == conn.orig_is_a();
                let bit = if is_orig { 1 } else { 2 };
                let restart = match &conn.state {
                    // A direction that ended and starts again after the
                    // connection's last packet is a new connection.
                    ProtoState::Flow(st) => {
                        (st.ended & bit != 0 && side.start > conn.last)
                            || side.start > conn.last.saturating_add(idle)
                    }
                    // A connection seen in packets is never mixed with
                    // records.
                    _ => true,
                };
                if restart {
                    self.flow_stats.restarted += 1;
                    self.remove(idx, EndReason::EndOfFlow);
                    self.create_from_flow(f, side, key, hash, src_is_a, proto, sport, dport)?
                } else {
                    self.flow_stats.stitched += 1;
                    idx
                }
            }
            None => self.create_from_flow(f, side, key, hash, src_is_a, proto, sport, dport)?,
        };

        let conn = self.conns[idx as usize].as_mut()?;
        let ProtoState::Flow(mut st) = conn.state else {
            return None;
        };
        let mut is_orig = src_is_a == conn.orig_is_a();
        let bit = if is_orig { 1u8 } else { 2 };
        if st.seen & bit == 0 && st.seen != 0 && !is_orig {
            // The reverse direction's first record: it may show that it
            // started first.
            let earlier = side.start < conn.start;
            let tie = side.start == conn.start;
            let (o_port, r_port) = (conn.orig_port(), conn.resp_port());
            let flip = earlier || (tie && tie_says_flip(&self.cfg, proto, v6, o_port, r_port));
            if flip {
                conn.set_orig_is_a(!conn.orig_is_a());
                conn.counts.swap();
                st.flip();
                st.resp_first = conn.start.0;
                conn.start = side.start;
                is_orig = true;
            }
        }
        let s = if is_orig { ORIG } else { RESP };
        let bit = 1u8 << s;
        if st.seen & bit == 0 && s == RESP {
            st.resp_first = side.start.0;
        }
        st.seen |= bit;
        st.flags[s] |= side.tcp_flags;
        let sampling = f.sampling.max(1);
        st.sampling = st.sampling.max(sampling);
        let scale = u64::from(sampling);
        conn.counts.add(
            s,
            side.packets.saturating_mul(scale),
            side.octets.saturating_mul(scale),
        );
        if side.start < conn.start {
            conn.start = side.start;
        }
        if side.end > conn.last {
            conn.last = side.end;
        }
        let ended = match reason {
            Some(EndReason::Active) => false,
            Some(_) => true,
            None => proto == Proto::Tcp && side.tcp_flags & (FIN | RST) != 0,
        };
        let was_ended = st.has_ended();
        if ended {
            st.ended |= bit;
        } else {
            st.ended &= !bit;
        }
        let now_ended = st.has_ended();
        conn.state = ProtoState::Flow(st);
        let cref = ConnRef {
            index: idx,
            uid_state: conn.uid_state,
            resp_port: conn.resp_port(),
            is_orig,
            accepted: true,
        };
        if now_ended && !was_ended {
            let delay = self.cfg.flows.end_delay.as_secs_f64();
            let mut ctx = TimerCtx {
                wheel: &mut self.wheel,
                idx,
                meta: &mut self.meta[idx as usize],
                cfg: &self.cfg,
                now: conn.last,
            };
            // A later record that reopens a direction cancels this.
            ctx.cancel_analyzer_timers();
            let at = conn.last.as_zeek_secs().max(self.now.as_zeek_secs()) + delay;
            ctx.arm(TimerKind::Delete, at);
        } else if was_ended && !now_ended {
            self.meta[idx as usize].analyzer_epoch =
                self.meta[idx as usize].analyzer_epoch.wrapping_add(1);
        }
        Some(cref)
    }

    #[allow(clippy::too_many_arguments)]
    fn create_from_flow(
        &mut self,
        f: &CollectedFlow,
        side: &FlowSide,
        key: FlowKey,
        hash: u64,
        src_is_a: bool,
        proto: Proto,
        sport: u16,
        dport: u16,
    ) -> Option<u32> {
        if !self.room_for_one() {
            return None;
        }
        let v6 = key.addr_a().is_ipv6();
        // Orientation of a lone record (see the module notes).
        let flip = match proto {
            // A SYN without ACK names the originator. Flags are ORed over
            // the record, so SYN|ACK may be a client's SYN and ACKs or a
            // server's SYN-ACK: the ports decide, as without a SYN.
            Proto::Tcp => {
                let f = side.tcp_flags;
                (f & SYN == 0 || f & ACK != 0) && {
                    let s = &self.cfg.tcp_server_ports;
                    s.contains(sport) && (!s.contains(dport) || (f & SYN == 0 && sport < dport))
                }
            }
            Proto::Udp => {
                let s = &self.cfg.udp_server_ports;
                s.contains(sport) && !s.contains(dport)
            }
            Proto::Icmp => icmp_is_reply(v6, sport as u8),
            Proto::Unknown => false,
        };
        let state = ProtoState::Flow(FlowState {
            sampling: 1,
            ..FlowState::default()
        });
        let times = [side.start, side.end];
        let idx = self.alloc_slot(super::SlotKind::new(&key, false));
        let mut conn = self.new_conn(
            &key,
            hash,
            idx,
            times,
            proto,
            src_is_a != flip,
            side.tos,
            state,
        );
        self.set_vlans(idx, &mut conn, f.vlan, None);
        let mut ctx = TimerCtx {
            wheel: &mut self.wheel,
            idx,
            meta: &mut self.meta[idx as usize],
            cfg: &self.cfg,
            now: side.start,
        };
        ctx.set_inactivity_timeout(&mut conn, Timeout::Flow);
        self.insert(conn, idx, hash);
        Some(idx)
    }
}

/// Orientation on a tie: true when the current originator looks like the
/// server (for ICMP, the "ports" are the types).
fn tie_says_flip(cfg: &TrackerConfig, proto: Proto, v6: bool, o_port: u16, r_port: u16) -> bool {
    match proto {
        Proto::Tcp => {
            let s = &cfg.tcp_server_ports;
            s.contains(o_port) && !s.contains(r_port)
        }
        Proto::Udp => {
            let s = &cfg.udp_server_ports;
            s.contains(o_port) && !s.contains(r_port)
        }
        Proto::Icmp => icmp_is_reply(v6, o_port as u8),
        Proto::Unknown => false,
    }
}

/// Payload bytes estimated from IP bytes: the smallest IP and transport
/// headers taken off each packet (options, if any, still count).
pub(crate) fn payload_estimate(proto: Proto, v6: bool, pkts: u64, ip_bytes: u64) -> u64 {
    let ip = if v6 { 40 } else { 20 };
    let l4 = match proto {
        Proto::Tcp => 20,
        Proto::Udp | Proto::Icmp => 8,
        Proto::Unknown => 0,
    };
    ip_bytes.saturating_sub(pkts.saturating_mul(ip + l4))
}

/// conn_state from the TCP flags each side's records carried (their order
/// is lost, so this is Zeek's state for the usual order of those flags).
pub(crate) fn flow_conn_state(proto: Proto, st: &FlowState) -> ConnState {
    let [o, r] = st.flags;
    let (o_seen, r_seen) = (st.seen & 1 != 0, st.seen & 2 != 0);
    match proto {
        Proto::Udp => match (o_seen, r_seen) {
            (true, true) => ConnState::SF,
            (true, false) => ConnState::S0,
            (false, true) => ConnState::SHR,
            (false, false) => ConnState::OTH,
        },
        Proto::Tcp => {
            let o_syn = o & SYN != 0;
            let r_synack = r & SYN != 0;
            let fin = |x: u8| x & FIN != 0;
            let rst = |x: u8| x & RST != 0;
            if o_syn {
                if !r_synack {
                    if rst(r) {
                        ConnState::REJ
                    } else if rst(o) {
                        ConnState::RSTOS0
                    } else if fin(o) {
                        ConnState::SH
                    } else if r_seen {
                        ConnState::OTH
                    } else {
                        ConnState::S0
                    }
                } else if rst(o) {
                    ConnState::RSTO
                } else if rst(r) {
                    ConnState::RSTR
                } else {
                    match (fin(o), fin(r)) {
                        (true, true) => ConnState::SF,
                        (true, false) => ConnState::S2,
                        (false, true) => ConnState::S3,
                        (false, false) => ConnState::S1,
                    }
                }
            } else if r_synack && !o_seen {
                if rst(r) {
                    ConnState::RSTRH
                } else if fin(r) {
                    ConnState::SHR
                } else {
                    ConnState::OTH
                }
            } else if rst(o) {
                ConnState::RSTO
            } else if rst(r) {
                ConnState::RSTR
            } else {
                ConnState::OTH
            }
        }
        _ => ConnState::OTH,
    }
}

/// History letters the flags allow, in the usual order: S (SYN), h
/// (SYN-ACK), A/a (ACK), F/f (FIN), R/r (RST); UDP gets D/d for a side
/// that sent packets, as Zeek gives every UDP packet. A side that sent
/// one packet shows its flags exactly: Zeek gives a SYN, FIN or RST
/// packet its own letter and no `A`, so a refused connection is `Sr` as in
/// Zeek, not `Sar`.
pub(crate) fn flow_history(proto: Proto, st: &FlowState, pkts: [u64; 2]) -> History {
    let mut h = History::new();
    let [o, r] = st.flags;
    // An ACK letter needs a packet that carried ACK and no SYN/FIN/RST:
    // with one packet, the flags are that packet's.
    let pure_ack = |f: u8, n: u64| f & ACK != 0 && (n != 1 || f & (SYN | FIN | RST) == 0);
    match proto {
        Proto::Tcp => {
            let letters = [
                (o & SYN != 0, b'S'),
                (r & SYN != 0, if r & ACK != 0 { b'h' } else { b's' }),
                (pure_ack(o, pkts[0]), b'A'),
                (pure_ack(r, pkts[1]), b'a'),
                (o & FIN != 0, b'F'),
                (r & FIN != 0, b'f'),
                (o & RST != 0, b'R'),
                (r & RST != 0, b'r'),
            ];
            for (on, c) in letters {
                if on {
                    h.push(c);
                }
            }
        }
        Proto::Udp => {
            if st.seen & 1 != 0 {
                h.push(b'D');
            }
            if st.seen & 2 != 0 {
                h.push(b'd');
            }
        }
        _ => {}
    }
    h
}
