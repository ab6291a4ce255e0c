//! TCP as Zeek tracks it: endpoint states, sequence-space sizes, history
//! letters, content gaps and the close logic.
//!
//! A port of the rules in `TCPSessionAdapter.cc`, `TCP_Endpoint.cc` and
//! `TCP_Reassembler.cc` (shared/spec/zeek-conn.md §3–§7). Zeek's reassembler
//! keeps payload; for conn.log only *which* sequence ranges arrived matters,
//! so the reassembler here is a model over sequence intervals that reports
//! the same gaps (`G`/`g`, `missed_bytes`) without storing a byte.

use connwatch_wire::TcpFlags;

use crate::config::Timeout;
use crate::conn::{Conn, ORIG, RESP};
use crate::record::ConnState;
use crate::tracker::{TimerCtx, TimerKind};

mod endpoint;
mod reassembly;

use endpoint::{seq_delta, Endpoint};
use reassembly::GapReport;

/// Sequence jumps larger than this in SYN/RST packets are not trusted.
const TOO_LARGE_SEQ_DELTA: i32 = 1_048_576;

// History bits (TCP_Endpoint.h). Zeek shifts the responder's by 16 in a
// 32-bit word; seven bits a side fit in 16 (`Conn::hist_seen`), so they are
// shifted by 8.
const HIST_SYN_PKT: u16 = 0x1;
const HIST_FIN_PKT: u16 = 0x2;
const HIST_RST_PKT: u16 = 0x4;
const HIST_FIN_RST_PKT: u16 = 0x8;
const HIST_DATA_PKT: u16 = 0x10;
const HIST_ACK_PKT: u16 = 0x20;
const HIST_MULTI_FLAG_PKT: u16 = 0x40;

#[cfg(test)]
thread_local! {
    /// Tests turn the fast path off to compare it with the general one.
    pub(crate) static FAST_PATH: core::cell::Cell<bool> = const { core::cell::Cell::new(true) };
}

/// Whether `process` may take [`TcpConn::process_established`]: always,
/// except in tests that compare it with the general path.
#[inline(always)]
fn fast_path_enabled() -> bool {
    #[cfg(test)]
    return FAST_PATH.get();
    #[cfg(not(test))]
    true
}

/// A TCP endpoint's state (`TCP_ENDPOINT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum EpState {
    #[default]
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

fn is_handshake(s: EpState) -> bool {
    matches!(
        s,
        EpState::Inactive | EpState::SynSent | EpState::SynAckSent
    )
}

/// Per-connection TCP state.
#[derive(Debug, Clone)]
pub(crate) struct TcpConn {
    pub ep: [Endpoint; 2],
    /// Both endpoints' out-of-order intervals (reassembler model).
    holes: endpoint::Holes,
    is_partial: bool,
    first_packet_seen: u8,
    pub is_active: bool,
    close_deferred: bool,
    deferred_gen_event: bool,
    /// Service detection (`crate::service`).
    pub det: crate::service::TcpDetect,
    /// conn.log `missed_bytes`: only TCP has content gaps, so it lives
    /// here rather than in every `Conn`.
    pub missed_bytes: u64,
}

/// What a segment looks like to the state machine.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segment {
    pub flags: TcpFlags,
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    /// Payload length per the IP header.
    pub len: u32,
    /// The payload was captured in full.
    pub complete: bool,
}

impl TcpConn {
    pub fn new() -> Self {
        TcpConn {
            ep: [Endpoint::new(), Endpoint::new()],
            holes: endpoint::Holes::default(),
            is_partial: false,
            first_packet_seen: 0,
            is_active: true,
            close_deferred: false,
            deferred_gen_event: false,
            det: crate::service::TcpDetect::default(),
            missed_bytes: 0,
        }
    }

    /// The roles were swapped (Zeek's `TCPSessionAdapter::FlipRoles`).
    /// Rare (a late flip): out of line.
    #[cold]
    #[inline(never)]
    pub fn flip(&mut self) {
        self.ep.swap(0, 1);
        self.holes.flip();
        self.det.flip();
        let f = self.first_packet_seen;
        self.first_packet_seen = ((f & 1) << 1) | ((f & 2) >> 1);
        self.is_partial = false;
    }

    fn is_closed(&self) -> bool {
        self.ep[ORIG].did_close || self.ep[RESP].did_close
    }

    /// The connection is over though still tracked (close delay, linger):
    /// a side reset it, or both sides closed. A half-closed connection is
    /// not over; it may carry data one way for hours.
    pub fn has_ended(&self) -> bool {
        let st = |i: usize| self.ep[i].state;
        st(ORIG) == EpState::Reset
            || st(RESP) == EpState::Reset
            || (st(ORIG) == EpState::Closed && st(RESP) == EpState::Closed)
    }

