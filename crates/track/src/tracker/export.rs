//! Flow export: cutting connections into NetFlow/IPFIX flow records by the
//! active and inactive timeouts (shared/spec/netflow-ipfix.md §4.4).
//!
//! A connection is exported as a sequence of records, each covering an
//! interval of it, with delta counters, so the records of one connection add
//! up to its conn.log totals:
//!
//! - **active timeout**: a record that has been open this long is cut and
//!   exported (`flowEndReason` 2); the next one starts where it ended, so a
//!   2-hour connection with a 60 s active timeout gives 120 records per
//!   direction;
//! - **inactive timeout**: no packet in either direction for this long, the
//!   record is exported (1) and closed; the next packet opens a new one;
//! - when the connection ends: FIN/RST seen (3), idle removal (1), end of
//!   input or shutdown (4), evicted from a full table (5).
//!
//! Idleness is judged per connection, not per direction: a router's
//! unidirectional cache may close one direction while the other still
//! talks; here both directions of one interval are exported together (a
//! direction without packets in the interval gets no record).
//!
//! Nothing is done per packet: a record's counters are deltas of the
//! connection's own, its times are the connection's first/last packet in
//! the interval, its TCP flags come from the history letters added in it.
//! State lives beside the connections in a dense array (only when export is
//! on) and is touched when a record is cut. One timer per connection, armed
//! lazily like the inactivity timer. The one packet-path cost is a flag in
//! the connection: a packet for a record the inactive timeout closed opens
//! a new one.

use crate::stored_key::V6Addrs;
use connwatch_wire::netflow::{EndReason, FlowRecord, FlowSide};
use connwatch_wire::Timestamp;

use super::{ConnTracker, TimerItem, TimerKind};
use crate::conn::{Conn, EXPORT_CLOSED, EXPORT_STATE, ORIG, RESP};
use crate::record::Proto;

/// Export state of one connection slot, touched only when a record is
/// cut, never per packet. Sides are the flow key's A and B (not originator
/// and responder, which a flip swaps).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ExportState {
    /// Packets and IP bytes per side when the previous record was cut.
    base_pkts: [u64; 2],
    base_bytes: [u64; 2],
    /// Start of the open record (network ns); `None` when closed (idle).
    /// A connection without state has one open since its start.
    open_since: Option<i64>,
    /// History letters already accounted for in earlier records.
    hist_used: u8,
    /// IP ToS of the connection's first packet.
    tos: u8,
    /// Bumped when the export timer is replaced.
    epoch: u8,
}

impl ExportState {
    /// Whether an export timer is still the live one.
    pub(super) fn timer_current(xstate: &[ExportState], item: &TimerItem) -> bool {
        xstate
            .get(item.idx as usize)
            .is_some_and(|s| s.epoch == item.epoch() && s.open_since.is_some())
    }
}

impl ConnTracker {
    /// A new connection (slot `idx`) at `ts`: its record is open; the
    /// first check waits in the creation-ordered queue. Out of line: most
    /// runs export nothing, and `create` checks before calling.
    #[inline(never)]
    pub(super) fn export_new(&mut self, idx: u32, ts: Timestamp) {
        let Some(x) = self.cfg.export else {
            return;
        };
        let at = Timestamp(ts.0 + x.inactive.0.min(x.active.0)).as_zeek_secs();
        let entry = (at, idx, self.meta[idx as usize].gen);
        if self.export_first.back().is_none_or(|e| e.0 <= at) {
            self.export_first.push_back(entry);
        } else {
            let pos = self.export_first.partition_point(|e| e.0 <= at);
            self.export_first.insert(pos, entry);
        }
    }

    /// The export state of a live connection, set up on first use: a
    /// record open since the connection's start, nothing exported yet.
    fn export_state(&mut self, idx: u32) -> Option<&mut ExportState> {
        let conn = self.conns.get_mut(idx as usize)?.as_mut()?;
        let i = idx as usize;
        if conn.cflags & EXPORT_STATE == 0 {
            conn.cflags |= EXPORT_STATE;
            if self.xstate.len() <= i {
                self.xstate.resize(i + 1, ExportState::default());
            }
            let epoch = self.xstate[i].epoch;
            self.xstate[i] = ExportState {
                open_since: Some(conn.start.0),
                tos: conn.export_tos,
                epoch,
                ..ExportState::default()
            };
        }
        self.xstate.get_mut(i)
    }

    /// A fresh export timer identity for `idx`: earlier timers of the
    /// connection go stale.
    fn export_item(&mut self, idx: u32) -> Option<TimerItem> {
        let gen = self.meta[idx as usize].gen;
        let st = self.export_state(idx)?;
        st.epoch = st.epoch.wrapping_add(1);
        Some(TimerItem::new(idx, gen, TimerKind::Export, st.epoch))
    }

