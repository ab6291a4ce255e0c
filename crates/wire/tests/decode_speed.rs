//! A rough speed check of the hot path (link + IP + TCP decode, transport
//! checksum) over a real trace. Ignored by default; run it with
//!
//! ```text
//! cargo test --release -p connwatch-wire --test decode_speed -- --ignored --nocapture
//! ```
//!
//! It prints the best of several passes in ns/packet. It asserts nothing
//! about speed (shared machines are too noisy for that), only that every
//! frame decodes.

use connwatch_wire::link::{self, LinkType};
use connwatch_wire::transport::tcp;
use connwatch_wire::{checksum, ip};
use std::hint::black_box;

const TRACE: &str = "/work/shared/conformance/zeek/ftp-long-control/trace.pcap";

/// Frames of a little-endian classic pcap file.
fn frames(file: &[u8]) -> Vec<(&[u8], u32)> {
    let mut out = Vec::new();
    let mut off = 24;
    while let (Some(incl), Some(orig)) = (file.get(off + 8..off + 12), file.get(off + 12..off + 16))
    {
        let incl = u32::from_le_bytes(incl.try_into().unwrap()) as usize;
        let orig = u32::from_le_bytes(orig.try_into().unwrap());
        let Some(data) = file.get(off + 16..off + 16 + incl) else {
            break;
        };
        out.push((data, orig));
        off += 16 + incl;
    }
    out
}

/// Best ns/packet of several passes of `f` over `frames`.
fn best_of<F: FnMut(&[u8], u32)>(frames: &[(&[u8], u32)], mut f: F) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..9 {
        let t = std::time::Instant::now();
        for _ in 0..20 {
            for &(d, w) in frames {
                f(black_box(d), w);
            }
        }
        best = best.min(t.elapsed().as_nanos() as f64 / (20 * frames.len()) as f64);
    }
    best
}

#[test]
#[ignore = "timing only; run explicitly in release mode"]
fn decode_speed() {
    let Ok(file) = std::fs::read(TRACE) else {
        eprintln!("{TRACE} not found; skipping");
        return;
    };
    let frames = frames(&file);
    assert!(!frames.is_empty());
    let decode = best_of(&frames, |d, w| {
        let ll = link::decode(LinkType::ETHERNET, d).unwrap();
        let p = ip::decode(&d[ll.offset..], w - ll.offset as u32).unwrap();
        black_box(tcp::decode(p.payload, p.payload_len()).unwrap());
    });
    let with_checksum = best_of(&frames, |d, w| {
        let ll = link::decode(LinkType::ETHERNET, d).unwrap();
        let p = ip::decode(&d[ll.offset..], w - ll.offset as u32).unwrap();
        black_box(tcp::decode(p.payload, p.payload_len()).unwrap());
        black_box(checksum::transport_ok(&p));
    });
    eprintln!(
        "link+ip+tcp: {decode:.1} ns/pkt; with transport checksum: {with_checksum:.1} ns/pkt"
    );
}