    fn both_closed(&self) -> bool {
        self.ep[ORIG].did_close && self.ep[RESP].did_close
    }

    /// Zeek's `IsReuse`: does this SYN start a new connection on the same
    /// 5-tuple? `is_orig` is the packet's direction in the current roles.
    pub fn is_reuse(&self, flags: TcpFlags, seq: u32) -> bool {
        if !flags.syn() {
            return false;
        }
        let mut conn_orig = ORIG;
        if flags.ack() {
            if self.ep[ORIG].state != EpState::Inactive {
                return false;
            }
            conn_orig = RESP;
        }
        if !self.is_closed() {
            let o = &self.ep[conn_orig];
            if seq == o.start_seq {
                return false;
            }
            if !flags.ack()
                && o.state == EpState::SynAckSent
                && self.ep[RESP].state == EpState::Inactive
                && seq == self.ep[RESP].start_seq
            {
                return false;
            }
        }
        true
    }

    fn set_partial_status(&mut self, flags: TcpFlags, is_orig: bool) {
        if is_orig {
            if self.first_packet_seen & 1 == 0 {
                self.is_partial = !flags.syn() || flags.ack();
            }
        } else if self.first_packet_seen & 2 == 0 && !self.is_partial {
            self.is_partial = !flags.syn();
        }
    }

    fn set_state(&mut self, conn: &mut Conn, ctx: &mut TimerCtx<'_>, e: usize, new: EpState) {
        let cur = self.ep[e].state;
        if new != cur {
            if !is_handshake(new) && is_handshake(cur) && is_handshake(self.ep[1 - e].state) {
                ctx.set_inactivity_timeout(conn, Timeout::Tcp);
            }
            self.ep[e].prev_state = cur;
            self.ep[e].state = new;
        }
    }

    fn side_mask(side: usize, mask: u16) -> u16 {
        if side == ORIG {
            mask
        } else {
            mask << 8
        }
    }

    fn letter(side: usize, c: u8) -> u8 {
        if side == ORIG {
            c
        } else {
            c.to_ascii_lowercase()
        }
    }

    /// A bad checksum from `side` (scaled `C`/`c`). Rare: out of line.
    #[cold]
    #[inline(never)]
    pub fn checksum_error(&mut self, conn: &mut Conn, side: usize) {
        let mut n = self.ep[side].chk_cnt;
        conn.scaled_history(Self::letter(side, b'C'), &mut n);
        self.ep[side].chk_cnt = n;
    }

    fn update_history(
        &mut self,
        conn: &mut Conn,
        e: usize,
        flags: TcpFlags,
        rel_seq: u64,
        len: u32,
    ) {
        let bits = u8::from(flags.syn()) + u8::from(flags.fin()) + u8::from(flags.rst());
        let m = |mask| Self::side_mask(e, mask);
        let l = |c| Self::letter(e, c);
        if bits > 1 {
            if flags.fin() && flags.rst() {
                conn.check_history(m(HIST_FIN_RST_PKT), l(b'I'));
            } else {
                conn.check_history(m(HIST_MULTI_FLAG_PKT), l(b'Q'));
            }
        } else if bits == 1 {
            let ep = &mut self.ep[e];
            if flags.syn() {
                let code = if flags.ack() { b'H' } else { b'S' };
                if conn.check_history(m(HIST_SYN_PKT), l(code))
                    && rel_seq as u32 != ep.hist_last_syn
                {
                    conn.add_history(l(code));
                }
                ep.hist_last_syn = rel_seq as u32;
            }
            if flags.fin() {
                let end = rel_seq.wrapping_add(u64::from(len)) as u32;
                if conn.check_history(m(HIST_FIN_PKT), l(b'F')) && end != ep.hist_last_fin {
                    conn.add_history(l(b'F'));
                }
                ep.hist_last_fin = end;
            }
            if flags.rst() {
                if conn.check_history(m(HIST_RST_PKT), l(b'R'))
                    && rel_seq as u32 != ep.hist_last_rst
                {
                    conn.add_history(l(b'R'));
                }
                ep.hist_last_rst = rel_seq as u32;
            }
        } else if len > 0 {
            conn.check_history(m(HIST_DATA_PKT), l(b'D'));
        } else if flags.ack() {
            conn.check_history(m(HIST_ACK_PKT), l(b'A'));
        }
    }

