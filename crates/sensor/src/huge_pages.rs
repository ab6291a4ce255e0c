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
//!   [`tune_heap`]) so that most of the new memory lies in whole 2 MiB
//!   ranges that nothing has touched yet, which is when the kernel can
//!   still back them with a huge page;
//! - blocks of a huge page or more (the flow table, for one), mapped on
//!   their own (the binary fixes glibc's mmap threshold): they are
//!   allocated on a 2 MiB boundary ([`real_layout`]) and advised whole.
//!
//! On the benchmark this cut the profile-guided build's CPU time by about
//! a tenth (README, "Performance"). Where the kernel has no transparent
//! huge pages, or has them off, `madvise` fails and nothing changes; its
//! result is ignored on purpose, as the advice is only a hint. The
//! contents of memory are never touched.

use std::alloc::{GlobalAlloc, Layout, System};
#[cfg(all(target_os = "linux", target_env = "gnu"))]
use std::sync::atomic::{AtomicUsize, Ordering};

/// The size of a transparent huge page on x86-64 and AArch64 (4 KiB base
/// pages).
pub const HUGE_PAGE: usize = 2 << 20;

/// How much the main heap grows by at least (glibc's `M_TOP_PAD`, 128 KiB
/// by default). Only touched pages count towards memory use, so a bigger
/// step costs address space, not memory; glibc also keeps up to this much
/// free at the heap's end rather than giving it back at once.
pub const HEAP_STEP: usize = 8 << 20;

/// [`System`], advising huge pages for the heap's growth and for blocks of
/// a huge page or more.
#[derive(Debug, Default, Clone, Copy)]
pub struct HugePageAlloc;

/// Sets the main heap's growth step to [`HEAP_STEP`]. Call once at
/// startup, before other threads exist.
pub fn tune_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only sets an allocator parameter.
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, HEAP_STEP as libc::c_int);
    }
}

/// The whole huge pages inside `[p, p + size)`: (start, length), or `None`
/// when the range holds none.
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
    // SAFETY: callers pass memory of this process (a block the allocator
    // just handed out, or the heap); MADV_HUGEPAGE only changes how later
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

/// After an allocation: advises the block if it is big, else whatever the
/// heap grew by since the last look. `sbrk(0)` only reads glibc's cached
/// heap end; the common case is one load and one comparison. Threads
/// racing here at worst advise a range twice.
#[inline]
fn after_alloc(p: *mut u8, size: usize) {
    if p.is_null() {
        return;
    }
    if size >= HUGE_PAGE {
        if let Some((start, len)) = huge_span(p as usize, size) {
            advise_range(start, len);
        }
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

/// The layout a block is really allocated with: blocks of a huge page or
/// more start on a huge-page boundary, so that all of a block's whole
/// 2 MiB ranges can be huge pages (a flow table of exactly 2 MiB becomes
/// one). The gap in front stays untouched address space.
#[inline]
pub fn real_layout(layout: Layout) -> Layout {
    if layout.size() >= HUGE_PAGE && layout.align() < HUGE_PAGE {
        Layout::from_size_align(layout.size(), HUGE_PAGE).unwrap_or(layout)
    } else {
        layout
    }
}

// SAFETY: every block is allocated, grown and freed by `System` with its
// `real_layout`, which depends on the size and alignment alone and so is
// the same at every call about one block; `after_alloc` only gives the
// kernel a hint about memory of this process.
unsafe impl GlobalAlloc for HugePageAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc`; `real_layout` keeps
        // the size and only raises the alignment.
        let p = unsafe { System.alloc(real_layout(layout)) };
        after_alloc(p, layout.size());
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let real = real_layout(layout);
        if real == layout {
            // SAFETY: as for `alloc`.
            let p = unsafe { System.alloc_zeroed(layout) };
            after_alloc(p, layout.size());
            return p;
        }
        // A raised alignment: the block is advised before it is zeroed, so
        // that the zeroing faults its pages in as huge ones.
        // SAFETY: as for `alloc`; the block is `layout.size()` bytes.
        unsafe {
            let p = System.alloc(real);
            after_alloc(p, layout.size());
            if !p.is_null() {
                p.write_bytes(0, layout.size());
            }
            p
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc`, with the layout the
        // block was allocated with.
        unsafe { System.dealloc(ptr, real_layout(layout)) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = real_layout(layout);
        // The new size with the caller's alignment (valid: the caller's
        // contract for `realloc`).
        let Ok(new) = Layout::from_size_align(new_size, layout.align()) else {
            return core::ptr::null_mut();
        };
        let new_real = real_layout(new);
        if old == layout && new_real == new {
            // Neither side raised: glibc grows the block in place or by
            // `mremap` where it can.
            // SAFETY: the caller's contract for `realloc`, passed on.
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            after_alloc(p, new_size);
            return p;
        }
        // A raised alignment on either side: a new block, the contents
        // copied, the old one freed with its own real layout.
        // SAFETY: `ptr` holds `layout.size()` bytes; the new block at
        // least `min` of them; the old block is freed as allocated.
        unsafe {
            let p = self.alloc(new);
            if !p.is_null() {
                core::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size));
                System.dealloc(ptr, old);
            }
            p
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
        assert_eq!(real_layout(small), small);
        let big = Layout::from_size_align(H, 8).unwrap();
        assert_eq!(real_layout(big).align(), H);
        assert_eq!(real_layout(big).size(), H);
        let a = HugePageAlloc;
        // SAFETY: non-zero sizes; each block is freed with its layout.
        unsafe {
            let p = a.alloc_zeroed(big);
            assert_eq!(p as usize % H, 0);
            let q = a.realloc(p, big, 3 * H);
            assert_eq!(q as usize % H, 0);
            let big3 = Layout::from_size_align(3 * H, 8).unwrap();
            let r = a.realloc(q, big3, 100);
            assert!(!r.is_null());
            a.dealloc(r, Layout::from_size_align(100, 8).unwrap());
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
