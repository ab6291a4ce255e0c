//! pcapng blocks: sections, interfaces and the three packet block kinds.
//!
//! A file is one or more sections, each opened by a section header block
//! (SHB) that sets the byte order of everything up to the next SHB. Each
//! section describes its own interfaces (IDBs), numbered from 0 in order of
//! appearance; each has its own link type, timestamp resolution
//! (`if_tsresol`, a negative power of 10 or of 2) and offset in seconds
//! (`if_tsoffset`). Packets arrive in enhanced packet blocks (EPB), simple
//! packet blocks (SPB: interface 0, no timestamp) or the obsolete packet
//! block (PB). Every other block type is skipped.
//!
//! Unlike libpcap we accept interfaces with different link types and
//! sections with different byte orders (both are valid pcapng; Wireshark
//! reads them); the damage libpcap refuses, we refuse too.

use connwatch_wire::{Frame, LinkType, Timestamp};

use super::capture_file::{rd16, rd32};
use super::input::Input;
use super::{SourceError, SourceStats, MAX_BLOCK_LEN, MAX_CAPLEN};

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
const PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;

/// Options we read from an IDB.
const OPT_ENDOFOPT: u16 = 0;
const IF_TSRESOL: u16 = 9;
const IF_TSOFFSET: u16 = 14;

/// Interfaces per section. Real captures have a handful; the limit keeps a
/// hostile file of IDBs from growing memory with its size.
const MAX_INTERFACES: usize = 1 << 16;

/// Smallest valid block: type, length, trailing length.
const MIN_BLOCK: u32 = 12;

/// State carried from block to block.
pub(crate) struct NgState {
    /// Byte order of the current section.
    big_endian: bool,
    /// The current section's interfaces, by id.
    ifaces: Vec<Iface>,
}

/// One interface of the current section.
#[derive(Debug, Clone, Copy)]
struct Iface {
    link: LinkType,
    snaplen: u32,
    scale: Scale,
    /// `if_tsoffset` in nanoseconds.
    offset_ns: i64,
}

/// How to turn timestamp units into nanoseconds, exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scale {
    /// Units are 10^-k s with k <= 9: multiply by 10^(9-k).
    Mul(u64),
    /// Units are 10^-k s with k > 9: divide by 10^(k-9), rounding down.
    Div(u64),
    /// Units are 2^-k s: multiply by 10^9, shift right by k.
    Shift(u32),
}