    /// Processes one segment from the side that is `is_orig` in the current
    /// roles. Returns the sender's side index after processing (roles may
    /// have been flipped), for the packet counters.
    pub fn process(
        &mut self,
        conn: &mut Conn,
        ctx: &mut TimerCtx<'_>,
        is_orig: bool,
        seg: &Segment,
    ) -> usize {
        let mut e = if is_orig { ORIG } else { RESP };
        let flags = seg.flags;
        let len = seg.len;

        // SYN-ACK-first rule (spec §5.2): a connection whose history is just
        // `H` is turned around by the first A or D, which is then recorded in
        // the new orientation.
        if conn.history.as_bytes() == b"H"
            && !flags.syn()
            && !flags.fin()
            && !flags.rst()
            && (len > 0 || flags.ack())
        {
            conn.flip_common();
            self.flip();
            conn.history.set(b"^h");
            conn.set_flipped_late();
            e = 1 - e;
        }

        self.set_partial_status(flags, e == ORIG);

        if self.process_established(conn, ctx, e, seg) {
            return e;
        }

        let mut seg_len = len;
        if flags.syn() {
            seg_len += 1;
        }
        if flags.fin() {
            seg_len += 1;
        }
        if flags.rst() {
            seg_len -= len;
        }
        let seq_one_past = seg.seq.wrapping_add(seg_len);
        self.init_endpoint(e, flags, seg.seq, seq_one_past);

        let (rel_seq, seq_underflow) = {
            let ep = &self.ep[e];
            ep.relative_seq(seg.seq, ep.last_seq, ep.seq_wraps)
        };

        self.update_history(conn, e, flags, rel_seq, len);

        // Zero windows (update_window): not with/after a RST, not after the
        // peer's FIN.
        if seg.window == 0
            && !flags.rst()
            && self.ep[1 - e].state != EpState::Closed
            && self.ep[e].state != EpState::Reset
        {
            let mut n = self.ep[e].win0_cnt;
            conn.scaled_history(Self::letter(e, b'W'), &mut n);
            self.ep[e].win0_cnt = n;
        }

        if !self.both_closed() {
            conn.last = ctx.now;
        }

        if flags.fin() {
            self.ep[e].fin_seen = true;
            self.ep[e].fin_seq = rel_seq.wrapping_add(u64::from(seg_len));
        }

        let p = 1 - e;
        let mut rel_ack = 0u64;
        if flags.ack() {
            if self.ep[p].state == EpState::Inactive {
                rel_ack = 1;
                let peer = &mut self.ep[p];
                let a = seg.ack.wrapping_sub(1);
                peer.start_seq = a;
                peer.ack_seq = a;
                peer.last_seq = a;
            } else {
                let peer = &self.ep[p];
                let (r, under) = peer.relative_seq(seg.ack, peer.ack_seq, peer.ack_wraps);
                if under {
                    rel_ack = 0;
                } else {
                    rel_ack = r;
                    if !flags.rst() {
                        let peer = &mut self.ep[p];
                        let delta = seq_delta(seg.ack, peer.ack_seq);
                        if !(seg.ack == 0 && delta > TOO_LARGE_SEQ_DELTA) && delta > 0 {
                            peer.update_ack_seq(seg.ack);
                        }
                    }
                }
            }
        }

        let delta_last = self.update_last_seq(conn, e, seq_one_past, flags, len);
        self.ep[e].done_something = true;

        let (mut e, mut p) = (e, p);
        let (do_close, gen_event) =
            self.update_state_machine(conn, ctx, &mut e, &mut p, seg, delta_last);

        let mut gaps = [GapReport::default(); 4];
        let mut ngaps = 0;
        if flags.ack() {
            self.ack_received(p, rel_ack, |g| {
                if ngaps < gaps.len() {
                    gaps[ngaps] = g;
                    ngaps += 1;
                }
            });
            self.check_eof(conn, ctx, p);
        }

        let rel_data_seq = if flags.syn() {
            rel_seq.wrapping_add(1)
        } else {
            rel_seq
        };
        if len > 0 && !flags.rst() && !seq_underflow && seg.complete {
            self.data_sent(e, rel_data_seq, u64::from(len));
        }
        self.check_eof(conn, ctx, e);

        if do_close {
            self.connection_closed(conn, ctx, e, p, gen_event);
        }

        for g in &gaps[..ngaps] {
            self.report_gap(conn, g);
        }
        e
    }

