//! One side of a TCP connection: sequence-space bookkeeping (start, last
//! and acknowledged sequence numbers with their 32-bit wraps), the history
//! bookkeeping of its SYN/FIN/RST letters, its scaled-letter counters, and
//! the state of the reassembler model (`TCP_Endpoint` in Zeek).

use super::EpState;

#[inline]
pub(super) fn seq_delta(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

#[inline]
pub(super) fn full_seq(seq: u32, wraps: u32) -> u64 {
    (u64::from(wraps) << 32) | u64::from(seq)
}

/// Out-of-order sequence intervals of both endpoints (index 0 =
/// originator); allocated only when data arrives out of order, which most
/// connections never see.
// One pointer for both sides, kept in `TcpConn` rather than one per
// `Endpoint`: those 8 bytes were what kept an `Endpoint` at 88 bytes
// instead of 80 (`TcpConn` is 216 instead of 224; see its size test).
#[derive(Debug, Clone, Default)]
pub(super) struct Holes(Option<Box<[Intervals; 2]>>);

/// One side's out-of-order intervals: sorted, disjoint `(lo, hi)` ranges
/// of relative sequence numbers.
type Intervals = Vec<(u64, u64)>;

impl Holes {
    #[inline]
    pub(super) fn as_slice(&self, e: usize) -> &[(u64, u64)] {
        self.0.as_deref().map_or(&[], |v| v[e].as_slice())
    }
    #[inline]
    pub(super) fn vec(&mut self, e: usize) -> &mut Intervals {
        &mut self.0.get_or_insert_with(Default::default)[e]
    }
    /// No side has intervals (nothing allocated).
    #[inline]
    pub(super) fn is_none(&self) -> bool {
        self.0.is_none()
    }
    #[inline]
    pub(super) fn is_empty(&self, e: usize) -> bool {
        self.as_slice(e).is_empty()
    }
    #[inline]
    pub(super) fn first(&self, e: usize) -> Option<&(u64, u64)> {
        self.as_slice(e).first()
    }
    /// Drops side `e`'s intervals, and the allocation once both sides
    /// have none (as the per-side box was dropped before).
    #[inline]
    pub(super) fn clear(&mut self, e: usize) {
        if let Some(b) = &mut self.0 {
            b[e] = Vec::new();
            if b[1 - e].is_empty() {
                self.0 = None;
            }
        }
    }
    #[inline]
    pub(super) fn len(&self, e: usize) -> usize {
        self.as_slice(e).len()
    }
    /// The roles were swapped.
    #[inline]
    pub(super) fn flip(&mut self) {
        if let Some(b) = &mut self.0 {
            b.swap(0, 1);
        }
    }
}

/// One side of a TCP connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct Endpoint {
    pub state: EpState,
    pub prev_state: EpState,
    pub(super) start_seq: u32,
    pub(super) last_seq: u32,
    pub(super) ack_seq: u32,
    pub(super) seq_wraps: u32,
    pub(super) ack_wraps: u32,
    // Low 32 bits of the relative sequence numbers of the last SYN/FIN/RST
    // (a repeat exactly 2^32 away would be missed: never seen in practice).
    pub(super) hist_last_syn: u32,
    pub(super) hist_last_fin: u32,
    pub(super) hist_last_rst: u32,
    pub(super) fin_seen: bool,
    pub(super) fin_seq: u64,
    pub did_close: bool,
    pub(super) done_something: bool,
    pub(super) chk_cnt: u32,
    pub(super) rxmt_cnt: u32,
    pub(super) win0_cnt: u32,
    pub(super) gap_cnt: u32,
    // Reassembler model: next in-order sequence number, trim point and
    // the undelivered intervals above it.
    pub(super) last_reassem_seq: u64,
    pub(super) trim_seq: u64,
    // (The intervals above it are in `TcpConn::holes`.)
    pub(super) skip_deliveries: bool,
    pub(super) did_eof: bool,
}

