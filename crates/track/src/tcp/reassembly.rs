//! The reassembler model: which sequence ranges of an endpoint arrived,
//! were delivered in order, and were acknowledged. conn.log needs only the
//! gaps Zeek's `TCP_Reassembler` reports (`G`/`g`, `missed_bytes`) and
//! whether data is still pending when a side closes, so intervals stand in
//! for payload, with Zeek's give-up limits.

use super::endpoint::{full_seq, Endpoint, Holes};
use super::{EpState, TcpConn};

/// `tcp_max_initial_window`.
const MAX_INITIAL_WINDOW: u64 = 16_384;
/// `tcp_max_above_hole_without_any_acks`.
const MAX_ABOVE_HOLE_WITHOUT_ACKS: u64 = 16_384;
/// `tcp_excessive_data_without_further_acks`.
const EXCESSIVE_DATA_WITHOUT_ACKS: u64 = 10 * 1024 * 1024;
/// Out-of-order intervals kept per endpoint before giving up on reassembly.
const MAX_HOLES: usize = 64;

/// A gap the reassembler reported.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct GapReport {
    pub(super) side: usize,
    pub(super) len: u64,
}

impl TcpConn {
    pub(super) fn data_sent(&mut self, e: usize, seq: u64, len: u64) {
        let peer_state = self.ep[1 - e].state;
        let ep = &mut self.ep[e];
        let holes = &mut self.holes;
        if ep.skip_deliveries {
            return;
        }
        let ack = ep.to_relative(ep.ack_seq, ep.ack_wraps);
        let (mut seq, upper) = (seq, seq.wrapping_add(len));
        if seq < ack {
            if upper <= ack {
                return;
            }
            seq = ack;
        }
        // NewBlock
        if upper <= ep.trim_seq {
            return;
        }
        if seq < ep.trim_seq {
            seq = ep.trim_seq;
        }
        if seq <= ep.last_reassem_seq {
            if upper > ep.last_reassem_seq {
                ep.last_reassem_seq = upper;
                // Nothing allocated means nothing out of order to absorb:
                // the in-order stream (nearly every segment) skips the call.
                if !holes.is_none() {
                    Self::absorb_holes(ep, holes, e);
                }
                // BlockInserted: drop delivered data nobody acks.
                if ep.no_data_acked() && ep.size(peer_state) > MAX_INITIAL_WINDOW {
                    ep.trim_seq = ep.trim_seq.max(ep.last_reassem_seq);
                }
            }
        } else {
            Self::insert_hole(ep, holes, e, seq, upper);
        }
        if ep.no_data_acked()
            && ep.undelivered_bytes(holes.as_slice(e)) > MAX_ABOVE_HOLE_WITHOUT_ACKS
        {
            holes.clear(e);
            ep.skip_deliveries = true;
        }
        let buffered = ep.last_reassem_seq.saturating_sub(ep.trim_seq)
            + holes.as_slice(e).iter().map(|h| h.1 - h.0).sum::<u64>();
        if buffered > EXCESSIVE_DATA_WITHOUT_ACKS {
            holes.clear(e);
            ep.skip_deliveries = true;
        }
    }

    #[cold]
    #[inline(never)]
    fn insert_hole(ep: &mut Endpoint, all: &mut Holes, e: usize, seq: u64, upper: u64) {
        // Keep intervals sorted and disjoint.
        let holes = all.vec(e);
        let pos = holes.partition_point(|h| h.1 < seq);
        let mut lo = seq;
        let mut hi = upper;
        let mut end = pos;
        while end < holes.len() && holes[end].0 <= hi {
            lo = lo.min(holes[end].0);
            hi = hi.max(holes[end].1);
            end += 1;
        }
        holes.splice(pos..end, [(lo, hi)]);
        if all.len(e) > MAX_HOLES {
            all.clear(e);
            ep.skip_deliveries = true;
        }
    }