    /// The common segment, without the general state machine: ACK set and
    /// no SYN, FIN or RST, both sides established, neither side's FIN
    /// seen, no out-of-order data buffered. These are most packets of a
    /// connection, and for them most of `process` is branches that cannot
    /// be taken; what is left is below, step for step in the same order
    /// (the test `fast_path_matches_general` runs random segments both
    /// ways). Returns false, having changed nothing, for any other segment.
    #[inline]
    fn process_established(
        &mut self,
        conn: &mut Conn,
        ctx: &mut TimerCtx<'_>,
        e: usize,
        seg: &Segment,
    ) -> bool {
        const CONTROL: u8 = TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST | TcpFlags::ACK;
        let p = 1 - e;
        let (me, peer) = (&self.ep[e], &self.ep[p]);
        if seg.flags.0 & CONTROL != TcpFlags::ACK
            || me.state != EpState::Established
            || peer.state != EpState::Established
            || me.fin_seen
            || peer.fin_seen
            || !self.holes.is_none()
            || !fast_path_enabled()
        {
            return false;
        }
        let len = seg.len;
        // init_endpoint: nothing for an established side without SYN.
        let (rel_seq, seq_underflow) = me.relative_seq(seg.seq, me.last_seq, me.seq_wraps);

        // update_history without SYN/FIN/RST.
        let m = |mask| Self::side_mask(e, mask);
        if len > 0 {
            conn.check_history(m(HIST_DATA_PKT), Self::letter(e, b'D'));
        } else {
            conn.check_history(m(HIST_ACK_PKT), Self::letter(e, b'A'));
        }
        // Zero window: neither side closed nor reset here.
        if seg.window == 0 {
            let mut n = self.ep[e].win0_cnt;
            conn.scaled_history(Self::letter(e, b'W'), &mut n);
            self.ep[e].win0_cnt = n;
        }
        if !self.both_closed() {
            conn.last = ctx.now;
        }

        // The acknowledgement (the peer is not inactive, no RST).
        let peer = &mut self.ep[p];
        let (r, under) = peer.relative_seq(seg.ack, peer.ack_seq, peer.ack_wraps);
        let rel_ack = if under { 0 } else { r };
        if !under {
            let delta = seq_delta(seg.ack, peer.ack_seq);
            if !(seg.ack == 0 && delta > TOO_LARGE_SEQ_DELTA) && delta > 0 {
                peer.update_ack_seq(seg.ack);
            }
        }

        // update_last_seq: no SYN/RST/FIN, not reset.
        let me = &mut self.ep[e];
        let seq_one_past = seg.seq.wrapping_add(len);
        if seq_delta(seq_one_past, me.last_seq) > 0 {
            me.update_last_seq(seq_one_past);
        } else if len > 0 {
            let mut n = me.rxmt_cnt;
            conn.scaled_history(Self::letter(e, b'T'), &mut n);
            self.ep[e].rxmt_cnt = n;
        }
        self.ep[e].done_something = true;
        // The state machine has nothing to do for an established side
        // without SYN/FIN/RST, and check_eof nothing while no FIN was seen
        // and neither side is closed or reset.

        // With nothing buffered out of order the peer's reassembler
        // reports at most one gap.
        let mut gap = None;
        self.ack_received(p, rel_ack, |g| gap = Some(g));
        if len > 0 && !seq_underflow && seg.complete {
            self.data_sent(e, rel_seq, u64::from(len));
        }
        if let Some(g) = gap {
            self.report_gap(conn, &g);
        }
        true
    }

    fn report_gap(&mut self, conn: &mut Conn, g: &GapReport) {
        // Gap(): only for connections cleanly established or closing.
        let clean = |ep: &Endpoint| {
            ep.state == EpState::Established
                || (ep.state == EpState::Closed && ep.prev_state == EpState::Established)
        };
        if clean(&self.ep[g.side]) && clean(&self.ep[1 - g.side]) {
            let mut n = self.ep[g.side].gap_cnt;
            conn.scaled_history(Self::letter(g.side, b'G'), &mut n);
            self.ep[g.side].gap_cnt = n;
            self.missed_bytes += g.len;
        }
    }

    fn init_endpoint(&mut self, e: usize, flags: TcpFlags, first_seq: u32, last_seq: u32) {
        let ep = &mut self.ep[e];
        match ep.state {
            EpState::Inactive => {
                let mut last = last_seq;
                if flags.syn() {
                    ep.ack_seq = first_seq;
                    ep.start_seq = first_seq;
                } else {
                    ep.ack_seq = first_seq.wrapping_sub(1);
                    ep.start_seq = first_seq.wrapping_sub(1);
                    last = first_seq;
                }
                ep.last_seq = last;
            }
            EpState::SynSent | EpState::SynAckSent => {
                if flags.syn() && first_seq != ep.start_seq {
                    ep.start_seq = first_seq;
                    ep.ack_seq = first_seq;
                    ep.last_seq = last_seq;
                }
            }
            EpState::Established | EpState::Partial => {
                if flags.syn() {
                    ep.start_seq = first_seq;
                    ep.ack_seq = first_seq;
                    ep.last_seq = last_seq;
                }
            }
            EpState::Reset => {
                if flags.syn() && ep.prev_state == EpState::Inactive {
                    ep.start_seq = first_seq;
                    ep.ack_seq = first_seq;
                    ep.last_seq = last_seq;
                }
            }
            EpState::Closed => {}
        }
    }

