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
//! State lives beside the connections in a dense array (only when export is
//! on): counters at the previous record and, per direction, the first and
//! last packet, TCP flags, ToS and ICMP type of the open record. One timer
//! per connection, armed lazily like the inactivity timer.

use connwatch_wire::netflow::{EndReason, FlowRecord, FlowSide};
use connwatch_wire::Timestamp;

use super::{ConnTracker, TimerItem, TimerKind};
use crate::conn::{Conn, ORIG, RESP};
use crate::record::{ConnEvent, Proto};

/// Export state of one connection slot. Sides are the flow key's A and B
/// (not originator and responder, which a flip swaps).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ExportState {
    /// Packets and IP bytes per side when the previous record was cut.
    base_pkts: [u64; 2],
    base_bytes: [u64; 2],
    /// First and last packet of the open record per side (0: none yet).
    first: [i64; 2],
    last: [i64; 2],
    flags: [u8; 2],
    tos: [u8; 2],
    icmp: [u16; 2],
    /// Start of the open record; `None` when closed (idle).
    open_since: Option<i64>,
    /// Bumped when the export timer is replaced.
    epoch: u8,
}

impl ExportState {
    /// Whether an export timer is still the live one.
    pub(super) fn timer_current(xstate: &[ExportState], item: &TimerItem) -> bool {
        xstate
            .get(item.idx as usize)
            .is_some_and(|s| s.epoch == item.epoch && s.open_since.is_some())
    }
}

impl ConnTracker {
    /// A new connection (slot `idx`) at `ts`: a fresh record.
    pub(super) fn export_new(&mut self, idx: u32, ts: Timestamp) {
        if self.cfg.export.is_none() {
            return;
        }
        let i = idx as usize;
        if self.xstate.len() <= i {
            self.xstate.resize(i + 1, ExportState::default());
        }
        let epoch = self.xstate[i].epoch.wrapping_add(1);
        self.xstate[i] = ExportState {
            epoch,
            ..ExportState::default()
        };
        self.export_open(idx, ts);
    }

    /// Opens a record at `ts` and arms its timer.
    fn export_open(&mut self, idx: u32, ts: Timestamp) {
        let Some(x) = self.cfg.export else {
            return;
        };
        let st = &mut self.xstate[idx as usize];
        st.open_since = Some(ts.0);
        st.epoch = st.epoch.wrapping_add(1);
        let item = TimerItem {
            idx,
            gen: self.meta[idx as usize].gen,
            kind: TimerKind::Export,
            epoch: st.epoch,
        };
        let at = ts.0 + x.inactive.0.min(x.active.0);
        self.wheel.push(Timestamp(at).as_zeek_secs(), item);
    }

    /// A packet of the connection at slot `idx` was counted: `a_side` is
    /// true when it came from the key's A side.
    #[inline]
    pub(super) fn export_packet(
        &mut self,
        idx: u32,
        a_side: bool,
        ts: Timestamp,
        tcp_flags: u8,
        tos: u8,
        icmp: u16,
    ) {
        let s = usize::from(!a_side);
        let Some(st) = self.xstate.get_mut(idx as usize) else {
            return;
        };
        let reopen = st.open_since.is_none();
        if st.first[s] == 0 {
            st.first[s] = ts.0;
            st.tos[s] = tos;
            st.icmp[s] = icmp;
        }
        st.last[s] = st.last[s].max(ts.0);
        st.flags[s] |= tcp_flags;
        if reopen {
            self.export_open(idx, ts);
        }
    }

