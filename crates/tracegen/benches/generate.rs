//! Throughput of the generators, without disk I/O: `cargo bench -p
//! connwatch-tracegen`. A plain timing loop (no harness) keeps the crate
//! free of benchmark dependencies.

use std::hint::black_box;
use std::io;
use std::time::Instant;

use connwatch_tracegen::bulk::{bulk, BulkConfig};
use connwatch_tracegen::pcap::{PcapWriter, Precision};

fn main() -> io::Result<()> {
    let connections = 200_000;
    let cfg = BulkConfig::new(connections, 1);
    let t0 = Instant::now();
    let mut out = PcapWriter::new(io::sink(), Precision::Micro)?;
    let s = bulk(&cfg, &mut out)?;
    let dt = t0.elapsed().as_secs_f64();
    black_box(&s);
    println!(
        "bulk {connections} connections: {} packets, {} bytes in {dt:.3} s = {:.1} Mpps, {:.0} MB/s, {:.0} conn/s",
        s.packets,
        s.file_bytes,
        s.packets as f64 / dt / 1e6,
        s.file_bytes as f64 / dt / 1e6,
        connections as f64 / dt
    );
    Ok(())
}