    fn update_last_seq(
        &mut self,
        conn: &mut Conn,
        e: usize,
        last_seq: u32,
        flags: TcpFlags,
        len: u32,
    ) -> i32 {
        let ep = &mut self.ep[e];
        let delta_last = seq_delta(last_seq, ep.last_seq);
        if (flags.syn() || flags.rst())
            && !(-TOO_LARGE_SEQ_DELTA..=TOO_LARGE_SEQ_DELTA).contains(&delta_last)
        {
            // Not trusted.
        } else if flags.fin() && ep.last_seq == ep.start_seq.wrapping_add(1) {
            ep.update_last_seq(last_seq);
        } else if ep.state == EpState::Reset {
            // Sequence numbers after our own RST are not trusted.
        } else if delta_last > 0 {
            ep.update_last_seq(last_seq);
        } else if len > 0 {
            let mut n = ep.rxmt_cnt;
            conn.scaled_history(Self::letter(e, b'T'), &mut n);
            self.ep[e].rxmt_cnt = n;
        }
        delta_last
    }

    /// `UpdateStateMachine`. `e`/`p` follow the endpoints if the roles flip.
    fn update_state_machine(
        &mut self,
        conn: &mut Conn,
        ctx: &mut TimerCtx<'_>,
        e: &mut usize,
        p: &mut usize,
        seg: &Segment,
        delta_last: i32,
    ) -> (bool, bool) {
        let flags = seg.flags;
        let mut do_close = false;
        let mut gen_event = false;
        let is_orig = *e == ORIG;
        match self.ep[*e].state {
            EpState::Inactive => {
                if flags.syn() {
                    if is_orig {
                        let s = if flags.ack() {
                            EpState::SynAckSent
                        } else {
                            EpState::SynSent
                        };
                        self.set_state(conn, ctx, *e, s);
                        let at = ctx.now_secs() + ctx.cfg.tcp_attempt_delay.as_secs_f64();
                        if ctx.cfg.tcp_attempt_delay.as_nanos() != 0 {
                            ctx.arm(TimerKind::Attempt, at);
                        }
                    } else {
                        if !flags.ack()
                            && self.ep[*p].state == EpState::SynAckSent
                            && seg.seq == self.ep[*e].start_seq
                        {
                            // SYN/SYN-ACK reversal: flip and establish.
                            self.is_partial = false;
                            conn.flip_common();
                            self.flip();
                            conn.set_flipped_late();
                            core::mem::swap(e, p);
                            self.set_state(conn, ctx, *p, EpState::Established);
                            self.first_packet_seen |= 1;
                        }
                        if self.ep[*p].state == EpState::SynSent {
                            self.set_state(conn, ctx, *p, EpState::Established);
                        }
                        self.set_state(conn, ctx, *e, EpState::Established);
                        if self.ep[*p].state != EpState::Partial {
                            self.connection_established(conn, ctx);
                        }
                    }
                }
                if flags.fin() {
                    self.set_state(conn, ctx, *e, EpState::Closed);
                    do_close = true;
                    gen_event = true;
                }
                if flags.rst() {
                    self.set_state(conn, ctx, *e, EpState::Reset);
                    let is_reject = if *e == ORIG {
                        self.ep[*p].state == EpState::Established
                    } else {
                        matches!(self.ep[*p].state, EpState::SynSent | EpState::SynAckSent)
                    };
                    do_close = true;
                    gen_event = !is_reject;
                }
                if self.ep[*e].state == EpState::Inactive {
                    let is_orig = *e == ORIG;
                    if !is_orig && seg.len == 0 && self.ep[ORIG].state == EpState::SynSent {
                        // An ACK of the SYN before the SYN-ACK: not partial.
                    } else if flags.ack() && self.ep[*p].state == EpState::Established {
                        self.set_state(conn, ctx, *e, EpState::Established);
                        self.is_partial = false;
                        self.first_packet_seen |= if is_orig { 1 } else { 2 };
                    } else {
                        self.set_state(conn, ctx, *e, EpState::Partial);
                    }
                }
            }
            EpState::SynSent | EpState::SynAckSent => {
                if flags.fin() {
                    self.set_state(conn, ctx, *e, EpState::Closed);
                    do_close = true;
                    gen_event = true;
                }
                if flags.rst() {
                    self.set_state(conn, ctx, *e, EpState::Reset);
                    self.is_active = false;
                    do_close = true;
                }
            }
            EpState::Established | EpState::Partial => {
                if flags.syn()
                    && self.ep[*e].state == EpState::Partial
                    && self.ep[*p].state == EpState::Inactive
                    && !flags.ack()
                {
                    self.set_state(conn, ctx, *e, EpState::SynSent);
                }
                if flags.fin() && !flags.rst() {
                    self.set_state(conn, ctx, *e, EpState::Closed);
                    if self.ep[*p].state == EpState::Reset
                        && self.ep[*p].prev_state == EpState::Closed
                    {
                        // FIN then RST from the peer was a normal close.
                        self.set_state(conn, ctx, *p, EpState::Closed);
                    }
                    do_close = true;
                    gen_event = true;
                }
                if flags.rst() {
                    self.set_state(conn, ctx, *e, EpState::Reset);
                    do_close = true;
                    if self.ep[*p].state != EpState::Reset
                        || self.ep[*p].prev_state != EpState::Established
                    {
                        self.is_active = false;
                    }
                }
            }
            EpState::Closed => {
                if flags.rst() && self.ep[*p].state != EpState::Closed {
                    self.set_state(conn, ctx, *e, EpState::Reset);
                    if !self.ep[*e].did_close {
                        do_close = true;
                    }
                }
                let _ = delta_last;
            }
            EpState::Reset => {}
        }
        (do_close, gen_event)
    }

