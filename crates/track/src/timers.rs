//! A two-level timer wheel on network time.
//!
//! Zeek fires every timer whose time is `<=` the new network time before it
//! processes a packet. Timers here carry the same `f64` deadline Zeek would
//! compute, so that comparison is the same to the bit. Arming costs O(1);
//! a timer moves once from its coarse slot to a 1 ms bucket and once out.
//! Cancellation is lazy: the owner checks whether a fired timer is still
//! current (generation counters), so nothing is ever searched for or
//! removed from the middle.

/// Milliseconds per coarse tick (slot width 250 ms).
const TICK_MS: i64 = 250;
/// Number of coarse slots (a power of two): 8192 slots of 250 ms span
/// 34 minutes; later timers wait in their slot for their turn.
const SLOTS: usize = 8192;

/// Milliseconds since the epoch, floor.
#[inline]
fn ms_of(t: f64) -> i64 {
    // floor() without the libm call: truncate, then correct negatives.
    let x = t * 1000.0;
    let i = x as i64; // saturating; NaN becomes 0
    if (i as f64) > x {
        i - 1
    } else {
        i
    }
}

/// Where the next due timer is.
enum Loc {
    /// At the end of `due`.
    Due,
    /// In a fine bucket, at an index.
    Bucket(usize, usize),
}

#[derive(Debug, Clone, Copy)]
struct Entry<T> {
    deadline: f64,
    item: T,
}