impl Endpoint {
    pub(super) fn new() -> Self {
        Endpoint {
            last_reassem_seq: 1,
            trim_seq: 1,
            ..Default::default()
        }
    }

    pub(super) fn update_last_seq(&mut self, seq: u32) {
        if seq < self.last_seq {
            self.seq_wraps = self.seq_wraps.wrapping_add(1);
        }
        self.last_seq = seq;
    }

    pub(super) fn update_ack_seq(&mut self, seq: u32) {
        if seq < self.ack_seq {
            self.ack_wraps = self.ack_wraps.wrapping_add(1);
        }
        self.ack_seq = seq;
    }

    pub(super) fn to_relative(&self, seq: u32, wraps: u32) -> u64 {
        full_seq(seq, wraps).wrapping_sub(u64::from(self.start_seq))
    }

    pub(super) fn no_data_acked(&self) -> bool {
        let ack = full_seq(self.ack_seq, self.ack_wraps);
        let start = u64::from(self.start_seq);
        ack == start || ack == start + 1
    }

    /// Zeek's `get_relative_seq`; also says whether `cur` lies before the
    /// start of the sequence space.
    pub(super) fn relative_seq(&self, cur: u32, last: u32, wraps: u32) -> (u64, bool) {
        let mut wraps = wraps;
        let delta = seq_delta(cur, last);
        if delta < 0 {
            if wraps > 0 && cur > last {
                wraps -= 1;
            }
        } else if delta > 0 && cur < last {
            wraps += 1;
        }
        if wraps == 0 {
            let d = seq_delta(cur, self.start_seq);
            return (d as i64 as u64, d < 0);
        }
        (self.to_relative(cur, wraps), false)
    }

    /// Payload size per sequence numbers (`TCP_Endpoint::Size`).
    pub(super) fn size(&self, peer_state: EpState) -> u64 {
        if self.prev_state == EpState::SynSent
            && self.state == EpState::Reset
            && peer_state == EpState::Inactive
            && !self.no_data_acked()
        {
            return 0;
        }
        let last = full_seq(self.last_seq, self.seq_wraps);
        let ack = full_seq(self.ack_seq, self.ack_wraps);
        let start = u64::from(self.start_seq);
        let mut size = if last > ack {
            last.wrapping_sub(start)
        } else {
            ack.wrapping_sub(start)
        };
        // The SYN octet, then the FIN octet, are not payload.
        size = size.saturating_sub(1);
        if self.fin_seen {
            size = size.saturating_sub(1);
        }
        size
    }

    /// Bytes above the last in-order one, given this endpoint's
    /// out-of-order intervals.
    pub(super) fn undelivered_bytes(&self, holes: &[(u64, u64)]) -> u64 {
        holes
            .last()
            .map_or(0, |h| h.1.saturating_sub(self.last_reassem_seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn relative_seq_wraps() {
        let mut ep = Endpoint::new();
        ep.start_seq = u32::MAX - 10;
        ep.last_seq = u32::MAX - 5;
        // Past the wrap point the relative number keeps growing.
        let (r, under) = ep.relative_seq(5, ep.last_seq, 0);
        assert!(!under);
        assert_eq!(r, 16);
        // Before the start: underflow.
        let (_, under) = ep.relative_seq(u32::MAX - 20, ep.last_seq, 0);
        assert!(under);
    }

    #[test]
    pub(super) fn size_counts_syn_and_fin_out() {
        let mut ep = Endpoint::new();
        ep.start_seq = 1000;
        ep.last_seq = 1000 + 1 + 100 + 1;
        ep.fin_seen = true;
        assert_eq!(ep.size(EpState::Established), 100);
        // Sequence space beyond 4 GiB.
        ep.seq_wraps = 1;
        assert_eq!(ep.size(EpState::Established), (1u64 << 32) + 100);
    }
}
