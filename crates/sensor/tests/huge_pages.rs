//! The binary's allocator really puts the heap in transparent huge pages.
//!
//! A test of its own, without libtest's harness: the test must allocate
//! from the main thread, whose allocations come from the `brk` heap the
//! allocator advises (libtest runs tests on other threads, which glibc
//! serves from other arenas). It installs the allocator and tunes the heap
//! as `connwatch`'s `main` does (with its `mallopt` settings), allocates blocks the size of a
//! connection's TCP state, and checks the process's `AnonHugePages`.
//!
//! Whether the kernel can give huge pages at all is checked first, on a
//! mapping advised directly: where it cannot (transparent huge pages off,
//! not Linux/glibc, or no huge page free), the test says so and passes.

use connwatch::huge_pages::{self, HugePageAlloc};

#[global_allocator]
static ALLOC: HugePageAlloc = HugePageAlloc;

/// The process's `AnonHugePages`, in kB.
fn anon_huge_kb() -> u64 {
    std::fs::read_to_string("/proc/self/smaps_rollup")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("AnonHugePages:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Whether a directly advised, aligned 2 MiB range gets a huge page.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn kernel_gives_huge_pages() -> bool {
    const H: usize = huge_pages::HUGE_PAGE;
    let before = anon_huge_kb();
    // SAFETY: a private anonymous mapping of our own, advised, written
    // and unmapped again; nothing else refers to it.
    unsafe {
        let len = 2 * H;
        let p = libc::mmap(
            core::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return false;
        }
        let Some((start, span)) = huge_pages::huge_span(p as usize, len) else {
            libc::munmap(p, len);
            return false;
        };
        libc::madvise(start as *mut libc::c_void, span, libc::MADV_HUGEPAGE);
        core::ptr::write_bytes(start as *mut u8, 1, span);
        let got = anon_huge_kb() > before;
        libc::munmap(p, len);
        got
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn kernel_gives_huge_pages() -> bool {
    false
}

fn main() {
    huge_pages::tune_malloc();
    if !kernel_gives_huge_pages() {
        println!("huge_pages: skipped, the kernel gives no transparent huge pages here");
        return;
    }
    let before = anon_huge_kb();
    // 200,000 blocks of 216 bytes (a `TcpConn`): about 45 MB of heap.
    let blocks: Vec<Box<[u8; 216]>> = (0..200_000u32).map(|i| Box::new([i as u8; 216])).collect();
    let after = anon_huge_kb();
    let sum: u64 = blocks.iter().map(|b| u64::from(b[0])).sum();
    drop(blocks);
    // Most of the 45 MB should be in 2 MiB pages; a third is a floor that
    // leaves room for the ranges each growth step straddles.
    let gained_mb = after.saturating_sub(before) / 1024;
    println!(
        "huge_pages: {gained_mb} MB of the heap in huge pages ({before} -> {after} kB; {sum})"
    );
    assert!(
        gained_mb >= 15,
        "the heap got {gained_mb} MB of huge pages for 45 MB of small blocks"
    );
}
