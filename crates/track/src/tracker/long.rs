//! Long-connection reports (conn_long.log): a watched connection reported
//! as of `start + threshold`, with deltas since its previous report and the
//! once-only long-and-slow verdict.

use super::{ConnTracker, TimerItem};
use crate::conn::ProtoState;
use crate::long_conn::{self, LastReport};
use crate::record::{ConnEvent, InterimReport};

impl ConnTracker {
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
            ProtoState::Tcp(tcp) => tcp.has_ended(),
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
        let record = self.record(conn);
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
