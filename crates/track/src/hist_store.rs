//! `HistStore`: a connection's history letters in 16 bytes.
//!
//! Every tracked connection carries its history, but almost every history
//! is short: a whole TCP exchange is `ShADadFf`, a DNS query `Dd`. A full
//! [`History`] (30 letters and a length) inline in every `Conn` cost 31
//! bytes; here the first [`INLINE`] letters sit inline and a connection
//! whose history grows past them moves it to the heap once (an allocation
//! per long-history connection, never per packet). The letters kept, and
//! the cap of [`History::CAPACITY`], are exactly those of [`History`].

use crate::record::History;

/// Letters kept inline.
pub(crate) const INLINE: usize = 14;

/// History letters: inline while short, boxed once longer.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum HistStore {
    /// Up to [`INLINE`] letters.
    Inline { len: u8, buf: [u8; INLINE] },
    /// More than [`INLINE`] letters (up to [`History::CAPACITY`]).
    Boxed(Box<History>),
}

impl HistStore {
    /// No letters.
    pub const fn new() -> Self {
        HistStore::Inline {
            len: 0,
            buf: [0; INLINE],
        }
    }

    /// Appends a letter (dropped once [`History::CAPACITY`] are kept, as
    /// [`History::push`] does).
    #[inline(always)]
    pub fn push(&mut self, c: u8) {
        match self {
            HistStore::Inline { len, buf } => {
                if let Some(slot) = buf.get_mut(usize::from(*len)) {
                    *slot = c;
                    *len += 1;
                } else {
                    self.spill(c);
                }
            }
            HistStore::Boxed(h) => h.push(c),
        }
    }

    /// Moves the letters to the heap and appends `c`.
    #[cold]
    fn spill(&mut self, c: u8) {
        let mut h = History::from_bytes(self.as_bytes());
        h.push(c);
        *self = HistStore::Boxed(Box::new(h));
    }

    /// Replaces the whole history.
    pub fn set(&mut self, s: &[u8]) {
        *self = HistStore::new();
        for &c in s {
            self.push(c);
        }
    }

    /// The letters.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            HistStore::Inline { len, buf } => &buf[..usize::from(*len).min(INLINE)],
            HistStore::Boxed(h) => h.as_bytes(),
        }
    }

    /// The letters as text (always ASCII).
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// The letters as a record's [`History`].
    #[inline]
    pub fn to_history(&self) -> History {
        match self {
            HistStore::Inline { .. } => History::from_bytes(self.as_bytes()),
            HistStore::Boxed(h) => **h,
        }
    }
}

impl Default for HistStore {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for HistStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_bytes() {
        assert_eq!(core::mem::size_of::<HistStore>(), 16);
    }

    #[test]
    fn agrees_with_history_across_the_spill_and_the_cap() {
        let mut s = HistStore::new();
        let mut h = History::new();
        for i in 0..40u8 {
            let c = b'a' + i % 26;
            s.push(c);
            h.push(c);
            assert_eq!(s.as_bytes(), h.as_bytes(), "{i}");
            assert_eq!(s.to_history(), h);
        }
        assert!(matches!(s, HistStore::Boxed(_)));
        assert_eq!(s.as_bytes().len(), History::CAPACITY);
        s.set(b"^h");
        assert_eq!(s.as_str(), "^h");
        assert!(matches!(s, HistStore::Inline { .. }));
    }
}
