//! The binary's global allocator: the system allocator, with the memory
//! the tracker lives in asking the kernel for transparent huge pages.
//!
//! Why: every packet touches a few lines at random in tens of megabytes of
//! tracker state (flow-table bucket, connection slot, TCP state, timers).
//! With 4 KiB pages almost each of those misses the TLB as well as the
//! cache, and on a virtual machine a TLB miss walks two page tables.
//! Distributions ship transparent huge pages in `madvise` mode, where
//! memory only gets 2 MiB pages where the program asks for them
//! (`madvise(MADV_HUGEPAGE)`). This asks, as glibc's own
//! `glibc.malloc.hugetlb=1` tunable does, for two kinds of memory:
//!
//! - the main heap (glibc's `brk` arena), where the small blocks live (a
//!   connection's TCP state, its history): after an allocation that made
//!   the heap grow, the new part is advised. The kernel gives each growth
//!   a fresh mapping without the advice, hence once per growth. The heap
//!   grows in steps of [`HEAP_STEP`] (glibc's `M_TOP_PAD`, set by
//!   [`tune_malloc`]) so that most of the new memory lies in whole 2 MiB
//!   ranges that nothing has touched yet, which is when the kernel can
//!   still back them with a huge page;
//! - blocks of a huge page or more (the flow table, for one): mappings of
//!   their own, made here on a 2 MiB boundary and advised whole
//!   ([`is_big`]).
//!
//! On the benchmark this cut the profile-guided build's CPU time by about
//! 6%, for some 3 MiB more resident memory at the peak (README,
//! "Performance"). Where the kernel has no transparent huge pages, or has
//! them off, `madvise` fails and nothing changes; its result is ignored
//! on purpose, as the advice is only a hint that never changes what
//! memory holds.

use std::alloc::{GlobalAlloc, Layout, System};
#[cfg(all(target_os = "linux", target_env = "gnu"))]
use std::sync::atomic::{AtomicUsize, Ordering};

/// The size of a transparent huge page on x86-64 and AArch64 (4 KiB base
/// pages).
pub const HUGE_PAGE: usize = 2 << 20;

/// How much the main heap grows by at least (glibc's `M_TOP_PAD`, 128 KiB
/// by default). Only touched pages count towards memory use, so a bigger
/// step costs address space, not memory; glibc also keeps up to this much
/// free at the heap's end rather than giving it back at once. Measured on
/// the benchmark: 4 MiB as fast, 32 MiB slower (1.11 of the CPU time).
pub const HEAP_STEP: usize = 8 << 20;

/// [`System`], advising huge pages for the heap's growth and for blocks of
/// a huge page or more.
#[derive(Debug, Default, Clone, Copy)]
pub struct HugePageAlloc;

/// Sets glibc's allocator up for the tracker; call once at startup,
/// before other threads exist.
///
/// - The mmap threshold stays at its initial 128 KiB. glibc raises it each
///   time a large block is freed, after which the tracker's growing arrays
///   (flow table, slot metadata, queues) come from the main heap, and each
///   growth leaves the old copy there as a hole that stays resident. Kept
///   at 128 KiB, such blocks are mapped on their own, grow by `mremap` and
///   go back to the system when freed: on the 2-million-connection
///   benchmark, 1.7 MB less peak memory (about 11 bytes per open
///   connection) at no measurable cost.
/// - The main heap grows by at least [`HEAP_STEP`] (`M_TOP_PAD`), for the
///   huge pages (see the module note). glibc maps a block above the
///   threshold only when the heap's free end cannot hold it, so with this
///   step some of those arrays (connection-slot chunks among them) come
///   from the heap after all, and share its huge pages. A version that
///   mapped every block of 128 KiB or more itself kept them out: 12 MB
///   fewer huge pages at the benchmark's peak, and no faster (1.018 of
///   this one's CPU time, paired).
pub fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_TOP_PAD, HEAP_STEP as libc::c_int);
    }
}

/// The whole huge pages inside `[p, p + size)`: (start, length), or `None`
/// when the range holds none (for checks that a range can hold one).
pub fn huge_span(p: usize, size: usize) -> Option<(usize, usize)> {
    let start = p.checked_add(HUGE_PAGE - 1)? & !(HUGE_PAGE - 1);
    let end = p.checked_add(size)? & !(HUGE_PAGE - 1);
    (end > start).then(|| (start, end - start))
}