    /// Zeek's `connection_established` event and the script reaction in
    /// `base/protocols/conn/inactivity.zeek`.
    fn connection_established(&mut self, conn: &mut Conn, ctx: &mut TimerCtx<'_>) {
        let orig_p = conn.orig_port();
        let mut service_port = conn.resp_port();
        let servers = &ctx.cfg.tcp_server_ports;
        if self.ep[ORIG].state == EpState::Inactive
            && !servers.contains(service_port)
            && servers.contains(orig_p)
        {
            service_port = orig_p;
        }
        if ctx.cfg.interactive_ports.contains(&service_port) {
            ctx.set_inactivity_timeout(conn, Timeout::Interactive);
        }
    }

    fn check_eof(&mut self, conn: &mut Conn, ctx: &mut TimerCtx<'_>, e: usize) {
        let ep = &self.ep[e];
        if !ep.did_eof
            && (ep.fin_seen || matches!(ep.state, EpState::Closed | EpState::Reset))
            && !self.data_pending(e)
        {
            self.ep[e].did_eof = true;
            if self.close_deferred {
                let gen = self.deferred_gen_event;
                self.connection_closed(conn, ctx, e, 1 - e, gen);
                self.close_deferred = false;
            }
        }
    }

    fn connection_closed(
        &mut self,
        conn: &mut Conn,
        ctx: &mut TimerCtx<'_>,
        e: usize,
        p: usize,
        gen_event: bool,
    ) {
        if self.data_pending(e) {
            self.close_deferred = true;
            if !self.deferred_gen_event {
                self.deferred_gen_event = gen_event;
            }
            return;
        }
        self.close_deferred = false;
        if self.ep[e].did_close {
            return;
        }
        self.ep[e].did_close = true;
        let close_complete = self.ep[e].state == EpState::Reset
            || self.ep[p].did_close
            || self.ep[p].state == EpState::Inactive;
        let last = conn.last.as_zeek_secs();
        if close_complete {
            if self.ep[e].prev_state != EpState::Inactive || self.ep[p].state != EpState::Inactive {
                let mut gen = gen_event;
                if self.deferred_gen_event {
                    gen = true;
                    self.deferred_gen_event = false;
                }
                if gen {
                    self.is_active = false;
                }
            }
            ctx.cancel_analyzer_timers();
            let delay = ctx.cfg.tcp_close_delay.as_secs_f64();
            ctx.arm(TimerKind::Delete, last + delay);
        } else if self.ep[e].prev_state != EpState::Inactive {
            let t = last + ctx.cfg.tcp_session_timer.as_secs_f64();
            ctx.arm(TimerKind::Expire, t);
        }
    }

    // --- timers ------------------------------------------------------------

    /// `AttemptTimer`: true if the connection must be removed.
    pub fn attempt_timer(&mut self) -> bool {
        if !self.is_active {
            return false;
        }
        if matches!(self.ep[ORIG].state, EpState::SynSent | EpState::SynAckSent)
            && self.ep[RESP].state == EpState::Inactive
        {
            self.is_active = false;
            return true;
        }
        false
    }