    #[cold]
    #[inline(never)]
    fn absorb_holes(ep: &mut Endpoint, holes: &mut Holes, e: usize) {
        while let Some(&(lo, hi)) = holes.first(e) {
            if lo > ep.last_reassem_seq {
                break;
            }
            ep.last_reassem_seq = ep.last_reassem_seq.max(hi);
            holes.vec(e).remove(0);
        }
        if holes.is_empty(e) {
            holes.clear(e);
        }
    }

    /// The peer acknowledged up to `seq` of endpoint `e`'s data
    /// (`TCP_Reassembler::AckReceived` + `TrimToSeq` + `Undelivered`).
    // Generic over the callback so that it is inlined (it only stores the
    // report) rather than called through a pointer on every ACK.
    #[inline]
    pub(super) fn ack_received(&mut self, e: usize, seq: u64, mut report: impl FnMut(GapReport)) {
        let is_partial = self.is_partial;
        let ep = &mut self.ep[e];
        let holes = &mut self.holes;
        let mut seq = seq;
        if ep.fin_seen && seq >= ep.fin_seq {
            seq = ep.fin_seq.wrapping_sub(1);
        }
        if seq <= ep.trim_seq {
            return;
        }
        if seq > ep.last_reassem_seq {
            // Undelivered(seq)
            if seq <= 2 && is_partial {
                // The faked SYN of a partial connection: not a gap.
            } else {
                if !ep.skip_deliveries {
                    if !holes.is_none() {
                        Self::deliver_holes(ep, holes, e, seq, &mut report);
                    }
                    if seq > ep.last_reassem_seq {
                        report(GapReport {
                            side: e,
                            len: seq - ep.last_reassem_seq,
                        });
                    }
                }
                if seq > ep.last_reassem_seq {
                    ep.last_reassem_seq = seq;
                }
            }
        }
        if !holes.is_none() {
            Self::trim_holes(holes, e, seq);
        }
        ep.trim_seq = ep.trim_seq.max(seq);
    }

    /// The part of `Undelivered` that walks the holes below `seq` (data
    /// arrived out of order): out of line and cold, as in-order streams
    /// (nearly every one) never get here.
    #[cold]
    #[inline(never)]
    fn deliver_holes(
        ep: &mut Endpoint,
        holes: &mut Holes,
        e: usize,
        seq: u64,
        report: &mut impl FnMut(GapReport),
    ) {
        while let Some(&(lo, hi)) = holes.first(e) {
            if lo >= seq {
                break;
            }
            if lo > ep.last_reassem_seq {
                report(GapReport {
                    side: e,
                    len: lo - ep.last_reassem_seq,
                });
            }
            ep.last_reassem_seq = ep.last_reassem_seq.max(hi);
            holes.vec(e).remove(0);
            Self::absorb_holes(ep, holes, e);
        }
    }

    /// `TrimToSeq` for the holes: those wholly acknowledged go.
    #[cold]
    #[inline(never)]
    fn trim_holes(holes: &mut Holes, e: usize, seq: u64) {
        if holes.is_empty(e) {
            return;
        }
        let side = holes.vec(e);
        side.retain(|h| h.1 > seq);
        if let Some(h) = side.first_mut() {
            h.0 = h.0.max(seq);
        }
        if side.is_empty() {
            holes.clear(e);
        }
    }

    pub(super) fn data_pending(&self, e: usize) -> bool {
        let ep = &self.ep[e];
        if ep.skip_deliveries {
            return false;
        }
        let delivered = u64::from(ep.start_seq).wrapping_add(ep.last_reassem_seq);
        let last = full_seq(ep.last_seq, ep.seq_wraps);
        if last < delivered {
            return false;
        }
        if delivered != last.wrapping_sub(1) && delivered != last {
            return true;
        }
        ep.state != EpState::Reset && !self.holes.is_empty(1 - e)
    }
}
