//! Zeek-style connection uids: `C` + base62 of 96 random bits.
//!
//! Zeek writes two words (32 and 64 bits), each in base62 least-significant
//! digit first without padding. The bits come from a seedable generator so
//! tests are deterministic; the sensor seeds it from the clock and pid.

/// A connection uid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Uid {
    /// The 32-bit word.
    pub hi: u32,
    /// The 64-bit word.
    pub lo: u64,
}

const ALPHABET: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

impl Uid {
    /// Longest rendering: `C` + 6 + 11 digits.
    pub const MAX_LEN: usize = 18;

    /// Writes the uid into `buf` and returns the used part as text.
    pub fn render<'b>(&self, buf: &'b mut [u8; Self::MAX_LEN]) -> &'b str {
        let n = self.write_ascii(buf);
        // Only ASCII from ALPHABET was written.
        core::str::from_utf8(&buf[..n]).unwrap_or("C")
    }

    /// Writes the uid into `buf` and returns its length (2 to
    /// [`MAX_LEN`](Self::MAX_LEN) ASCII bytes).
    #[inline]
    pub fn write_ascii(&self, buf: &mut [u8; Self::MAX_LEN]) -> usize {
        buf[0] = b'C';
        let n = base62_lsd_first(u64::from(self.hi), buf, 1);
        base62_lsd_first(self.lo, buf, n)
    }
}

/// Two base62 digits per division: `PAIRS[v]` for v < 62², low digit
/// first.
const PAIRS: [[u8; 2]; 62 * 62] = {
    let mut t = [[0u8; 2]; 62 * 62];
    let mut i = 0;
    while i < 62 * 62 {
        t[i] = [ALPHABET[i % 62], ALPHABET[i / 62]];
        i += 1;
    }
    t
};

/// Appends `word` in base62, least significant digit first, no padding
/// (at most 11 digits), at `buf[n..]`; returns the new length.
#[inline]
fn base62_lsd_first(mut word: u64, buf: &mut [u8; Uid::MAX_LEN], mut n: usize) -> usize {
    loop {
        if word < 62 {
            if let Some(b) = buf.get_mut(n) {
                *b = ALPHABET[word as usize];
            }
            return n + 1;
        }
        // word >= 62: both digits of the pair are printed (the high one is
        // non-zero, or more digits follow).
        let pair = PAIRS[(word % (62 * 62)) as usize];
        if let Some(b) = buf.get_mut(n..n + 2) {
            b.copy_from_slice(&pair);
        }
        n += 2;
        word /= 62 * 62;
        if word == 0 {
            return n;
        }
    }
}

impl core::fmt::Display for Uid {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut buf = [0u8; Self::MAX_LEN];
        f.write_str(self.render(&mut buf))
    }
}

/// Generates uids from a seed (splitmix64; not cryptographic, only unique
/// with high probability, as Zeek's are).
#[derive(Debug, Clone)]
pub struct UidGenerator {
    state: u64,
}

impl UidGenerator {
    /// A generator; equal seeds give equal sequences.
    pub fn new(seed: u64) -> Self {
        UidGenerator { state: seed }
    }

    /// The next generator state; [`Uid::from_state`] turns it into the
    /// uid [`next_uid`](Self::next_uid) would have returned. A connection
    /// keeps this one word (8 bytes) instead of the uid's 12.
    #[inline]
    pub fn next_state(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN.wrapping_mul(2));
        self.state
    }

    /// The next uid.
    pub fn next_uid(&mut self) -> Uid {
        Uid::from_state(self.next_state())
    }
}

/// splitmix64's increment.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// splitmix64's output function.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Uid {
    /// The uid of a generator state from [`UidGenerator::next_state`]: the
    /// two splitmix64 outputs that end at that state.
    #[inline]
    pub fn from_state(state: u64) -> Uid {
        Uid {
            hi: (mix(state.wrapping_sub(GOLDEN)) >> 32) as u32,
            lo: mix(state),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_least_significant_digit_first() {
        let uid = Uid { hi: 62, lo: 1 };
        assert_eq!(uid.to_string(), "C011");
        let max = Uid {
            hi: u32::MAX,
            lo: u64::MAX,
        };
        assert_eq!(max.to_string().len(), Uid::MAX_LEN);
    }

    /// The digit-at-a-time definition.
    fn naive(u: Uid) -> String {
        let mut s = String::from("C");
        for mut w in [u64::from(u.hi), u.lo] {
            loop {
                s.push(ALPHABET[(w % 62) as usize] as char);
                w /= 62;
                if w == 0 {
                    break;
                }
            }
        }
        s
    }

    #[test]
    fn pairs_agree_with_single_digits_at_the_edges() {
        for w in [
            0u64,
            1,
            61,
            62,
            63,
            3843,
            3844,
            3845,
            238_327,
            238_328,
            u64::MAX,
        ] {
            for hi in [0u32, 61, 62, 3844, u32::MAX] {
                let u = Uid { hi, lo: w };
                assert_eq!(u.to_string(), naive(u));
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn pairs_agree_with_single_digits(hi: u32, lo: u64, shift in 0u32..64) {
            let u = Uid { hi: hi >> (shift % 32), lo: lo >> shift };
            proptest::prop_assert_eq!(u.to_string(), naive(u));
        }
    }

    #[test]
    fn states_give_the_uids_of_two_splitmix_steps() {
        // The definition before uids were kept as states: two outputs of
        // splitmix64, the first's high word and the second whole.
        let mut st = 99u64;
        let mut step = || {
            st = st.wrapping_add(GOLDEN);
            mix(st)
        };
        let mut g = UidGenerator::new(99);
        for _ in 0..100 {
            let (a, b) = (step(), step());
            let want = Uid {
                hi: (a >> 32) as u32,
                lo: b,
            };
            assert_eq!(Uid::from_state(g.next_state()), want);
        }
    }

    #[test]
    fn generator_is_deterministic_and_distinct() {
        let mut a = UidGenerator::new(7);
        let mut b = UidGenerator::new(7);
        let x = a.next_uid();
        assert_eq!(x, b.next_uid());
        assert_ne!(x, a.next_uid());
    }
}
