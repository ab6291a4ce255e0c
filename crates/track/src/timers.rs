//! A two-level timer wheel on network time.
//!
//! Zeek fires every timer whose time is `<=` the new network time before it
//! processes a packet. Timers here carry the same `f64` deadline Zeek would
//! compute, so that comparison is the same to the bit. Arming costs O(1);
//! a timer moves once from its coarse slot to a 1 ms bucket and once out.
//! Cancellation is lazy: the owner checks whether a fired timer is still
//! current (generation counters), so nothing is ever searched for or
//! removed from the middle.
//!
//! Once network time reaches a millisecond, that millisecond's bucket
//! moves into the sorted `due` list. A cached horizon (no timer is due
//! before it) makes asking whether anything is due one comparison for most
//! packets. Timers with equal deadlines fire in the order they were armed.

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

/// A time no later than any deadline in a millisecond after `due_ms`
/// (and than any `now` whose millisecond is after it), so that a clock
/// before it can skip `TimerWheel::reach`: just under the next
/// millisecond, `(due_ms + 1 - 2^-8) / 1000`. A value below that
/// (exactly) times 1000 is below `due_ms + 1 - 2^-8`, which is an
/// `f64` while `|due_ms| < 2^44`, so the rounded product is at most
/// that and its floor is at most `due_ms`; and a correctly rounded
/// quotient is no later than the first `f64` at or after the exact
/// one. 2^44 ms covers every clock made from `i64` nanoseconds;
/// beyond it, no shortcut.
#[inline]
fn ms_horizon(due_ms: i64) -> f64 {
    if due_ms.unsigned_abs() < 1 << 44 {
        (due_ms as f64 + (1.0 - 1.0 / 256.0)) / 1000.0
    } else {
        f64::NEG_INFINITY
    }
}

/// 16 bytes with an 8-byte `T`: the deadline and what to do. There is no
/// arming sequence number: every container keeps entries in arming order
/// and sorts stably, so equal deadlines still fire in the order they were
/// armed (Zeek's order).
#[derive(Debug, Clone, Copy)]
struct Entry<T> {
    deadline: f64,
    item: T,
}

/// An integer that orders like `f64::total_cmp`.
#[inline]
fn total_order_key(x: f64) -> i64 {
    let b = x.to_bits() as i64;
    b ^ (((b >> 63) as u64) >> 1) as i64
}

impl<T> Entry<T> {
    #[inline]
    fn key(&self) -> i64 {
        total_order_key(self.deadline)
    }
}

/// Entries per block of a coarse slot's list.
const BLOCK: usize = 32;
/// Blocks per allocation (never moved, never freed: reused).
const BLOCKS_PER_CHUNK: usize = 256;
/// No block.
const NIL: u32 = u32::MAX;

/// Storage for the coarse slots: each slot is a list of fixed-size blocks
/// taken from, and given back to, one shared free list. A slot fills once
/// per turn of the wheel; with a `Vec` per slot every turn grew and shrank
/// thousands of buffers, which left the allocator's heap fragmented and
/// each slot's capacity up to twice its contents. Blocks cost at most one
/// partly filled block per slot, and memory follows the peak number of
/// armed timers.
#[derive(Debug)]
struct Blocks<T> {
    /// `BLOCKS_PER_CHUNK * BLOCK` entries per chunk.
    chunks: Vec<Box<[Entry<T>]>>,
    /// Per block: entries used.
    fill: Vec<u8>,
    /// Per block: the next block of its list (or of the free list).
    next: Vec<u32>,
    /// First free block.
    free: u32,
}

impl<T: Copy> Blocks<T> {
    fn new() -> Self {
        Blocks {
            chunks: Vec::new(),
            fill: Vec::new(),
            next: Vec::new(),
            free: NIL,
        }
    }