    /// A connection reached its first check (inactive timeout after its
    /// start): cut if due, else hand it to the wheel.
    pub(super) fn export_first_check(&mut self, idx: u32, now: Timestamp) {
        if let Some(item) = self.export_item(idx) {
            self.export_timer(item, now);
        }
    }

    /// A packet arrived for a connection whose record the inactive timeout
    /// closed (`EXPORT_CLOSED`): a new record opens. The only export work
    /// on the packet path, and only after an idle spell.
    #[cold]
    pub(super) fn export_reopen(&mut self, idx: u32, ts: Timestamp) {
        let Some(x) = self.cfg.export else {
            return;
        };
        if let Some(Some(c)) = self.conns.get_mut(idx as usize) {
            c.cflags &= !EXPORT_CLOSED;
        }
        if let Some(st) = self.export_state(idx) {
            st.open_since = Some(ts.0);
        }
        if let Some(item) = self.export_item(idx) {
            let at = Timestamp(ts.0 + x.inactive.0.min(x.active.0));
            self.wheel.push(at.as_zeek_secs(), item);
        }
    }

    /// The export check of `item.idx` at network time `now`: cut by the
    /// inactive or the active timeout, or look again later.
    pub(super) fn export_timer(&mut self, item: TimerItem, now: Timestamp) {
        let Some(x) = self.cfg.export else {
            return;
        };
        let (Some(st), Some(Some(conn))) = (
            self.xstate.get(item.idx as usize),
            self.conns.get(item.idx as usize),
        ) else {
            return;
        };
        let Some(open) = st.open_since else {
            return;
        };
        let last = conn.last.0.max(open);
        let idle_at = last + x.inactive.0;
        let active_at = open + x.active.0;
        if idle_at <= now.0 && idle_at <= active_at {
            self.export_cut(item.idx, EndReason::Idle, Timestamp(idle_at));
            self.xstate[item.idx as usize].open_since = None;
            if let Some(Some(c)) = self.conns.get_mut(item.idx as usize) {
                c.cflags |= EXPORT_CLOSED;
            }
        } else if active_at <= now.0 {
            self.export_cut(item.idx, EndReason::Active, Timestamp(active_at));
            self.xstate[item.idx as usize].open_since = Some(active_at);
            let next = (last + x.inactive.0)
                .min(active_at + x.active.0)
                .max(active_at);
            self.wheel.push(Timestamp(next).as_zeek_secs(), item);
        } else {
            self.wheel
                .push(Timestamp(idle_at.min(active_at)).as_zeek_secs(), item);
        }
    }

    /// The connection at `idx` is being removed: its last record. A
    /// connection that never had export state (most: they end before their
    /// first check) needs no look at the state array.
    pub(super) fn export_final(
        &mut self,
        idx: u32,
        conn: &Conn,
        reason: EndReason,
        now: Timestamp,
    ) {
        if self.cfg.export.is_none() {
            return;
        }
        let vlan = vlan_of(&self.vlans, idx, conn);
        let mut fresh = ExportState {
            open_since: Some(conn.start.0),
            tos: conn.export_tos,
            ..ExportState::default()
        };
        let st = if conn.cflags & EXPORT_STATE != 0 {
            match self.xstate.get_mut(idx as usize) {
                Some(st) => st,
                None => &mut fresh,
            }
        } else {
            &mut fresh
        };
        if st.open_since.is_none() && conn.cflags & EXPORT_CLOSED == 0 {
            st.open_since = Some(conn.start.0);
        }
        let rec = flow_record(st, conn, &self.v6addrs, vlan, reason, now);
        st.open_since = None;
        st.epoch = st.epoch.wrapping_add(1);
        if let Some(rec) = rec {
            self.flows.push(rec);
        }
    }

    /// Cuts the open record of `idx` (still tracked) at `at` and emits it.
    fn export_cut(&mut self, idx: u32, reason: EndReason, at: Timestamp) {
        let Some(conn) = self.conns.get(idx as usize).and_then(Option::as_ref) else {
            return;
        };
        let vlan = vlan_of(&self.vlans, idx, conn);
        let Some(st) = self.xstate.get_mut(idx as usize) else {
            return;
        };
        if let Some(rec) = flow_record(st, conn, &self.v6addrs, vlan, reason, at) {
            self.flows.push(rec);
        }
    }
}

/// The outer VLAN of `conn` (slot `idx`), from the tracker's side table.
fn vlan_of(
    vlans: &hashbrown::HashMap<u32, [Option<u16>; 2]>,
    idx: u32,
    conn: &Conn,
) -> Option<u16> {
    if conn.cflags & crate::conn::CF_VLAN != 0 {
        vlans.get(&idx).and_then(|v| v[0])
    } else {
        None
    }
}

