//! Tests for the capture-file readers: hand-built files for every format
//! variant and kind of damage, and the real traces in `/work/shared`.
//!
//! Every hand-built file is read twice, in large reads and through a tiny
//! buffer fed a few bytes at a time, and both readings must agree: that
//! covers the refill, compaction and growth paths with the same fixtures.

use std::path::Path;

use connwatch_wire::LinkType;

use super::*;

/// A frame copied out of the source, for comparing.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owned {
    ts: i64,
    link: u32,
    data: Vec<u8>,
    wire_len: u32,
    interface: u32,
}

/// Reads everything with the given buffer and reader granularity.
fn read_with(bytes: &[u8], capacity: usize, step: usize) -> (Vec<Owned>, Option<String>) {
    let src = CaptureFile::with_buffer(Box::new(Trickle::new(bytes, step)), "t", capacity);
    let mut src = match src {
        Ok(s) => s,
        Err(e) => return (Vec::new(), Some(e.to_string())),
    };
    let mut out = Vec::new();
    loop {
        match src.next_frame() {
            Ok(Some(f)) => out.push(Owned {
                ts: f.ts.0,
                link: f.link.0,
                data: f.data.to_vec(),
                wire_len: f.wire_len,
                interface: f.interface,
            }),
            Ok(None) => return (out, None),
            Err(e) => {
                // Fused: nothing more after an error.
                assert!(matches!(src.next_frame(), Ok(None)));
                return (out, Some(e.to_string()));
            }
        }
    }
}

/// Reads in large and in tiny pieces, checks they agree, returns the result.
fn read_all(bytes: &[u8]) -> (Vec<Owned>, Option<String>) {
    let big = read_with(bytes, 1 << 20, usize::MAX);
    for (cap, step) in [(64, 1), (64, 3), (100, 7), (4096, 1000)] {
        assert_eq!(
            read_with(bytes, cap, step),
            big,
            "capacity {cap}, step {step}"
        );
    }
    fuzz_capture(bytes);
    big
}

fn frames(bytes: &[u8]) -> Vec<Owned> {
    let (f, err) = read_all(bytes);
    assert_eq!(err, None);
    f
}

fn open_err(bytes: &[u8]) -> SourceError {
    match CaptureFile::from_reader(Box::new(std::io::Cursor::new(bytes.to_vec())), "t") {
        Ok(_) => panic!("opened"),
        Err(e) => e,
    }
}

fn frame(ts: i64, link: LinkType, data: &[u8], wire_len: u32, interface: u32) -> Owned {
    Owned {
        ts,
        link: link.0,
        data: data.to_vec(),
        wire_len,
        interface,
    }
}

// ---------------------------------------------------------------- pcap --

struct Pcap {
    be: bool,
    modified: bool,
    out: Vec<u8>,
}

impl Pcap {
    fn new(magic: u32, be: bool, version: (u16, u16), snaplen: u32, link: u32) -> Self {
        let mut p = Pcap {
            be,
            modified: magic == 0xa1b2_cd34,
            out: Vec::new(),
        };
        p.u32(magic);
        p.u16(version.0);
        p.u16(version.1);
        p.u32(0);
        p.u32(0);
        p.u32(snaplen);
        p.u32(link);
        p
    }
    fn u16(&mut self, v: u16) {
        let b = if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.out.extend_from_slice(&b);
    }
    fn u32(&mut self, v: u32) {
        let b = if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.out.extend_from_slice(&b);
    }
    fn rec(mut self, sec: u32, frac: u32, caplen: u32, wire: u32, data: &[u8]) -> Self {
        self.u32(sec);
        self.u32(frac);
        self.u32(caplen);
        self.u32(wire);
        if self.modified {
            // ifindex, protocol, pkt_type, pad
            self.u32(7);
            self.u16(0x0800);
            self.out.extend_from_slice(&[0, 0]);
        }
        self.out.extend_from_slice(data);
        self
    }
    fn pkt(self, sec: u32, frac: u32, data: &[u8]) -> Self {
        let n = data.len() as u32;
        self.rec(sec, frac, n, n + 4, data)
    }
}

const SEC: u32 = 1_700_000_000;
const SEC_NS: i64 = SEC as i64 * 1_000_000_000;

#[test]
fn pcap_both_byte_orders_and_resolutions() {
    for be in [false, true] {
        for (magic, unit) in [(0xa1b2_c3d4u32, 1000i64), (0xa1b2_3c4d, 1)] {
            let bytes = Pcap::new(magic, be, (2, 4), 65535, 1)
                .pkt(SEC, 123_456, b"first")
                .pkt(SEC + 1, 999_999, b"second!")
                .out;
            let src = CaptureFile::from_reader(Box::new(std::io::Cursor::new(bytes.clone())), "t")
                .unwrap();
            assert_eq!(
                src.format(),
                CaptureFormat::Pcap {
                    link: LinkType::ETHERNET,
                    nanosecond: unit == 1,
                    big_endian: be,
                    modified: false
                }
            );
            assert_eq!(
                frames(&bytes),
                vec![
                    frame(SEC_NS + 123_456 * unit, LinkType::ETHERNET, b"first", 9, 0),
                    frame(
                        SEC_NS + 1_000_000_000 + 999_999 * unit,
                        LinkType::ETHERNET,
                        b"second!",
                        11,
                        0
                    ),
                ],
                "be={be} magic={magic:x}"
            );
        }
    }
}

