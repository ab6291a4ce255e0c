//! Bounds-checked big-/little-endian reads shared by the decoders.
//!
//! Every read returns `None` instead of panicking when the input is too
//! short; decoders turn that into the right [`Anomaly`](crate::Anomaly).
//! Slice patterns (`[a, b, ..]`) let the compiler drop redundant bounds
//! checks on the hot path.

/// Big-endian `u16` at `off`.
#[inline(always)]
pub(crate) fn be16(d: &[u8], off: usize) -> Option<u16> {
    match d.get(off..)? {
        [a, b, ..] => Some(u16::from_be_bytes([*a, *b])),
        _ => None,
    }
}

/// Little-endian `u16` at `off`.
#[inline(always)]
pub(crate) fn le16(d: &[u8], off: usize) -> Option<u16> {
    match d.get(off..)? {
        [a, b, ..] => Some(u16::from_le_bytes([*a, *b])),
        _ => None,
    }
}

/// Big-endian `u32` at `off`.
#[inline(always)]
pub(crate) fn be32(d: &[u8], off: usize) -> Option<u32> {
    match d.get(off..)? {
        [a, b, c, e, ..] => Some(u32::from_be_bytes([*a, *b, *c, *e])),
        _ => None,
    }
}

/// The byte at `off`.
#[inline(always)]
pub(crate) fn u8_at(d: &[u8], off: usize) -> Option<u8> {
    d.get(off).copied()
}

/// Six bytes at `off` (a MAC address).
#[inline(always)]
pub(crate) fn mac(d: &[u8], off: usize) -> Option<[u8; 6]> {
    match d.get(off..)? {
        [a, b, c, e, f, g, ..] => Some([*a, *b, *c, *e, *f, *g]),
        _ => None,
    }
}

/// Sixteen bytes at `off` (an IPv6 address).
#[inline(always)]
pub(crate) fn arr16(d: &[u8], off: usize) -> Option<[u8; 16]> {
    d.get(off..)?.get(..16)?.try_into().ok()
}

/// `d[off..]`, or an empty slice when `off` is past the end.
#[inline(always)]
pub(crate) fn tail(d: &[u8], off: usize) -> &[u8] {
    d.get(off..).unwrap_or(&[])
}
