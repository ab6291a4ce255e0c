//! What happens when a connection's timer fires: Zeek's inactivity,
//! attempt, expire, close-delay and DNS-session timers, the sweep of
//! cancelled timers, and the removal that writes the conn.log record.

use connwatch_wire::Timestamp;

use connwatch_wire::netflow::EndReason;

use super::export::ExportState;
use super::{ConnTracker, Meta, TimerItem, TimerKind};
use crate::conn::ProtoState;
use crate::prefetch;

/// How many due timers ahead of the one firing have their slot asked for.
const PREFETCH_SLOT_AHEAD: usize = 6;
/// How many ahead have the lines behind the slot asked for.
const PREFETCH_STATE_AHEAD: usize = 3;

impl ConnTracker {
    pub(super) fn fire_wheel(&mut self, t: f64, now: Timestamp) {
        if let Some((deadline, item)) = self.wheel.pop_due(t) {
            self.prefetch_due();
            self.fire(item, deadline, now);
        }
    }

    /// Asks for the lines the timers due next will touch: their slot's
    /// bookkeeping and connection a few timers ahead, and, once those have
    /// arrived, the TCP state and flow-table bucket behind them. Timers
    /// fire in batches (every connection idle since the same millisecond),
    /// and each one's lines are cold: fetched one after another, firing and
    /// removal took some 12% of the run's time in a sampling profile of
    /// the benchmark (`perf record -e cpu-clock`), mostly waiting.
    #[inline]
    fn prefetch_due(&self) {
        if let Some(a) = self.wheel.due_ahead(PREFETCH_SLOT_AHEAD) {
            if let Some(m) = self.meta.get(a.idx as usize) {
                prefetch::line(m);
            }
            if let Some(c) = self.conns.get(a.idx as usize) {
                prefetch::value(c);
            }
        }
        if let Some(a) = self.wheel.due_ahead(PREFETCH_STATE_AHEAD) {
            // A TCP slot's state is at the slot's index: no need to wait
            // for the connection to find it.
            if let Some(t) = self.tcp.get(a.idx as usize) {
                prefetch::value(t);
            }
            if let Some(Some(c)) = self.conns.get(a.idx as usize) {
                let hash = self.hash(&c.key.key(&self.v6addrs));
                self.table.prefetch(hash);
            }
        }
    }

    /// Whether a timer is still the connection's live one. The expected
    /// stamp is rebuilt from the slot's bookkeeping and compared whole (a
    /// sweep asks this of every timer in the wheel).
    #[inline]
    pub(super) fn is_current(meta: &[Meta], xstate: &[ExportState], item: &TimerItem) -> bool {
        let Some(m) = meta.get(item.idx as usize) else {
            return false;
        };
        match item.kind() {
            TimerKind::Inactivity => {
                item.stamp == TimerItem::stamp(m.gen, TimerKind::Inactivity, m.inactivity_epoch)
            }
            TimerKind::LongReport => item.gen_is(m.gen),
            TimerKind::Export => item.gen_is(m.gen) && ExportState::timer_current(xstate, item),
            kind => item.stamp == TimerItem::stamp(m.gen, kind, m.analyzer_epoch),
        }
    }

    #[cold]
    #[inline(never)]
    pub(super) fn sweep_timers(&mut self) {
        let (meta, xstate) = (&self.meta, &self.xstate);
        self.wheel
            .retain(|item| Self::is_current(meta, xstate, item));
    }

    pub(super) fn fire(&mut self, item: TimerItem, deadline: f64, now: Timestamp) {
        if !Self::is_current(&self.meta, &self.xstate, &item) {
            return;
        }
        if item.kind() == TimerKind::Export {
            self.export_timer(item, now);
            return;
        }
        if item.kind() == TimerKind::LongReport {
            if self.long_report(item.idx) {
                self.arm_long(item);
            }
            return;
        }
        let Some(conn) = self.conns[item.idx as usize].as_mut() else {
            return;
        };
        let t = now.as_zeek_secs();
        // When the connection really ended: reports due before then are
        // still made, in time order, even if the clock jumped past both.
        let mut ended = deadline;
        let remove = match item.kind() {
            TimerKind::LongReport | TimerKind::Export => false,
            TimerKind::Inactivity => {
                let timeout = self.cfg.timeout(conn.inactivity()).as_secs_f64();
                let expiry = conn.last.as_zeek_secs() + timeout;
                if expiry <= t {
                    ended = expiry;
                    true
                } else {
                    self.wheel.push(expiry, item);
                    false
                }
            }
            TimerKind::DnsExpire => {
                // The "- 1.0" is Zeek's own slack.
                let timeout = self.cfg.dns_session_timeout.as_secs_f64();
                if t - conn.last.as_zeek_secs() >= timeout - 1.0 {
                    true
                } else {
                    self.wheel.push(t + timeout, item);
                    false
                }
            }
            TimerKind::Delete => true,
            TimerKind::Attempt | TimerKind::Expire => {
                match (&conn.state, self.tcp.get_mut(item.idx as usize)) {
                    (ProtoState::Tcp, Some(tcp)) if item.kind() == TimerKind::Attempt => {
                        tcp.attempt_timer()
                    }
                    (ProtoState::Tcp, Some(tcp)) => {
                        let linger = self.cfg.tcp_connection_linger.as_secs_f64();
                        match tcp.expire_timer(conn.last.as_zeek_secs(), linger, t) {
                            Some(true) => true,
                            Some(false) => {
                                let at = t + self.cfg.tcp_session_timer.as_secs_f64();
                                self.wheel.push(at, item);
                                false
                            }
                            None => false,
                        }
                    }
                    _ => false,
                }
            }
        };
        if remove {
            // (`long_report` makes no row for a connection that has
            // ended, and then stops the loop.)
            while self.next_report_before(item.idx, ended) && self.long_report(item.idx) {}
            // Flow export: an ended TCP connection is an "end of flow", any
            // other removal by a timer an idle one.
            let reason = match self.conns[item.idx as usize].as_ref().map(|c| &c.state) {
                Some(ProtoState::Tcp) if self.tcp_of(item.idx).is_some_and(|t| t.has_ended()) => {
                    EndReason::EndOfFlow
                }
                Some(ProtoState::Flow(f)) if f.has_ended() => EndReason::EndOfFlow,
                _ => EndReason::Idle,
            };
            self.remove(item.idx, reason);
        }
    }
}
