//! [`CaptureFile`]: pcap and pcapng files (or standard input) as a
//! [`PacketSource`].
//!
//! The format is recognised by its first four bytes, never by the file
//! name. Classic pcap is read here; pcapng's blocks are in `pcapng.rs`.
//! Both readers are hand-written over one reused buffer ([`Input`]) rather
//! than built on `pcap-parser`: its streaming reader builds an options `Vec`
//! per enhanced packet block and its refill loop cannot hand out a frame
//! borrowed from the buffer without parsing each block twice, while the
//! formats themselves are a few fixed-layout headers.
//!
//! Where files are damaged we follow libpcap, because Zeek reads through it:
//! the same records are refused, and a pcap record longer than the file's
//! snapshot length is cut to it.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use connwatch_wire::{Frame, LinkType, Timestamp};

use super::input::{Input, INITIAL_BUFFER};
use super::pcapng::{self, NgState};
use super::{PacketSource, SourceError, SourceStats, MAX_CAPLEN};

/// Classic pcap, microsecond timestamps.
const PCAP_MAGIC_US: u32 = 0xa1b2_c3d4;
/// Classic pcap, nanosecond timestamps.
const PCAP_MAGIC_NS: u32 = 0xa1b2_3c4d;
/// Alexey Kuznetzov's "modified" pcap: 8 more bytes per record header.
const PCAP_MAGIC_MODIFIED: u32 = 0xa1b2_cd34;
/// pcapng section header block type (a palindrome: same in both orders).
const PCAPNG_MAGIC: u32 = 0x0a0d_0d0a;

const PCAP_FILE_HEADER: usize = 24;

/// Which capture format a file is in, as read from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFormat {
    /// Classic (libpcap) format; one link type for the whole file.
    Pcap {
        /// Link type of every frame.
        link: LinkType,
        /// Timestamps have nanosecond (not microsecond) resolution.
        nanosecond: bool,
        /// Written big-endian.
        big_endian: bool,
        /// The "modified" (Kuznetzov) variant with longer record headers.
        modified: bool,
    },
    /// pcapng; link type and time resolution are per interface.
    PcapNg,
}

/// A pcap or pcapng capture read as a stream.
pub struct CaptureFile {
    name: String,
    input: Input,
    reader: Reader,
    stats: SourceStats,
    /// Set after the end or an error: no more frames.
    finished: bool,
}

enum Reader {
    Pcap(PcapState),
    PcapNg(Box<NgState>),
}

/// How to read one classic pcap file, fixed by its header.
#[derive(Debug, Clone, Copy)]
struct PcapState {
    big_endian: bool,
    /// Multiplier from the fraction field to nanoseconds (1000 or 1).
    frac_to_ns: i64,
    /// Record header length: 16, or 24 for the modified format.
    hdr_len: usize,
    /// Captured bytes beyond this are dropped (libpcap's adjusted snaplen).
    snapshot: u32,
    lengths: Lengths,
    link: LinkType,
    modified: bool,
    /// Lengths in the normal order and 16-byte record headers: records
    /// can take [`plain_pcap_record`].
    plain: bool,
}

/// Whether `caplen` and `len` are stored in the historic swapped order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lengths {
    Normal,
    /// Versions before 2.3 (and DG/UX's 543.0).
    Swapped,
    /// Version 2.3 was written both ways; swap when caplen > len.
    MaybeSwapped,
}