#[test]
fn pcap_modified_format() {
    for be in [false, true] {
        let bytes = Pcap::new(0xa1b2_cd34, be, (2, 4), 100, 101)
            .pkt(SEC, 5, b"abc")
            .pkt(SEC, 6, b"defg")
            .out;
        assert_eq!(
            frames(&bytes),
            vec![
                frame(SEC_NS + 5000, LinkType::RAW, b"abc", 7, 0),
                frame(SEC_NS + 6000, LinkType::RAW, b"defg", 8, 0),
            ]
        );
    }
}

#[test]
fn pcap_header_only_and_link_type_bits() {
    // FCS bits in the top of the link type field are not part of the type.
    let bytes = Pcap::new(0xa1b2_c3d4, false, (2, 4), 0, 0x1400_0071).out;
    let src = CaptureFile::from_reader(Box::new(std::io::Cursor::new(bytes.clone())), "t").unwrap();
    assert!(matches!(
        src.format(),
        CaptureFormat::Pcap {
            link: LinkType::LINUX_SLL,
            ..
        }
    ));
    assert_eq!(read_all(&bytes), (vec![], None));
}

#[test]
fn pcap_old_versions_swap_lengths() {
    // 2.2: always swapped (caplen and len exchanged on disk).
    let bytes = Pcap::new(0xa1b2_c3d4, false, (2, 2), 0, 1)
        .rec(SEC, 0, 60, 3, b"abc")
        .out;
    assert_eq!(
        frames(&bytes),
        vec![frame(SEC_NS, LinkType::ETHERNET, b"abc", 60, 0)]
    );
    // 2.3: swapped only where caplen > len.
    let bytes = Pcap::new(0xa1b2_c3d4, false, (2, 3), 0, 1)
        .rec(SEC, 0, 60, 3, b"abc")
        .rec(SEC, 0, 3, 60, b"def")
        .out;
    assert_eq!(
        frames(&bytes),
        vec![
            frame(SEC_NS, LinkType::ETHERNET, b"abc", 60, 0),
            frame(SEC_NS, LinkType::ETHERNET, b"def", 60, 0)
        ]
    );
    let e = open_err(&Pcap::new(0xa1b2_c3d4, false, (1, 0), 0, 1).out);
    assert_eq!(e.to_string(), "unsupported pcap version 1.0");
    let e = open_err(&Pcap::new(0xa1b2_c3d4, true, (3, 0), 0, 1).out);
    assert_eq!(e.to_string(), "unsupported pcap version 3.0");
}

#[test]
fn pcap_damaged_lengths() {
    // Captured more than the snaplen: cut to it, as libpcap does.
    let bytes = Pcap::new(0xa1b2_c3d4, false, (2, 4), 4, 1)
        .rec(SEC, 1, 6, 6, b"abcdef")
        .pkt(SEC, 2, b"xy")
        .out;
    assert_eq!(
        frames(&bytes),
        vec![
            frame(SEC_NS + 1000, LinkType::ETHERNET, b"abcd", 6, 0),
            frame(SEC_NS + 2000, LinkType::ETHERNET, b"xy", 6, 0)
        ]
    );
    // Wire length below captured length: raised to it and counted.
    let bytes = Pcap::new(0xa1b2_c3d4, false, (2, 4), 0, 1)
        .rec(SEC, 1, 6, 2, b"abcdef")
        .out;
    let mut src =
        CaptureFile::from_reader(Box::new(std::io::Cursor::new(bytes.clone())), "t").unwrap();
    let f = src.next_frame().unwrap().unwrap();
    assert_eq!((f.data, f.wire_len), (&b"abcdef"[..], 6));
    assert!(src.next_frame().unwrap().is_none());
    assert_eq!(
        src.stats(),
        SourceStats {
            frames: 1,
            captured_bytes: 6,
            input_bytes: bytes.len() as u64,
            wire_len_fixed: 1
        }
    );
    // Absurd captured length: an error after the good frames.
    let mut bytes = Pcap::new(0xa1b2_c3d4, false, (2, 4), 0, 1)
        .pkt(SEC, 1, b"ok")
        .rec(SEC, 2, 300_000, 300_000, b"")
        .out;
    bytes.extend_from_slice(&[0; 64]);
    let (f, err) = read_all(&bytes);
    assert_eq!(f.len(), 1);
    assert_eq!(
        err.as_deref(),
        Some("the packet at byte 42 is 300000 bytes long, more than the limit of 262144")
    );
}

