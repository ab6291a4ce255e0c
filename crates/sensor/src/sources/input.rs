//! The reusable read buffer under every capture-file reader.
//!
//! One contiguous buffer, refilled in large reads, so a record can be lent
//! out as a plain slice without copying it. Memory is bounded by the largest
//! record the readers accept, not by the file size: consumed bytes are
//! dropped by moving the unread tail to the front when a record would not
//! fit behind it, which happens about once per buffer's worth of input.

use std::io::{self, Read};

use super::SourceError;

/// How big the buffer starts: large reads keep the syscall cost per packet
/// negligible, and almost every record of every real file fits.
pub(crate) const INITIAL_BUFFER: usize = 1 << 20;

/// A buffered byte stream with a cursor.
pub(crate) struct Input {
    reader: Box<dyn Read + Send>,
    /// Backing store; `buf.len()` is the capacity in use.
    buf: Vec<u8>,
    /// First unconsumed byte.
    pub(crate) pos: usize,
    /// One past the last byte read from `reader`.
    pub(crate) end: usize,
    /// File offset of `buf[0]`, for error messages and statistics.
    base: u64,
    /// The reader returned end of file.
    eof: bool,
}

impl Input {
    pub(crate) fn new(reader: Box<dyn Read + Send>, capacity: usize) -> Self {
        Input {
            reader,
            // Zeroed once here, never again: the buffer is only ever moved
            // within or grown.
            buf: vec![0; capacity.max(64)],
            pos: 0,
            end: 0,
            base: 0,
            eof: false,
        }
    }

    /// The unconsumed bytes already in memory.
    #[inline(always)]
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// How many unconsumed bytes are in memory.
    #[inline(always)]
    pub(crate) fn available(&self) -> usize {
        self.end - self.pos
    }

    /// The whole backing buffer, for lending out a record by index.
    #[inline(always)]
    pub(crate) fn buffer(&self) -> &[u8] {
        &self.buf
    }

    /// File offset of the next unconsumed byte.
    #[inline]
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Marks `n` buffered bytes as used. `n` must not exceed `available()`.
    #[inline(always)]
    pub(crate) fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.available());
        self.pos += n;
    }

    /// Makes at least `n` unconsumed bytes available in memory.
    ///
    /// Returns `Ok(false)` when the input ends first; whatever was there
    /// stays available so the caller can tell a clean end (nothing left)
    /// from a truncated record. `n` must be at most `max` (the caller's
    /// record limit); the buffer grows to fit.
    pub(crate) fn fill(&mut self, n: usize) -> Result<bool, SourceError> {
        if self.available() >= n {
            return Ok(true);
        }
        if n > self.buf.len() {
            self.grow(n);
        }
        if self.pos + n > self.buf.len() {
            // Move the unread tail to the front so `n` bytes fit behind it.
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
        }
        while self.available() < n {
            if self.eof {
                return Ok(false);
            }
            // `pos + n <= len` and `end < pos + n`, so there is free space:
            // a zero-length read here really means end of file.
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(SourceError::Read(e)),
            }
        }
        Ok(true)
    }

    /// Consumes `n` bytes, most of which may not be in memory yet, without
    /// growing the buffer. Returns `Ok(false)` if the input ends first.
    pub(crate) fn skip(&mut self, n: u64) -> Result<bool, SourceError> {
        let have = self.available() as u64;
        if n <= have {
            self.pos += n as usize;
            return Ok(true);
        }
        let mut left = n - have;
        self.base += self.end as u64;
        self.pos = 0;
        self.end = 0;
        while left > 0 {
            if self.eof {
                return Ok(false);
            }
            match self.reader.read(&mut self.buf) {
                Ok(0) => self.eof = true,
                Ok(k) => {
                    if (k as u64) <= left {
                        left -= k as u64;
                        self.base += k as u64;
                    } else {
                        // Keep what was read past the skipped range.
                        self.pos = left as usize;
                        self.end = k;
                        left = 0;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(SourceError::Read(e)),
            }
        }
        Ok(true)
    }

    fn grow(&mut self, n: usize) {
        let new_len = n.next_power_of_two();
        let mut bigger = vec![0; new_len];
        let live = self.end - self.pos;
        bigger[..live].copy_from_slice(&self.buf[self.pos..self.end]);
        self.base += self.pos as u64;
        self.pos = 0;
        self.end = live;
        self.buf = bigger;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::Trickle;

    fn trickle(data: &[u8], step: usize) -> Box<dyn Read + Send> {
        Box::new(Trickle::new(data, step))
    }

    #[test]
    fn fill_compacts_grows_and_reports_eof() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let mut inp = Input::new(trickle(&data, 7), 64);
        assert!(inp.fill(60).unwrap());
        assert_eq!(&inp.data()[..60], &data[..60]);
        inp.consume(60);
        // Needs compaction: 60 + 10 > 64.
        assert!(inp.fill(10).unwrap());
        assert_eq!(inp.offset(), 60);
        assert_eq!(&inp.data()[..10], &data[60..70]);
        // Needs growth beyond 64.
        assert!(inp.fill(200).unwrap());
        assert_eq!(&inp.data()[..200], &data[60..260]);
        inp.consume(200);
        assert_eq!(inp.offset(), 260);
        assert!(!inp.fill(741).unwrap());
        assert_eq!(inp.available(), 740);
    }

    #[test]
    fn skip_streams_past_the_buffer() {
        let data: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        let mut inp = Input::new(trickle(&data, 100), 64);
        assert!(inp.fill(4).unwrap());
        assert!(inp.skip(3000).unwrap());
        assert_eq!(inp.offset(), 3000);
        assert!(inp.fill(8).unwrap());
        assert_eq!(&inp.data()[..8], &data[3000..3008]);
        assert!(!inp.skip(5000).unwrap());
    }
}