impl CaptureFile {
    /// Opens a capture file; `-` means standard input.
    ///
    /// Reads and checks the file header, so a file that is not a capture
    /// fails here rather than at the first frame.
    pub fn open(path: &Path) -> Result<CaptureFile, SourceError> {
        if path.as_os_str() == "-" {
            return Self::from_reader(Box::new(io::stdin()), "-");
        }
        let file = File::open(path).map_err(SourceError::Open)?;
        // Refuse a directory here with a clear message; reading one would
        // fail with a less obvious "Is a directory" read error.
        if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(SourceError::Open(io::Error::other("is a directory")));
        }
        Self::from_reader(Box::new(file), &path.to_string_lossy())
    }

    /// Reads a capture from any byte stream (tests, fuzzing, pipes).
    pub fn from_reader(r: Box<dyn Read + Send>, name: &str) -> Result<CaptureFile, SourceError> {
        Self::with_buffer(r, name, INITIAL_BUFFER)
    }

    /// As [`from_reader`](Self::from_reader) with a chosen initial buffer
    /// size; small sizes exercise the refill and growth paths.
    pub(crate) fn with_buffer(
        r: Box<dyn Read + Send>,
        name: &str,
        capacity: usize,
    ) -> Result<CaptureFile, SourceError> {
        let mut input = Input::new(r, capacity);
        if !input.fill(4)? {
            return Err(match input.available() {
                0 => SourceError::Empty,
                n => SourceError::NotCapture(format!("only {n} bytes long")),
            });
        }
        let d = input.data();
        let magic_le = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
        let magic_be = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
        let reader = if magic_le == PCAPNG_MAGIC {
            Reader::PcapNg(Box::new(pcapng::open(&mut input)?))
        } else if let Some(p) = [magic_le, magic_be]
            .into_iter()
            .position(|m| matches!(m, PCAP_MAGIC_US | PCAP_MAGIC_NS | PCAP_MAGIC_MODIFIED))
        {
            let magic = if p == 0 { magic_le } else { magic_be };
            Reader::Pcap(open_pcap(&mut input, magic, p == 1)?)
        } else {
            return Err(SourceError::NotCapture(describe_magic(d)));
        };
        Ok(CaptureFile {
            name: name.to_owned(),
            input,
            reader,
            stats: SourceStats::default(),
            finished: false,
        })
    }

    /// The name given at opening (the path, or `-` for standard input).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The capture format, from the file header.
    pub fn format(&self) -> CaptureFormat {
        match &self.reader {
            Reader::Pcap(p) => CaptureFormat::Pcap {
                link: p.link,
                nanosecond: p.frac_to_ns == 1,
                big_endian: p.big_endian,
                modified: p.modified,
            },
            Reader::PcapNg(_) => CaptureFormat::PcapNg,
        }
    }
}

impl PacketSource for CaptureFile {
    /// The common case, a plain pcap record wholly in the buffer, is
    /// inlined into the caller's loop; everything else (refills, pcapng,
    /// odd headers, the end) goes to the out-of-line general reader.
    #[inline(always)]
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, SourceError> {
        if let Reader::Pcap(p) = &self.reader {
            if let Some(r) = plain_pcap_record(&mut self.input, p, &mut self.stats) {
                return Ok(Some(Frame {
                    ts: r.ts,
                    link: p.link,
                    data: &self.input.buffer()[r.start..r.start + r.len],
                    wire_len: r.wire_len,
                    interface: 0,
                }));
            }
        }
        self.next_frame_general()
    }

    fn stats(&self) -> SourceStats {
        SourceStats {
            input_bytes: self.input.offset(),
            ..self.stats
        }
    }
}

impl CaptureFile {
    /// Any record of either format, with refills and error handling.
    #[inline(never)]
    fn next_frame_general(&mut self) -> Result<Option<Frame<'_>>, SourceError> {
        if self.finished {
            return Ok(None);
        }
        let res = match &mut self.reader {
            Reader::Pcap(p) => next_pcap(&mut self.input, p, &mut self.stats),
            Reader::PcapNg(ng) => pcapng::next(&mut self.input, ng, &mut self.stats),
        };
        match res {
            Ok(Some(f)) => Ok(Some(f)),
            Ok(None) => {
                self.finished = true;
                Ok(None)
            }
            Err(e) => {
                self.finished = true;
                Err(e)
            }
        }
    }
}

