//! Eviction when the table is full (`max_connections`).
//!
//! A sensor on a busy link must survive a SYN flood or a scan: with a cap
//! set, the connection table never holds more than the cap, and the index
//! is sized for it once, at start-up. When a packet would open one
//! connection too many, one tracked connection is evicted:
//!
//! 1. Sample: up to [`CANDIDATES`] connections at random slots (Redis-style
//!    approximate LRU; no per-packet bookkeeping such as an LRU list).
//! 2. Never a connection already reported to `conn_long.log`: an analyst
//!    has seen it and expects its end.
//! 3. Prefer connections the responder never answered (SYN-only attempts,
//!    one-way UDP/ICMP probes): that is what floods and scans create, and
//!    it keeps a real conversation alive through one.
//! 4. Among those, the one idle the longest.
//!
//! The evicted connection is written to conn.log as it stands, like one
//! removed at the end of input, and counted (`TrackerStats::evicted`). If
//! every sampled connection is protected, the new connection is not
//! tracked and is counted instead (`TrackerStats::untracked`).

use super::ConnTracker;
use crate::conn::RESP;

/// Connections compared per eviction.
pub(super) const CANDIDATES: usize = 16;

/// Random probes per eviction at most (each probe looks at up to
/// [`PROBE_RUN`] consecutive slots for an occupied one).
const PROBES: usize = 64;
const PROBE_RUN: usize = 8;

impl ConnTracker {
    /// Frees one slot for a new connection by evicting another; false if
    /// no connection may be evicted.
    pub(super) fn make_room(&mut self) -> bool {
        let n = self.conns.len();
        if n == 0 {
            return false;
        }
        // (answered, last packet time, slot): the smallest is evicted.
        let mut best: Option<(bool, i64, u32)> = None;
        let consider = |best: &mut Option<(bool, i64, u32)>, c: &crate::conn::Conn, i: usize| {
            let score = (c.pkts[RESP] > 0, c.last.0, i as u32);
            if best.is_none_or(|b| score < b) {
                *best = Some(score);
            }
        };
        if n <= PROBES {
            // A small table: look at every connection.
            for i in 0..n {
                if let Some(c) = self.conns[i].as_ref().filter(|c| c.long_next == 0) {
                    consider(&mut best, c, i);
                }
            }
            return self.evict(best);
        }
        let mut found = 0;
        for _ in 0..PROBES {
            if found == CANDIDATES {
                break;
            }
            let start = (self.next_random() % n as u64) as usize;
            for k in 0..PROBE_RUN {
                let i = (start + k) % n;
                let Some(c) = self.conns[i].as_ref() else {
                    continue;
                };
                if c.long_next == 0 {
                    found += 1;
                    consider(&mut best, c, i);
                }
                break;
            }
        }
        self.evict(best)
    }

    fn evict(&mut self, best: Option<(bool, i64, u32)>) -> bool {
        match best {
            Some((_, _, idx)) => {
                self.remove(idx);
                self.stats.evicted += 1;
                true
            }
            None => false,
        }
    }

    /// xorshift64*: cheap, and deterministic for a given uid seed.
    fn next_random(&mut self) -> u64 {
        let mut x = self.evict_rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.evict_rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}