#[test]
fn pcap_truncated() {
    let full = Pcap::new(0xa1b2_c3d4, false, (2, 4), 0, 1)
        .pkt(SEC, 1, b"one")
        .pkt(SEC, 2, b"two")
        .pkt(SEC, 3, b"three")
        .out;
    // Cut inside the last record's data.
    let (f, err) = read_all(&full[..full.len() - 2]);
    assert_eq!(f.len(), 2);
    assert_eq!(
        err.as_deref(),
        Some(
            "truncated file: the pcap record at byte 62 needs 21 bytes but the file ends after 19"
        )
    );
    // Cut inside a record header.
    let (f, err) = read_all(&full[..24 + 19 + 5]);
    assert_eq!(f.len(), 1);
    assert_eq!(
        err.as_deref(),
        Some("truncated file: the pcap record header at byte 43 needs 16 bytes but the file ends after 5")
    );
    // Every possible cut: the complete frames come first, then an error
    // exactly when the cut is not on a record boundary.
    for cut in 24..full.len() {
        let (f, err) = read_all(&full[..cut]);
        let boundary = [24, 43, 62, full.len()].contains(&cut);
        assert_eq!(err.is_none(), boundary, "cut {cut}");
        assert_eq!(f, frames(&full)[..f.len()], "cut {cut}");
    }
    // Cut inside the file header.
    let e = open_err(&full[..10]);
    assert_eq!(
        e.to_string(),
        "truncated file: the pcap file header at byte 0 needs 24 bytes but the file ends after 10"
    );
}

#[test]
fn not_capture_files() {
    assert_eq!(
        open_err(b"").to_string(),
        "empty file (0 bytes), not a pcap or pcapng capture"
    );
    assert!(matches!(open_err(b""), SourceError::Empty));
    assert_eq!(
        open_err(b"hi").to_string(),
        "not a pcap or pcapng file (only 2 bytes long)"
    );
    assert_eq!(
        open_err(b"<html><body>").to_string(),
        "not a pcap or pcapng file (it starts with 3c 68 74 6d)"
    );
    assert_eq!(
        open_err(&[0x1f, 0x8b, 8, 0, 0, 0]).to_string(),
        "not a pcap or pcapng file (it starts with 1f 8b 08 00, which is gzip; decompress it first)"
    );
    // pcapng's block type is "\n\r\r\n", which a text file can start with.
    assert_eq!(
        open_err(b"\n\r\r\nsome text here").to_string(),
        "not a pcap or pcapng file (it starts like pcapng but the section header has no byte-order magic)"
    );
    let garbage: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert!(matches!(open_err(&garbage), SourceError::NotCapture(_)));
}

