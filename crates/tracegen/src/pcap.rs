//! Classic libpcap file writer: little-endian, link type Ethernet, microsecond
//! or nanosecond timestamps, over any `Write` (buffer it: one call per field
//! group would otherwise be a system call).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::time::Nanos;

/// Timestamp resolution of a pcap file (chosen by its magic number).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Precision {
    /// Microseconds (magic `a1b2c3d4`), what tcpdump writes by default.
    #[default]
    Micro,
    /// Nanoseconds (magic `a1b23c4d`).
    Nano,
}

/// LINKTYPE_ETHERNET.
pub const LINKTYPE_ETHERNET: u32 = 1;

/// Default snapshot length written in the header; longer frames are cut to it.
pub const SNAPLEN: u32 = 262_144;

/// Writes packets to a pcap stream and counts them.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
    precision: Precision,
    snaplen: u32,
    packets: u64,
    bytes: u64,
}

impl PcapWriter<BufWriter<File>> {
    /// Creates (truncates) `path` and writes the file header, with a 1 MiB buffer.
    pub fn create(path: impl AsRef<Path>, precision: Precision) -> io::Result<Self> {
        let file = File::create(path)?;
        PcapWriter::new(BufWriter::with_capacity(1 << 20, file), precision)
    }
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header to `out` (snapshot length [`SNAPLEN`]).
    pub fn new(out: W, precision: Precision) -> io::Result<Self> {
        Self::with_snaplen(out, precision, SNAPLEN)
    }

    /// Like [`PcapWriter::new`], but frames longer than `snaplen` bytes are
    /// stored cut to it with their wire length kept, as `tcpdump -s` does:
    /// small files whose headers still tell every length. A zero `snaplen`
    /// is taken as 1.
    pub fn with_snaplen(mut out: W, precision: Precision, snaplen: u32) -> io::Result<Self> {
        let snaplen = snaplen.max(1);
        let magic: u32 = match precision {
            Precision::Micro => 0xa1b2_c3d4,
            Precision::Nano => 0xa1b2_3c4d,
        };
        let mut hdr = [0u8; 24];
        hdr[0..4].copy_from_slice(&magic.to_le_bytes());
        hdr[4..6].copy_from_slice(&2u16.to_le_bytes()); // version 2.4
        hdr[6..8].copy_from_slice(&4u16.to_le_bytes());
        // bytes 8..16: thiszone and sigfigs, both zero
        hdr[16..20].copy_from_slice(&snaplen.to_le_bytes());
        hdr[20..24].copy_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        out.write_all(&hdr)?;
        Ok(PcapWriter {
            out,
            precision,
            snaplen,
            packets: 0,
            bytes: 24,
        })
    }

    /// Appends one frame captured at `ts` (nanoseconds since the Unix epoch).
    /// Microsecond files truncate the fraction, as capture tools do.
    ///
    /// Fails with `InvalidInput` if `ts` is outside the 32-bit seconds range
    /// of the format (1970 to 2106), or with the writer's error.
    pub fn write_packet(&mut self, ts: Nanos, frame: &[u8]) -> io::Result<()> {
        let secs = u32::try_from(ts.div_euclid(1_000_000_000)).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("timestamp {ts} ns is outside the pcap range"),
            )
        })?;
        let nanos = ts.rem_euclid(1_000_000_000) as u32; // < 1e9: fits
        let frac = match self.precision {
            Precision::Micro => nanos / 1_000,
            Precision::Nano => nanos,
        };
        let orig_len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let incl_len = orig_len.min(self.snaplen);
        let mut rec = [0u8; 16];
        rec[0..4].copy_from_slice(&secs.to_le_bytes());
        rec[4..8].copy_from_slice(&frac.to_le_bytes());
        rec[8..12].copy_from_slice(&incl_len.to_le_bytes());
        rec[12..16].copy_from_slice(&orig_len.to_le_bytes());
        self.out.write_all(&rec)?;
        self.out.write_all(&frame[..incl_len as usize])?;
        self.packets += 1;
        self.bytes += 16 + u64::from(incl_len);
        Ok(())
    }

    /// Packets written so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Bytes written so far, file header included (the file's final size).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}
