//! Counters a worker publishes for stats.log, `/metrics` and the exit
//! summary.
//!
//! Each worker owns one [`WorkerCounters`] and stores its running totals
//! into it every poll round (relaxed atomics: readers want recent numbers,
//! not a consistent cut), never per packet. Readers sum the workers with
//! [`Totals::sum`].

use std::sync::atomic::{AtomicU64, Ordering};

/// Running totals of one worker.
#[derive(Debug, Default)]
pub struct WorkerCounters {
    packets: AtomicU64,
    bytes: AtomicU64,
    kernel_packets: AtomicU64,
    kernel_drops: AtomicU64,
    filtered: AtomicU64,
    weirds: AtomicU64,
    evicted: AtomicU64,
    untracked: AtomicU64,
    open: [AtomicU64; 4],
    created: [AtomicU64; 4],
    peak_open: AtomicU64,
}

/// A snapshot (or a sum of snapshots).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Frames processed.
    pub packets: u64,
    /// Captured bytes processed.
    pub bytes: u64,
    /// Packets the kernel saw for our sockets (delivered + dropped).
    pub kernel_packets: u64,
    /// Packets the kernel dropped (ring full).
    pub kernel_drops: u64,
    /// Frames dropped by `capture.ignore`.
    pub filtered: u64,
    /// Weirds.
    pub weirds: u64,
    /// Connections evicted (`track.max_connections`).
    pub evicted: u64,
    /// Connections not tracked (table full).
    pub untracked: u64,
    /// Open connections by protocol (tcp, udp, icmp, other).
    pub open: [u64; 4],
    /// Connections created by protocol.
    pub created: [u64; 4],
    /// Peak of open connections (sum of the workers' peaks).
    pub peak_open: u64,
}

impl WorkerCounters {
    /// Publishes the worker's totals.
    pub fn store(&self, t: &Totals) {
        let r = Ordering::Relaxed;
        self.packets.store(t.packets, r);
        self.bytes.store(t.bytes, r);
        self.kernel_packets.store(t.kernel_packets, r);
        self.kernel_drops.store(t.kernel_drops, r);
        self.filtered.store(t.filtered, r);
        self.weirds.store(t.weirds, r);
        self.evicted.store(t.evicted, r);
        self.untracked.store(t.untracked, r);
        for i in 0..4 {
            self.open[i].store(t.open[i], r);
            self.created[i].store(t.created[i], r);
        }
        self.peak_open.store(t.peak_open, r);
    }

    /// The last published totals.
    pub fn load(&self) -> Totals {
        let r = Ordering::Relaxed;
        Totals {
            packets: self.packets.load(r),
            bytes: self.bytes.load(r),
            kernel_packets: self.kernel_packets.load(r),
            kernel_drops: self.kernel_drops.load(r),
            filtered: self.filtered.load(r),
            weirds: self.weirds.load(r),
            evicted: self.evicted.load(r),
            untracked: self.untracked.load(r),
            open: core::array::from_fn(|i| self.open[i].load(r)),
            created: core::array::from_fn(|i| self.created[i].load(r)),
            peak_open: self.peak_open.load(r),
        }
    }
}

impl Totals {
    /// The sum over all workers.
    pub fn sum(workers: &[std::sync::Arc<WorkerCounters>]) -> Totals {
        let mut t = Totals::default();
        for w in workers {
            let x = w.load();
            t.packets += x.packets;
            t.bytes += x.bytes;
            t.kernel_packets += x.kernel_packets;
            t.kernel_drops += x.kernel_drops;
            t.filtered += x.filtered;
            t.weirds += x.weirds;
            t.evicted += x.evicted;
            t.untracked += x.untracked;
            for i in 0..4 {
                t.open[i] += x.open[i];
                t.created[i] += x.created[i];
            }
            t.peak_open += x.peak_open;
        }
        t
    }
}

/// Resident memory of this process in bytes (`/proc/self/statm`).
pub fn resident_bytes() -> u64 {
    let page = 4096;
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |p| p * page)
}
