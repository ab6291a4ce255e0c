//! Long-connection reports (conn_long.log): a watched connection reported
//! as of `start + threshold`, with deltas since its previous report and the
//! once-only long-and-slow verdict.

use super::{ConnTracker, TimerItem};
use crate::conn::ProtoState;
use crate::long_conn::{self, LastReport};
use crate::record::{ConnEvent, InterimReport};

impl ConnTracker {
    /// The deadline of a first-threshold entry, or `None` when its
    /// connection is gone (or has no first threshold).
    fn long_first_deadline(&self, idx: u32, gen: u32) -> Option<f64> {
        if self.meta.get(idx as usize)?.gen != gen {
            return None;
        }
        let conn = self.conns.get(idx as usize)?.as_ref()?;
        let thr = self.schedules.as_ref()?.threshold(conn.long_schedule, 0)?;
        Some((conn.start + thr).as_zeek_secs())
    }

    /// Drops ended connections from the front of the first-threshold
    /// queue and caches the deadline of the new front.
    pub(super) fn refresh_long_head(&mut self) {
        while let Some(&(idx, gen)) = self.long_first.front() {
            if let Some(d) = self.long_first_deadline(idx, gen) {
                self.long_head = d;
                return;
            }
            self.long_first.pop_front();
        }
        self.long_head = f64::INFINITY;
    }

    /// Drops every ended connection from the first-threshold queue.
    pub(super) fn purge_long_first(&mut self) {
        let meta = &self.meta;
        self.long_first
            .retain(|e| meta.get(e.0 as usize).is_some_and(|m| m.gen == e.1));
        self.refresh_long_head();
    }

    /// Queues the first long-connection report of the (stored, watched)
    /// connection in slot `idx`, in deadline order; among equal deadlines
    /// the earlier queued fires first.
    pub(super) fn queue_long_first(&mut self, idx: u32) {
        let gen = self.meta[idx as usize].gen;
        let Some(d) = self.long_first_deadline(idx, gen) else {
            return;
        };
        if self.long_back <= d {
            // Time moves forward: almost always the end. The queue grows
            // by a fixed step: doubling left it up to half empty.
            if self.long_first.len() == self.long_first.capacity() {
                self.long_first.reserve_exact(4096);
            }
            self.long_first.push_back((idx, gen));
            self.long_back = d;
            if self.long_first.len() == 1 {
                self.long_head = d;
            }
            return;
        }
        // Time went backwards. Entries of ended connections have no
        // deadline any more: drop them, then search by the live ones'.
        self.purge_long_first();
        let pos = self
            .long_first
            .partition_point(|e| self.long_first_deadline(e.0, e.1).is_some_and(|x| x <= d));
        self.long_first.insert(pos, (idx, gen));
        self.refresh_long_head();
    }

    /// True when the connection's next long-connection report falls
    /// before `t` (Zeek seconds).
    pub(super) fn next_report_before(&self, idx: u32, t: f64) -> bool {
        let (Some(sched), Some(Some(conn))) = (&self.schedules, self.conns.get(idx as usize))
        else {
            return false;
        };
        sched
            .threshold(conn.long_schedule, conn.long_next)
            .is_some_and(|thr| (conn.start + thr).as_zeek_secs() < t)
    }

    /// Arms the long-report timer for the connection's next threshold.
    pub(super) fn arm_long(&mut self, item: TimerItem) {
        let (Some(sched), Some(Some(conn))) = (&self.schedules, self.conns.get(item.idx as usize))
        else {
            return;
        };
        if let Some(t) = sched.threshold(conn.long_schedule, conn.long_next) {
            // A clock that jumped over several thresholds reports each: the
            // next one may already be due, and fires in this same advance.
            self.wheel.push((conn.start + t).as_zeek_secs(), item);
        }
    }

    /// Reports a watched connection at its next threshold, as of
    /// `start + threshold`; false if it has none. A TCP connection that
    /// has ended (both sides closed, or reset) but waits out its close
    /// delay is no longer open: it gets no row (spec item 7), and its
    /// schedule stops.
    pub(super) fn long_report(&mut self, idx: u32) -> bool {
        let (Some(sched), Some(Some(conn))) = (&self.schedules, self.conns.get(idx as usize))
        else {
            return false;
        };
        let ended = match &conn.state {
            ProtoState::Tcp => self.tcp_of(idx).is_some_and(|t| t.has_ended()),
            ProtoState::Flow(f) => f.has_ended(),
            ProtoState::Plain(_) => false,
        };
        if ended {
            return false;
        }
        let k = conn.long_next;
        let Some(threshold) = sched.threshold(conn.long_schedule, k) else {
            return false;
        };
        let report_ts = conn.start + threshold;
        let idle = report_ts - conn.last;
        let record = self.record(idx, conn);
        let prev = self.long_prev.get(&idx).copied().unwrap_or_default();
        let slow = !prev.slow_raised
            && self
                .cfg
                .long
                .as_ref()
                .and_then(|l| l.slow.as_ref())
                .is_some_and(|c| {
                    long_conn::is_slow(c, threshold, record.orig_bytes, record.resp_bytes)
                });
        let report = InterimReport {
            report_ts,
            threshold,
            idle,
            orig_bytes_delta: record.orig_bytes.saturating_sub(prev.orig_bytes),
            resp_bytes_delta: record.resp_bytes.saturating_sub(prev.resp_bytes),
            orig_pkts_delta: record.orig_pkts.saturating_sub(prev.orig_pkts),
            resp_pkts_delta: record.resp_pkts.saturating_sub(prev.resp_pkts),
            slow,
        };
        self.long_prev.insert(
            idx,
            LastReport {
                orig_bytes: record.orig_bytes,
                resp_bytes: record.resp_bytes,
                orig_pkts: record.orig_pkts,
                resp_pkts: record.resp_pkts,
                slow_raised: prev.slow_raised || slow,
            },
        );
        self.events.push(ConnEvent::Interim { record, report });
        if let Some(Some(conn)) = self.conns.get_mut(idx as usize) {
            conn.long_next = k + 1;
        }
        true
    }
}
