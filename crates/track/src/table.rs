//! `FlowTable`: the index from flow-key hash to connection slot.
//!
//! Open addressing with linear probing over one array of 8-byte buckets:
//! the low 32 bits of the key's hash (also its home position) and the slot
//! index. A lookup touches one cache line in the common case, where
//! hashbrown's split control-byte/bucket layout touches two; removal shifts
//! later entries back, so there are no tombstones and probes stay short.
//! The table keeps at most three quarters of its buckets full: between
//! growths it is 3/8 to 3/4 full, 11 to 21 bytes per entry (at most half
//! full cost 16 to 32); with 8 buckets to a cache line and no tombstones
//! the longer probes stay in the line the lookup already touched.

/// The index. Keys live in the slots; `eq` callbacks compare them.
#[derive(Debug)]
pub(crate) struct FlowTable {
    /// 0 = empty; else `(hash_lo << 32) | (slot + 1)`.
    buckets: Vec<u64>,
    mask: usize,
    len: usize,
}

#[inline]
fn pack(hash: u64, slot: u32) -> u64 {
    (hash << 32) | u64::from(slot + 1)
}

#[inline]
fn tag(b: u64) -> u32 {
    (b >> 32) as u32
}

#[inline]
fn slot(b: u64) -> u32 {
    (b as u32).wrapping_sub(1)
}

impl FlowTable {
    /// A table for about `capacity` entries without growing.
    pub fn with_capacity(capacity: usize) -> Self {
        let n = (capacity.max(8) * 4 / 3 + 1).next_power_of_two();
        FlowTable {
            buckets: vec![0; n],
            mask: n - 1,
            len: 0,
        }
    }

    /// Entries.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Bytes held.
    pub fn memory(&self) -> usize {
        self.buckets.capacity() * 8
    }

    /// Finds the slot whose key `eq` accepts.
    #[inline]
    pub fn find(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        let t = hash as u32;
        let mut i = t as usize & self.mask;
        loop {
            let b = self.buckets[i];
            if b == 0 {
                return None;
            }
            if tag(b) == t && eq(slot(b)) {
                return Some(slot(b));
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Asks for the bucket line where a search for `hash` starts.
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        if let Some(b) = self.buckets.get(hash as u32 as usize & self.mask) {
            crate::prefetch::line(b);
        }
    }

    /// Inserts `slot` under `hash` (the caller knows it is not present).
    #[inline]
    pub fn insert(&mut self, hash: u64, slot_idx: u32) {
        if (self.len + 1) * 4 > self.buckets.len() * 3 {
            self.grow();
        }
        let mut i = hash as u32 as usize & self.mask;
        while self.buckets[i] != 0 {
            i = (i + 1) & self.mask;
        }
        self.buckets[i] = pack(hash, slot_idx);
        self.len += 1;
    }

    /// Removes the entry for `slot_idx` stored under `hash`.
    pub fn remove(&mut self, hash: u64, slot_idx: u32) {
        let t = hash as u32;
        let mut i = t as usize & self.mask;
        loop {
            let b = self.buckets[i];
            if b == 0 {
                return;
            }
            if tag(b) == t && slot(b) == slot_idx {
                break;
            }
            i = (i + 1) & self.mask;
        }
        // Backward-shift deletion: move later members of the cluster into
        // the hole whenever their home position allows it.
        let mut j = i;
        loop {
            j = (j + 1) & self.mask;
            let b = self.buckets[j];
            if b == 0 {
                break;
            }
            let home = tag(b) as usize & self.mask;
            let movable = if i <= j {
                home <= i || home > j
            } else {
                home <= i && home > j
            };
            if movable {
                self.buckets[i] = b;
                i = j;
            }
        }
        self.buckets[i] = 0;
        self.len -= 1;
    }

    fn grow(&mut self) {
        let old = core::mem::take(&mut self.buckets);
        let n = (old.len() * 2).max(16);
        self.buckets = vec![0; n];
        self.mask = n - 1;
        for b in old.into_iter().filter(|&b| b != 0) {
            let mut i = tag(b) as usize & self.mask;
            while self.buckets[i] != 0 {
                i = (i + 1) & self.mask;
            }
            self.buckets[i] = b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_find_remove_with_collisions() {
        let mut t = FlowTable::with_capacity(4);
        // Same home bucket for all: hashes equal modulo the table size.
        let hs: Vec<u64> = (0..40u64).map(|i| i << 40 | 5).collect();
        for (i, h) in hs.iter().enumerate() {
            t.insert(*h, i as u32);
        }
        assert_eq!(t.len(), 40);
        for (i, h) in hs.iter().enumerate() {
            assert_eq!(t.find(*h, |s| s == i as u32), Some(i as u32));
        }
        for (i, h) in hs.iter().enumerate().step_by(2) {
            t.remove(*h, i as u32);
        }
        for (i, h) in hs.iter().enumerate() {
            let want = (i % 2 == 1).then_some(i as u32);
            assert_eq!(t.find(*h, |s| s == i as u32), want, "{i}");
        }
    }

    #[test]
    fn random_ops_agree_with_a_map() {
        use std::collections::HashMap;
        let mut t = FlowTable::with_capacity(8);
        let mut m: HashMap<u32, u64> = HashMap::new();
        let mut x: u64 = 0x1234_5678;
        for step in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = (x % 500) as u32;
            let h = u64::from(key).wrapping_mul(0x9E37_79B9_7F4A_7C15) & 0xffff_00ff;
            if let Some(&hh) = m.get(&key) {
                if step % 3 == 0 {
                    t.remove(hh, key);
                    m.remove(&key);
                }
            } else {
                t.insert(h, key);
                m.insert(key, h);
            }
        }
        for (k, h) in &m {
            assert_eq!(t.find(*h, |s| s == *k), Some(*k));
        }
        assert_eq!(t.len(), m.len());
    }
}