impl Iface {
    /// Nanoseconds since the epoch for a raw 64-bit timestamp.
    #[inline(always)]
    fn ts(&self, units: u64) -> Timestamp {
        // At most 2^64 * 10^9 < 2^94: the product always fits.
        let ns: u128 = match self.scale {
            Scale::Mul(m) => u128::from(units) * u128::from(m),
            Scale::Div(d) => u128::from(units / d),
            Scale::Shift(k) => (u128::from(units) * 1_000_000_000) >> k,
        };
        let ns = ns as i128 + i128::from(self.offset_ns);
        Timestamp(ns.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
    }
}

/// Reads the first section header; the caller has seen its block type.
pub(crate) fn open(input: &mut Input) -> Result<NgState, SourceError> {
    let mut st = NgState {
        big_endian: false,
        ifaces: Vec::new(),
    };
    if !input.fill(12)? {
        return Err(truncated(input, "pcapng section header", 12));
    }
    let big_endian = section_order(input.data()).ok_or_else(|| {
        SourceError::NotCapture(
            "it starts like pcapng but the section header has no byte-order magic".into(),
        )
    })?;
    let blen = rd32(input.data(), 4, big_endian);
    check_block_len(input, blen, SHB)?;
    let blen = blen as usize;
    if !input.fill(blen)? {
        return Err(truncated(input, "pcapng section header", blen));
    }
    check_trailer(input, blen, big_endian)?;
    process_control_block(input, &mut st, SHB, big_endian, blen)?;
    Ok(st)
}

/// The next packet of a pcapng file.
#[inline]
pub(crate) fn next<'a>(
    input: &'a mut Input,
    st: &mut NgState,
    stats: &mut SourceStats,
) -> Result<Option<Frame<'a>>, SourceError> {
    loop {
        let avail = input.available();
        if avail < 8 {
            if !input.fill(8)? {
                return match input.available() {
                    0 => Ok(None),
                    _ => Err(truncated(input, "pcapng block header", 8)),
                };
            }
            continue;
        }
        let d = input.data();
        let btype = rd32(d, 0, st.big_endian);
        let be = if btype == SHB {
            // A new section may switch byte order; its own magic says.
            if avail < 12 {
                if !input.fill(12)? {
                    return Err(truncated(input, "pcapng section header", 12));
                }
                continue;
            }
            section_order(d)
                .ok_or_else(|| corrupt(input, "section header without byte-order magic"))?
        } else {
            st.big_endian
        };
        let blen = rd32(d, 4, be);
        check_block_len(input, blen, btype)?;
        if blen > MAX_BLOCK_LEN {
            // Only a block that carries nothing we read gets here.
            let start = input.offset();
            if !input.skip(u64::from(blen))? {
                return Err(SourceError::Truncated {
                    what: "pcapng block",
                    offset: start,
                    needed: u64::from(blen),
                    available: input.offset() - start,
                });
            }
            continue;
        }
        let blen = blen as usize;
        if avail < blen {
            if !input.fill(blen)? {
                return Err(truncated(input, "pcapng block", blen));
            }
            continue;
        }
        check_trailer(input, blen, be)?;
        match btype {
            EPB | PB => {
                if blen < 32 {
                    return Err(corrupt(input, format!("packet block of only {blen} bytes")));
                }
                let if_id = if btype == EPB {
                    rd32(d, 8, be)
                } else {
                    u32::from(rd16(d, 8, be))
                };
                let units = (u64::from(rd32(d, 12, be)) << 32) | u64::from(rd32(d, 16, be));
                let caplen = rd32(d, 20, be);
                let wire_len = rd32(d, 24, be);
                if caplen > MAX_CAPLEN {
                    return Err(SourceError::Oversized {
                        what: "packet",
                        offset: input.offset(),
                        len: u64::from(caplen),
                        limit: u64::from(MAX_CAPLEN),
                    });
                }
                if 28 + caplen as usize > blen - 4 {
                    return Err(corrupt(
                        input,
                        format!("captured length {caplen} does not fit in a block of {blen} bytes"),
                    ));
                }
                let iface = interface(input, st, if_id)?;
                let p = Packet {
                    data_off: 28,
                    caplen,
                    wire_len,
                    ts: iface.ts(units),
                    link: iface.link,
                    interface: if_id,
                };
                return Ok(Some(deliver(input, stats, blen, p)));
            }
            SPB => {
                if blen < 16 {
                    return Err(corrupt(
                        input,
                        format!("simple packet block of only {blen} bytes"),
                    ));
                }
                let wire_len = rd32(d, 8, be);
                let iface = interface(input, st, 0)?;
                // The SPB has no captured length: it is the packet length
                // cut to the room in the block and the interface's snaplen.
                let mut caplen = wire_len.min((blen - 16) as u32).min(MAX_CAPLEN);
                if iface.snaplen != 0 {
                    caplen = caplen.min(iface.snaplen);
                }
                // No timestamp in an SPB; libpcap reports 0, and so do we.
                let p = Packet {
                    data_off: 12,
                    caplen,
                    wire_len,
                    ts: Timestamp(0),
                    link: iface.link,
                    interface: 0,
                };
                return Ok(Some(deliver(input, stats, blen, p)));
            }
            SHB | IDB => process_control_block(input, st, btype, be, blen)?,
            _ => input.consume(blen),
        }
    }
}

/// A packet found in the block at the cursor.
struct Packet {
    /// Where the packet bytes start within the block.
    data_off: usize,
    caplen: u32,
    wire_len: u32,
    ts: Timestamp,
    link: LinkType,
    interface: u32,
}

/// Lends out the packet of the `blen`-byte block at the cursor and moves
/// past the block.
#[inline(always)]
fn deliver<'a>(input: &'a mut Input, stats: &mut SourceStats, blen: usize, p: Packet) -> Frame<'a> {
    let mut wire_len = p.wire_len;
    if wire_len < p.caplen {
        // Damaged block: nothing is longer on the wire than captured.
        wire_len = p.caplen;
        stats.wire_len_fixed += 1;
    }
    let start = input.pos + p.data_off;
    input.consume(blen);
    stats.frames += 1;
    stats.captured_bytes += u64::from(p.caplen);
    Frame {
        ts: p.ts,
        link: p.link,
        data: &input.buffer()[start..start + p.caplen as usize],
        wire_len,
        interface: p.interface,
    }
}

/// The interface a packet names, which the section must have described.
#[inline(always)]
fn interface(input: &Input, st: &NgState, if_id: u32) -> Result<Iface, SourceError> {
    match st.ifaces.get(if_id as usize) {
        Some(i) => Ok(*i),
        None => Err(corrupt(
            input,
            format!(
                "packet for interface {if_id}, but the section has described only {} interface(s)",
                st.ifaces.len()
            ),
        )),
    }
}

/// Handles a whole SHB or IDB at the cursor and moves past it.
fn process_control_block(
    input: &mut Input,
    st: &mut NgState,
    btype: u32,
    be: bool,
    blen: usize,
) -> Result<(), SourceError> {
    let d = &input.data()[..blen];
    if btype == SHB {
        // Type, length, magic, version, 64-bit section length, trailer.
        if blen < 28 {
            return Err(corrupt(
                input,
                format!("section header of only {blen} bytes"),
            ));
        }
        let (major, minor) = (rd16(d, 12, be), rd16(d, 14, be));
        if major != 1 {
            return Err(SourceError::UnsupportedVersion {
                format: "pcapng",
                major,
                minor,
            });
        }
        st.big_endian = be;
        st.ifaces.clear();
    } else {
        // Type, length, link type, reserved, snaplen, options, trailer.
        if blen < 20 {
            return Err(corrupt(
                input,
                format!("interface description of only {blen} bytes"),
            ));
        }
        if st.ifaces.len() >= MAX_INTERFACES {
            return Err(corrupt(
                input,
                format!("more than {MAX_INTERFACES} interfaces in one section"),
            ));
        }
        let link = LinkType(u32::from(rd16(d, 8, be)));
        let snaplen = rd32(d, 12, be);
        let (scale, offset_s) = idb_options(&d[16..blen - 4], be).map_err(|e| corrupt(input, e))?;
        st.ifaces.push(Iface {
            link,
            snaplen,
            scale,
            offset_ns: offset_s.saturating_mul(1_000_000_000),
        });
    }
    input.consume(blen);
    Ok(())
}