#[test]
fn open_paths() {
    let e = match CaptureFile::open(Path::new("/nonexistent/x.pcap")) {
        Err(e) => e,
        Ok(_) => panic!("opened"),
    };
    assert!(e.to_string().starts_with("cannot open: "), "{e}");
    let e = match CaptureFile::open(Path::new("/")) {
        Err(e) => e,
        Ok(_) => panic!("opened"),
    };
    assert_eq!(e.to_string(), "cannot open: is a directory");
    let dir = std::env::temp_dir().join(format!("connwatch-src-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("t.pcap");
    let bytes = Pcap::new(0xa1b2_c3d4, false, (2, 4), 0, 1)
        .pkt(SEC, 1, b"x")
        .out;
    std::fs::write(&path, &bytes).unwrap();
    let mut src = CaptureFile::open(&path).unwrap();
    assert_eq!(src.name(), path.to_string_lossy());
    assert_eq!(src.next_frame().unwrap().unwrap().data, b"x");
    assert!(src.next_frame().unwrap().is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}

// -------------------------------------------------------------- pcapng --

struct Ng {
    be: bool,
    out: Vec<u8>,
}

fn pad4(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
}

impl Ng {
    fn new(be: bool) -> Self {
        Ng {
            be,
            out: Vec::new(),
        }
        .shb(be)
    }
    fn b16(&self, v: u16) -> [u8; 2] {
        if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
    fn b32(&self, v: u32) -> [u8; 4] {
        if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
    fn block(mut self, btype: u32, body: &[u8]) -> Self {
        let mut body = body.to_vec();
        pad4(&mut body);
        let len = 12 + body.len() as u32;
        let (t, l) = (self.b32(btype), self.b32(len));
        self.out.extend_from_slice(&t);
        self.out.extend_from_slice(&l);
        self.out.extend_from_slice(&body);
        self.out.extend_from_slice(&l);
        self
    }
    /// A new section, possibly in another byte order.
    fn shb(mut self, be: bool) -> Self {
        self.be = be;
        let mut body = Vec::new();
        body.extend_from_slice(&self.b32(0x1a2b_3c4d));
        body.extend_from_slice(&self.b16(1));
        body.extend_from_slice(&self.b16(0));
        body.extend_from_slice(&u64::MAX.to_le_bytes());
        // shb_userappl option, then end of options.
        body.extend_from_slice(&self.b16(4));
        body.extend_from_slice(&self.b16(5));
        body.extend_from_slice(b"test\0\0\0\0");
        body.extend_from_slice(&[0; 4]);
        self.block(0x0a0d_0d0a, &body)
    }
    fn idb(self, link: u16, snaplen: u32, tsresol: Option<u8>, tsoffset: Option<i64>) -> Self {
        let mut body = Vec::new();
        body.extend_from_slice(&self.b16(link));
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&self.b32(snaplen));
        // if_name first, to check that other options are stepped over.
        body.extend_from_slice(&self.b16(2));
        body.extend_from_slice(&self.b16(3));
        body.extend_from_slice(b"et0\0");
        if let Some(r) = tsresol {
            body.extend_from_slice(&self.b16(9));
            body.extend_from_slice(&self.b16(1));
            body.extend_from_slice(&[r, 0, 0, 0]);
        }
        if let Some(o) = tsoffset {
            body.extend_from_slice(&self.b16(14));
            body.extend_from_slice(&self.b16(8));
            body.extend_from_slice(&if self.be {
                o.to_be_bytes()
            } else {
                o.to_le_bytes()
            });
        }
        body.extend_from_slice(&[0; 4]);
        self.block(1, &body)
    }
    fn epb(self, if_id: u32, units: u64, data: &[u8], wire: u32) -> Self {
        let mut body = Vec::new();
        body.extend_from_slice(&self.b32(if_id));
        body.extend_from_slice(&self.b32((units >> 32) as u32));
        body.extend_from_slice(&self.b32(units as u32));
        body.extend_from_slice(&self.b32(data.len() as u32));
        body.extend_from_slice(&self.b32(wire));
        body.extend_from_slice(data);
        pad4(&mut body);
        // epb_flags option, then end of options.
        body.extend_from_slice(&self.b16(2));
        body.extend_from_slice(&self.b16(4));
        body.extend_from_slice(&self.b32(1));
        body.extend_from_slice(&[0; 4]);
        self.block(6, &body)
    }
    fn pb(self, if_id: u16, units: u64, data: &[u8], wire: u32) -> Self {
        let mut body = Vec::new();
        body.extend_from_slice(&self.b16(if_id));
        body.extend_from_slice(&self.b16(0));
        body.extend_from_slice(&self.b32((units >> 32) as u32));
        body.extend_from_slice(&self.b32(units as u32));
        body.extend_from_slice(&self.b32(data.len() as u32));
        body.extend_from_slice(&self.b32(wire));
        body.extend_from_slice(data);
        pad4(&mut body);
        self.block(2, &body)
    }
    fn spb(self, wire: u32, data: &[u8]) -> Self {
        let mut body = Vec::new();
        body.extend_from_slice(&self.b32(wire));
        body.extend_from_slice(data);
        pad4(&mut body);
        self.block(3, &body)
    }
}

#[test]
fn pcapng_interfaces_resolutions_and_block_kinds() {
    for be in [false, true] {
        let bytes = Ng::new(be)
            // 0: Ethernet, default resolution (µs).
            .idb(1, 0, None, None)
            // 1: raw IP, nanoseconds.
            .idb(101, 65535, Some(9), None)
            // 2: Linux SLL, 2^-20 s units, one hour offset.
            .idb(113, 0, Some(0x80 | 20), Some(3600))
            // 3: Ethernet, milliseconds, negative offset.
            .idb(1, 0, Some(3), Some(-10))
            // 4: raw IP, picoseconds. (tshark 4.x gets this one wrong: its
            // fraction arithmetic overflows; libpcap agrees with us.)
            .idb(101, 0, Some(12), None)
            .block(4, &[0, 0, 0, 0]) // name resolution block, empty
            .epb(0, 1_700_000_000_123_456, b"eth frame", 100)
            .epb(1, 1_700_000_000_123_456_789, b"raw", 3)
            .epb(2, (1_700_000_000u64 << 20) | (1 << 19), b"sll", 3)
            .block(0x0000_0bad, b"custom block body") // unknown: skipped
            .epb(3, 1_700_000_000_001, b"ms", 2)
            .epb(4, 12_345_678_901_234_567, b"ps", 2)
            .spb(6, b"simple")
            .pb(1, 42, b"old", 3)
            .block(5, &[0; 12]) // interface statistics: skipped
            .out;
        assert_eq!(
            frames(&bytes),
            vec![
                frame(
                    SEC_NS + 123_456_000,
                    LinkType::ETHERNET,
                    b"eth frame",
                    100,
                    0
                ),
                frame(SEC_NS + 123_456_789, LinkType::RAW, b"raw", 3, 1),
                frame(
                    SEC_NS + 3_600_000_000_000 + 500_000_000,
                    LinkType::LINUX_SLL,
                    b"sll",
                    3,
                    2
                ),
                frame(
                    SEC_NS - 10_000_000_000 + 1_000_000,
                    LinkType::ETHERNET,
                    b"ms",
                    2,
                    3
                ),
                // Picoseconds since the epoch overflow 64 bits today; a small value.
                frame(12_345_678_901_234, LinkType::RAW, b"ps", 2, 4),
                // An SPB has no timestamp.
                frame(0, LinkType::ETHERNET, b"simple", 6, 0),
                frame(42, LinkType::RAW, b"old", 3, 1),
            ],
            "be={be}"
        );
    }
}

#[test]
fn pcapng_binary_resolution_is_exact() {
    // 2^-30 units: 1.5 s + one unit; one unit is 0.931322574615478515625 ns.
    let units = (1_700_000_000u64 << 30) + (1 << 29) + 1;
    let bytes = Ng::new(false)
        .idb(1, 0, Some(0x80 | 30), None)
        .epb(0, units, b"x", 1)
        .epb(0, units + 2, b"y", 1)
        .out;
    let f = frames(&bytes);
    // Rounded down to whole nanoseconds, as libpcap does.
    assert_eq!(f[0].ts, SEC_NS + 500_000_000);
    assert_eq!(f[1].ts, SEC_NS + 500_000_002);
}

#[test]
fn pcapng_sections_reset_interfaces_and_byte_order() {
    let bytes = Ng::new(false)
        .idb(1, 0, Some(9), None)
        .epb(0, 5, b"a", 1)
        .shb(true)
        .idb(101, 0, None, None)
        .epb(0, 5, b"b", 1)
        .shb(false)
        .idb(113, 0, Some(3), None)
        .idb(1, 0, None, None)
        .epb(1, 5, b"c", 1)
        .epb(0, 5, b"d", 1)
        .out;
    assert_eq!(
        frames(&bytes),
        vec![
            frame(5, LinkType::ETHERNET, b"a", 1, 0),
            frame(5000, LinkType::RAW, b"b", 1, 0),
            frame(5000, LinkType::ETHERNET, b"c", 1, 1),
            frame(5_000_000, LinkType::LINUX_SLL, b"d", 1, 0),
        ]
    );
    // A packet for an interface the new section has not described.
    let bytes = Ng::new(false)
        .idb(1, 0, None, None)
        .idb(1, 0, None, None)
        .epb(1, 5, b"a", 1)
        .shb(false)
        .idb(1, 0, None, None)
        .epb(1, 5, b"b", 1)
        .out;
    let (f, err) = read_all(&bytes);
    assert_eq!(f.len(), 1);
    let err = err.unwrap();
    assert!(
        err.ends_with("packet for interface 1, but the section has described only 1 interface(s)"),
        "{err}"
    );
}

#[test]
fn pcapng_spb_lengths() {
    // Packet longer than the block holds (snaplen applied by the writer),
    // and an interface snaplen shorter than the data.
    let bytes = Ng::new(false)
        .idb(1, 0, None, None)
        .spb(1500, b"12345678")
        .out;
    assert_eq!(
        frames(&bytes),
        vec![frame(0, LinkType::ETHERNET, b"12345678", 1500, 0)]
    );
    let bytes = Ng::new(false).idb(1, 4, None, None).spb(8, b"12345678").out;
    assert_eq!(
        frames(&bytes),
        vec![frame(0, LinkType::ETHERNET, b"1234", 8, 0)]
    );
    // Shorter packet than the padded block: the padding is not data.
    let bytes = Ng::new(false).idb(1, 0, None, None).spb(5, b"12345").out;
    assert_eq!(
        frames(&bytes),
        vec![frame(0, LinkType::ETHERNET, b"12345", 5, 0)]
    );
    // SPB before any interface.
    let (f, err) = read_all(&Ng::new(false).spb(5, b"12345").out);
    assert!(f.is_empty());
    assert!(err.unwrap().contains("packet for interface 0"));
}

#[test]
fn pcapng_header_only_and_truncation() {
    assert_eq!(read_all(&Ng::new(true).out), (vec![], None));
    let full = Ng::new(false)
        .idb(1, 0, None, None)
        .epb(0, 1, b"first packet", 12)
        .epb(0, 2, b"second packet", 13)
        .out;
    let all = frames(&full);
    let mut saw_error = false;
    for cut in 1..full.len() {
        let (f, err) = read_all(&full[..cut]);
        assert_eq!(f, all[..f.len()], "cut {cut}");
        if cut < 4 {
            assert!(err.unwrap().starts_with("not a pcap or pcapng file (only"));
        } else if cut < 12 {
            assert!(err
                .unwrap()
                .starts_with("truncated file: the pcapng section header"));
        } else if let Some(e) = err {
            saw_error = true;
            assert!(
                e.starts_with("truncated file: the pcapng"),
                "cut {cut}: {e}"
            );
        }
    }
    assert!(saw_error);
    let (f, err) = read_all(&full[..full.len() - 3]);
    assert_eq!(f.len(), 1);
    assert_eq!(
        err.as_deref(),
        Some("truncated file: the pcapng block at byte 132 needs 60 bytes but the file ends after 57")
    );
}

#[test]
fn pcapng_damage() {
    let good = Ng::new(false)
        .idb(1, 0, None, None)
        .epb(0, 1, b"abcd", 4)
        .out;
    let epb_at = good.len() - 48;
    let check = |bytes: &[u8], want: &str| {
        let (_, err) = read_all(bytes);
        let err = err.unwrap_or_default();
        assert!(err.contains(want), "{err:?} lacks {want:?}");
    };
    // Trailer disagrees with header.
    let mut b = good.clone();
    let n = b.len();
    b[n - 4] = 44;
    check(&b, "block length 48 in the header but 44 in the trailer");
    // Length not a multiple of 4.
    let mut b = good.clone();
    b[epb_at + 4] = 47;
    check(&b, "block length 47 is not a multiple of 4");
    // Captured length beyond the block.
    let mut b = good.clone();
    b[epb_at + 20] = 40;
    check(&b, "captured length 40 does not fit in a block of 48 bytes");
    // Captured length beyond any sane snaplen.
    let mut b = good.clone();
    b[epb_at + 20..epb_at + 24].copy_from_slice(&300_000u32.to_le_bytes());
    check(
        &b,
        "the packet at byte 76 is 300000 bytes long, more than the limit of 262144",
    );
    // Wire length below captured length is repaired, not an error.
    let mut b = good.clone();
    b[epb_at + 24] = 1;
    assert_eq!(
        frames(&b),
        vec![frame(1000, LinkType::ETHERNET, b"abcd", 4, 0)]
    );
    // The first section header's trailer is checked too.
    let mut b = good.clone();
    b[40] = 0;
    check(&b, "block length 44 in the header but 0 in the trailer");
    // A huge unknown block cut short.
    let mut b = good.clone();
    b.extend_from_slice(&0xbadu32.to_le_bytes());
    b.extend_from_slice(&(MAX_BLOCK_LEN + 4).to_le_bytes());
    b.extend_from_slice(&[0; 100]);
    check(
        &b,
        "truncated file: the pcapng block at byte 124 needs 16777220 bytes but the file ends after 108",
    );
    // Version 2 sections are not pcapng as we know it.
    let mut b = good.clone();
    b[12] = 2;
    assert_eq!(open_err(&b).to_string(), "unsupported pcapng version 2.0");
    // Bad if_tsresol.
    check(
        &Ng::new(false).idb(1, 0, Some(20), None).out,
        "if_tsresol of 10^-20 is out of range",
    );
    check(
        &Ng::new(false).idb(1, 0, Some(0x80 | 64), None).out,
        "if_tsresol of 2^-64 is out of range",
    );
    // Giant packet block: refused before buffering.
    let mut b = Ng::new(false).idb(1, 0, None, None).out;
    b.extend_from_slice(&6u32.to_le_bytes());
    b.extend_from_slice(&(64u32 << 20).to_le_bytes());
    check(
        &b,
        "is 67108864 bytes long, more than the limit of 16777216",
    );
}

#[test]
fn pcapng_skips_huge_unknown_blocks_without_buffering_them() {
    let big = vec![0x55u8; (MAX_BLOCK_LEN + 4096) as usize];
    let bytes = Ng::new(false)
        .idb(1, 0, None, None)
        .epb(0, 1, b"before", 6)
        .block(0x0000_0bad, &big)
        .epb(0, 2, b"after", 5)
        .out;
    for step in [usize::MAX, 4000] {
        let (f, err) = read_with(&bytes, 1 << 16, step);
        assert_eq!(err, None);
        assert_eq!(f.len(), 2);
        assert_eq!(f[1].data, b"after");
    }
}

// ------------------------------------------------------ fuzz smoke test --

#[test]
fn fuzz_capture_survives_mutations() {
    let fixtures = [
        Pcap::new(0xa1b2_c3d4, false, (2, 4), 0, 1)
            .pkt(SEC, 1, b"one")
            .pkt(SEC, 2, b"two")
            .out,
        Pcap::new(0xa1b2_cd34, true, (2, 3), 8, 1)
            .rec(SEC, 1, 9, 3, b"123456789")
            .out,
        Ng::new(false)
            .idb(1, 0, Some(0x80 | 10), Some(-5))
            .epb(0, 77, b"abc", 3)
            .spb(9, b"xyz")
            .pb(0, 3, b"q", 1)
            .shb(true)
            .idb(101, 0, Some(9), None)
            .epb(0, 77, b"def", 3)
            .out,
    ];
    for f in &fixtures {
        for i in 0..f.len() {
            for v in [0x00, 0xff, 0x80, f[i] ^ 0x01, f[i].wrapping_add(4)] {
                let mut m = f.clone();
                m[i] = v;
                fuzz_capture(&m);
            }
            fuzz_capture(&f[..i]);
        }
    }
}

/// Longer random mutation run; `cargo test --release -p connwatch
/// fuzz_random_mutations -- --ignored`.
#[test]
#[ignore]
fn fuzz_random_mutations() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let fixtures = [
        Pcap::new(0xa1b2_c3d4, false, (2, 4), 0, 1)
            .pkt(SEC, 1, b"one")
            .pkt(SEC, 2, b"two")
            .pkt(SEC, 3, &[7; 300])
            .out,
        Pcap::new(0xa1b2_cd34, true, (2, 3), 8, 1)
            .rec(SEC, 1, 9, 3, b"123456789")
            .out,
        Ng::new(false)
            .idb(1, 0, Some(0x80 | 10), Some(-5))
            .epb(0, 77, b"abc", 3)
            .spb(9, b"xyz")
            .pb(0, 3, b"q", 1)
            .block(0xbad, &[1; 40])
            .shb(true)
            .idb(101, 0, Some(9), None)
            .epb(0, 77, &[9; 200], 3)
            .out,
    ];
    for _ in 0..200_000 {
        let mut m = fixtures[(rnd() % 3) as usize].clone();
        for _ in 0..1 + rnd() % 4 {
            let at = (rnd() as usize) % m.len();
            match rnd() % 4 {
                0 => m[at] = rnd() as u8,
                1 => m[at] ^= 1 << (rnd() % 8),
                2 => m.truncate(at.max(1)),
                _ => {
                    // Overwrite a 32-bit field with an interesting value.
                    let v = [
                        0u32,
                        1,
                        12,
                        16,
                        0xffff_ffff,
                        0x8000_0000,
                        262_145,
                        0x0a0d_0d0a,
                    ][(rnd() % 8) as usize];
                    let end = (at + 4).min(m.len());
                    m[at..end].copy_from_slice(&v.to_le_bytes()[..end - at]);
                }
            }
        }
        fuzz_capture(&m);
    }
}

// ------------------------------------------------------- real traces --

/// Reference values from `tshark -T fields -e frame.time_epoch -e
/// frame.cap_len -e frame.len`: frame count, first and last timestamp (ns),
/// sum of all timestamps (ns), total captured and total wire bytes.
#[rustfmt::skip]
const TRACES: &[(&str, usize, i64, i64, i128, u64, u64)] = &[
    ("conformance/zeek/ayiya-tunnel/trace.pcap", 35, 1257655293629048000, 1257655317464035000, 44017935542511975000, 12856, 12856),
    ("conformance/zeek/cisco-fabric-path/trace.pcap", 130, 1529347003834704000, 1529347003932971000, 198815110505291502000, 8712, 8712),
    ("conformance/zeek/dhcp-broadcast/trace.pcap", 9, 1370200442323173000, 1370200447422207000, 12331803999285277000, 2972, 2972),
    ("conformance/zeek/dns-radiotap/trace.pcap", 3, 1439902891705224000, 1439903050580632000, 4319708834032734000, 780, 780),
    ("conformance/zeek/erspan2-icmp/trace.pcap", 4, 1402723255667881000, 1402723255669608000, 5610893022674965000, 656, 656),
    ("conformance/zeek/ftp-ipv6/trace.pcap", 136, 1329327777822004000, 1329327804589723000, 180788579404522947000, 16479, 16479),
    ("conformance/zeek/ftp-long-control/trace.pcap", 8317, 1464385864999633000, 1464386465930676000, 12179299727551442339000, 654497, 654497),
    ("conformance/zeek/geneve-tunnel/trace.pcap", 6, 1402706119542940000, 1402706121543122000, 8416236723258169000, 912, 912),
    ("conformance/zeek/geneve-vxlan-truncated/trace.pcap", 2, 1681421823895599000, 1681421825895608000, 3362843649791207000, 352, 384),
    ("conformance/zeek/gre-tunnel/trace.pcap", 40, 1055289968793044000, 1055289996921473000, 42211599195739454000, 6731, 6731),
    ("conformance/zeek/gtp-outer-ip-fragments/trace.pcap", 108, 1333458850364667000, 1333458850434480000, 144013555842800680000, 66838, 66838),
    ("conformance/zeek/http-to-ssh-rstr/trace.pcap", 13, 1740649646782032000, 1740649646783877000, 22628445408178270000, 1027, 1027),
    ("conformance/zeek/https-to-http-rsto/trace.pcap", 9, 1740649994391397000, 1740649994419670000, 15665849949570395000, 1595, 1595),
    ("conformance/zeek/pbb-unknown-transport/trace.pcap", 12, 1500987641440952000, 1500987676010996000, 18011851979371564000, 1261, 1261),
    ("conformance/zeek/pcapng-multi-interface/trace.pcapng", 6, 1767663089500330493, 1767663437140942000, 10605979927522224433, 798, 798),
    ("conformance/zeek/pop3-rej-and-reuse/trace.pcap", 125, 1377201633570191000, 1377201785011707000, 172150215309643552000, 27969, 27969),
    ("conformance/zeek/port502-mixed-states/trace.pcap", 86, 1093522326102435000, 1688847957247196000, 130346046535421342000, 6014, 6014),
    ("conformance/zeek/pppoe-icmpv6/trace.pcap", 65, 1284385406780560000, 1284385452499560000, 83485052529456400000, 5232, 5232),
    ("conformance/zeek/q-in-q/trace.pcap", 5, 1363900699548138000, 1363900699553625000, 6819503497749434000, 856, 856),
    ("conformance/zeek/ssh-multi-year/trace.pcap", 1797, 1324071333493287000, 1421041528379372000, 2548309935168641103000, 1291435, 1291435),
    ("conformance/zeek/tcp-ethernet-padding/trace.pcap", 25, 1690990955944330000, 1690990966858897000, 42274774084828467000, 1881, 1881),
    ("conformance/zeek/tcp-flip-without-syn-pcapng/trace.pcapng", 13, 1362692526939084000, 1362692527080972000, 17715002851058659000, 6009, 6009),
    ("conformance/zeek/tcp-inactivity-split/trace.pcapng", 3, 629503200000030000, 629503500000040000, 1888509900000110000, 198, 198),
    ("conformance/zeek/tcp-missing-syn-flip/trace.pcap", 21, 1128727435633408000, 1128727437184931000, 23703276159133746000, 10909, 10909),
    ("conformance/zeek/tcp-retransmit-gap-rsto/trace.pcap", 39, 1285862902700271000, 1285862963692041000, 50148653280014256000, 2210, 30757),
    ("conformance/zeek/teredo-tunnel/trace.pcap", 78, 1210953046591933000, 1210953076058333000, 94454339100308270000, 25025, 25025),
    ("conformance/zeek/udp-bad-checksum/trace.pcap", 2, 1777450586006844000, 1777450586040789000, 3554901172047633000, 202, 202),
    ("conformance/zeek/vlan-mpls-mixed/trace.pcap", 47, 952109346874907000, 1278600802074822000, 53205617645739678000, 16403, 16403),
    ("conformance/zeek/vxlan-tunnel/trace.pcap", 10, 1467818432675392000, 1467818435680663000, 14678184338776648000, 1368, 1368),
    ("conformance/zeek/wikipedia-mixed/trace.pcap", 136, 1300475167096535000, 1300475173475401000, 176864623041592291000, 25260, 25260),
    ("traces/generated/lo-edge.pcap", 32, 1795802700630889000, 1795802702250968000, 57465686438342104000, 2520, 2520),
    ("traces/generated/lo-mixed.pcap", 48, 1795802710128209000, 1795802712069656000, 86198530100046193000, 7739, 7739),
    ("traces/generated/syn-long-tcp.pcap", 96, 1700000000000000000, 1700000601010000000, 163200027993480000000, 14184, 14184),
];

fn shared() -> Option<&'static Path> {
    let p = Path::new("/work/shared");
    if p.join("conformance/zeek").is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: /work/shared/conformance/zeek is not here");
        None
    }
}

#[test]
fn real_traces_match_tshark() {
    let Some(root) = shared() else { return };
    for &(path, count, first, last, ts_sum, cap, wire) in TRACES {
        let full = root.join(path);
        let mut src = CaptureFile::open(&full).unwrap_or_else(|e| panic!("{path}: {e}"));
        let (mut n, mut sum, mut c, mut w) = (0usize, 0i128, 0u64, 0u64);
        let (mut f0, mut fl) = (0, 0);
        while let Some(f) = src.next_frame().unwrap_or_else(|e| panic!("{path}: {e}")) {
            if n == 0 {
                f0 = f.ts.0;
            }
            fl = f.ts.0;
            n += 1;
            sum += i128::from(f.ts.0);
            c += f.data.len() as u64;
            w += u64::from(f.wire_len);
            assert_eq!(
                f.link,
                LinkType(if path.contains("radiotap") { 127 } else { 1 })
            );
        }
        assert_eq!(
            (n, f0, fl, sum, c, w),
            (count, first, last, ts_sum, cap, wire),
            "{path}"
        );
        let st = src.stats();
        assert_eq!((st.frames, st.captured_bytes), (n as u64, c), "{path}");
        assert_eq!(
            st.input_bytes,
            std::fs::metadata(&full).unwrap().len(),
            "{path}"
        );
        // And through the tiny buffer, to exercise refills on real data.
        let bytes = std::fs::read(&full).unwrap();
        if bytes.len() < 100_000 {
            let (frames, err) = read_all(&bytes);
            assert_eq!((frames.len(), err), (count, None), "{path}");
        }
    }
}

#[test]
fn every_shared_trace_reads_cleanly() {
    let Some(root) = shared() else { return };
    let mut seen = 0;
    for dir in ["conformance/zeek", "traces/generated"] {
        let mut stack = vec![root.join(dir)];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                    let mut src = CaptureFile::open(&p).unwrap();
                    let mut n = 0;
                    while src
                        .next_frame()
                        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
                        .is_some()
                    {
                        n += 1;
                    }
                    assert!(n > 0, "{}", p.display());
                    seen += 1;
                }
            }
        }
    }
    assert!(seen >= 30, "only {seen} traces");
}

#[test]
fn multi_interface_timestamps_match_tshark() {
    let Some(root) = shared() else { return };
    // tshark -T fields -e frame.time_epoch -e frame.interface_id: interface
    // 0 has if_tsresol 9 (ns), interface 1 the default (µs).
    let want: [(i64, u32, u32); 6] = [
        (1767663089500330493, 0, 96),
        (1767663089514291940, 0, 214),
        (1767663437111897000, 1, 70),
        (1767663437126460000, 1, 166),
        (1767663437128303000, 1, 70),
        (1767663437140942000, 1, 182),
    ];
    let mut src =
        CaptureFile::open(&root.join("conformance/zeek/pcapng-multi-interface/trace.pcapng"))
            .unwrap();
    assert_eq!(src.format(), CaptureFormat::PcapNg);
    let mut got = Vec::new();
    while let Some(f) = src.next_frame().unwrap() {
        got.push((f.ts.0, f.interface, f.wire_len));
    }
    assert_eq!(got, want);
}