    /// A free block, emptied, linked in front of `next`; `filler` fills a
    /// new chunk (any entry will do).
    fn take(&mut self, next: u32, filler: Entry<T>) -> u32 {
        if self.free == NIL {
            let first = self.fill.len();
            self.chunks
                .push(vec![filler; BLOCKS_PER_CHUNK * BLOCK].into_boxed_slice());
            for b in first..first + BLOCKS_PER_CHUNK {
                self.fill.push(0);
                self.next.push(if b + 1 < first + BLOCKS_PER_CHUNK {
                    (b + 1) as u32
                } else {
                    NIL
                });
            }
            self.free = first as u32;
        }
        let b = self.free;
        self.free = self.next[b as usize];
        self.next[b as usize] = next;
        self.fill[b as usize] = 0;
        b
    }

    /// Gives a block back.
    fn give(&mut self, b: u32) {
        self.next[b as usize] = self.free;
        self.free = b;
    }

    /// Appends to a list (first and last block), oldest entries first.
    #[inline]
    fn push(&mut self, list: &mut (u32, u32), e: Entry<T>) {
        let last = list.1 as usize;
        if let Some(f) = self.fill.get_mut(last) {
            if usize::from(*f) < BLOCK {
                let i = (last % BLOCKS_PER_CHUNK) * BLOCK + usize::from(*f);
                *f += 1;
                self.chunks[last / BLOCKS_PER_CHUNK][i] = e;
                return;
            }
        }
        self.push_new_block(list, e);
    }

    #[inline(never)]
    fn push_new_block(&mut self, list: &mut (u32, u32), e: Entry<T>) {
        let b = self.take(NIL, e);
        match self.next.get_mut(list.1 as usize) {
            Some(n) => *n = b,
            None => list.0 = b,
        }
        list.1 = b;
        let i = (b as usize % BLOCKS_PER_CHUNK) * BLOCK;
        self.chunks[b as usize / BLOCKS_PER_CHUNK][i] = e;
        self.fill[b as usize] = 1;
    }

    /// Walks a list in order, handing each entry to `keep`; the entries it
    /// rejects (dropped, or moved elsewhere by it) leave the list. The kept
    /// ones are compacted in place, in order, and the blocks left empty at
    /// the end go back to the free list: no entry is copied twice, and the
    /// order of the kept ones (arming order) is unchanged.
    fn retain(&mut self, list: &mut (u32, u32), mut keep: impl FnMut(&Entry<T>) -> bool) {
        if list.0 == NIL {
            return;
        }
        // Write position: block `wb`, entry `wi`; it never passes the read
        // position, so nothing unread is overwritten.
        let (mut wb, mut wi) = (list.0, 0usize);
        let w = wb as usize;
        let (mut wc, mut wbase) = (w / BLOCKS_PER_CHUNK, (w % BLOCKS_PER_CHUNK) * BLOCK);
        let mut rb = list.0;
        loop {
            let r = rb as usize;
            let fill = usize::from(self.fill[r]);
            let rbase = (r % BLOCKS_PER_CHUNK) * BLOCK;
            // The block is read from a copy, so that the writes (to this
            // block or an earlier one) need no care for it.
            let mut read = [self.chunks[0][0]; BLOCK];
            read[..fill].copy_from_slice(&self.chunks[r / BLOCKS_PER_CHUNK][rbase..rbase + fill]);
            for e in &read[..fill] {
                if keep(e) {
                    if wi == BLOCK {
                        self.fill[wb as usize] = BLOCK as u8;
                        wb = self.next[wb as usize];
                        wi = 0;
                        let w = wb as usize;
                        (wc, wbase) = (w / BLOCKS_PER_CHUNK, (w % BLOCKS_PER_CHUNK) * BLOCK);
                    }
                    self.chunks[wc][wbase + wi] = *e;
                    wi += 1;
                }
            }
            let next = self.next[r];
            if next == NIL {
                break;
            }
            rb = next;
        }
        // Blocks after the write position are free; so is the first one
        // when nothing was kept.
        let mut b = self.next[wb as usize];
        self.next[wb as usize] = NIL;
        while b != NIL {
            let n = self.next[b as usize];
            self.give(b);
            b = n;
        }
        if wi == 0 {
            self.give(wb);
            *list = (NIL, NIL);
        } else {
            self.fill[wb as usize] = wi as u8;
            list.1 = wb;
        }
    }

