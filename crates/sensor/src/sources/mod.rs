//! Packet sources: where frames come from.
//!
//! A source lends out one [`Frame`] at a time from its own buffer
//! ([`PacketSource::next_frame`]), so reading costs no allocation and no copy
//! per packet. [`CaptureFile`] reads pcap and pcapng files (or standard
//! input) as a stream: memory is bounded by the largest record, not by the
//! file.
//!
//! Errors say what is wrong with the input, in lower case and without the
//! file name; the caller prefixes the name. A file that breaks off in the
//! middle of a record first delivers every complete frame, then reports
//! [`SourceError::Truncated`], so the caller can still finish its logs.

#[cfg(target_os = "linux")]
pub mod af_packet;
mod capture_file;
mod input;
mod pcapng;
#[cfg(test)]
mod tests;
#[cfg(target_os = "linux")]
pub mod tpacket_ring;

use std::io;

use connwatch_wire::Frame;

pub use capture_file::{CaptureFile, CaptureFormat};

/// Largest captured length accepted for one packet: libpcap's
/// `MAXIMUM_SNAPLEN`. libpcap (and so Zeek and tcpdump) refuses a file with
/// a bigger record as damaged, and so do we.
pub const MAX_CAPLEN: u32 = 262_144;

/// Largest pcapng block that is read into memory: libpcap's limit. Bigger
/// blocks that carry no packet are skipped without buffering them.
pub const MAX_BLOCK_LEN: u32 = 16 * 1024 * 1024;

/// Something that lends out captured frames one at a time.
pub trait PacketSource {
    /// The next frame, `Ok(None)` at the end of the input.
    ///
    /// The frame borrows the source's buffer and is valid until the next
    /// call. After an error the source is finished: later calls return
    /// `Ok(None)`.
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, SourceError>;

    /// Counters since the source was opened.
    fn stats(&self) -> SourceStats;
}

/// What a source has delivered so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// Frames handed out.
    pub frames: u64,
    /// Captured bytes handed out (sum of `Frame::data` lengths).
    pub captured_bytes: u64,
    /// Bytes of input consumed (headers and skipped blocks included).
    pub input_bytes: u64,
    /// Frames whose recorded wire length was smaller than the captured
    /// length (a damaged file) and was raised to the captured length.
    pub wire_len_fixed: u64,
}

/// Why a source could not deliver a frame.
///
/// Display texts are lower case, end without a period and name the problem;
/// they do not name the file.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file could not be opened.
    #[error("cannot open: {0}")]
    Open(io::Error),
    /// Reading failed.
    #[error("read error: {0}")]
    Read(io::Error),
    /// The input has no bytes at all.
    #[error("empty file (0 bytes), not a pcap or pcapng capture")]
    Empty,
    /// The input does not start like a capture file.
    #[error("not a pcap or pcapng file ({0})")]
    NotCapture(String),
    /// The capture format is recognised but this version is not.
    #[error("unsupported {format} version {major}.{minor}")]
    UnsupportedVersion {
        /// `"pcap"` or `"pcapng"`.
        format: &'static str,
        /// Major version in the file.
        major: u16,
        /// Minor version in the file.
        minor: u16,
    },
    /// A header or record contradicts itself or the format.
    #[error("corrupt {format} file at byte {offset}: {detail}")]
    Corrupt {
        /// `"pcap"` or `"pcapng"`.
        format: &'static str,
        /// File offset of the header or record at fault.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// The input ends in the middle of a header or record.
    #[error(
        "truncated file: the {what} at byte {offset} needs {needed} bytes but the file ends after {available}"
    )]
    Truncated {
        /// Which kind of header or record is cut short.
        what: &'static str,
        /// File offset where it starts.
        offset: u64,
        /// How long it should be.
        needed: u64,
        /// How many of its bytes the input has.
        available: u64,
    },
    /// A record is larger than any sane capture makes.
    #[error("the {what} at byte {offset} is {len} bytes long, more than the limit of {limit}")]
    Oversized {
        /// `"packet"` (captured length) or `"pcapng block"`.
        what: &'static str,
        /// File offset of the record.
        offset: u64,
        /// The length it claims.
        len: u64,
        /// The limit it exceeds.
        limit: u64,
    },
}

/// Reads every frame of an in-memory capture; for fuzzing.
///
/// Never panics on any input. It reads the bytes twice, once in large reads
/// and once through a tiny buffer fed a few bytes per read, and asserts that
/// both see the same frames and the same outcome: a failed assertion is a
/// bug in the buffer handling, which is what a fuzzer should find.
pub fn fuzz_capture(data: &[u8]) {
    let whole = digest(CaptureFile::with_buffer(
        Box::new(io::Cursor::new(data.to_vec())),
        "fuzz",
        data.len().clamp(64, input::INITIAL_BUFFER),
    ));
    let step = 1 + data.len() % 7;
    let trickled = digest(CaptureFile::with_buffer(
        Box::new(Trickle::new(data, step)),
        "fuzz",
        64,
    ));
    assert_eq!(whole, trickled, "buffering changed what was read");
}

/// Frames and outcome of reading a whole source, in comparable form.
fn digest(opened: Result<CaptureFile, SourceError>) -> (u64, u64, String) {
    use std::hash::{Hash, Hasher};
    let mut src = match opened {
        Ok(s) => s,
        Err(e) => return (0, 0, e.to_string()),
    };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let mut n = 0;
    let end = loop {
        match src.next_frame() {
            Ok(Some(f)) => {
                n += 1;
                (f.ts.0, f.link.0, f.data, f.wire_len, f.interface).hash(&mut h);
            }
            Ok(None) => break String::new(),
            Err(e) => break e.to_string(),
        }
    };
    // Fused after the end or an error.
    debug_assert!(matches!(src.next_frame(), Ok(None)));
    (n, h.finish(), end)
}

/// A reader that returns at most `step` bytes per call, like a slow pipe.
pub(crate) struct Trickle {
    data: Vec<u8>,
    at: usize,
    step: usize,
}

impl Trickle {
    pub(crate) fn new(data: &[u8], step: usize) -> Self {
        Trickle {
            data: data.to_vec(),
            at: 0,
            step: step.max(1),
        }
    }
}

impl io::Read for Trickle {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.step.min(out.len()).min(self.data.len() - self.at);
        out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
