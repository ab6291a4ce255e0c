//! `Counters`: a connection's packet and IP-byte counts (Zeek's ConnSize),
//! four 48-bit counters in 24 bytes.
//!
//! Zeek counts in 64 bits; four `u64`s were 32 bytes of every `Conn`. 48
//! bits hold 2.8 × 10^14 packets or 281 TB a side, more than one
//! connection sends in years at 100 Gb/s; past that a counter stays at
//! its maximum rather than wrapping. Each count is a 32-bit low word and a
//! 16-bit high word: counting a packet is two 32-bit adds whose carries are
//! almost never taken.

/// Index of the packet counters in `lo`/`hi` (plus the side).
const PKTS: usize = 0;
/// Index of the IP-byte counters in `lo`/`hi` (plus the side).
const BYTES: usize = 2;
/// The largest count kept.
pub(crate) const MAX: u64 = (1 << 48) - 1;

/// Packets and IP bytes per side (index 0 = originator).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    lo: [u32; 4],
    hi: [u16; 4],
}

impl Counters {
    #[inline]
    fn get(&self, i: usize) -> u64 {
        u64::from(self.lo[i]) | (u64::from(self.hi[i]) << 32)
    }

    fn set(&mut self, i: usize, v: u64) {
        let v = v.min(MAX);
        self.lo[i] = v as u32;
        self.hi[i] = (v >> 32) as u16;
    }

    /// Packets sent by `side`.
    #[inline]
    pub fn pkts(&self, side: usize) -> u64 {
        self.get(PKTS + (side & 1))
    }

    /// IP bytes sent by `side`.
    #[inline]
    pub fn ip_bytes(&self, side: usize) -> u64 {
        self.get(BYTES + (side & 1))
    }

    /// Both sides' packets.
    #[inline]
    pub fn pkts_both(&self) -> [u64; 2] {
        [self.pkts(0), self.pkts(1)]
    }

    /// Counts one packet of `ip_len` bytes for `side`.
    #[inline(always)]
    pub fn count(&mut self, side: usize, ip_len: u32) {
        let side = side & 1;
        let (p, carry) = self.lo[PKTS + side].overflowing_add(1);
        self.lo[PKTS + side] = p;
        if carry {
            self.carry(PKTS + side);
        }
        let (b, carry) = self.lo[BYTES + side].overflowing_add(ip_len);
        self.lo[BYTES + side] = b;
        if carry {
            self.carry(BYTES + side);
        }
    }

    /// The low word of counter `i` wrapped: carry into the high word, or
    /// stay at the maximum.
    #[cold]
    fn carry(&mut self, i: usize) {
        if self.hi[i] == u16::MAX {
            self.lo[i] = u32::MAX;
        } else {
            self.hi[i] += 1;
        }
    }

    /// Adds `pkts` packets and `bytes` IP bytes to `side` (saturating).
    pub fn add(&mut self, side: usize, pkts: u64, bytes: u64) {
        let side = side & 1;
        self.set(PKTS + side, self.get(PKTS + side).saturating_add(pkts));
        self.set(BYTES + side, self.get(BYTES + side).saturating_add(bytes));
    }

    /// Swaps the sides (a flip).
    #[inline]
    pub fn swap(&mut self) {
        self.lo.swap(0, 1);
        self.lo.swap(2, 3);
        self.hi.swap(0, 1);
        self.hi.swap(2, 3);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_four_bytes() {
        assert_eq!(core::mem::size_of::<Counters>(), 24);
    }

    #[test]
    fn counts_carry_past_32_bits_and_stop_at_the_maximum() {
        let mut c = Counters::default();
        c.add(1, u64::from(u32::MAX), u64::from(u32::MAX) - 10);
        c.count(1, 20);
        assert_eq!(c.pkts(1), 1 << 32);
        assert_eq!(c.ip_bytes(1), u64::from(u32::MAX) + 10);
        assert_eq!((c.pkts(0), c.ip_bytes(0)), (0, 0));
        c.swap();
        assert_eq!(c.pkts_both(), [1 << 32, 0]);
        c.add(0, MAX, MAX - 5);
        assert_eq!(c.pkts(0), MAX);
        c.count(0, 100);
        assert_eq!((c.pkts(0), c.ip_bytes(0)), (MAX, MAX));
        c.count(0, u32::MAX);
        assert_eq!((c.pkts(0), c.ip_bytes(0)), (MAX, MAX));
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_u64_below_the_maximum(
            start in 0u64..(1 << 40),
            lens in proptest::collection::vec((0usize..2, proptest::prelude::any::<u32>()), 0..64),
        ) {
            let mut c = Counters::default();
            c.add(0, start, start << 4);
            c.add(1, start / 3, start);
            let mut want = [start, start / 3, start << 4, start];
            for (side, len) in lens {
                c.count(side, len);
                want[side] += 1;
                want[2 + side] += u64::from(len);
            }
            proptest::prop_assert_eq!([c.pkts(0), c.pkts(1), c.ip_bytes(0), c.ip_bytes(1)], want);
        }
    }
}
