//! Software prefetch: asking for a cache line ahead of its use.
//!
//! With some 150,000 connections open, a connection's slot, its TCP state
//! and its flow-table bucket are cold whenever one of its packets or
//! timers comes: each is a cache miss, the time of a few hundred
//! instructions. Where the next few are known in advance (timers due in a
//! batch), asking for their lines early lets those misses overlap.

/// Asks for the cache line holding `p`. A hint only: it never faults, and
/// an address that is not mapped is ignored.
#[inline(always)]
pub(crate) fn line<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing the program sees and cannot fault,
    // whatever the address.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Asks for every cache line `*r` lies in.
#[inline(always)]
pub(crate) fn value<T>(r: &T) {
    let p = (r as *const T).cast::<u8>();
    let size = core::mem::size_of::<T>();
    // Addresses 64 bytes apart fall in consecutive lines, and the last
    // byte's line is at most one further: every line is asked for. The
    // size is a constant, so the loop unrolls (no alignment arithmetic).
    let mut off = 0;
    while off < size {
        line(p.wrapping_add(off));
        off += 64;
    }
    if size > 0 {
        line(p.wrapping_add(size - 1));
    }
}