/// Names the first bytes of an unrecognised file, with a hint for the
/// common mistake of passing a compressed capture.
fn describe_magic(d: &[u8]) -> String {
    let hint = match d {
        [0x1f, 0x8b, ..] => ", which is gzip; decompress it first",
        [0x28, 0xb5, 0x2f, 0xfd, ..] => ", which is zstd; decompress it first",
        [b'B', b'Z', b'h', ..] => ", which is bzip2; decompress it first",
        [0xfd, b'7', b'z', b'X', ..] => ", which is xz; decompress it first",
        _ => "",
    };
    format!(
        "it starts with {:02x} {:02x} {:02x} {:02x}{hint}",
        d[0], d[1], d[2], d[3]
    )
}

/// Reads and checks the 24-byte pcap file header.
fn open_pcap(input: &mut Input, magic: u32, big_endian: bool) -> Result<PcapState, SourceError> {
    if !input.fill(PCAP_FILE_HEADER)? {
        return Err(SourceError::Truncated {
            what: "pcap file header",
            offset: 0,
            needed: PCAP_FILE_HEADER as u64,
            available: input.available() as u64,
        });
    }
    let h = input.data();
    let major = rd16(h, 4, big_endian);
    let minor = rd16(h, 6, big_endian);
    let snaplen = rd32(h, 16, big_endian);
    // libpcap keeps the low 26 bits as the link type; the top 6 bits carry
    // FCS information.
    let link = LinkType(rd32(h, 20, big_endian) & 0x03ff_ffff);
    // libpcap reads 2.0 through 2.4, and DG/UX's 543.0.
    let lengths = match (major, minor) {
        (2, 0..=2) | (543, 0) => Lengths::Swapped,
        (2, 3) => Lengths::MaybeSwapped,
        (2, 4) => Lengths::Normal,
        _ => {
            return Err(SourceError::UnsupportedVersion {
                format: "pcap",
                major,
                minor,
            })
        }
    };
    let modified = magic == PCAP_MAGIC_MODIFIED;
    // libpcap's pcap_adjust_snapshot: 0 or an absurd value means "no limit".
    let mut snapshot = if snaplen == 0 || snaplen > MAX_CAPLEN {
        MAX_CAPLEN
    } else {
        snaplen
    };
    if modified && link == LinkType::ETHERNET {
        // libpcap: such captures may have been taken in cooked mode with a
        // fake 14-byte Ethernet header added on top of the snapshot.
        snapshot += 14;
    }
    input.consume(PCAP_FILE_HEADER);
    Ok(PcapState {
        big_endian,
        frac_to_ns: if magic == PCAP_MAGIC_NS { 1 } else { 1000 },
        hdr_len: if modified { 24 } else { 16 },
        snapshot,
        lengths,
        link,
        modified,
        plain: lengths == Lengths::Normal && !modified,
    })
}

/// Where a record's frame lies in the read buffer, and its header fields.
struct PlainRecord {
    ts: Timestamp,
    start: usize,
    len: usize,
    wire_len: u32,
}

/// The next pcap record if it is wholly in the buffer and needs none of
/// the repairs [`next_pcap`] makes (swapped or inconsistent lengths, a
/// record beyond the snapshot length, the modified format); consumed if
/// so. `None` leaves the input untouched for `next_pcap`, which then reads
/// the same record the general way.
#[inline(always)]
fn plain_pcap_record(
    input: &mut Input,
    p: &PcapState,
    stats: &mut SourceStats,
) -> Option<PlainRecord> {
    if !p.plain {
        return None;
    }
    let h: &[u8; 16] = input.data().first_chunk()?;
    let be = p.big_endian;
    let sec = rd32(h, 0, be);
    let frac = rd32(h, 4, be);
    let caplen = rd32(h, 8, be);
    let wire_len = rd32(h, 12, be);
    // The snapshot length is at most MAX_CAPLEN here (not the modified
    // format), so this also rules out an oversized record.
    if caplen > p.snapshot || wire_len < caplen {
        return None;
    }
    let rec_len = 16 + caplen as usize;
    if input.available() < rec_len {
        return None;
    }
    let start = input.pos + 16;
    input.consume(rec_len);
    stats.frames += 1;
    stats.captured_bytes += u64::from(caplen);
    Some(PlainRecord {
        // As in next_pcap: unsigned seconds cannot overflow an i64.
        ts: Timestamp(i64::from(sec) * 1_000_000_000 + i64::from(frac) * p.frac_to_ns),
        start,
        len: caplen as usize,
        wire_len,
    })
}

