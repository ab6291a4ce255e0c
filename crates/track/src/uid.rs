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
        let mut n = 0;
        buf[n] = b'C';
        n += 1;
        for mut word in [u64::from(self.hi), self.lo] {
            loop {
                buf[n] = ALPHABET[(word % 62) as usize];
                n += 1;
                word /= 62;
                if word == 0 {
                    break;
                }
            }
        }
        // Only ASCII from ALPHABET was written.
        core::str::from_utf8(&buf[..n]).unwrap_or("C")
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

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The next uid.
    pub fn next_uid(&mut self) -> Uid {
        let a = self.next_u64();
        let b = self.next_u64();
        Uid {
            hi: (a >> 32) as u32,
            lo: b,
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

    #[test]
    fn generator_is_deterministic_and_distinct() {
        let mut a = UidGenerator::new(7);
        let mut b = UidGenerator::new(7);
        let x = a.next_uid();
        assert_eq!(x, b.next_uid());
        assert_ne!(x, a.next_uid());
    }
}
