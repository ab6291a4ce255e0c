//! A hashed timer wheel on network time, with an exact-order heap for the
//! timers of the current tick.
//!
//! Zeek fires every timer whose time is `<=` the new network time, in time
//! order, before it processes a packet. Timers here carry the same `f64`
//! deadline Zeek would compute, so the comparison is the same to the bit.
//! Arming costs O(1); a timer is moved once from its wheel slot into the
//! heap when its tick comes. Cancellation is lazy: the owner checks whether
//! a fired timer is still current (generation counters), so nothing is ever
//! searched or removed from the middle.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// Ticks per second of network time (slot width 250 ms).
const TICKS_PER_SEC: f64 = 4.0;
/// Number of slots (a power of two): 8192 slots of 250 ms span 34 minutes.
const SLOTS: usize = 8192;

#[inline]
fn tick_of(t: f64) -> i64 {
    let x = (t * TICKS_PER_SEC).floor();
    if x.is_nan() {
        0
    } else {
        x as i64
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry<T> {
    deadline: f64,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.deadline
            .total_cmp(&other.deadline)
            .then(self.seq.cmp(&other.seq))
    }
}

/// The wheel. `T` is a small handle saying what to do when the timer fires.
#[derive(Debug)]
pub struct TimerWheel<T> {
    slots: Vec<Vec<Entry<T>>>,
    /// Every tick up to and including this one has been moved to `heap`.
    collected: Option<i64>,
    heap: BinaryHeap<Reverse<Entry<T>>>,
    in_slots: usize,
    seq: u64,
}

impl<T: Copy> Default for TimerWheel<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy> TimerWheel<T> {
    /// An empty wheel.
    pub fn new() -> Self {
        TimerWheel {
            slots: (0..SLOTS).map(|_| Vec::new()).collect(),
            collected: None,
            heap: BinaryHeap::new(),
            in_slots: 0,
            seq: 0,
        }
    }

    /// Number of armed timers (including stale ones not yet popped).
    pub fn len(&self) -> usize {
        self.in_slots + self.heap.len()
    }

    /// True when no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Arms a timer for `deadline` (Zeek seconds).
    pub fn push(&mut self, deadline: f64, item: T) {
        self.seq += 1;
        let e = Entry {
            deadline,
            seq: self.seq,
            item,
        };
        let t = tick_of(deadline);
        match self.collected {
            Some(c) if t <= c => self.heap.push(Reverse(e)),
            _ => {
                self.slots[(t as usize) & (SLOTS - 1)].push(e);
                self.in_slots += 1;
            }
        }
    }

    /// Pops the earliest timer with `deadline <= now`, if any.
    pub fn pop_due(&mut self, now: f64) -> Option<(f64, T)> {
        self.collect_to(tick_of(now));
        match self.heap.peek() {
            Some(Reverse(e)) if e.deadline <= now => {
                let Reverse(e) = self.heap.pop()?;
                Some((e.deadline, e.item))
            }
            _ => None,
        }
    }

    /// Pops every timer regardless of its time (end of input), earliest
    /// first.
    pub fn pop_any(&mut self) -> Option<(f64, T)> {
        if self.heap.is_empty() && self.in_slots > 0 {
            self.collect_all();
        }
        self.heap.pop().map(|Reverse(e)| (e.deadline, e.item))
    }

    fn collect_all(&mut self) {
        for slot in &mut self.slots {
            for e in slot.drain(..) {
                self.heap.push(Reverse(e));
            }
        }
        self.in_slots = 0;
    }

    fn collect_to(&mut self, to: i64) {
        let from = match self.collected {
            Some(c) if c >= to => return,
            Some(c) => c + 1,
            None => to,
        };
        self.collected = Some(to);
        if self.in_slots == 0 {
            return;
        }
        if to.saturating_sub(from) >= SLOTS as i64 - 1 {
            // A jump longer than a whole turn: every slot is due once.
            for i in 0..SLOTS {
                self.collect_slot(i, to);
            }
        } else {
            let mut t = from;
            while t <= to {
                self.collect_slot((t as usize) & (SLOTS - 1), to);
                t += 1;
            }
        }
    }

    fn collect_slot(&mut self, idx: usize, to: i64) {
        let slot = &mut self.slots[idx];
        if slot.is_empty() {
            return;
        }
        let mut i = 0;
        while i < slot.len() {
            if tick_of(slot[i].deadline) <= to {
                let e = slot.swap_remove(i);
                self.heap.push(Reverse(e));
                self.in_slots -= 1;
            } else {
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_in_time_order_and_only_when_due() {
        let mut w = TimerWheel::new();
        w.push(10.5, 1u32);
        w.push(10.25, 2);
        w.push(3000.0, 3);
        assert_eq!(w.pop_due(10.0), None);
        assert_eq!(w.pop_due(10.5), Some((10.25, 2)));
        assert_eq!(w.pop_due(10.5), Some((10.5, 1)));
        assert_eq!(w.pop_due(10.5), None);
        // A jump of more than a turn of the wheel.
        assert_eq!(w.pop_due(1e9), Some((3000.0, 3)));
        assert!(w.is_empty());
    }

    #[test]
    fn deadline_equal_to_now_is_due() {
        let mut w = TimerWheel::new();
        let t = 1300475167.096535 + 300.0;
        w.push(t, 7u8);
        assert_eq!(w.pop_due(t - 1e-6), None);
        assert_eq!(w.pop_due(t), Some((t, 7)));
    }

    #[test]
    fn late_pushes_fire_at_next_advance() {
        let mut w = TimerWheel::new();
        assert_eq!(w.pop_due(100.0), None);
        w.push(99.0, 1u8);
        assert_eq!(w.pop_due(100.0), Some((99.0, 1)));
    }

    #[test]
    fn end_of_input_drains_everything() {
        let mut w = TimerWheel::new();
        w.push(5.0, 1u8);
        w.push(1e12, 2u8);
        assert_eq!(w.pop_any(), Some((5.0, 1)));
        assert_eq!(w.pop_any(), Some((1e12, 2)));
        assert_eq!(w.pop_any(), None);
    }
}