/// Timestamp resolution and offset (seconds) from an IDB's options.
fn idb_options(opts: &[u8], be: bool) -> Result<(Scale, i64), String> {
    // Defaults: microseconds, no offset.
    let mut scale = None;
    let mut offset = None;
    let mut at = 0;
    while opts.len() - at >= 4 {
        let code = rd16(opts, at, be);
        let len = usize::from(rd16(opts, at + 2, be));
        at += 4;
        if len > opts.len() - at {
            return Err(format!(
                "interface option {code} of {len} bytes overruns its block"
            ));
        }
        let value = &opts[at..at + len];
        // Values are padded to 4 bytes; tolerate a missing final pad.
        at += ((len + 3) & !3).min(opts.len() - at);
        match code {
            OPT_ENDOFOPT => break,
            IF_TSRESOL => {
                if len != 1 || scale.is_some() {
                    return Err("bad or repeated if_tsresol option".into());
                }
                scale = Some(resolution(value[0])?);
            }
            IF_TSOFFSET => {
                if len != 8 || offset.is_some() {
                    return Err("bad or repeated if_tsoffset option".into());
                }
                let mut v = [0; 8];
                v.copy_from_slice(value);
                // Signed per the current pcapng draft, as libpcap reads it.
                offset = Some(if be {
                    i64::from_be_bytes(v)
                } else {
                    i64::from_le_bytes(v)
                });
            }
            _ => {}
        }
    }
    Ok((scale.unwrap_or(Scale::Mul(1000)), offset.unwrap_or(0)))
}

/// Decodes `if_tsresol`, within libpcap's range (10^-19 and 2^-63 at most,
/// so one unit fits a 64-bit count of ticks per second).
fn resolution(v: u8) -> Result<Scale, String> {
    let k = u32::from(v & 0x7f);
    if v & 0x80 != 0 {
        if k > 63 {
            return Err(format!("if_tsresol of 2^-{k} is out of range"));
        }
        Ok(Scale::Shift(k))
    } else if k > 19 {
        Err(format!("if_tsresol of 10^-{k} is out of range"))
    } else if k <= 9 {
        Ok(Scale::Mul(10u64.pow(9 - k)))
    } else {
        Ok(Scale::Div(10u64.pow(k - 9)))
    }
}

/// Byte order from an SHB's byte-order magic (bytes 8..12), if valid.
fn section_order(d: &[u8]) -> Option<bool> {
    match rd32(d, 8, false) {
        BYTE_ORDER_MAGIC => Some(false),
        m if m.swap_bytes() == BYTE_ORDER_MAGIC => Some(true),
        _ => None,
    }
}

/// Rejects impossible block lengths, and packet-bearing blocks too big to
/// buffer.
fn check_block_len(input: &Input, blen: u32, btype: u32) -> Result<(), SourceError> {
    if blen < MIN_BLOCK || !blen.is_multiple_of(4) {
        return Err(corrupt(
            input,
            format!("block length {blen} is not a multiple of 4 of at least {MIN_BLOCK}"),
        ));
    }
    if blen > MAX_BLOCK_LEN && matches!(btype, SHB | IDB | PB | SPB | EPB) {
        return Err(SourceError::Oversized {
            what: "pcapng block",
            offset: input.offset(),
            len: u64::from(blen),
            limit: u64::from(MAX_BLOCK_LEN),
        });
    }
    Ok(())
}

/// The trailing copy of the length must match the leading one; a mismatch
/// means the reader has lost its place in the file.
#[inline(always)]
fn check_trailer(input: &Input, blen: usize, be: bool) -> Result<(), SourceError> {
    let trailer = rd32(input.data(), blen - 4, be);
    if trailer as usize == blen {
        Ok(())
    } else {
        Err(corrupt(
            input,
            format!("block length {blen} in the header but {trailer} in the trailer"),
        ))
    }
}

fn corrupt(input: &Input, detail: impl Into<String>) -> SourceError {
    SourceError::Corrupt {
        format: "pcapng",
        offset: input.offset(),
        detail: detail.into(),
    }
}

fn truncated(input: &Input, what: &'static str, needed: usize) -> SourceError {
    SourceError::Truncated {
        what,
        offset: input.offset(),
        needed: needed as u64,
        available: input.available() as u64,
    }
}