/// TCP flags each direction showed (`[originator, responder]`), from the
/// history letters added in the interval (Zeek records each kind once per
/// direction, upper case for the originator: SYN, SYN-ACK, ACK, data,
/// FIN, RST), in one pass; and whether the whole history shows the
/// handshake's SYN-ACK (`h`/`H`).
fn history_flags(history: &[u8], from: usize) -> ([u8; 2], bool) {
    const FIN: u8 = 0x01;
    const SYN: u8 = 0x02;
    const RST: u8 = 0x04;
    const PSH: u8 = 0x08;
    const ACK: u8 = 0x10;
    let mut f = [0u8; 2];
    let mut established = false;
    for (i, &l) in history.iter().enumerate() {
        let lower = l | 0x20;
        established |= lower == b'h';
        if i < from {
            continue;
        }
        f[usize::from(l >= b'a')] |= match lower {
            b's' => SYN,
            b'h' => SYN | ACK,
            b'a' => ACK,
            b'd' => PSH | ACK,
            b'f' => FIN,
            b'r' => RST,
            _ => 0,
        };
    }
    (f, established)
}

/// The record for the interval since the previous one (`None` if no packet
/// in it), oriented originator → responder, the responder's side as the
/// reverse; the state moves on to the next interval. Times are the
/// record's (its first and last packet, either direction): per-direction
/// times and the reverse ToS are not kept, to keep the packet path free of
/// export work.
fn flow_record(
    st: &mut ExportState,
    conn: &Conn,
    v6: &V6Addrs,
    vlan: Option<u16>,
    reason: EndReason,
    at: Timestamp,
) -> Option<FlowRecord> {
    let (o, r) = if conn.orig_is_a() { (0, 1) } else { (1, 0) };
    let pkts = [conn.counts.pkts(ORIG), conn.counts.pkts(RESP)];
    let bytes = [conn.counts.ip_bytes(ORIG), conn.counts.ip_bytes(RESP)];
    let history = conn.history.as_bytes();
    let is_tcp = conn.proto == Proto::Tcp;
    let (flags, established) = if is_tcp {
        history_flags(history, usize::from(st.hist_used))
    } else {
        ([0; 2], false)
    };
    let start = Timestamp(st.open_since.unwrap_or(conn.start.0).max(conn.start.0));
    let end = Timestamp(conn.last.0.min(at.0).max(start.0));
    let (icmp_fwd, icmp_rev) = if conn.proto == Proto::Icmp {
        // Zeek's ICMP "ports": the originator's type, then the counterpart
        // type for request/reply pairs (code unknown: 0), else the code.
        let (a, t) = conn.orig(v6);
        let p = conn.resp_port();
        match super::icmp_counterpart(a.is_ipv6(), t as u8) {
            Some(c) if u16::from(c) == p => (t << 8, p << 8),
            _ => (t << 8 | (p & 0xff), 0),
        }
    } else {
        (0, 0)
    };
    // A direction that sent packets on an established connection shows ACK.
    let side = |ab: usize, dir: usize, icmp: u16| FlowSide {
        packets: pkts[dir].saturating_sub(st.base_pkts[ab]),
        octets: bytes[dir].saturating_sub(st.base_bytes[ab]),
        start,
        end,
        tcp_flags: flags[dir]
            | if established && pkts[dir] > st.base_pkts[ab] {
                0x10
            } else {
                0
            },
        tos: st.tos,
        icmp_type_code: icmp,
    };
    let fwd = side(o, ORIG, icmp_fwd);
    let rev = side(r, RESP, icmp_rev);
    st.base_pkts[o] = pkts[ORIG];
    st.base_pkts[r] = pkts[RESP];
    st.base_bytes[o] = bytes[ORIG];
    st.base_bytes[r] = bytes[RESP];
    st.hist_used = u8::try_from(history.len()).unwrap_or(u8::MAX);
    if fwd.packets == 0 && rev.packets == 0 {
        return None;
    }
    let (src, sp) = conn.orig(v6);
    let (dst, dp) = conn.resp(v6);
    let (src_port, dst_port) = if conn.proto == Proto::Icmp {
        (0, icmp_fwd)
    } else {
        (sp, dp)
    };
    Some(FlowRecord {
        src,
        dst,
        src_port,
        dst_port,
        protocol: conn.ip_proto(),
        vlan,
        flow_id: conn.uid().lo ^ (u64::from(conn.uid().hi) << 32),
        reason,
        forward: fwd,
        reverse: Some(rev),
    })
}

#[cfg(test)]
mod tests {
    use super::history_flags;

    #[test]
    fn flags_from_history_letters() {
        // S A D F by the originator, h a d f by the responder.
        assert_eq!(history_flags(b"ShADadFf", 0), ([0x1b, 0x1b], true));
        // Only what was added since letter 4, and still established.
        assert_eq!(history_flags(b"ShADadFf", 4), ([0x01, 0x19], true));
        // A rejected attempt: SYN, then the responder's RST.
        assert_eq!(history_flags(b"Sr", 0), ([0x02, 0x04], false));
        // Other letters (C, T, ^, ...) carry no flag.
        assert_eq!(history_flags(b"^CcTt", 0), ([0, 0], false));
    }
}
