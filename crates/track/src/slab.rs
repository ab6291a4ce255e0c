//! `Slab`: connection storage in fixed chunks, and `SideSlab`: more
//! storage for some of those chunks, at the same indices.
//!
//! A `Vec` that doubles would, at its worst, hold twice the peak number of
//! connections and copy them all on each growth; chunks grow one at a
//! time, never move, and keep the slack under one chunk per kind of slot.
//! Both kinds of chunk stay under glibc's mmap threshold (128 KiB, see
//! the sensor's `huge_pages`), so they come from the heap, which is on
//! huge pages.
//!
//! The side storage is how a TCP connection's state, and an IPv6
//! connection's addresses, are found from the slot index alone (such
//! connections get their slots in chunks that have it): their address
//! does not wait for the slot to be read, so the cache misses of a
//! packet's lookup overlap instead of one following the other, and no
//! other slot pays for their bytes.

use core::ops::{Index, IndexMut};

/// Slots per chunk: 1024 connections are 120 KiB.
pub(crate) const CHUNK: usize = 1024;

/// Values per chunk of a [`SideSlab`]: 512 TCP states are 108 KiB.
const SIDE_CHUNK: usize = 512;

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

    /// Adds a chunk of `CHUNK` empty slots and returns the first one's
    /// index (a multiple of `CHUNK`).
    pub fn push_chunk(&mut self) -> usize {
        self.chunks.push(new_chunk(|| None));
        self.len = self.chunks.len() * CHUNK;
        self.len - CHUNK
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

/// A chunk of `N` values made by `f`.
fn new_chunk<T, const N: usize>(f: impl FnMut() -> T) -> Box<[T; N]> {
    let chunk: Box<[T]> = core::iter::repeat_with(f).take(N).collect();
    let Ok(chunk) = chunk.try_into() else {
        unreachable!("a chunk is made with N values");
    };
    chunk
}

/// A `T` for some of the slots of a [`Slab`], at the same indices: storage
/// comes in chunks of [`SIDE_CHUNK`] slots, given to the chunks that ask
/// for it (see the module note).
#[derive(Debug)]
pub(crate) struct SideSlab<T> {
    /// By side chunk number; `None` where there is no storage.
    chunks: Vec<Option<Box<[T; SIDE_CHUNK]>>>,
    /// Chunks that have storage.
    with: usize,
}

impl<T> Default for SideSlab<T> {
    fn default() -> Self {
        SideSlab {
            chunks: Vec::new(),
            with: 0,
        }
    }
}

impl<T> SideSlab<T> {
    /// Makes sure slot `i` has storage: if its side chunk has none, gives
    /// it some, each value made by `f`.
    pub fn ensure(&mut self, i: usize, f: impl FnMut() -> T) {
        let c = i / SIDE_CHUNK;
        if self.chunks.len() <= c {
            self.chunks.resize_with(c + 1, || None);
        }
        if self.chunks[c].is_none() {
            self.chunks[c] = Some(new_chunk(f));
            self.with += 1;
        }
    }

    /// The value for slot `i`, if it has storage.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&T> {
        self.chunks
            .get(i / SIDE_CHUNK)?
            .as_deref()?
            .get(i % SIDE_CHUNK)
    }

    /// The value for slot `i`, if it has storage.
    #[inline]
    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        self.chunks
            .get_mut(i / SIDE_CHUNK)?
            .as_deref_mut()?
            .get_mut(i % SIDE_CHUNK)
    }

    /// Bytes of storage.
    pub fn memory(&self) -> usize {
        self.with * SIDE_CHUNK * core::mem::size_of::<T>()
            + self.chunks.capacity() * core::mem::size_of::<Option<Box<[T; SIDE_CHUNK]>>>()
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
        assert_eq!(s.push_chunk(), 0);
        assert_eq!(s.push_chunk(), CHUNK);
        assert_eq!(s.len(), 2 * CHUNK);
        let n = CHUNK + CHUNK / 2;
        for i in 0..n {
            s[i] = Some(i as u32);
        }
        assert_eq!(s.get(n - 1), Some(&Some(n as u32 - 1)));
        assert_eq!(s.get(n), Some(&None));
        assert_eq!(s.get(2 * CHUNK), None);
        assert_eq!(s.iter().count(), n);
        assert_eq!(s.memory(), 2 * CHUNK * core::mem::size_of::<Option<u32>>());
    }

    #[test]
    fn side_storage_only_where_given() {
        const S: usize = SIDE_CHUNK;
        let mut side: SideSlab<u64> = SideSlab::default();
        side.ensure(2 * S + 3, || 7);
        assert_eq!(side.get(0), None);
        assert_eq!(side.get(3 * S), None);
        assert_eq!(side.get(2 * S), Some(&7));
        *side.get_mut(3 * S - 1).unwrap() = 9;
        assert_eq!(side.get(3 * S - 1), Some(&9));
        // A second call keeps what is there.
        side.ensure(2 * S, || 0);
        assert_eq!(side.get(3 * S - 1), Some(&9));
        side.ensure(0, || 1);
        assert_eq!(side.get(S - 1), Some(&1));
        assert_eq!(side.get(S), None);
        assert_eq!(side.memory() / 8 / S, 2);
    }
}