/// The next pcap record.
#[inline]
fn next_pcap<'a>(
    input: &'a mut Input,
    p: &PcapState,
    stats: &mut SourceStats,
) -> Result<Option<Frame<'a>>, SourceError> {
    loop {
        let avail = input.available();
        let need = if avail >= p.hdr_len {
            let h = input.data();
            let be = p.big_endian;
            let sec = rd32(h, 0, be);
            let frac = rd32(h, 4, be);
            let mut caplen = rd32(h, 8, be);
            let mut wire_len = rd32(h, 12, be);
            if p.lengths != Lengths::Normal && (p.lengths == Lengths::Swapped || caplen > wire_len)
            {
                std::mem::swap(&mut caplen, &mut wire_len);
            }
            if caplen > MAX_CAPLEN {
                return Err(SourceError::Oversized {
                    what: "packet",
                    offset: input.offset(),
                    len: u64::from(caplen),
                    limit: u64::from(MAX_CAPLEN),
                });
            }
            let rec_len = p.hdr_len + caplen as usize;
            if avail >= rec_len {
                if wire_len < caplen {
                    // Damaged header: a frame cannot be longer on the wire
                    // than what was captured of it.
                    wire_len = caplen;
                    stats.wire_len_fixed += 1;
                }
                // libpcap hands out at most the snapshot length and drops
                // the rest of an over-long record.
                let keep = caplen.min(p.snapshot) as usize;
                let start = input.pos + p.hdr_len;
                input.consume(rec_len);
                stats.frames += 1;
                stats.captured_bytes += keep as u64;
                // Seconds are unsigned (the format's definition; good until
                // 2106), so the sum cannot overflow an i64.
                let ts = i64::from(sec) * 1_000_000_000 + i64::from(frac) * p.frac_to_ns;
                return Ok(Some(Frame {
                    ts: Timestamp(ts),
                    link: p.link,
                    data: &input.buffer()[start..start + keep],
                    wire_len,
                    interface: 0,
                }));
            }
            rec_len
        } else {
            p.hdr_len
        };
        if !input.fill(need)? {
            return match input.available() {
                0 => Ok(None),
                n => Err(SourceError::Truncated {
                    what: if n < p.hdr_len {
                        "pcap record header"
                    } else {
                        "pcap record"
                    },
                    offset: input.offset(),
                    needed: if n < p.hdr_len {
                        p.hdr_len as u64
                    } else {
                        need as u64
                    },
                    available: n as u64,
                }),
            };
        }
    }
}

/// A `u16` at `off`; the caller has checked the bounds.
#[inline(always)]
pub(crate) fn rd16(b: &[u8], off: usize, big_endian: bool) -> u16 {
    // Slicing first leaves one bounds check and lets the bytes load as one.
    let s = &b[off..off + 2];
    let v = [s[0], s[1]];
    if big_endian {
        u16::from_be_bytes(v)
    } else {
        u16::from_le_bytes(v)
    }
}

/// A `u32` at `off`; the caller has checked the bounds.
#[inline(always)]
pub(crate) fn rd32(b: &[u8], off: usize, big_endian: bool) -> u32 {
    let s = &b[off..off + 4];
    let v = [s[0], s[1], s[2], s[3]];
    if big_endian {
        u32::from_be_bytes(v)
    } else {
        u32::from_le_bytes(v)
    }
}
