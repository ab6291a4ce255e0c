//! Eviction when the table is full (`max_connections`).
//!
//! A sensor on a busy link must survive a SYN flood or a scan: with a cap
//! set, the connection table never holds more than the cap, and its index
//! is sized for it once, at start-up. When a packet would open one
//! connection too many, one tracked connection is evicted:
//!
//! 1. Never a connection already reported to `conn_long.log`: an analyst
//!    has seen it and expects its end.
//! 2. First choice: the oldest connection that has seen a single packet
//!    (a SYN-only attempt, a one-way UDP or ICMP probe). That is what
//!    floods and scans create, and evicting them keeps real conversations
//!    alive through one. They are found in creation order in a queue of
//!    8-byte entries, so this costs a look at one or two connections.
//! 3. Otherwise (no such connection left): of [`CANDIDATES`] connections
//!    sampled at random slots (Redis-style approximate LRU; no per-packet
//!    bookkeeping), the one idle the longest, preferring ones the responder
//!    never answered.
//!
//! The evicted connection is written to conn.log as it stands, like one
//! removed at the end of input, and counted (`TrackerStats::evicted`). If
//! no connection may go, the new one is not tracked and is counted instead
//! (`TrackerStats::untracked`).

use super::ConnTracker;
use crate::conn::{Conn, ORIG, RESP};
use crate::slab::CHUNK;

/// Connections compared per sampled eviction.
pub(super) const CANDIDATES: usize = 8;

/// Random probes per sampled eviction at most (each probe looks at up to
/// [`PROBE_RUN`] consecutive slots for an occupied one).
const PROBES: usize = 32;
const PROBE_RUN: usize = 8;

/// (answered, last packet time, slot): the smallest is evicted.
type Score = (bool, i64, u32);

fn score(c: &Conn, i: usize) -> Score {
    (c.counts.pkts(RESP) > 0, c.last.0, i as u32)
}

fn single_packet(c: &Conn) -> bool {
    c.counts.pkts(ORIG) + c.counts.pkts(RESP) <= 1 && c.long_next == 0
}

impl ConnTracker {
    /// Remembers a new connection as an eviction candidate (only with a
    /// cap; in creation order).
    pub(super) fn note_new(&mut self, idx: u32) {
        let gen = self.meta[idx as usize].gen;
        self.evict_queue.push_back((idx, gen));
        // Entries of connections that ended or saw more packets are
        // dropped lazily; purge them when they dominate.
        if self.evict_queue.len() > 2 * self.cfg.max_connections + 4096 {
            let (meta, conns) = (&self.meta, &self.conns);
            self.evict_queue.retain(|&(i, g)| {
                meta.get(i as usize).is_some_and(|m| m.gen == g)
                    && conns[i as usize].as_ref().is_some_and(single_packet)
            });
        }
    }

    /// Frees one slot for a new connection by evicting another; false if
    /// no connection may be evicted.
    pub(super) fn make_room(&mut self) -> bool {
        while let Some((idx, gen)) = self.evict_queue.pop_front() {
            let live = self.meta.get(idx as usize).is_some_and(|m| m.gen == gen);
            if live && self.conns[idx as usize].as_ref().is_some_and(single_packet) {
                return self.evict(Some((false, 0, idx)));
            }
        }
        // Slots are handed out a chunk at a time, per kind of connection:
        // only the first `slots_used_in` of a chunk can be occupied.
        let chunks = self.conns.len() / CHUNK;
        let used = self.slots_handed_out();
        let mut best: Option<Score> = None;
        let consider = |best: &mut Option<Score>, c: &Conn, i: usize| {
            if c.long_next == 0 && best.is_none_or(|b| score(c, i) < b) {
                *best = Some(score(c, i));
            }
        };
        if used <= PROBES {
            // A small table: look at every connection.
            for c in 0..chunks {
                for i in c * CHUNK..c * CHUNK + self.slots_used_in(c) {
                    if let Some(conn) = self.conns[i].as_ref() {
                        consider(&mut best, conn, i);
                    }
                }
            }
            return self.evict(best);
        }
        let mut found = 0;
        for _ in 0..PROBES {
            if found == CANDIDATES {
                break;
            }
            // A random chunk, then a random run of its used slots (slots
            // of a chunk still filling are sampled a little more often:
            // the choice is approximate anyway).
            let r = self.next_random();
            let c = (r % chunks as u64) as usize;
            let n = self.slots_used_in(c);
            if n == 0 {
                continue;
            }
            let start = ((r >> 32) % n as u64) as usize;
            for k in 0..PROBE_RUN {
                let i = c * CHUNK + (start + k) % n;
                if let Some(c) = self.conns[i].as_ref() {
                    if c.long_next == 0 {
                        found += 1;
                        consider(&mut best, c, i);
                    }
                    break;
                }
            }
        }
        self.evict(best)
    }

    fn evict(&mut self, best: Option<Score>) -> bool {
        match best {
            Some((_, _, idx)) => {
                self.remove(idx, connwatch_wire::netflow::EndReason::LackOfResources);
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
