//! `Slab`: connection storage in fixed chunks.
//!
//! A `Vec` that doubles would, at its worst, hold twice the peak number of
//! connections and copy them all on each growth; chunks of 4096 slots grow
//! one chunk at a time, never move, and keep the slack under one chunk.

use core::ops::{Index, IndexMut};

const CHUNK: usize = 4096;

/// Slots addressed by a dense `u32`-sized index.
#[derive(Debug)]
pub(crate) struct Slab<T> {
    /// Fixed-size arrays rather than slices: an index within a chunk then
    /// needs no bounds check (a slab access is several per packet).
    chunks: Vec<Box<[Option<T>; CHUNK]>>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    /// Number of slots (used or not).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Adds an empty slot and returns its index.
    pub fn push_empty(&mut self) -> usize {
        if self.len == self.chunks.len() * CHUNK {
            let chunk: Box<[Option<T>]> = (0..CHUNK).map(|_| None).collect();
            let Ok(chunk) = chunk.try_into() else {
                unreachable!("a chunk is made with CHUNK slots");
            };
            self.chunks.push(chunk);
        }
        self.len += 1;
        self.len - 1
    }

    /// The slot at `i`, if it exists.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&Option<T>> {
        if i < self.len {
            self.chunks.get(i / CHUNK)?.get(i % CHUNK)
        } else {
            None
        }
    }

    /// The slot at `i`, if it exists.
    #[inline]
    pub fn get_mut(&mut self, i: usize) -> Option<&mut Option<T>> {
        if i < self.len {
            self.chunks.get_mut(i / CHUNK)?.get_mut(i % CHUNK)
        } else {
            None
        }
    }

    /// Occupied slots.
    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flat_map(|c| c.iter()).flatten()
    }

    /// Occupied slots with their index.
    pub fn iter_indexed(&self) -> impl Iterator<Item = (usize, &T)> {
        self.chunks
            .iter()
            .flat_map(|c| c.iter())
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|c| (i, c)))
    }

    /// Bytes of slot storage.
    pub fn memory(&self) -> usize {
        self.chunks.len() * CHUNK * core::mem::size_of::<Option<T>>()
    }
}

impl<T> Index<usize> for Slab<T> {
    type Output = Option<T>;
    /// # Panics
    /// On an index that was never handed out (an internal bug).
    #[inline]
    fn index(&self, i: usize) -> &Option<T> {
        &self.chunks[i / CHUNK][i % CHUNK]
    }
}

impl<T> IndexMut<usize> for Slab<T> {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut Option<T> {
        &mut self.chunks[i / CHUNK][i % CHUNK]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_by_chunks_and_indexes() {
        let mut s: Slab<u32> = Slab::default();
        for i in 0..5000 {
            let k = s.push_empty();
            assert_eq!(k, i);
            s[k] = Some(i as u32);
        }
        assert_eq!(s.get(4999), Some(&Some(4999)));
        assert_eq!(s.get(5000), None);
        assert_eq!(s.iter().count(), 5000);
        assert_eq!(s.memory(), 2 * CHUNK * core::mem::size_of::<Option<u32>>());
    }
}