/// The wheel. `T` is a small handle saying what to do when the timer fires.
///
/// Two levels: coarse slots of 250 ms, and for the current coarse tick 250
/// fine buckets of 1 ms. Timers due before the same packet fire in
/// deadline order, as Zeek's do: a connection's inactivity removal and its
/// long-connection reports must come in the order of their times.
#[derive(Debug)]
pub struct TimerWheel<T> {
    slots: Vec<Vec<Entry<T>>>,
    /// Coarse tick whose timers sit in `fine`.
    current: Option<i64>,
    fine: Vec<Vec<Entry<T>>>,
    /// Fine buckets before this index are empty.
    fine_pos: usize,
    /// Timers known to be due, sorted latest first (popped from the end).
    due: Vec<Entry<T>>,
    len: usize,
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
            current: None,
            fine: (0..TICK_MS).map(|_| Vec::new()).collect(),
            fine_pos: 0,
            due: Vec::new(),
            len: 0,
        }
    }

    /// Number of armed timers (including stale ones not yet popped).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held by the wheel's buffers.
    pub fn memory(&self) -> usize {
        let per = core::mem::size_of::<Entry<T>>();
        let vecs = |v: &Vec<Vec<Entry<T>>>| {
            v.iter().map(|s| s.capacity() * per).sum::<usize>()
                + v.capacity() * core::mem::size_of::<Vec<Entry<T>>>()
        };
        vecs(&self.slots) + vecs(&self.fine) + self.due.capacity() * per
    }

    /// Arms a timer for `deadline` (Zeek seconds).
    #[inline]
    pub fn push(&mut self, deadline: f64, item: T) {
        let e = Entry { deadline, item };
        self.len += 1;
        let ms = ms_of(deadline);
        let tick = ms.div_euclid(TICK_MS);
        match self.current {
            Some(c) if tick < c => self.insert_due(e),
            Some(c) if tick == c => {
                let f = ms.rem_euclid(TICK_MS) as usize;
                if f < self.fine_pos {
                    self.insert_due(e);
                } else {
                    self.fine[f].push(e);
                }
            }
            _ => self.slots[(tick as usize) & (SLOTS - 1)].push(e),
        }
    }

    /// Pops the earliest timer with `deadline <= now`, if any.
    #[inline]
    pub fn pop_due(&mut self, now: f64) -> Option<(f64, T)> {
        let (_, loc) = self.locate_due(now)?;
        let e = match loc {
            Loc::Due => self.due.pop()?,
            Loc::Bucket(f, i) => self.fine[f].swap_remove(i),
        };
        self.len -= 1;
        Some((e.deadline, e.item))
    }

    /// The deadline of the timer [`pop_due`](Self::pop_due) would return.
    #[inline]
    pub fn peek_due(&mut self, now: f64) -> Option<f64> {
        self.locate_due(now).map(|(d, _)| d)
    }

    fn locate_due(&mut self, now: f64) -> Option<(f64, Loc)> {
        let now_ms = ms_of(now);
        let tick = now_ms.div_euclid(TICK_MS);
        if self.current.is_none_or(|c| c < tick) {
            self.advance_to(tick);
        }
        if self.current == Some(tick) {
            let f = now_ms.rem_euclid(TICK_MS) as usize;
            if self.fine_pos < f {
                let start = self.due.len();
                while self.fine_pos < f {
                    let b = core::mem::take(&mut self.fine[self.fine_pos]);
                    self.due.extend_from_slice(&b);
                    self.fine[self.fine_pos] = b;
                    self.fine[self.fine_pos].clear();
                    self.fine_pos += 1;
                }
                if self.due.len() != start {
                    self.sort_due();
                }
            }
            // The current bucket's timers are later than everything in
            // `due`; they come only once `due` has nothing left for now.
            if self.due.last().is_none_or(|e| e.deadline > now) {
                let bucket = &self.fine[f];
                let mut best: Option<usize> = None;
                for (i, e) in bucket.iter().enumerate() {
                    if e.deadline <= now && best.is_none_or(|b| e.deadline < bucket[b].deadline) {
                        best = Some(i);
                    }
                }
                return best.map(|i| (bucket[i].deadline, Loc::Bucket(f, i)));
            }
        }
        // Time going backwards leaves later timers waiting.
        match self.due.last() {
            Some(e) if e.deadline <= now => Some((e.deadline, Loc::Due)),
            _ => None,
        }
    }

    fn sort_due(&mut self) {
        self.due.sort_by(|a, b| b.deadline.total_cmp(&a.deadline));
    }

    fn insert_due(&mut self, e: Entry<T>) {
        let pos = self
            .due
            .partition_point(|x| x.deadline.total_cmp(&e.deadline).is_gt());
        self.due.insert(pos, e);
    }

    /// Moves everything up to coarse tick `tick` out of the slots: earlier
    /// ticks are wholly due, `tick` itself goes to the fine buckets.
    fn advance_to(&mut self, tick: i64) {
        let before = self.due.len();
        // What is left of the previous tick's fine buckets is due now.
        for b in &mut self.fine[self.fine_pos..] {
            self.due.extend_from_slice(b);
            b.clear();
        }
        self.fine_pos = 0;
        let from = match self.current {
            Some(c) => c + 1,
            None => tick,
        };
        self.current = Some(tick);
        if tick.saturating_sub(from) >= SLOTS as i64 - 1 {
            // A jump longer than a whole turn: every slot is visited once.
            for i in 0..SLOTS {
                self.collect_slot(i, tick);
            }
        } else {
            let mut t = from;
            while t <= tick {
                self.collect_slot((t as usize) & (SLOTS - 1), tick);
                t += 1;
            }
        }
        if self.due.len() != before {
            self.sort_due();
        }
    }

    fn collect_slot(&mut self, idx: usize, tick: i64) {
        let slot = &mut self.slots[idx];
        if slot.is_empty() {
            return;
        }
        let mut i = 0;
        while i < slot.len() {
            let ms = ms_of(slot[i].deadline);
            let t = ms.div_euclid(TICK_MS);
            if t < tick {
                self.due.push(slot.swap_remove(i));
            } else if t == tick {
                let e = slot.swap_remove(i);
                self.fine[ms.rem_euclid(TICK_MS) as usize].push(e);
            } else {
                i += 1;
            }
        }
        // A slot fills once per turn of the wheel; give back what a burst
        // left behind so memory follows the armed timers, not the peak.
        if slot.capacity() > 32 && slot.len() < slot.capacity() / 4 {
            slot.shrink_to((slot.len() * 2).max(8));
        }
    }

    /// Drops every timer `keep` rejects (a sweep of lazily cancelled
    /// timers), and gives back memory of slots that shrank a lot.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let mut len = 0;
        for v in self
            .slots
            .iter_mut()
            .chain(self.fine.iter_mut())
            .chain(core::iter::once(&mut self.due))
        {
            v.retain(|e| keep(&e.item));
            if v.capacity() > 64 && v.len() < v.capacity() / 4 {
                v.shrink_to(v.len() * 2);
            }
            len += v.len();
        }
        self.len = len;
    }

    /// Pops every timer regardless of its time (end of input).
    pub fn pop_any(&mut self) -> Option<(f64, T)> {
        if self.due.is_empty() && self.len > 0 {
            for b in self.slots.iter_mut().chain(self.fine.iter_mut()) {
                self.due.append(b);
            }
        }
        let e = self.due.pop()?;
        self.len -= 1;
        Some((e.deadline, e.item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_in_deadline_order_and_only_when_due() {
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
        let mut got = vec![w.pop_any().unwrap().1, w.pop_any().unwrap().1];
        got.sort();
        assert_eq!(got, vec![1, 2]);
        assert_eq!(w.pop_any(), None);
        assert!(w.is_empty());
    }
}