    /// `ExpireTimer` at network time `now`: `Some(true)` remove, `Some(false)`
    /// re-arm at `now + tcp_session_timer`, `None` do nothing.
    pub fn expire_timer(&mut self, last: f64, linger: f64, now: f64) -> Option<bool> {
        if !self.is_active {
            return None;
        }
        if last + linger < now {
            let (o, r) = (&self.ep[ORIG], &self.ep[RESP]);
            if (o.did_close || r.did_close)
                && ((o.did_close && r.did_close)
                    || o.state == EpState::Reset
                    || r.state == EpState::Reset
                    || o.state == EpState::Inactive
                    || r.state == EpState::Inactive)
            {
                self.is_active = false;
                return Some(true);
            }
            if r.state == EpState::Inactive && o.state == EpState::Inactive {
                return Some(true);
            }
        }
        Some(false)
    }

    // --- results -------------------------------------------------------------

    /// Payload bytes per side.
    pub fn sizes(&self) -> [u64; 2] {
        [
            self.ep[ORIG].size(self.ep[RESP].state),
            self.ep[RESP].size(self.ep[ORIG].state),
        ]
    }

    /// conn.log `conn_state` (`conn_state()` in base/protocols/conn/main.zeek).
    pub fn conn_state(&self, history: &[u8]) -> ConnState {
        use EpState::*;
        let os = self.ep[ORIG].state;
        let rs = self.ep[RESP].state;
        let inactive = |s| matches!(s, Inactive | Partial);
        let sizes = self.sizes();
        if rs == Reset {
            if matches!(os, SynSent | SynAckSent) || (os == Reset && sizes == [0, 0]) {
                return ConnState::REJ;
            }
            if inactive(os) {
                return ConnState::RSTRH;
            }
            return ConnState::RSTR;
        }
        if os == Reset {
            if inactive(rs) {
                if rstos0_history(history) {
                    return ConnState::RSTOS0;
                }
                return ConnState::OTH;
            }
            return ConnState::RSTO;
        }
        if os == Closed && rs == Closed {
            return ConnState::SF;
        }
        if os == Closed {
            return if inactive(rs) {
                ConnState::SH
            } else {
                ConnState::S2
            };
        }
        if rs == Closed {
            return if inactive(os) {
                ConnState::SHR
            } else {
                ConnState::S3
            };
        }
        if os == SynSent && rs == Inactive {
            return ConnState::S0;
        }
        if os == Established && rs == Established {
            return ConnState::S1;
        }
        ConnState::OTH
    }
}