    /// The export timer of `idx` fired at network time `now`.
    pub(super) fn export_timer(&mut self, item: TimerItem, now: Timestamp) {
        let Some(x) = self.cfg.export else {
            return;
        };
        let Some(st) = self.xstate.get(item.idx as usize) else {
            return;
        };
        let Some(open) = st.open_since else {
            return;
        };
        let last = st.last[0].max(st.last[1]).max(open);
        let idle_at = last + x.inactive.0;
        let active_at = open + x.active.0;
        if idle_at <= now.0 && idle_at <= active_at {
            self.export_cut(item.idx, EndReason::Idle, Timestamp(idle_at));
            self.xstate[item.idx as usize].open_since = None;
        } else if active_at <= now.0 {
            self.export_cut(item.idx, EndReason::Active, Timestamp(active_at));
            let st = &mut self.xstate[item.idx as usize];
            st.open_since = Some(active_at);
            let next = (last + x.inactive.0)
                .min(active_at + x.active.0)
                .max(active_at);
            self.wheel.push(Timestamp(next).as_zeek_secs(), item);
        } else {
            self.wheel
                .push(Timestamp(idle_at.min(active_at)).as_zeek_secs(), item);
        }
    }

    /// The connection at `idx` is being removed: its last record.
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
        if let Some(st) = self.xstate.get_mut(idx as usize) {
            if let Some(rec) = flow_record(st, conn, reason, now) {
                self.events.push(ConnEvent::Flow(rec));
            }
            st.open_since = None;
            st.epoch = st.epoch.wrapping_add(1);
        }
    }

    /// Cuts the open record of `idx` (still tracked) and emits it.
    fn export_cut(&mut self, idx: u32, reason: EndReason, at: Timestamp) {
        let Some(conn) = self.conns.get(idx as usize).and_then(Option::as_ref) else {
            return;
        };
        let Some(st) = self.xstate.get_mut(idx as usize) else {
            return;
        };
        if let Some(rec) = flow_record(st, conn, reason, at) {
            self.events.push(ConnEvent::Flow(rec));
        }
    }
}

/// The record for the interval since the previous one (`None` if no packet
/// in it), oriented originator → responder, the responder's side as the
/// reverse; the state is reset for the next interval.
fn flow_record(
    st: &mut ExportState,
    conn: &Conn,
    reason: EndReason,
    at: Timestamp,
) -> Option<FlowRecord> {
    {
        // Sides A/B of the key in originator/responder order.
        let (o, r) = if conn.orig_is_a { (0, 1) } else { (1, 0) };
        let pkts = [conn.pkts[ORIG], conn.pkts[RESP]];
        let bytes = [conn.ip_bytes[ORIG], conn.ip_bytes[RESP]];
        let side = |st: &ExportState, ab: usize, dir: usize| FlowSide {
            packets: pkts[dir].saturating_sub(st.base_pkts[ab]),
            octets: bytes[dir].saturating_sub(st.base_bytes[ab]),
            start: Timestamp(if st.first[ab] == 0 {
                at.0
            } else {
                st.first[ab]
            }),
            end: Timestamp(if st.last[ab] == 0 { at.0 } else { st.last[ab] }),
            tcp_flags: st.flags[ab],
            tos: st.tos[ab],
            icmp_type_code: st.icmp[ab],
        };
        let fwd = side(st, o, ORIG);
        let rev = side(st, r, RESP);
        // The next interval starts from here.
        st.base_pkts[o] = pkts[ORIG];
        st.base_pkts[r] = pkts[RESP];
        st.base_bytes[o] = bytes[ORIG];
        st.base_bytes[r] = bytes[RESP];
        st.first = [0; 2];
        st.last = [0; 2];
        st.flags = [0; 2];
        if fwd.packets == 0 && rev.packets == 0 {
            return None;
        }
        let (src, sp) = conn.orig();
        let (dst, dp) = conn.resp();
        let (src_port, dst_port) = if conn.proto == Proto::Icmp {
            (0, fwd.icmp_type_code)
        } else {
            (sp, dp)
        };
        Some(FlowRecord {
            src,
            dst,
            src_port,
            dst_port,
            protocol: conn.ip_proto,
            vlan: conn.vlan,
            flow_id: conn.uid().lo ^ (u64::from(conn.uid().hi) << 32),
            reason,
            forward: fwd,
            reverse: Some(rev),
        })
    }
}