    fn memory(&self) -> usize {
        self.chunks.len() * BLOCKS_PER_CHUNK * BLOCK * core::mem::size_of::<Entry<T>>()
            + self.fill.capacity()
            + self.next.capacity() * 4
    }
}

/// The wheel. `T` is a small handle saying what to do when the timer fires.
///
/// Two levels: coarse slots of 250 ms, and for the current coarse tick 250
/// fine buckets of 1 ms. Timers due before the same packet fire in
/// deadline order, as Zeek's do: a connection's inactivity removal and its
/// long-connection reports must come in the order of their times.
///
/// Equal deadlines fire in arming order without a sequence number: a slot's
/// list and a fine bucket are appended to in arming order and moved on in
/// order, every entry of one deadline passes through the same slot and
/// bucket, and the due list is sorted stably.
#[derive(Debug)]
pub struct TimerWheel<T> {
    /// First and last block of each coarse slot's list.
    slots: Vec<(u32, u32)>,
    blocks: Blocks<T>,
    /// Coarse tick whose timers sit in `fine`.
    current: Option<i64>,
    fine: Vec<Vec<Entry<T>>>,
    /// Fine buckets before this index are empty (moved to `due`).
    fine_pos: usize,
    /// Timers of every millisecond up to `due_ms`, earliest first from
    /// `head` (entries before it have fired).
    due: Vec<Entry<T>>,
    head: usize,
    /// The millisecond through which the buckets have been moved to `due`.
    due_ms: i64,
    /// No timer is due before this time: at most the earliest deadline
    /// armed, and the start of the first millisecond not yet reached. A
    /// packet before it costs one comparison; pushes lower it.
    horizon: f64,
    /// `ms_horizon(due_ms)`: a clock before it needs no `reach`, so when
    /// the head of `due` is already due, it is the next timer to fire.
    reached: f64,
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
            slots: vec![(NIL, NIL); SLOTS],
            blocks: Blocks::new(),
            current: None,
            fine: (0..TICK_MS).map(|_| Vec::new()).collect(),
            fine_pos: 0,
            due: Vec::new(),
            head: 0,
            due_ms: i64::MIN,
            horizon: f64::NEG_INFINITY,
            reached: f64::NEG_INFINITY,
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
        self.slots.capacity() * 8
            + self.blocks.memory()
            + vecs(&self.fine)
            + self.due.capacity() * per
    }

    /// Arms a timer for `deadline` (Zeek seconds).
    #[inline]
    pub fn push(&mut self, deadline: f64, item: T) {
        let e = Entry { deadline, item };
        self.len += 1;
        // (`min` ignores a NaN deadline, which is never due.)
        self.horizon = self.horizon.min(deadline);
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
            _ => {
                let list = &mut self.slots[(tick as usize) & (SLOTS - 1)];
                self.blocks.push(list, e);
            }
        }
    }

    /// Pops the earliest timer with `deadline <= now`, if any.
    #[inline]
    pub fn pop_due(&mut self, now: f64) -> Option<(f64, T)> {
        self.peek_due(now)?;
        Some(self.take_head())
    }

    /// The timer `k` places after the one [`pop_due`](Self::pop_due) would
    /// return next, if it has reached the sorted due list (it may not be
    /// due yet): for prefetching what it will touch.
    #[inline]
    pub fn due_ahead(&self, k: usize) -> Option<&T> {
        self.due.get(self.head + k).map(|e| &e.item)
    }

    /// Removes `due[head]` (which must exist).
    #[inline]
    fn take_head(&mut self) -> (f64, T) {
        let e = self.due[self.head];
        self.head += 1;
        if self.head == self.due.len() {
            self.due.clear();
            self.head = 0;
        }
        self.len -= 1;
        (e.deadline, e.item)
    }

    /// The deadline of the timer [`pop_due`](Self::pop_due) would return.
    #[inline]
    pub fn peek_due(&mut self, now: f64) -> Option<f64> {
        // (False for a NaN `now`, which takes the long way.)
        if now < self.horizon {
            return None;
        }
        // Timers fire one after another within a millisecond: the head of
        // `due` is then the answer `peek_slow` would give (no `reach`
        // before `reached`), without its call.
        if now < self.reached {
            if let Some(e) = self.due.get(self.head) {
                if e.deadline <= now {
                    return Some(e.deadline);
                }
            }
        }
        self.peek_slow(now)
    }

    #[inline(never)]
    fn peek_slow(&mut self, now: f64) -> Option<f64> {
        let now_ms = ms_of(now);
        if now_ms > self.due_ms {
            self.reach(now_ms);
        }
        // Time going backwards leaves later timers waiting.
        match self.due.get(self.head) {
            Some(e) if e.deadline <= now => Some(e.deadline),
            e => {
                self.horizon = ms_horizon(self.due_ms);
                if let Some(e) = e {
                    self.horizon = self.horizon.min(e.deadline);
                }
                None
            }
        }
    }

    /// Moves every timer of the milliseconds up to `now_ms` into `due`.
    fn reach(&mut self, now_ms: i64) {
        if self.head > 0 {
            // What is left did not fire yet (later in its millisecond).
            self.due.drain(..self.head);
            self.head = 0;
        }
        let start = self.due.len();
        let tick = now_ms.div_euclid(TICK_MS);
        if self.current.is_none_or(|c| c < tick) {
            self.advance_to(tick);
        }
        if self.current == Some(tick) {
            let f = now_ms.rem_euclid(TICK_MS) as usize;
            while self.fine_pos <= f {
                let b = &mut self.fine[self.fine_pos];
                self.due.extend_from_slice(b);
                b.clear();
                self.fine_pos += 1;
            }
        }
        self.due_ms = now_ms;
        self.reached = ms_horizon(now_ms);
        self.sort_from(start);
    }

    /// Sorts what was appended to `due` from `start` on, stably (equal
    /// deadlines stay in arming order). Appended entries belong to later
    /// milliseconds than those already there, so the whole list is then in
    /// order; the check afterwards covers timers armed before the clock
    /// was first set, which can come late.
    fn sort_from(&mut self, start: usize) {
        let new = &mut self.due[start..];
        // Buckets filled in deadline order (the common case) need no sort.
        if !new.is_sorted_by_key(Entry::key) {
            new.sort_by_key(Entry::key);
        }
        if start > 0 && start < self.due.len() && self.due[start - 1].key() > self.due[start].key()
        {
            self.due.sort_by_key(Entry::key);
        }
    }

    fn insert_due(&mut self, e: Entry<T>) {
        // After every entry with an equal deadline: those were armed first.
        let k = e.key();
        let pos = self.head + self.due[self.head..].partition_point(|x| x.key() <= k);
        self.due.insert(pos, e);
    }

    /// Moves everything up to coarse tick `tick` out of the slots: earlier
    /// ticks are wholly due, `tick` itself goes to the fine buckets (the
    /// caller sorts what reached `due`).
    fn advance_to(&mut self, tick: i64) {
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
    }

    fn collect_slot(&mut self, idx: usize, tick: i64) {
        let mut list = self.slots[idx];
        let (due, fine) = (&mut self.due, &mut self.fine);
        self.blocks.retain(&mut list, |e| {
            let ms = ms_of(e.deadline);
            let t = ms.div_euclid(TICK_MS);
            if t < tick {
                due.push(*e);
                false
            } else if t == tick {
                fine[ms.rem_euclid(TICK_MS) as usize].push(*e);
                false
            } else {
                true // a later turn of the wheel
            }
        });
        self.slots[idx] = list;
    }

    /// Drops every timer `keep` rejects (a sweep of lazily cancelled
    /// timers); emptied blocks go back to the free list.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let mut len = 0;
        for i in 0..SLOTS {
            let mut list = self.slots[i];
            self.blocks.retain(&mut list, |e| {
                let k = keep(&e.item);
                len += usize::from(k);
                k
            });
            self.slots[i] = list;
        }
        self.due.drain(..self.head);
        self.head = 0;
        for v in self.fine.iter_mut().chain(core::iter::once(&mut self.due)) {
            v.retain(|e| keep(&e.item));
            len += v.len();
        }
        self.len = len;
    }

    /// Pops every timer regardless of its time (end of input).
    pub fn pop_any(&mut self) -> Option<(f64, T)> {
        if self.head == self.due.len() && self.len > 0 {
            self.due.clear();
            self.head = 0;
            for i in 0..SLOTS {
                let mut list = self.slots[i];
                let due = &mut self.due;
                self.blocks.retain(&mut list, |e| {
                    due.push(*e);
                    false
                });
                self.slots[i] = list;
            }
            for b in self.fine.iter_mut() {
                self.due.append(b);
            }
        }
        if self.head == self.due.len() {
            return None;
        }
        Some(self.take_head())
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
    fn due_ahead_shows_the_timers_that_pop_next() {
        let mut w = TimerWheel::new();
        for (i, d) in [10.001, 10.002, 10.003, 10.004].into_iter().enumerate() {
            w.push(d, i as u32);
        }
        assert_eq!(w.due_ahead(0), None, "nothing has reached the due list yet");
        assert_eq!(w.pop_due(10.003), Some((10.001, 0)));
        // The next ones in pop order; 10.004 is not in the list yet.
        assert_eq!(w.due_ahead(0), Some(&1));
        assert_eq!(w.due_ahead(1), Some(&2));
        assert_eq!(w.due_ahead(2), None);
        assert_eq!(w.pop_due(10.003), Some((10.002, 1)));
        assert_eq!(w.due_ahead(0), Some(&2));
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
    fn pushes_into_a_reached_millisecond() {
        let mut w = TimerWheel::new();
        w.push(100.0009, 1u8);
        assert_eq!(w.pop_due(100.0001), None); // this millisecond is in `due`
        w.push(100.0002, 2); // earlier than that bound, same millisecond
        assert_eq!(w.pop_due(100.0003), Some((100.0002, 2)));
        assert_eq!(w.pop_due(100.0004), None);
        w.push(50.0, 3); // in the past
        assert_eq!(w.pop_due(100.0004), Some((50.0, 3)));
        assert_eq!(w.pop_due(100.0009), Some((100.0009, 1)));
    }

    #[test]
    fn sort_key_orders_like_total_cmp() {
        let xs = [
            f64::NEG_INFINITY,
            -1e300,
            -1.0,
            -f64::MIN_POSITIVE,
            -0.0,
            0.0,
            5e-324,
            1.0,
            1.5,
            1e300,
            f64::INFINITY,
            f64::NAN,
            -f64::NAN,
        ];
        for a in xs {
            for b in xs {
                assert_eq!(
                    total_order_key(a).cmp(&total_order_key(b)),
                    a.total_cmp(&b),
                    "{a} {b}"
                );
            }
        }
    }

    #[test]
    fn equal_deadlines_fire_in_arming_order() {
        let mut w = TimerWheel::new();
        assert_eq!(w.pop_due(10.0), None);
        w.push(12.0, 1u8);
        w.push(11.0, 2);
        w.push(12.0, 3);
        assert_eq!(w.pop_due(11.0), Some((11.0, 2)));
        w.push(12.0, 4); // armed while 12.0 is still ahead, after 1 and 3
        assert_eq!(w.pop_due(12.0), Some((12.0, 1)));
        w.push(12.0, 5); // its millisecond is already reached: straight to `due`
        let order: Vec<u8> = core::iter::from_fn(|| w.pop_due(12.0).map(|e| e.1)).collect();
        assert_eq!(order, vec![3, 4, 5]);
    }

    proptest::proptest! {
        /// The wheel pops exactly what a sorted list would, in order (equal
        /// deadlines in arming order), for any mix of pushes and clock
        /// steps (forwards, backwards, within one millisecond).
        #[test]
        fn matches_a_sorted_list(ops in proptest::collection::vec(
            (0u8..4, 0u32..5_000, 0u32..1_000), 1..300)) {
            let mut w = TimerWheel::new();
            let mut model: Vec<(f64, u32)> = Vec::new();
            let mut now = 1_000.0f64;
            // The tracker moves the clock before it arms anything.
            proptest::prop_assert_eq!(w.pop_due(now), None);
            for (i, (op, a, b)) in ops.into_iter().enumerate() {
                let i = i as u32;
                match op {
                    0 => {
                        // Deadlines around now, some sub-millisecond apart.
                        let d = now - 0.5 + f64::from(a) * 0.001 + f64::from(b) * 1e-6;
                        w.push(d, i);
                        model.push((d, i));
                    }
                    3 => {
                        // Deadlines on a 100 ms grid: many equal ones.
                        let d = ((now * 10.0).floor() + f64::from(a % 30) - 5.0) / 10.0;
                        w.push(d, i);
                        model.push((d, i));
                    }
                    1 => now += f64::from(a % 50) * 0.0001 + f64::from(b) * 1e-7,
                    _ => now += f64::from(a) * 0.001 - 2.0,
                }
                loop {
                    let got = w.pop_due(now);
                    let due = model
                        .iter()
                        .enumerate()
                        .filter(|(_, e)| e.0 <= now)
                        .min_by(|x, y| x.1 .0.total_cmp(&y.1 .0));
                    match (got, due) {
                        (None, None) => break,
                        (Some((d, item)), Some((j, e))) => {
                            // Equal deadlines in arming order: the model
                            // keeps its entries in arming order and
                            // `min_by` returns the first of equal ones.
                            proptest::prop_assert_eq!((d, item), *e);
                            model.remove(j);
                        }
                        (g, m) => proptest::prop_assert!(false, "wheel {:?} model {:?} at {}", g, m, now),
                    }
                }
            }
        }
    }

    proptest::proptest! {
        /// Below the horizon of a millisecond, no value belongs to a later
        /// one: the largest `f64` under it, and the horizon itself.
        #[test]
        fn horizon_is_below_the_next_millisecond(m in -(1i64 << 44) + 1..(1i64 << 44)) {
            let h = ms_horizon(m);
            proptest::prop_assert!(ms_of(h) <= m);
            proptest::prop_assert!(ms_of(h.next_down()) <= m);
            // And it is close: a later millisecond starts within 4 µs.
            proptest::prop_assert!(ms_of(h + 0.000_004_5) > m || m.unsigned_abs() > 1 << 40);
        }
    }

    #[test]
    fn extreme_times_neither_panic_nor_fire_early() {
        // Clocks from i64 nanoseconds at both ends, and deadlines past them.
        let lo = i64::MIN as f64 / 1e9;
        let hi = i64::MAX as f64 / 1e9;
        let mut w = TimerWheel::new();
        assert_eq!(w.pop_due(lo), None);
        w.push(lo + 300.0, 1u8);
        w.push(hi + 300.0, 2);
        w.push(f64::MAX, 3);
        assert_eq!(w.pop_due(lo + 299.0), None);
        assert_eq!(w.pop_due(lo + 300.0), Some((lo + 300.0, 1)));
        assert_eq!(w.pop_due(hi), None);
        w.push(hi, 4);
        assert_eq!(w.pop_due(hi), Some((hi, 4)));
        assert_eq!(w.pop_due(hi + 300.0), Some((hi + 300.0, 2)));
        assert_eq!(w.pop_due(f64::MAX), Some((f64::MAX, 3)));
        // Backwards, and back again.
        w.push(0.5, 5);
        assert_eq!(w.pop_due(0.0), None);
        assert_eq!(w.pop_due(0.5), Some((0.5, 5)));
        assert!(w.is_empty());
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