/// `/^\^?S[^HAFGIQ]*R.*/` over the whole history.
fn rstos0_history(h: &[u8]) -> bool {
    let h = h.strip_prefix(b"^").unwrap_or(h);
    let Some(rest) = h.strip_prefix(b"S") else {
        return false;
    };
    for &c in rest {
        if c == b'R' {
            return true;
        }
        if b"HAFGIQ".contains(&c) {
            return false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    mod fast_path {
        //! `process_established` against the general path: random segment
        //! sequences on one connection (mostly in-order data and ACKs, with
        //! retransmissions, holes, zero windows, handshakes, FINs and RSTs)
        //! must give the same records with the fast path on and off.

        use connwatch_tracegen::packet::{self, tcp_flags, Ip, IpPair, Link, Tcp};
        use connwatch_wire::{Frame, LinkType, Timestamp};
        use proptest::prelude::*;
        use proptest::test_runner::Config;
        use std::net::Ipv4Addr;

        use super::super::FAST_PATH;
        use crate::{ConnEvent, PacketAnalyzer, TrackerConfig};

        const SYN: u8 = tcp_flags::SYN;
        const FIN: u8 = tcp_flags::FIN;
        const RST: u8 = tcp_flags::RST;
        const ACK: u8 = tcp_flags::ACK;
        const PSH: u8 = tcp_flags::PSH;

        #[derive(Debug, Clone)]
        struct Step {
            from_resp: bool,
            flags: u8,
            len: usize,
            /// How the sequence number relates to the sender's next one:
            /// 0 in order, 1 retransmission, 2 ahead (a hole).
            seq_kind: u8,
            ack_back: u32,
            zero_window: bool,
            gap_ns: i64,
        }

        fn step() -> impl Strategy<Value = Step> {
            (
                any::<bool>(),
                prop_oneof![
                    12 => Just(ACK),
                    6 => Just(ACK | PSH),
                    1 => Just(SYN),
                    1 => Just(SYN | ACK),
                    1 => Just(FIN | ACK),
                    1 => Just(RST),
                    1 => Just(RST | ACK),
                    1 => Just(0u8),
                ],
                prop_oneof![2 => Just(0usize), 3 => 1usize..300],
                prop_oneof![8 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
                prop_oneof![6 => Just(0u32), 1 => 1u32..3000, 1 => Just(u32::MAX - 100)],
                prop::bool::weighted(0.05),
                prop_oneof![Just(1_000i64), Just(50_000_000), Just(6_000_000_000)],
            )
                .prop_map(
                    |(from_resp, flags, len, seq_kind, ack_back, zero_window, gap_ns)| Step {
                        from_resp,
                        flags,
                        len,
                        seq_kind,
                        ack_back,
                        zero_window,
                        gap_ns,
                    },
                )
        }

        /// Runs the steps after a handshake; rows rendered for comparison.
        fn run(steps: &[Step], seq_base: [u32; 2], fast: bool) -> Vec<String> {
            FAST_PATH.set(fast);
            let hosts = [Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)];
            let ports = [40_000u16, 5000];
            let mut next = [seq_base[0], seq_base[1]];
            let mut an = PacketAnalyzer::new(TrackerConfig {
                uid_seed: 1,
                ..Default::default()
            });
            let mut rows = Vec::new();
            let mut ts = connwatch_tracegen::DEFAULT_START;
            let handshake = [(0, SYN, 0u8), (1, SYN | ACK, 0), (0, ACK, 0)];
            let all = handshake
                .iter()
                .map(|&(side, flags, _)| Step {
                    from_resp: side == 1,
                    flags,
                    len: 0,
                    seq_kind: 0,
                    ack_back: 0,
                    zero_window: false,
                    gap_ns: 1_000,
                })
                .chain(steps.iter().cloned());
            for st in all {
                let s = usize::from(st.from_resp);
                let seq = match st.seq_kind {
                    0 => next[s],
                    1 => next[s].wrapping_sub(st.len.max(1) as u32),
                    _ => next[s].wrapping_add(500),
                };
                if st.flags & SYN != 0 {
                    next[s] = seq.wrapping_add(1);
                } else if st.seq_kind != 1 {
                    next[s] = seq.wrapping_add(st.len as u32 + u32::from(st.flags & FIN != 0));
                }
                let tcp = Tcp {
                    src_port: ports[s],
                    dst_port: ports[1 - s],
                    seq,
                    ack: next[1 - s].wrapping_sub(st.ack_back),
                    flags: st.flags,
                    window: if st.zero_window { 0 } else { 65_535 },
                    options: &[],
                };
                let ip = Ip::new(IpPair::V4(hosts[s], hosts[1 - s]));
                let mut buf = Vec::new();
                packet::tcp(
                    &mut buf,
                    &Link::default(),
                    &ip,
                    &tcp,
                    packet::filler(st.len),
                );
                ts += st.gap_ns;
                an.handle_frame(&Frame {
                    ts: Timestamp(ts),
                    link: LinkType::ETHERNET,
                    data: &buf,
                    wire_len: buf.len() as u32,
                    interface: 0,
                });
                // Live state too, so a difference shows where it arises.
                rows.extend(an.tracker_ref().live().map(|r| format!("live {r:?}")));
            }
            an.finish();
            for ev in an.tracker().drain_events() {
                if let ConnEvent::Finished(r) = ev {
                    rows.push(format!("{r:?}"));
                }
            }
            FAST_PATH.set(true);
            rows
        }

        proptest! {
            #![proptest_config(Config {
                cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
                failure_persistence: None,
                ..Config::default()
            })]

            #[test]
            fn fast_path_matches_general(
                steps in prop::collection::vec(step(), 1..80),
                base in prop_oneof![Just([1000u32, 0xffff_f000]), any::<[u32; 2]>()],
            ) {
                let fast = run(&steps, base, true);
                let general = run(&steps, base, false);
                prop_assert_eq!(fast, general);
            }
        }
    }

    #[test]
    fn rstos0_pattern() {
        assert!(rstos0_history(b"SR"));
        assert!(rstos0_history(b"SDR"));
        assert!(rstos0_history(b"^SdR"));
        assert!(!rstos0_history(b"SAR"));
        assert!(!rstos0_history(b"ShR"[..2].as_ref()));
        assert!(!rstos0_history(b"DR"));
    }

    #[test]
    fn tcp_state_stays_small() {
        // One `TcpConn` per TCP connection, in the tracker's side slab:
        // the out-of-order intervals of both sides share one pointer in
        // `TcpConn` so that an `Endpoint` has no padding word.
        assert_eq!(core::mem::size_of::<Endpoint>(), 80);
        assert_eq!(core::mem::size_of::<TcpConn>(), 216);
    }
}