/// What to advise after the heap's end moved from `done` to `top`: from
/// the huge page `done` lies in (the part below it was advised with the
/// growth before, so the mapping's advice stays in one piece) to `top`.
/// `None` on the first look (`done` 0: the runtime's startup heap, too
/// small for a huge page), and when the heap did not grow.
pub fn heap_growth(done: usize, top: usize) -> Option<(usize, usize)> {
    if done == 0 || top <= done {
        return None;
    }
    let start = done & !(HUGE_PAGE - 1);
    Some((start, top - start))
}

/// `madvise(MADV_HUGEPAGE)` on `[start, start + len)` (a no-op off Linux).
#[inline]
fn advise_range(start: usize, len: usize) {
    #[cfg(target_os = "linux")]
    // SAFETY: callers pass memory of this process (a fresh mapping, or
    // the heap); MADV_HUGEPAGE only changes how later
    // page faults in it are served, never the contents. Where part of the
    // range is not mapped, the kernel skips it and fails harmlessly.
    unsafe {
        libc::madvise(start as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (start, len);
}

/// The heap's end when last looked at (0 before the first look).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
static HEAP_TOP: AtomicUsize = AtomicUsize::new(0);

/// After a `System` allocation: advises whatever the heap grew by since
/// the last look. `sbrk(0)` only reads glibc's cached heap end; the common
/// case is one load and one comparison. Threads racing here at worst
/// advise a range twice.
#[inline]
fn after_alloc(p: *mut u8) {
    if p.is_null() {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `sbrk(0)` changes nothing; it returns the heap's end.
        let top = unsafe { libc::sbrk(0) } as usize;
        let done = HEAP_TOP.load(Ordering::Relaxed);
        if top == done || top == usize::MAX {
            return;
        }
        HEAP_TOP.store(top, Ordering::Relaxed);
        if let Some((start, len)) = heap_growth(done, top) {
            advise_range(start, len);
        }
    }
}

/// Whether a block is "big": a huge page or more, with an alignment a
/// huge page satisfies. A big block is a mapping of its own, made here:
/// `mmap` on a 2 MiB boundary (so that all of its whole 2 MiB ranges can
/// be huge pages: a flow table of exactly 2 MiB becomes one), advised
/// whole, grown by `mremap` (the kernel moves the pages, nothing is
/// copied) and given back by `munmap`. Glibc's own `posix_memalign` would
/// not do: the advice would cover only part of its mapping, splitting it,
/// and `mremap` refuses a range that spans two mappings, so every growth
/// became a copy. Everything else goes to [`System`]. Only on Linux.
#[inline]
pub fn is_big(layout: Layout) -> bool {
    cfg!(target_os = "linux") && layout.size() >= HUGE_PAGE && layout.align() <= HUGE_PAGE
}

/// The base page size mappings are made of.
const PAGE: usize = 4096;

/// The length of the mapping behind a big block of `size` bytes (whole
/// pages), or `None` on overflow.
#[inline]
fn map_len(size: usize) -> Option<usize> {
    Some(size.checked_add(PAGE - 1)? & !(PAGE - 1))
}

/// A fresh (zeroed) mapping for a big block on a 2 MiB boundary, advised
/// whole, or null.
#[inline]
fn alloc_big(size: usize) -> *mut u8 {
    #[cfg(target_os = "linux")]
    {
        let Some(len) = map_len(size) else {
            return core::ptr::null_mut();
        };
        // Enough to cut an aligned `len` out of; the rest is unmapped.
        let Some(total) = len.checked_add(HUGE_PAGE - PAGE) else {
            return core::ptr::null_mut();
        };
        // SAFETY: a new private anonymous mapping; nothing else refers to
        // it. The head and tail cut off lie inside it, page-aligned.
        unsafe {
            let p = libc::mmap(
                core::ptr::null_mut(),
                total,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if p == libc::MAP_FAILED {
                return core::ptr::null_mut();
            }
            let base = p as usize;
            let start = (base + HUGE_PAGE - 1) & !(HUGE_PAGE - 1);
            let head = start - base;
            if head > 0 {
                libc::munmap(p, head);
            }
            let tail = total - head - len;
            if tail > 0 {
                libc::munmap((start + len) as *mut libc::c_void, tail);
            }
            advise_range(start, len);
            start as *mut u8
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = size;
        core::ptr::null_mut()
    }
}

/// Gives a big block back.
///
/// # Safety
/// `p` is a big block of `size` bytes (from [`alloc_big`] or
/// [`realloc_big`]), not used after.
#[inline]
unsafe fn free_big(p: *mut u8, size: usize) {
    #[cfg(target_os = "linux")]
    if let Some(len) = map_len(size) {
        // SAFETY: the caller's contract: the whole mapping is the block's.
        unsafe {
            libc::munmap(p.cast(), len);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (p, size);
}

/// Grows or shrinks a big block of `old` bytes to a big `new` size with
/// `mremap` (the advice moves with the mapping), or null, the old block
/// then untouched. The result keeps a page's alignment only.
///
/// # Safety
/// `p` is a big block of `old` bytes.
#[inline]
unsafe fn realloc_big(p: *mut u8, old: usize, new: usize) -> *mut u8 {
    #[cfg(target_os = "linux")]
    {
        let (Some(old_len), Some(new_len)) = (map_len(old), map_len(new)) else {
            return core::ptr::null_mut();
        };
        // SAFETY: the caller's contract: the mapping is the block's, in
        // one piece; the kernel moves it whole or leaves it as it was.
        let q = unsafe { libc::mremap(p.cast(), old_len, new_len, libc::MREMAP_MAYMOVE) };
        if q == libc::MAP_FAILED {
            return core::ptr::null_mut();
        }
        q.cast()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (p, old, new);
        core::ptr::null_mut()
    }
}

// SAFETY: a block is big (see `is_big`) or not by its layout alone, which
// the caller passes unchanged to every call about it (`realloc`'s new
// size then decides the new block's kind). Big blocks are whole mappings
// of their own (`map_len` bytes from their start), made, moved and
// unmapped here only; the others are allocated, grown and freed by
// `System` only; a block that changes kind is copied into a new one of
// the other kind. `mremap` keeps only a page's alignment, so a big block
// that needs more is copied too. The advice only gives the kernel a hint
// about memory of this process.
unsafe impl GlobalAlloc for HugePageAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_big(layout) {
            return alloc_big(layout.size());
        }
        // SAFETY: the caller's contract for `alloc`, passed on.
        let p = unsafe { System.alloc(layout) };
        after_alloc(p);
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_big(layout) {
            // A fresh mapping reads as zeros; its pages are faulted in,
            // as huge ones, only when first touched.
            return alloc_big(layout.size());
        }
        // SAFETY: the caller's contract for `alloc_zeroed`, passed on.
        let p = unsafe { System.alloc_zeroed(layout) };
        after_alloc(p);
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_big(layout) {
            // SAFETY: a big block (by its layout), given back once.
            unsafe { free_big(ptr, layout.size()) }
        } else {
            // SAFETY: the caller's contract for `dealloc`, passed on.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // The new layout: the caller's contract for `realloc` makes it
        // valid.
        let Ok(new) = Layout::from_size_align(new_size, layout.align()) else {
            return core::ptr::null_mut();
        };
        match (is_big(layout), is_big(new)) {
            (false, false) => {
                // SAFETY: the caller's contract for `realloc`, passed on.
                let p = unsafe { System.realloc(ptr, layout, new_size) };
                after_alloc(p);
                p
            }
            // SAFETY: a big block that needs no more than a page's
            // alignment.
            (true, true) if layout.align() <= PAGE => unsafe {
                realloc_big(ptr, layout.size(), new_size)
            },
            _ => {
                // Another kind, or an alignment `mremap` does not keep:
                // a new block, the contents copied, the old one freed.
                // SAFETY: `ptr` holds `layout.size()` bytes, the new block
                // at least the smaller size; the old one is freed as the
                // kind it is.
                unsafe {
                    let p = self.alloc(new);
                    if !p.is_null() {
                        core::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                    p
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: usize = HUGE_PAGE;

    #[test]
    fn spans_hold_only_whole_aligned_pages() {
        assert_eq!(huge_span(0, H), Some((0, H)));
        assert_eq!(huge_span(16, 2 * H), Some((H, H)));
        assert_eq!(huge_span(16, 2 * H - 16), Some((H, H)));
        assert_eq!(huge_span(16, 2 * H - 17), None);
        assert_eq!(huge_span(H - 1, 3 * H), Some((H, 2 * H)));
        assert_eq!(huge_span(4096, H), None);
        assert_eq!(huge_span(usize::MAX - 10, H), None);
    }

    #[test]
    fn heap_growth_starts_at_the_huge_page_of_the_old_end() {
        // The first look only notes the end.
        assert_eq!(heap_growth(0, 5 * H), None);
        // No growth, or a heap given back.
        assert_eq!(heap_growth(5 * H, 5 * H), None);
        assert_eq!(heap_growth(5 * H, 4 * H), None);
        // Growth from mid-page: from that page's start to the new end.
        assert_eq!(
            heap_growth(5 * H + 4096, 9 * H + 8192),
            Some((5 * H, 4 * H + 8192))
        );
        assert_eq!(heap_growth(5 * H, 6 * H), Some((5 * H, H)));
    }

    #[test]
    fn blocks_of_a_huge_page_or_more_start_on_one() {
        let small = Layout::from_size_align(H - 1, 8).unwrap();
        assert!(!is_big(small));
        assert!(!is_big(Layout::from_size_align(H, 2 * H).unwrap()));
        let big = Layout::from_size_align(H, 8).unwrap();
        assert_eq!(is_big(big), cfg!(target_os = "linux"));
        let a = HugePageAlloc;
        // SAFETY: non-zero sizes; each block is freed with its layout.
        unsafe {
            let p = a.alloc_zeroed(big);
            assert!(!p.is_null());
            if is_big(big) {
                assert_eq!(p as usize % H, 0);
            }
            p.write_bytes(3, H);
            // Big to big (by `mremap`), big to small, small to big.
            let q = a.realloc(p, big, 3 * H);
            assert!(!q.is_null());
            assert!(core::slice::from_raw_parts(q, H).iter().all(|b| *b == 3));
            let big3 = Layout::from_size_align(3 * H, 8).unwrap();
            let r = a.realloc(q, big3, 100);
            assert!(core::slice::from_raw_parts(r, 100).iter().all(|b| *b == 3));
            let small100 = Layout::from_size_align(100, 8).unwrap();
            let t = a.realloc(r, small100, H + 1);
            assert!(core::slice::from_raw_parts(t, 100).iter().all(|b| *b == 3));
            a.dealloc(t, Layout::from_size_align(H + 1, 8).unwrap());
            // An alignment `mremap` does not keep is kept by copying.
            let wide = Layout::from_size_align(H, 4096).unwrap();
            let w = a.alloc(wide);
            assert_eq!(w as usize % 4096, 0);
            let w2 = a.realloc(w, wide, 2 * H);
            assert_eq!(w2 as usize % 4096, 0);
            a.dealloc(w2, Layout::from_size_align(2 * H, 4096).unwrap());
        }
    }

    #[test]
    fn blocks_behave_as_the_system_allocator_s() {
        let a = HugePageAlloc;
        for size in [8, 4096, H - 8, H, 2 * H, 6 * H + 5] {
            let layout = Layout::from_size_align(size, 8).unwrap();
            // SAFETY: non-zero sizes; each block is freed with its layout.
            unsafe {
                let p = a.alloc_zeroed(layout);
                assert!(!p.is_null());
                assert!(core::slice::from_raw_parts(p, size).iter().all(|b| *b == 0));
                p.write_bytes(7, size);
                let q = a.realloc(p, layout, size * 2);
                assert!(!q.is_null());
                assert!(core::slice::from_raw_parts(q, size).iter().all(|b| *b == 7));
                a.dealloc(q, Layout::from_size_align(size * 2, 8).unwrap());
                let r = a.alloc(layout);
                assert!(!r.is_null());
                r.write_bytes(1, size);
                a.dealloc(r, layout);
            }
        }
    }
}
